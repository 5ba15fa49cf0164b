#include "custos/identity/manufacture.h"

#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "custos/identity/csr.h"
#include "custos/identity/device_registry.h"

namespace custos::identity {
namespace {

using Json = nlohmann::json;
constexpr int kDeviceStateVersion = 1;
constexpr std::size_t kMaxDeviceStateBytes = 256 * 1024;

}  // namespace

Status SaveDeviceState(const std::string& dir, const DeviceState& s) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return UnavailableError("cannot create device folder '" + dir + "'");
  }
  Json doc{{"format", "custos-device"},
           {"version", kDeviceStateVersion},
           {"device_id", s.device_id},
           {"store", s.store_uri},
           {"key_label", s.key_label},
           {"key_type", s.key_type},
           {"birth_certificate", s.birth_certificate_pem},
           {"birth_chain", s.birth_chain_pem},
           {"manufacturer_root", s.manufacturer_root_pem},
           {"certificate", s.certificate_pem},
           {"chain", s.chain_pem},
           {"roots", s.roots_pem},
           {"pending_key_label", s.pending_key_label},
           {"pending_key_type", s.pending_key_type},
           {"key_generation", s.key_generation}};
  CUSTOS_RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/" + std::string(kDeviceStateFile), doc.dump(2) + "\n", 0600));
  // Convenience copies for TLS clients and openssl; device.json is the truth.
  const std::pair<const char*, const std::string*> copies[] = {
      {"birth.pem", &s.birth_certificate_pem},
      {"cert.pem", &s.certificate_pem},
      {"chain.pem", &s.chain_pem},
      {"roots.pem", &s.roots_pem}};
  for (const auto& [name, pem] : copies) {
    if (!pem->empty()) CUSTOS_RETURN_IF_ERROR(WriteFileAtomically(dir + "/" + name, *pem, 0644));
  }
  return OkStatus();
}

StatusOr<DeviceState> LoadDeviceState(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kDeviceStateFile);
  CUSTOS_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxDeviceStateBytes));
  DeviceState s;
  try {
    Json doc = Json::parse(text);
    if (doc.at("format").get<std::string>() != "custos-device" ||
        doc.at("version").get<int>() != kDeviceStateVersion) {
      return DataLossError(path + " is not a version-1 custos device state");
    }
    s.device_id = doc.at("device_id").get<std::string>();
    s.store_uri = doc.at("store").get<std::string>();
    s.key_label = doc.at("key_label").get<std::string>();
    s.key_type = doc.at("key_type").get<std::string>();
    s.birth_certificate_pem = doc.at("birth_certificate").get<std::string>();
    s.birth_chain_pem = doc.at("birth_chain").get<std::string>();
    s.manufacturer_root_pem = doc.at("manufacturer_root").get<std::string>();
    s.certificate_pem = doc.at("certificate").get<std::string>();
    s.chain_pem = doc.at("chain").get<std::string>();
    s.roots_pem = doc.at("roots").get<std::string>();
    s.pending_key_label = doc.at("pending_key_label").get<std::string>();
    s.pending_key_type = doc.at("pending_key_type").get<std::string>();
    s.key_generation = doc.at("key_generation").get<int>();
  } catch (const Json::exception& e) {
    return DataLossError(path + " is corrupt: " + e.what());
  }
  return s;
}

StatusOr<DeviceState> Manufacture(FleetCa& manufacturer, keystore::KeyStore& device_store,
                                  std::string_view store_uri, std::string_view device_id,
                                  keystore::KeyType key_type, std::string_view key_label,
                                  int64_t now) {
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  if (key_type != keystore::KeyType::kEcdsaP256 && key_type != keystore::KeyType::kEd25519) {
    return InvalidArgumentError("a device identity key is ecdsa-p256 or ed25519, not " +
                                std::string(keystore::KeyTypeName(key_type)));
  }
  CUSTOS_RETURN_IF_ERROR(device_store.Generate(key_type, key_label).status());
  auto issue = [&]() -> StatusOr<Certificate> {
    CsrSubject subject;
    subject.device_id = std::string(device_id);
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> csr,
                            CreateCsr(subject, SigningKey{&device_store, std::string(key_label)}));
    return manufacturer.IssueForCsr(csr, kIssuedByManufacture, now);
  };
  StatusOr<Certificate> birth = issue();
  if (!birth.ok()) {
    (void)device_store.Destroy(key_label);
    return birth.status();
  }
  DeviceState state;
  state.device_id = std::string(device_id);
  state.store_uri = std::string(store_uri);
  state.key_label = std::string(key_label);
  state.key_type = std::string(keystore::KeyTypeName(key_type));
  state.birth_certificate_pem = birth->ToPem();
  for (const Certificate& c : manufacturer.Chain()) state.birth_chain_pem += c.ToPem();
  state.manufacturer_root_pem = manufacturer.root().ToPem();
  return state;
}

}  // namespace custos::identity
