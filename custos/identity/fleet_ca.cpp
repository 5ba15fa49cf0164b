#include "custos/identity/fleet_ca.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/crypto/spki.h"
#include "custos/identity/chain.h"
#include "custos/identity/csr.h"
#include "custos/identity/tokens.h"

namespace custos::identity {
namespace {

using Json = nlohmann::json;
using keystore::KeyType;

constexpr int kCaFormatVersion = 1;
// Certificates start a minute in the past to tolerate clock skew.
constexpr int64_t kBackdateSeconds = 60;
constexpr std::size_t kMaxTokensPerCall = 10000;

// One generation of the root or of the issuing CA.
struct Generation {
  int number = 0;
  std::string key_label;
  KeyType key_type = KeyType::kEcdsaP256;
  Certificate certificate;
  // For an issuing CA: the root generation that signed it. For both: the
  // cross-certificate from the previous generation's key (empty for G1).
  int root_number = 0;
  std::vector<Certificate> cross;
};

bool CanSignX509(KeyType type) { return type == KeyType::kEcdsaP256 || type == KeyType::kEd25519; }

std::string ReasonName(RevocationReason reason) {
  return std::string(RevocationReasonName(reason));
}

RevocationReason ReasonFromName(std::string_view name) {
  for (int code = 0; code <= 10; ++code) {
    if (code == 7) continue;
    auto reason = static_cast<RevocationReason>(code);
    if (RevocationReasonName(reason) == name) return reason;
  }
  return RevocationReason::kUnspecified;
}

// Verifies a raw KeyStore signature (r || s for ECDSA P-256 over SHA-256,
// 64 bytes for Ed25519) with a public key given as DER SubjectPublicKeyInfo.
Status VerifyRawSignature(std::span<const uint8_t> spki, std::string_view key_type,
                          std::span<const uint8_t> message, std::span<const uint8_t> signature) {
  StatusOr<crypto::EvpPkeyPtr> pkey = crypto::ParseSpki(spki);
  if (!pkey.ok()) return InvalidArgumentError("old certificate has an unreadable public key");
  std::vector<uint8_t> der_signature;
  const EVP_MD* md = nullptr;
  if (key_type == "ecdsa-p256" && EVP_PKEY_is_a(pkey->get(), "EC")) {
    if (signature.size() != 64) return UnauthenticatedError("old-key signature does not verify");
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
    BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
    BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return InternalError("OpenSSL could not build an ECDSA signature");
    }
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig.get(), &out);
    if (length <= 0) return InternalError("OpenSSL could not encode an ECDSA signature");
    der_signature.assign(out, out + length);
    OPENSSL_free(out);
    md = EVP_sha256();
  } else if (key_type == "ed25519" && EVP_PKEY_is_a(pkey->get(), "ED25519")) {
    der_signature.assign(signature.begin(), signature.end());
  } else {
    return InvalidArgumentError("old_key_type '" + std::string(key_type) +
                                "' does not match the old certificate's key");
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey->get()) != 1) {
    return InternalError("OpenSSL could not start a signature verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(),
                                  message.data(), message.size());
  if (ok != 1) return UnauthenticatedError("old-key signature does not verify");
  return OkStatus();
}

Json GenerationToJson(const Generation& g) {
  Json cross = Json::array();
  for (const Certificate& c : g.cross) cross.push_back(c.ToPem());
  return Json{{"generation", g.number},
              {"key_label", g.key_label},
              {"key_type", std::string(keystore::KeyTypeName(g.key_type))},
              {"certificate", g.certificate.ToPem()},
              {"root_generation", g.root_number},
              {"cross", std::move(cross)}};
}

StatusOr<Generation> GenerationFromJson(const Json& j) {
  CUSTOS_ASSIGN_OR_RETURN(KeyType type,
                          keystore::KeyTypeFromName(j.at("key_type").get<std::string>()));
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert,
                          Certificate::FromPem(j.at("certificate").get<std::string>()));
  Generation g{j.at("generation").get<int>(),
               j.at("key_label").get<std::string>(),
               type,
               std::move(cert),
               j.at("root_generation").get<int>(),
               {}};
  for (const Json& c : j.at("cross")) {
    CUSTOS_ASSIGN_OR_RETURN(Certificate cross, Certificate::FromPem(c.get<std::string>()));
    g.cross.push_back(std::move(cross));
  }
  return g;
}

std::string FingerprintHex(const Certificate& cert) { return HexEncode(cert.fingerprint_sha256()); }

// The CA's store, with Find answered from a cache: the X.509 layer looks the
// signing key up before every signature, and through PKCS#11 each look-up is
// a search of the token plus attribute reads. The cache is dropped on every
// change to the store's keys made through this object (the CA's keys are
// not changed by anyone else while it runs).
class CachingKeyStore final : public keystore::KeyStore {
 public:
  explicit CachingKeyStore(std::unique_ptr<keystore::KeyStore> store) : store_(std::move(store)) {}

