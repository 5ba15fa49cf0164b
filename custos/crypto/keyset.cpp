#include "custos/crypto/keyset.h"

#include <nlohmann/json.hpp>

#include "custos/core/hex.h"
#include "custos/core/random.h"

namespace custos::crypto {
namespace {

using Json = nlohmann::json;

// Looks `algorithm` up and checks that it is an AEAD.
StatusOr<const lwc::AlgorithmInfo*> FindAead(std::string_view algorithm,
                                             const lwc::AlgorithmRegistry& registry) {
  CUSTOS_ASSIGN_OR_RETURN(const lwc::AlgorithmInfo* info, registry.Find(algorithm));
  if (info->kind != lwc::AlgorithmKind::kAead) {
    return InvalidArgumentError("'" + std::string(algorithm) + "' is not an AEAD");
  }
  return info;
}

// Checks that `algorithm` is an AEAD of `registry` and `key_size` fits it.
Status CheckKey(std::string_view algorithm, std::size_t key_size,
                const lwc::AlgorithmRegistry& registry) {
  CUSTOS_ASSIGN_OR_RETURN(const lwc::AlgorithmInfo* info, FindAead(algorithm, registry));
  if (key_size != info->key_size) {
    return InvalidArgumentError("a " + std::string(algorithm) + " key must be " +
                                std::to_string(info->key_size) + " bytes, got " +
                                std::to_string(key_size));
  }
  return OkStatus();
}

StatusOr<uint32_t> RandomKeyId() {
  uint8_t bytes[4];
  CUSTOS_RETURN_IF_ERROR(FillRandom(bytes));
  uint32_t id = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                (uint32_t{bytes[2]} << 8) | bytes[3];
  return id == 0 ? 1 : id;  // 0 is reserved for raw keys
}

StatusOr<uint32_t> GetKeyId(const Json& object, const char* field, std::string_view where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_unsigned() || it->get<uint64_t>() > 0xffffffffu) {
    return InvalidArgumentError(std::string(where) + "." + field +
                                " must be an integer in 0..4294967295");
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

StatusOr<std::string> GetString(const Json& object, const char* field, std::string_view where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) {
    return InvalidArgumentError(std::string(where) + "." + field + " must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

StatusOr<Keyset> Keyset::Generate(std::string_view algorithm,
                                  const lwc::AlgorithmRegistry& registry) {
  Keyset keyset;
  CUSTOS_RETURN_IF_ERROR(keyset.Rotate(algorithm, registry));
  return keyset;
}

StatusOr<Keyset> Keyset::FromRawKey(std::string_view algorithm, std::span<const uint8_t> key,
                                    const lwc::AlgorithmRegistry& registry) {
  CUSTOS_RETURN_IF_ERROR(CheckKey(algorithm, key.size(), registry));
  Keyset keyset;
  keyset.keys_.push_back({0, std::string(algorithm), KeyStatus::kEnabled, SecretBytes(key)});
  keyset.primary_key_id_ = 0;
  return keyset;
}

Status Keyset::Rotate(std::string_view algorithm, const lwc::AlgorithmRegistry& registry) {
  CUSTOS_ASSIGN_OR_RETURN(const lwc::AlgorithmInfo* info, FindAead(algorithm, registry));
  if (keys_.size() >= kMaxKeys) return FailedPreconditionError("keyset is full");
  uint32_t id = 0;
  do {
    CUSTOS_ASSIGN_OR_RETURN(id, RandomKeyId());
  } while (Find(id) != nullptr);
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(info->key_size));
  keys_.push_back({id, std::string(algorithm), KeyStatus::kEnabled, std::move(key)});
  primary_key_id_ = id;
  return OkStatus();
}

Status Keyset::Disable(uint32_t key_id) {
  for (KeysetKey& key : keys_) {
    if (key.key_id != key_id) continue;
    if (key_id == primary_key_id_) {
      return FailedPreconditionError("cannot disable the primary key; rotate first");
    }
    key.status = KeyStatus::kDisabled;
    return OkStatus();
  }
  return NotFoundError("no key with id " + std::to_string(key_id));
}

const KeysetKey* Keyset::Find(uint32_t key_id) const {
  for (const KeysetKey& key : keys_) {
    if (key.key_id == key_id) return &key;
  }
  return nullptr;
}

StatusOr<Keyset> Keyset::FromJson(std::string_view text, const lwc::AlgorithmRegistry& registry) {
  if (text.size() > kMaxJsonBytes) return InvalidArgumentError("keyset is larger than 1 MiB");
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError("keyset is not valid JSON");
  if (!json.is_object()) return InvalidArgumentError("keyset must be a JSON object");
  auto version = json.find("version");
  if (version == json.end() || !version->is_number_unsigned() || version->get<uint64_t>() != 1) {
    return InvalidArgumentError("keyset.version must be 1");
  }
  Keyset keyset;
  CUSTOS_ASSIGN_OR_RETURN(keyset.primary_key_id_, GetKeyId(json, "primary_key_id", "keyset"));
  auto keys = json.find("keys");
  if (keys == json.end() || !keys->is_array() || keys->empty()) {
    return InvalidArgumentError("keyset.keys must be a non-empty array");
  }
  if (keys->size() > kMaxKeys) return InvalidArgumentError("keyset has too many keys");
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const Json& entry = (*keys)[i];
    const std::string where = "keyset.keys[" + std::to_string(i) + "]";
    if (!entry.is_object()) return InvalidArgumentError(where + " must be an object");
    KeysetKey key;
    CUSTOS_ASSIGN_OR_RETURN(key.key_id, GetKeyId(entry, "key_id", where));
    CUSTOS_ASSIGN_OR_RETURN(key.algorithm, GetString(entry, "algorithm", where));
    CUSTOS_ASSIGN_OR_RETURN(std::string status, GetString(entry, "status", where));
    if (status == "enabled") {
      key.status = KeyStatus::kEnabled;
    } else if (status == "disabled") {
      key.status = KeyStatus::kDisabled;
    } else {
      return InvalidArgumentError(where + ".status must be \"enabled\" or \"disabled\"");
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string hex, GetString(entry, "key", where));
    StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(hex.data()), hex.size()));
    if (!bytes.ok()) return Annotate(bytes.status(), where + ".key");
    key.key = SecretBytes(*bytes);
    SecureWipe(*bytes);
    Status fits = CheckKey(key.algorithm, key.key.size(), registry);
    if (!fits.ok()) return Annotate(fits, where);
    if (keyset.Find(key.key_id) != nullptr) {
      return InvalidArgumentError(where + ".key_id " + std::to_string(key.key_id) +
                                  " appears twice");
    }
    keyset.keys_.push_back(std::move(key));
  }
  const KeysetKey* primary = keyset.Find(keyset.primary_key_id_);
  if (primary == nullptr) {
    return InvalidArgumentError("keyset.primary_key_id " + std::to_string(keyset.primary_key_id_) +
                                " names no key");
  }
  if (primary->status != KeyStatus::kEnabled) {
    return InvalidArgumentError("keyset.primary_key_id names a disabled key");
  }
  return keyset;
}

std::string Keyset::ToJson() const {
  Json keys = Json::array();
  for (const KeysetKey& key : keys_) {
    keys.push_back({{"key_id", key.key_id},
                    {"algorithm", key.algorithm},
                    {"status", key.status == KeyStatus::kEnabled ? "enabled" : "disabled"},
                    {"key", HexEncode(key.key.span())}});
  }
  Json json = {{"version", 1}, {"primary_key_id", primary_key_id_}, {"keys", keys}};
  return json.dump(2) + "\n";
}

}  // namespace custos::crypto