  std::string_view BackendName() const override { return store_->BackendName(); }
  bool HardwareProtected() const override { return store_->HardwareProtected(); }
  std::vector<KeyType> SupportedKeyTypes() const override { return store_->SupportedKeyTypes(); }
  StatusOr<keystore::KeyInfo> Generate(KeyType type, std::string_view label) override {
    found_.clear();
    return store_->Generate(type, label);
  }
  StatusOr<std::vector<keystore::KeyInfo>> List() override { return store_->List(); }
  StatusOr<keystore::KeyInfo> Find(std::string_view label) override {
    for (const keystore::KeyInfo& info : found_) {
      if (info.label == label) return info;
    }
    CUSTOS_ASSIGN_OR_RETURN(keystore::KeyInfo info, store_->Find(label));
    found_.push_back(info);
    return info;
  }
  Status Destroy(std::string_view label) override {
    found_.clear();
    return store_->Destroy(label);
  }
  StatusOr<std::vector<uint8_t>> Sign(std::string_view label,
                                      std::span<const uint8_t> message) override {
    return store_->Sign(label, message);
  }
  Status Verify(std::string_view label, std::span<const uint8_t> message,
                std::span<const uint8_t> signature) override {
    return store_->Verify(label, message, signature);
  }
  StatusOr<std::vector<uint8_t>> ExportPublicKey(std::string_view label) override {
    return store_->ExportPublicKey(label);
  }
  StatusOr<SecretBytes> DeriveSharedKey(std::string_view label,
                                        std::span<const uint8_t> peer_public_key,
                                        std::span<const uint8_t> salt,
                                        std::span<const uint8_t> info,
                                        std::size_t length) override {
    return store_->DeriveSharedKey(label, peer_public_key, salt, info, length);
  }
  StatusOr<std::vector<uint8_t>> Seal(std::string_view label, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data) override {
    return store_->Seal(label, plaintext, associated_data);
  }
  StatusOr<std::vector<uint8_t>> Open(std::string_view label, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) override {
    return store_->Open(label, sealed, associated_data);
  }
  StatusOr<uint64_t> ReadCounter(std::string_view name) override {
    return store_->ReadCounter(name);
  }
  StatusOr<uint64_t> IncrementCounter(std::string_view name) override {
    return store_->IncrementCounter(name);
  }
  StatusOr<std::size_t> ZeroizeKeys() override {
    found_.clear();
    return store_->ZeroizeKeys();
  }

 private:
  std::unique_ptr<keystore::KeyStore> store_;
  std::vector<keystore::KeyInfo> found_;
};

}  // namespace

struct FleetCa::State {
  std::string name;
  std::string ca_id;
  std::string store_uri;
  CaOptions options;
  std::vector<Generation> roots;
  std::vector<Generation> issuing;
  std::vector<Certificate> manufacturer_roots;

  const Generation& root() const { return roots.back(); }
  const Generation& issuer() const { return issuing.back(); }

  std::string ToJson() const {
    Json roots_json = Json::array();
    for (const Generation& g : roots) roots_json.push_back(GenerationToJson(g));
    Json issuing_json = Json::array();
    for (const Generation& g : issuing) issuing_json.push_back(GenerationToJson(g));
    Json manufacturers = Json::array();
    for (const Certificate& c : manufacturer_roots) manufacturers.push_back(c.ToPem());
    Json doc{{"format", "custos-ca"},
             {"version", kCaFormatVersion},
             {"name", name},
             {"ca_id", ca_id},
             {"store", store_uri},
             {"root_validity_seconds", options.root_validity_seconds},
             {"issuing_validity_seconds", options.issuing_validity_seconds},
             {"device_validity_seconds", options.device_validity_seconds},
             {"rotation_grace_seconds", options.rotation_grace_seconds},
             {"crl_validity_seconds", options.crl_validity_seconds},
             {"roots", std::move(roots_json)},
             {"issuing", std::move(issuing_json)},
             {"manufacturer_roots", std::move(manufacturers)}};
    return doc.dump(2) + "\n";
  }

  static StatusOr<std::unique_ptr<State>> FromJson(std::string_view text) {
    auto state = std::make_unique<State>();
    Status status = OkStatus();
    try {
      Json doc = Json::parse(text);
      if (doc.at("format").get<std::string>() != "custos-ca" ||
          doc.at("version").get<int>() != kCaFormatVersion) {
        return DataLossError("ca.json is not a version-1 custos CA document");
      }
      state->name = doc.at("name").get<std::string>();
      state->ca_id = doc.at("ca_id").get<std::string>();
      state->store_uri = doc.at("store").get<std::string>();
      state->options.name = state->name;
      state->options.store_uri = state->store_uri;
      state->options.root_validity_seconds = doc.at("root_validity_seconds").get<int64_t>();
      state->options.issuing_validity_seconds = doc.at("issuing_validity_seconds").get<int64_t>();
      state->options.device_validity_seconds = doc.at("device_validity_seconds").get<int64_t>();
      state->options.rotation_grace_seconds = doc.at("rotation_grace_seconds").get<int64_t>();
      state->options.crl_validity_seconds = doc.at("crl_validity_seconds").get<int64_t>();
      for (const Json& g : doc.at("roots")) {
        StatusOr<Generation> gen = GenerationFromJson(g);
        if (!gen.ok()) return DataLossError("ca.json: " + std::string(gen.status().message()));
        state->roots.push_back(*std::move(gen));
      }
      for (const Json& g : doc.at("issuing")) {
        StatusOr<Generation> gen = GenerationFromJson(g);
        if (!gen.ok()) return DataLossError("ca.json: " + std::string(gen.status().message()));
        state->issuing.push_back(*std::move(gen));
      }
      for (const Json& c : doc.at("manufacturer_roots")) {
        StatusOr<Certificate> cert = Certificate::FromPem(c.get<std::string>());
        if (!cert.ok()) return DataLossError("ca.json: " + std::string(cert.status().message()));
        state->manufacturer_roots.push_back(*std::move(cert));
      }
    } catch (const Json::exception& e) {
      return DataLossError(std::string("ca.json is corrupt: ") + e.what());
    }
    if (state->roots.empty() || state->issuing.empty()) {
      return DataLossError("ca.json names no root or no issuing CA");
    }
    state->options.key_type = state->issuer().key_type;
    return state;
  }
};

FleetCa::FleetCa(std::unique_ptr<DeviceRegistry> registry,
                 std::unique_ptr<keystore::KeyStore> store, std::unique_ptr<State> state)
    : registry_(std::move(registry)),
      store_(std::make_unique<CachingKeyStore>(std::move(store))),
      state_(std::move(state)) {}

FleetCa::~FleetCa() = default;

namespace {

// Generates a CA key and issues its certificate (self-signed when `issuer`
// is null). Destroys the key again if issuance fails.
StatusOr<Generation> NewGeneration(keystore::KeyStore& store, const std::string& label,
                                   KeyType type, const std::string& common_name,
                                   const std::string& organization, const Certificate* issuer,
                                   const std::string& issuer_label, int64_t not_before,
                                   int64_t not_after, int number, int root_number) {
  CUSTOS_RETURN_IF_ERROR(store.Generate(type, label).status());
  auto issue = [&]() -> StatusOr<Certificate> {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, store.ExportPublicKey(label));
    CertificateTemplate tmpl;
    tmpl.common_name = common_name;
    tmpl.organization = organization;
    tmpl.subject_public_key = std::move(spki);
    tmpl.not_before = not_before;
    tmpl.not_after = issuer == nullptr ? not_after : std::min(not_after, issuer->not_after());
    tmpl.is_ca = true;
    return IssueCertificate(tmpl, issuer,
                            SigningKey{&store, issuer == nullptr ? label : issuer_label});
  };
  StatusOr<Certificate> cert = issue();
  if (!cert.ok()) {
    (void)store.Destroy(label);
    return cert.status();
  }
  return Generation{number, label, type, *std::move(cert), root_number, {}};
}

// The certificate of `subject` (same name and key) issued by another CA.
StatusOr<Certificate> CrossCertify(keystore::KeyStore& store, const Certificate& subject,
                                   const Generation& issuer) {
  CertificateTemplate tmpl;
  tmpl.common_name = subject.subject_common_name();
  tmpl.organization = subject.subject_organization();
  tmpl.subject_public_key = subject.public_key();
  tmpl.not_before = std::max(subject.not_before(), issuer.certificate.not_before());
  tmpl.not_after = std::min(subject.not_after(), issuer.certificate.not_after());
  tmpl.is_ca = true;
  return IssueCertificate(tmpl, &issuer.certificate, SigningKey{&store, issuer.key_label});
}

Status CheckCaOptions(const CaOptions& o) {
  if (o.name.empty() || o.name.size() > 64) {
    return InvalidArgumentError("CA name must be 1 to 64 characters");
  }
  if (!CanSignX509(o.key_type)) {
    return InvalidArgumentError("CA key type must be ecdsa-p256 or ed25519, not " +
                                std::string(keystore::KeyTypeName(o.key_type)));
  }
  if (o.root_validity_seconds <= 0 || o.issuing_validity_seconds <= 0 ||
      o.device_validity_seconds <= 0 || o.rotation_grace_seconds < 0 ||
      o.crl_validity_seconds <= 0) {
    return InvalidArgumentError("CA lifetimes must be positive");
  }
  return OkStatus();
}

Status CheckStoreSupports(keystore::KeyStore& store, KeyType type) {
  std::vector<KeyType> types = store.SupportedKeyTypes();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    return UnimplementedError("the " + std::string(store.BackendName()) +
                              " key store cannot hold " + std::string(keystore::KeyTypeName(type)) +
                              " keys");
  }
  return OkStatus();
}

std::string GenerationLabel(const std::string& ca_id, std::string_view role, int number) {
  return "custos-ca-" + ca_id + "-" + std::string(role) + "-g" + std::to_string(number);
}

std::string CaName(const std::string& name, std::string_view role, int number) {
  return name + " " + std::string(role) + " CA G" + std::to_string(number);
}

}  // namespace

StatusOr<std::unique_ptr<FleetCa>> FleetCa::Create(std::unique_ptr<DeviceRegistry> registry,
                                                   std::unique_ptr<keystore::KeyStore> store,
                                                   const CaOptions& options, int64_t now) {
  CUSTOS_RETURN_IF_ERROR(CheckCaOptions(options));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> existing, registry->ReadDocument(kCaDocument));
  if (existing.has_value()) return AlreadyExistsError("a CA already exists here (ca.json)");
  CUSTOS_RETURN_IF_ERROR(CheckStoreSupports(*store, options.key_type));

  auto state = std::make_unique<State>();
  state->name = options.name;
  state->store_uri = options.store_uri;
  state->options = options;
  std::array<uint8_t, 4> id{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(id));
  state->ca_id = HexEncode(id);

  const int64_t start = now - kBackdateSeconds;
  CUSTOS_ASSIGN_OR_RETURN(
      Generation root,
      NewGeneration(*store, GenerationLabel(state->ca_id, "root", 1), options.key_type,
                    CaName(options.name, "Root", 1), options.name, nullptr, "", start,
                    now + options.root_validity_seconds, 1, 1));
  StatusOr<Generation> issuing =
      NewGeneration(*store, GenerationLabel(state->ca_id, "issuing", 1), options.key_type,
                    CaName(options.name, "Issuing", 1), options.name, &root.certificate,
                    root.key_label, start, now + options.issuing_validity_seconds, 1, 1);
  if (!issuing.ok()) {
    (void)store->Destroy(root.key_label);
    return issuing.status();
  }
  state->roots.push_back(std::move(root));
  state->issuing.push_back(*std::move(issuing));
  Status saved = registry->WriteDocument(kCaDocument, state->ToJson());
  if (!saved.ok()) {
    (void)store->Destroy(state->roots.back().key_label);
    (void)store->Destroy(state->issuing.back().key_label);
    return saved;
  }
  return std::unique_ptr<FleetCa>(
      new FleetCa(std::move(registry), std::move(store), std::move(state)));
}

StatusOr<std::unique_ptr<FleetCa>> FleetCa::Open(std::unique_ptr<DeviceRegistry> registry,
                                                 std::unique_ptr<keystore::KeyStore> store) {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> text, registry->ReadDocument(kCaDocument));
  if (!text.has_value()) return NotFoundError("no CA here (ca.json missing); run 'ca init'");
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<State> state, State::FromJson(*text));
  for (const std::string& label : {state->root().key_label, state->issuer().key_label}) {
    Status found = store->Find(label).status();
    if (!found.ok()) {
      return Annotate(found, "CA key '" + label + "' is not in the " +
                                 std::string(store->BackendName()) + " store");
    }
  }
  return std::unique_ptr<FleetCa>(
      new FleetCa(std::move(registry), std::move(store), std::move(state)));
}

StatusOr<std::string> FleetCa::StoreUriOf(DeviceRegistry& registry) {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> text, registry.ReadDocument(kCaDocument));
  if (!text.has_value()) return NotFoundError("no CA here (ca.json missing); run 'ca init'");
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<State> state, State::FromJson(*text));
  return state->store_uri;
}

const std::string& FleetCa::name() const { return state_->name; }
KeyType FleetCa::key_type() const { return state_->issuer().key_type; }
const Certificate& FleetCa::root() const { return state_->root().certificate; }
const Certificate& FleetCa::issuing() const { return state_->issuer().certificate; }
DeviceRegistry& FleetCa::registry() { return *registry_; }

std::vector<Certificate> FleetCa::Roots() const {
  std::vector<Certificate> out;
  for (const Generation& g : state_->roots) out.push_back(g.certificate);
  return out;
}

std::vector<Certificate> FleetCa::Chain() const {
  std::vector<Certificate> out{issuing()};
  for (auto it = state_->issuing.rbegin(); it != state_->issuing.rend(); ++it) {
    if (it != state_->issuing.rbegin()) out.push_back(it->certificate);
    for (const Certificate& c : it->cross) out.push_back(c);
  }
  for (auto it = state_->roots.rbegin(); it != state_->roots.rend(); ++it) {
    for (const Certificate& c : it->cross) out.push_back(c);
  }
  return out;
}

std::vector<Certificate> FleetCa::ManufacturerRoots() const { return state_->manufacturer_roots; }

Status FleetCa::Save() { return registry_->WriteDocument(kCaDocument, state_->ToJson()); }

Status FleetCa::TrustManufacturerRoot(const Certificate& root) {
  if (!root.is_ca()) return InvalidArgumentError("'" + root.subject_name() + "' is not a CA");
  for (const Certificate& c : state_->manufacturer_roots) {
    if (c.fingerprint_sha256() == root.fingerprint_sha256()) return OkStatus();
  }
  state_->manufacturer_roots.push_back(root);
  Status saved = Save();
  if (!saved.ok()) state_->manufacturer_roots.pop_back();
  return saved;
}

StatusOr<std::vector<SecretBytes>> FleetCa::IssueTokens(std::size_t count,
                                                        std::string_view device_id,
                                                        int64_t lifetime_seconds, int64_t now) {
  if (count == 0 || count > kMaxTokensPerCall) {
    return InvalidArgumentError("token count must be 1 to " + std::to_string(kMaxTokensPerCall));
  }
  if (lifetime_seconds <= 0) return InvalidArgumentError("token lifetime must be positive");
  if (!device_id.empty()) CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  std::vector<SecretBytes> texts;
  RegistryUpdate update;
  for (std::size_t i = 0; i < count; ++i) {
    CUSTOS_ASSIGN_OR_RETURN(SecretBytes text, GenerateTokenText());
    TokenRecord record;
    record.hash = HashToken(text.span());
    record.device_id = std::string(device_id);
    record.created_at = now;
    record.expires_at = now + lifetime_seconds;
    update.new_tokens.push_back(std::move(record));
    texts.push_back(std::move(text));
  }
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return texts;
}

StatusOr<Certificate> FleetCa::IssueDevice(const CertificateRequest& csr, int64_t now) {
  const Generation& issuer = state_->issuer();
  CertificateTemplate tmpl;
  tmpl.device_id = csr.device_id;
  tmpl.organization = state_->name;
  tmpl.subject_public_key = csr.public_key;
  tmpl.not_before = std::max(now - kBackdateSeconds, issuer.certificate.not_before());
  tmpl.not_after =
      std::min(now + state_->options.device_validity_seconds, issuer.certificate.not_after());
  if (tmpl.not_after <= now) {
    return FailedPreconditionError("the issuing CA certificate expired; run 'ca rotate'");
  }
  tmpl.client_auth = true;
  return IssueCertificate(tmpl, &issuer.certificate, SigningKey{store_.get(), issuer.key_label});
}

StatusOr<Certificate> FleetCa::IssueServiceCertificate(std::string_view common_name,
                                                       const std::vector<std::string>& dns_names,
                                                       std::span<const uint8_t> public_key_spki,
                                                       bool server_auth, bool client_auth,
                                                       int64_t validity_seconds, int64_t now) {
  if (common_name.empty()) return InvalidArgumentError("a service certificate needs a name");
  if (!server_auth && !client_auth) {
    return InvalidArgumentError("a service certificate needs serverAuth or clientAuth");
  }
  if (validity_seconds <= 0) return InvalidArgumentError("validity must be positive");
  const Generation& issuer = state_->issuer();
  CertificateTemplate tmpl;
  tmpl.common_name = std::string(common_name);
  tmpl.organization = state_->name;
  tmpl.san_dns_names = dns_names;
  tmpl.subject_public_key.assign(public_key_spki.begin(), public_key_spki.end());
  tmpl.not_before = std::max(now - kBackdateSeconds, issuer.certificate.not_before());
  tmpl.not_after = std::min(now + validity_seconds, issuer.certificate.not_after());
  if (tmpl.not_after <= now) {
    return FailedPreconditionError("the issuing CA certificate expired; run 'ca rotate'");
  }
  tmpl.server_auth = server_auth;
  tmpl.client_auth = client_auth;
  return IssueCertificate(tmpl, &issuer.certificate, SigningKey{store_.get(), issuer.key_label});
}

IssuedCertificateRecord FleetCa::RecordFor(const Certificate& cert, std::string_view method,
                                           int64_t now) const {
  IssuedCertificateRecord record;
  record.serial = cert.serial_hex();
  record.device_id = cert.device_id();
  record.key_type = cert.key_algorithm();
  record.issuer_key_type = std::string(keystore::KeyTypeName(state_->issuer().key_type));
  record.issuer_generation = state_->issuer().number;
  record.fingerprint = FingerprintHex(cert);
  record.issued_at = now;
  record.not_before = cert.not_before();
  record.not_after = cert.not_after();
  record.method = std::string(method);
  record.certificate_der_base64 = Base64Encode(cert.der());
  return record;
}

EnrollmentResponse FleetCa::ResponseFor(const Certificate& cert) const {
  EnrollmentResponse response;
  response.device_id = cert.device_id();
  response.key_type = cert.key_algorithm();
  response.serial = cert.serial_hex();
  response.certificate_der = cert.der();
  for (const Certificate& c : Chain()) response.chain_der.push_back(c.der());
  for (const Generation& g : state_->roots) response.roots_der.push_back(g.certificate.der());
  response.not_after = cert.not_after();
  return response;
}

namespace {

// Parses and verifies a CSR and checks it names `device_id` and a key of
// `key_type` the CA certifies.
StatusOr<CertificateRequest> CheckCsr(std::span<const uint8_t> csr_der, std::string_view device_id,
                                      std::string_view key_type) {
  CUSTOS_ASSIGN_OR_RETURN(CertificateRequest csr, ParseAndVerifyCsr(csr_der));
  if (csr.device_id != device_id) {
    return InvalidArgumentError("CSR names device '" + csr.device_id + "', the request '" +
                                std::string(device_id) + "'");
  }
  if (csr.key_algorithm != key_type) {
    return InvalidArgumentError("CSR key is " + csr.key_algorithm + ", the request says " +
                                std::string(key_type));
  }
  return csr;
}

}  // namespace

StatusOr<EnrollmentResponse> FleetCa::Enroll(const EnrollmentRequest& request, int64_t now) {
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(request.device_id));
  CUSTOS_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CheckCsr(request.csr_der, request.device_id, request.key_type));
  RegistryUpdate update;
  std::string_view method;
  if (!request.token.empty()) {
    if (!request.birth_chain_der.empty()) {
      return InvalidArgumentError("enrollment request has both a token and a birth chain");
    }
    CUSTOS_RETURN_IF_ERROR(CheckTokenSyntax(request.token.span()));
    TokenUse use{HashToken(request.token.span()), request.device_id, now};
    // Checked here for an early, clear error; Apply checks again atomically.
    CUSTOS_ASSIGN_OR_RETURN(std::optional<TokenRecord> token, registry_->FindToken(use.hash));
    if (!token.has_value()) return UnauthenticatedError("enrollment token not recognised");
    if (token->consumed) {
      return PermissionDeniedError("enrollment token was already used (at " +
                                   std::to_string(token->consumed_at) + " by device '" +
                                   token->consumed_by + "')");
    }
    if (now >= token->expires_at) {
      return PermissionDeniedError("enrollment token expired at " +
                                   std::to_string(token->expires_at) + " (unix time)");
    }
    if (!token->device_id.empty() && token->device_id != request.device_id) {
      return PermissionDeniedError("enrollment token is bound to device '" + token->device_id +
                                   "', not '" + request.device_id + "'");
    }
    update.consume_token = std::move(use);
    method = kIssuedByToken;
  } else {
    if (request.birth_chain_der.empty()) {
      return InvalidArgumentError("enrollment request has neither a token nor a birth chain");
    }
    if (state_->manufacturer_roots.empty()) {
      return UnauthenticatedError("birth certificate refused: this CA trusts no manufacturer");
    }
    std::vector<Certificate> chain;
    for (const auto& der : request.birth_chain_der) {
      StatusOr<Certificate> cert = Certificate::FromDer(der);
      if (!cert.ok()) return Annotate(cert.status(), "birth chain");
      chain.push_back(*std::move(cert));
    }
    const Certificate& birth = chain.front();
    Status trusted = VerifyCertificateChain(birth, std::span(chain).subspan(1),
                                            state_->manufacturer_roots, {}, now);
    if (!trusted.ok()) return Annotate(trusted, "birth certificate refused");
    if (birth.device_id() != request.device_id) {
      return UnauthenticatedError("birth certificate is for device '" + birth.device_id() +
                                  "', not '" + request.device_id + "'");
    }
    if (birth.public_key() != csr.public_key) {
      return UnauthenticatedError(
          "birth certificate refused: the CSR is not signed by the birth certificate's key");
    }
    method = kIssuedByBirthCertificate;
  }
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, IssueDevice(csr, now));
  update.issued = RecordFor(cert, method, now);
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return ResponseFor(cert);
}

StatusOr<EnrollmentResponse> FleetCa::Rotate(const RotationRequest& request, int64_t now) {
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(request.device_id));
  if (request.challenge.size() != kRotationChallengeBytes) {
    return InvalidArgumentError("rotation challenge must be " +
                                std::to_string(kRotationChallengeBytes) + " bytes");
  }
  if (request.time < now - kRotationTimeWindowSeconds ||
      request.time > now + kRotationTimeWindowSeconds) {
    return UnauthenticatedError("rotation proof is not fresh (time " +
                                std::to_string(request.time) + ", CA time " + std::to_string(now) +
                                ")");
  }
  CUSTOS_ASSIGN_OR_RETURN(Certificate old_cert, Certificate::FromDer(request.old_certificate_der));
  if (old_cert.device_id() != request.device_id) {
    return InvalidArgumentError("old certificate is for device '" + old_cert.device_id() +
                                "', not '" + request.device_id + "'");
  }
  CUSTOS_RETURN_IF_ERROR(VerifyDeviceCertificate(old_cert, Chain(), now));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<IssuedCertificateRecord> old_record,
                          registry_->FindCertificate(old_cert.serial_hex()));
  if (old_record->revoked) {
    return PermissionDeniedError("certificate " + old_cert.serial_hex() +
                                 " was already replaced or revoked");
  }
  CUSTOS_RETURN_IF_ERROR(VerifyRawSignature(old_cert.public_key(), request.old_key_type,
                                            RotationTranscript(request),
                                            request.old_key_signature));
  CUSTOS_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CheckCsr(request.csr_der, request.device_id, request.new_key_type));
  if (csr.public_key == old_cert.public_key()) {
    return InvalidArgumentError("rotation must change the key; the CSR certifies the old key");
  }
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, IssueDevice(csr, now));
  RegistryUpdate update;
  update.issued = RecordFor(cert, kIssuedByRotation, now);
  update.issued->replaces = old_cert.serial_hex();
  update.revocations.push_back(Revocation{old_cert.serial_hex(), now,
                                          now + state_->options.rotation_grace_seconds,
                                          ReasonName(RevocationReason::kSuperseded)});
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return ResponseFor(cert);
}

StatusOr<std::string> FleetCa::HandleMessage(std::string_view json, int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(std::string type, MessageTypeOf(json));
  if (type == kEnrollmentRequestType) {
    CUSTOS_ASSIGN_OR_RETURN(EnrollmentRequest request, ParseEnrollmentRequest(json));
    CUSTOS_ASSIGN_OR_RETURN(EnrollmentResponse response, Enroll(request, now));
    return EnrollmentResponseToJson(response);
  }
  if (type == kRotationRequestType) {
    CUSTOS_ASSIGN_OR_RETURN(RotationRequest request, ParseRotationRequest(json));
    CUSTOS_ASSIGN_OR_RETURN(EnrollmentResponse response, Rotate(request, now));
    return EnrollmentResponseToJson(response);
  }
  return InvalidArgumentError("the CA does not answer '" + type.substr(0, 64) + "' messages");
}

StatusOr<Certificate> FleetCa::IssueForCsr(std::span<const uint8_t> csr_der,
                                           std::string_view method, int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(CertificateRequest csr, ParseAndVerifyCsr(csr_der));
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, IssueDevice(csr, now));
  RegistryUpdate update;
  update.issued = RecordFor(cert, method, now);
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return cert;
}

StatusOr<std::size_t> FleetCa::RevokeDevice(std::string_view device_id, RevocationReason reason,
                                            int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<IssuedCertificateRecord> records,
                          registry_->CertificatesOf(device_id));
  if (records.empty()) {
    return NotFoundError("this CA never issued a certificate to device '" + std::string(device_id) +
                         "'");
  }
  RegistryUpdate update;
  for (const IssuedCertificateRecord& r : records) {
    if (r.revoked && r.revocation_effective_at <= now) continue;
    update.revocations.push_back(Revocation{r.serial, now, now, ReasonName(reason)});
  }
  if (update.revocations.empty()) return std::size_t{0};
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return update.revocations.size();
}

StatusOr<DeviceStatus> FleetCa::ShowDevice(std::string_view device_id, int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<IssuedCertificateRecord> records,
                          registry_->CertificatesOf(device_id));
  if (records.empty()) {
    return NotFoundError("this CA never issued a certificate to device '" + std::string(device_id) +
                         "'");
  }
  DeviceStatus status;
  status.device_id = std::string(device_id);
  for (const IssuedCertificateRecord& r : records) {
    const bool revoked = r.revoked && r.revocation_effective_at <= now;
    if (!revoked && r.not_before <= now && now < r.not_after) status.active_serial = r.serial;
  }
  status.certificates = std::move(records);
  return status;
}

StatusOr<std::vector<Crl>> FleetCa::IssueCrls(int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<IssuedCertificateRecord> revoked,
                          registry_->RevokedCertificates());
  CUSTOS_ASSIGN_OR_RETURN(uint64_t number, registry_->LastCrlNumber());
  std::vector<Crl> crls;
  for (const Generation& g : state_->issuing) {
    if (g.certificate.not_after() <= now) continue;
    std::vector<RevokedEntry> entries;
    for (const IssuedCertificateRecord& r : revoked) {
      if (r.issuer_generation != g.number || r.revocation_effective_at > now) continue;
      entries.push_back(
          RevokedEntry{r.serial, r.revocation_effective_at, ReasonFromName(r.revocation_reason)});
    }
    const int64_t next =
        std::min(now + state_->options.crl_validity_seconds, g.certificate.not_after());
    CUSTOS_ASSIGN_OR_RETURN(Crl crl, IssueCrl(g.certificate, SigningKey{store_.get(), g.key_label},
                                              entries, now, next, ++number));
    crls.push_back(std::move(crl));
  }
  RegistryUpdate update;
  update.crl_number = number;
  CUSTOS_RETURN_IF_ERROR(registry_->Apply(update));
  return crls;
}

Status FleetCa::VerifyDeviceCertificate(const Certificate& certificate,
                                        std::span<const Certificate> intermediates, int64_t now) {
  ChainOptions options;
  options.purpose = CertificatePurpose::kClientAuth;
  CUSTOS_RETURN_IF_ERROR(
      VerifyCertificateChain(certificate, intermediates, Roots(), {}, now, options));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<IssuedCertificateRecord> record,
                          registry_->FindCertificate(certificate.serial_hex()));
  if (!record.has_value() || record->fingerprint != FingerprintHex(certificate)) {
    return UnauthenticatedError("certificate " + certificate.serial_hex() +
                                " was not issued by this CA");
  }
  if (record->revoked && record->revocation_effective_at <= now) {
    return UnauthenticatedError("certificate for device '" + certificate.device_id() +
                                "' (serial " + certificate.serial_hex() + ") is revoked (" +
                                record->revocation_reason + ")");
  }
  return OkStatus();
}

Status FleetCa::RotateIssuingCa(int64_t now, std::optional<KeyType> key_type) {
  const KeyType type = key_type.value_or(state_->issuer().key_type);
  if (!CanSignX509(type)) {
    return InvalidArgumentError("CA key type must be ecdsa-p256 or ed25519");
  }
  CUSTOS_RETURN_IF_ERROR(CheckStoreSupports(*store_, type));
  const Generation& old = state_->issuer();
  const Generation& root = state_->root();
  const int number = old.number + 1;
  CUSTOS_ASSIGN_OR_RETURN(
      Generation next,
      NewGeneration(*store_, GenerationLabel(state_->ca_id, "issuing", number), type,
                    CaName(state_->name, "Issuing", number), state_->name, &root.certificate,
                    root.key_label, now - kBackdateSeconds,
                    now + state_->options.issuing_validity_seconds, number, root.number));
  if (old.certificate.not_after() > now) {
    StatusOr<Certificate> cross = CrossCertify(*store_, next.certificate, old);
    if (!cross.ok()) {
      (void)store_->Destroy(next.key_label);
      return cross.status();
    }
    next.cross.push_back(*std::move(cross));
  }
  state_->issuing.push_back(std::move(next));
  Status saved = Save();
  if (!saved.ok()) {
    (void)store_->Destroy(state_->issuing.back().key_label);
    state_->issuing.pop_back();
  }
  return saved;
}

Status FleetCa::RotateRootCa(int64_t now, std::optional<KeyType> key_type) {
  const KeyType type = key_type.value_or(state_->root().key_type);
  if (!CanSignX509(type)) {
    return InvalidArgumentError("CA key type must be ecdsa-p256 or ed25519");
  }
  CUSTOS_RETURN_IF_ERROR(CheckStoreSupports(*store_, type));
  const Generation& old = state_->root();
  const int number = old.number + 1;
  CUSTOS_ASSIGN_OR_RETURN(
      Generation next, NewGeneration(*store_, GenerationLabel(state_->ca_id, "root", number), type,
                                     CaName(state_->name, "Root", number), state_->name, nullptr,
                                     "", now - kBackdateSeconds,
                                     now + state_->options.root_validity_seconds, number, number));
  StatusOr<Certificate> cross = CrossCertify(*store_, next.certificate, old);
  if (!cross.ok()) {
    (void)store_->Destroy(next.key_label);
    return cross.status();
  }
  next.cross.push_back(*std::move(cross));
  state_->roots.push_back(std::move(next));
  // The new issuing CA hangs under the new root; no issuing cross-certificate
  // is needed, as the root cross-certificate links the new root to the old.
  const Generation& root = state_->root();
  const int issuing_number = state_->issuer().number + 1;
  StatusOr<Generation> issuing =
      NewGeneration(*store_, GenerationLabel(state_->ca_id, "issuing", issuing_number), type,
                    CaName(state_->name, "Issuing", issuing_number), state_->name,
                    &root.certificate, root.key_label, now - kBackdateSeconds,
                    now + state_->options.issuing_validity_seconds, issuing_number, root.number);
  if (!issuing.ok()) {
    (void)store_->Destroy(state_->roots.back().key_label);
    state_->roots.pop_back();
    return issuing.status();
  }
  state_->issuing.push_back(*std::move(issuing));
  Status saved = Save();
  if (!saved.ok()) {
    (void)store_->Destroy(state_->issuing.back().key_label);
    (void)store_->Destroy(state_->roots.back().key_label);
    state_->issuing.pop_back();
    state_->roots.pop_back();
  }
  return saved;
}

}  // namespace custos::identity
