#include "custos/keystore/soft_key_store.h"

#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/crypto/openssl_aead.h"
#include "custos/keystore/internal/file_util.h"
#include "custos/keystore/internal/openssl_keys.h"
#include "custos/lwc/ascon.h"

namespace custos::keystore {
namespace {

using internal::PkeyPtr;
using Json = nlohmann::json;

constexpr std::string_view kBackend = "soft";
constexpr std::string_view kHeaderFormat = "custos-soft-key-store";
constexpr std::string_view kKeyFormat = "custos-soft-key";
constexpr std::string_view kCountersFormat = "custos-soft-counters";
constexpr int kVersion = 1;
constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kMasterKeyBytes = 32;  // ChaCha20-Poly1305
constexpr std::size_t kSealNonceBytes = 12;
constexpr std::size_t kSymmetricKeyBytes = 16;
constexpr std::size_t kMaxFileBytes = 64 * 1024;
constexpr std::size_t kMaxPassphraseBytes = 4096;
constexpr std::size_t kMaxCounters = 4096;

// One key of the store. Sign and agree keys live in `pkey`; encrypt keys in
// `secret`.
struct Entry {
  KeyInfo info;
  PkeyPtr pkey;
  SecretBytes secret;
};

std::string AeadNameOf(KeyType type) {
  if (type == KeyType::kAes128) return "aes-128-gcm";
  if (type == KeyType::kAsconAead128) return "ascon-aead128";
  return "";
}

Status CheckName(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxSoftLabelBytes;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) ok = false;
  }
  if (!ok) {
    return InvalidArgumentError(std::string(what) + " must be 1.." +
                                std::to_string(kMaxSoftLabelBytes) + " printable ASCII characters");
  }
  return OkStatus();
}

std::string Quoted(std::string_view label) { return "'" + std::string(label) + "'"; }

std::span<const uint8_t> Bytes(std::string_view text) { return AsBytes(text); }

// The associated data that binds a sealed key to its label and type.
std::string KeyAd(std::string_view label, std::string_view type) {
  std::string ad(kKeyFormat);
  ad += "-v1";
  ad += '\0';
  ad += label;
  ad += '\0';
  ad += type;
  return ad;
}

// Reads a string member; nullopt when absent or not a string.
std::optional<std::string> StringMember(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<uint64_t> UintMember(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

// The folder-backed part of a store: where it lives and the sealing key.
class Vault {
 public:
  Vault(std::string dir, std::unique_ptr<lwc::NonceAead> aead)
      : dir_(std::move(dir)), aead_(std::move(aead)) {}

  const std::string& dir() const { return dir_; }
  std::string KeysDir() const { return dir_ + "/keys"; }
  std::string KeyPath(std::string_view label) const {
    return KeysDir() + "/" + HexEncode(Bytes(label)) + ".key";
  }
  std::string CountersPath() const { return dir_ + "/counters"; }

  // nonce || ciphertext || tag under the master key.
  StatusOr<std::vector<uint8_t>> Seal(std::span<const uint8_t> plaintext,
                                      std::string_view ad) const {
    std::array<uint8_t, kSealNonceBytes> nonce{};
    CUSTOS_RETURN_IF_ERROR(FillRandom(nonce));
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, aead_->Seal(nonce, Bytes(ad), plaintext));
    sealed.insert(sealed.begin(), nonce.begin(), nonce.end());
    return sealed;
  }

  // Unauthenticated if the bytes were not sealed under this key and `ad`.
  StatusOr<SecretBytes> Open(std::span<const uint8_t> sealed, std::string_view ad) const {
    if (sealed.size() < kSealNonceBytes + aead_->tag_size()) {
      return UnauthenticatedError("sealed data too short");
    }
    SecretBytes out(sealed.size() - kSealNonceBytes - aead_->tag_size());
    CUSTOS_RETURN_IF_ERROR(aead_->OpenInto(sealed.first(kSealNonceBytes), Bytes(ad),
                                           sealed.subspan(kSealNonceBytes), out.mutable_span()));
    return out;
  }

 private:
  std::string dir_;
  std::unique_ptr<lwc::NonceAead> aead_;
};

class SoftKeyStore final : public KeyStore {
 public:
  // `vault` is null for an in-memory store.
  explicit SoftKeyStore(std::unique_ptr<Vault> vault) : vault_(std::move(vault)) {}

  // Loads every key file and the counters of the vault.
  Status Load() {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            internal::ListDirectory(vault_->KeysDir()));
    for (const std::string& name : names) {
      const std::string path = vault_->KeysDir() + "/" + name;
      if (name.find(".tmp-") != std::string::npos) {
        // A write interrupted before its rename; the key never existed.
        CUSTOS_RETURN_IF_ERROR(internal::OverwriteAndUnlink(path));
        continue;
      }
      CUSTOS_RETURN_IF_ERROR(LoadKeyFile(name, path));
    }
    return LoadCounters();
  }

  std::string_view BackendName() const override { return kBackend; }
  bool HardwareProtected() const override { return false; }
  std::vector<KeyType> SupportedKeyTypes() const override {
    return {AllKeyTypes().begin(), AllKeyTypes().end()};
  }

  StatusOr<KeyInfo> Generate(KeyType type, std::string_view label) override {
    CUSTOS_RETURN_IF_ERROR(CheckName("a key label", label));
    if (keys_.find(label) != keys_.end()) {
      return AlreadyExistsError("key " + Quoted(label) + " exists already in the " + Where());
    }
    Entry entry;
    entry.info.label = std::string(label);
    entry.info.type = type;
    entry.info.aead_algorithm = AeadNameOf(type);
    entry.info.extractable = false;
    if (PurposeOf(type) == KeyPurpose::kEncrypt) {
      CUSTOS_ASSIGN_OR_RETURN(entry.secret, RandomSecret(kSymmetricKeyBytes));
    } else {
      CUSTOS_ASSIGN_OR_RETURN(entry.pkey, internal::GenerateKeyPair(type));
    }
    if (vault_ != nullptr) CUSTOS_RETURN_IF_ERROR(WriteKeyFile(entry));
    KeyInfo info = entry.info;
    keys_.emplace(std::string(label), std::move(entry));
    return info;
  }

  StatusOr<std::vector<KeyInfo>> List() override {
    std::vector<KeyInfo> out;
    out.reserve(keys_.size());
    for (const auto& [label, entry] : keys_) out.push_back(entry.info);
    return out;
  }

  StatusOr<KeyInfo> Find(std::string_view label) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    return entry->info;
  }

  Status Destroy(std::string_view label) override {
    auto it = keys_.find(label);
    if (it == keys_.end()) return NotFound(label);
    if (vault_ != nullptr) {
      CUSTOS_RETURN_IF_ERROR(internal::OverwriteAndUnlink(vault_->KeyPath(label)));
    }
    keys_.erase(it);
    return OkStatus();
  }

  StatusOr<std::vector<uint8_t>> Sign(std::string_view label,
                                      std::span<const uint8_t> message) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    CUSTOS_RETURN_IF_ERROR(RequirePurpose(*entry, KeyPurpose::kSign, "sign"));
    return internal::SignRaw(entry->pkey.get(), entry->info.type, message);
  }

  Status Verify(std::string_view label, std::span<const uint8_t> message,
                std::span<const uint8_t> signature) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    CUSTOS_RETURN_IF_ERROR(RequirePurpose(*entry, KeyPurpose::kSign, "verify"));
    return internal::VerifyRaw(entry->pkey.get(), entry->info.type, message, signature);
  }

  StatusOr<std::vector<uint8_t>> ExportPublicKey(std::string_view label) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    if (PurposeOf(entry->info.type) == KeyPurpose::kEncrypt) {
      return FailedPreconditionError("key " + Quoted(label) + " (" +
                                     std::string(KeyTypeName(entry->info.type)) +
                                     ") is a secret key and cannot be exported");
    }
    return internal::PublicKeyDer(entry->pkey.get());
  }

  StatusOr<SecretBytes> DeriveSharedKey(std::string_view label,
                                        std::span<const uint8_t> peer_public_key,
                                        std::span<const uint8_t> salt,
                                        std::span<const uint8_t> info,
                                        std::size_t length) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    CUSTOS_RETURN_IF_ERROR(RequirePurpose(*entry, KeyPurpose::kAgree, "agree"));
    return internal::AgreeAndDerive(entry->pkey.get(), entry->info.type, peer_public_key, salt,
                                    info, length);
  }

  StatusOr<std::vector<uint8_t>> Seal(std::string_view label, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    CUSTOS_RETURN_IF_ERROR(RequirePurpose(*entry, KeyPurpose::kEncrypt, "seal"));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::NonceAead> aead, AeadOf(*entry));
    std::vector<uint8_t> out(aead->nonce_size() + plaintext.size() + aead->tag_size());
    const std::span<uint8_t> nonce(out.data(), aead->nonce_size());
    CUSTOS_RETURN_IF_ERROR(FillRandom(nonce));
    CUSTOS_RETURN_IF_ERROR(aead->SealInto(nonce, associated_data, plaintext,
                                          std::span<uint8_t>(out).subspan(nonce.size())));
    return out;
  }

  StatusOr<std::vector<uint8_t>> Open(std::string_view label, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) override {
    CUSTOS_ASSIGN_OR_RETURN(const Entry* entry, Lookup(label));
    CUSTOS_RETURN_IF_ERROR(RequirePurpose(*entry, KeyPurpose::kEncrypt, "open"));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::NonceAead> aead, AeadOf(*entry));
    if (sealed.size() < aead->nonce_size() + aead->tag_size()) {
      return UnauthenticatedError("authentication failed");
    }
    std::vector<uint8_t> out(sealed.size() - aead->nonce_size() - aead->tag_size());
    CUSTOS_RETURN_IF_ERROR(aead->OpenInto(sealed.first(aead->nonce_size()), associated_data,
                                          sealed.subspan(aead->nonce_size()), out));
    return out;
  }

  StatusOr<uint64_t> ReadCounter(std::string_view name) override {
    CUSTOS_RETURN_IF_ERROR(CheckName("a counter name", name));
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }

  StatusOr<uint64_t> IncrementCounter(std::string_view name) override {
    CUSTOS_RETURN_IF_ERROR(CheckName("a counter name", name));
    std::map<std::string, uint64_t, std::less<>> next = counters_;
    uint64_t& value = next[std::string(name)];
    if (value == std::numeric_limits<uint64_t>::max()) {
      return OutOfRangeError("counter " + Quoted(name) + " is at its maximum");
    }
    if (next.size() > kMaxCounters) {
      return ResourceExhaustedError("the " + Where() + " holds at most " +
                                    std::to_string(kMaxCounters) + " counters");
    }
    ++value;
    const uint64_t result = value;
    if (vault_ != nullptr) CUSTOS_RETURN_IF_ERROR(WriteCounters(next));
    counters_ = std::move(next);
    return result;
  }

  StatusOr<std::size_t> ZeroizeKeys() override {
    Status first_error = OkStatus();
    std::size_t destroyed = keys_.size();
    if (vault_ != nullptr) {
      // Every file in keys/, whether or not this object loaded it.
      StatusOr<std::vector<std::string>> names = internal::ListDirectory(vault_->KeysDir());
      if (names.ok()) {
        std::size_t files = 0;
        for (const std::string& name : *names) {
          Status status = internal::OverwriteAndUnlink(vault_->KeysDir() + "/" + name);
          if (status.ok() && name.find(".tmp-") == std::string::npos) ++files;
          if (!status.ok() && first_error.ok()) first_error = status;
        }
        destroyed = std::max(destroyed, files);
      } else {
        first_error = names.status();
      }
    }
    keys_.clear();  // EVP_PKEY_free clears private keys; SecretBytes wipes
    if (!first_error.ok()) return Annotate(first_error, "zeroizing the " + Where());
    return destroyed;
  }

 private:
  std::string Where() const {
    return vault_ == nullptr ? std::string("in-memory software key store")
                             : "software key store at " + vault_->dir();
  }

  Status NotFound(std::string_view label) const {
    return NotFoundError("no key " + Quoted(label) + " in the " + Where());
  }

  StatusOr<const Entry*> Lookup(std::string_view label) const {
    auto it = keys_.find(label);
    if (it == keys_.end()) return NotFound(label);
    return &it->second;
  }

  static Status RequirePurpose(const Entry& entry, KeyPurpose purpose, std::string_view verb) {
    if (PurposeOf(entry.info.type) == purpose) return OkStatus();
    return FailedPreconditionError("key " + Quoted(entry.info.label) + " is a " +
                                   std::string(KeyTypeName(entry.info.type)) + " key and cannot " +
                                   std::string(verb));
  }

  static StatusOr<std::unique_ptr<lwc::NonceAead>> AeadOf(const Entry& entry) {
    if (entry.info.type == KeyType::kAes128) return crypto::NewAes128Gcm(entry.secret.span());
    return lwc::NewAsconAead128(entry.secret.span());
  }

  Status WriteKeyFile(const Entry& entry) {
    SecretBytes material;
    if (entry.pkey != nullptr) {
      CUSTOS_ASSIGN_OR_RETURN(material, internal::PrivateKeyDer(entry.pkey.get()));
    } else {
      material = entry.secret;
    }
    const std::string type(KeyTypeName(entry.info.type));
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                            vault_->Seal(material.span(), KeyAd(entry.info.label, type)));
    const Json file = {{"format", kKeyFormat},
                       {"version", kVersion},
                       {"label", entry.info.label},
                       {"type", type},
                       {"sealed", HexEncode(sealed)}};
    const std::string path = vault_->KeyPath(entry.info.label);
    if (internal::PathExists(path)) {
      return AlreadyExistsError("key file '" + path + "' exists already");
    }
    return internal::WriteFileAtomically(path, Bytes(file.dump()));
  }

  Status LoadKeyFile(const std::string& name, const std::string& path) {
    auto corrupt = [&path](std::string_view why) {
      return DataLossError("key file '" + path + "' is corrupt or was tampered with (" +
                           std::string(why) + ")");
    };
    CUSTOS_ASSIGN_OR_RETURN(std::string text, internal::ReadFileText(path, kMaxFileBytes));
    const Json file = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!file.is_object()) return corrupt("not a JSON object");
    std::optional<std::string> format = StringMember(file, "format");
    std::optional<uint64_t> version = UintMember(file, "version");
    std::optional<std::string> label = StringMember(file, "label");
    std::optional<std::string> type_name = StringMember(file, "type");
    std::optional<std::string> sealed_hex = StringMember(file, "sealed");
    if (format != kKeyFormat || version != uint64_t{kVersion} || !label || !type_name ||
        !sealed_hex) {
      return corrupt("missing or wrong fields");
    }
    if (!CheckName("a key label", *label).ok() || name != HexEncode(Bytes(*label)) + ".key") {
      return corrupt("label does not match the file name");
    }
    StatusOr<KeyType> type = KeyTypeFromName(*type_name);
    if (!type.ok()) return corrupt("unknown key type");
    StatusOr<std::vector<uint8_t>> sealed = HexDecode(*sealed_hex);
    if (!sealed.ok()) return corrupt("sealed key is not hex");
    StatusOr<SecretBytes> material = vault_->Open(*sealed, KeyAd(*label, *type_name));
    if (!material.ok()) return corrupt("authentication failed");
    Entry entry;
    entry.info.label = *label;
    entry.info.type = *type;
    entry.info.aead_algorithm = AeadNameOf(*type);
    if (PurposeOf(*type) == KeyPurpose::kEncrypt) {
      if (material->size() != kSymmetricKeyBytes) return corrupt("wrong key size");
      entry.secret = *std::move(material);
    } else {
      StatusOr<PkeyPtr> pkey = internal::ParsePrivateKeyDer(material->span(), *type);
      if (!pkey.ok()) return corrupt(std::string(pkey.status().message()));
      entry.pkey = *std::move(pkey);
    }
    keys_.emplace(*label, std::move(entry));
    return OkStatus();
  }

  Status WriteCounters(const std::map<std::string, uint64_t, std::less<>>& counters) {
    Json values = Json::object();
    for (const auto& [name, value] : counters) values[name] = value;
    const std::string plain = values.dump();
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                            vault_->Seal(Bytes(plain), kCountersFormat));
    const Json file = {
        {"format", kCountersFormat}, {"version", kVersion}, {"sealed", HexEncode(sealed)}};
    return internal::WriteFileAtomically(vault_->CountersPath(), Bytes(file.dump()));
  }

  Status LoadCounters() {
    const std::string path = vault_->CountersPath();
    StatusOr<std::string> text = internal::ReadFileText(path, 4 * kMaxFileBytes);
    if (text.status().code() == StatusCode::kNotFound) return OkStatus();
    if (!text.ok()) return text.status();
    auto corrupt = [&path]() {
      return DataLossError("counter file '" + path + "' is corrupt or was tampered with");
    };
    const Json file = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!file.is_object() || StringMember(file, "format") != kCountersFormat ||
        UintMember(file, "version") != uint64_t{kVersion}) {
      return corrupt();
    }
    std::optional<std::string> sealed_hex = StringMember(file, "sealed");
    if (!sealed_hex) return corrupt();
    StatusOr<std::vector<uint8_t>> sealed = HexDecode(*sealed_hex);
    if (!sealed.ok()) return corrupt();
    StatusOr<SecretBytes> plain = vault_->Open(*sealed, kCountersFormat);
    if (!plain.ok()) return corrupt();
    const Json values = Json::parse(plain->data(), plain->data() + plain->size(), nullptr, false);
    if (!values.is_object()) return corrupt();
    for (const auto& [name, value] : values.items()) {
      if (!value.is_number_unsigned() || !CheckName("a counter name", name).ok()) {
        return corrupt();
      }
      counters_[name] = value.get<uint64_t>();
    }
    return OkStatus();
  }

  std::unique_ptr<Vault> vault_;
  std::map<std::string, Entry, std::less<>> keys_;
  std::map<std::string, uint64_t, std::less<>> counters_;
};

// The check value's associated data: the header's parameters, so that a
// changed parameter reads as a wrong passphrase rather than a silent change.
std::string CheckAd(uint64_t n, uint64_t r, uint64_t p, std::string_view salt_hex) {
  return std::string(kHeaderFormat) + "-check-v1:scrypt:n=" + std::to_string(n) +
         ",r=" + std::to_string(r) + ",p=" + std::to_string(p) + ",salt=" + std::string(salt_hex);
}

StatusOr<std::unique_ptr<lwc::NonceAead>> MasterAead(const SecretBytes& passphrase,
                                                     std::span<const uint8_t> salt, uint64_t n,
                                                     uint32_t r, uint32_t p) {
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes master,
                          internal::Scrypt(passphrase.span(), salt, n, r, p, kMasterKeyBytes));
  return crypto::NewChaCha20Poly1305(master.span());
}

// Creates the header of a new store in `dir`.
Status CreateHeader(const std::string& dir, const SecretBytes& passphrase,
                    const SoftKeyStoreOptions& options) {
  std::array<uint8_t, kSaltBytes> salt{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(salt));
  const std::string salt_hex = HexEncode(salt);
  CUSTOS_ASSIGN_OR_RETURN(
      std::unique_ptr<lwc::NonceAead> aead,
      MasterAead(passphrase, salt, options.scrypt_n, options.scrypt_r, options.scrypt_p));
  Vault vault(dir, std::move(aead));
  CUSTOS_ASSIGN_OR_RETURN(
      std::vector<uint8_t> check,
      vault.Seal({}, CheckAd(options.scrypt_n, options.scrypt_r, options.scrypt_p, salt_hex)));
  const Json header = {
      {"format", kHeaderFormat},
      {"version", kVersion},
      {"kdf",
       {{"name", "scrypt"},
        {"n", options.scrypt_n},
        {"r", options.scrypt_r},
        {"p", options.scrypt_p},
        {"salt", salt_hex}}},
      {"aead", "chacha20-poly1305"},
      {"check", HexEncode(check)},
      {"protection", "none: software store for development and simulated devices only"},
  };
  CUSTOS_RETURN_IF_ERROR(internal::MakeDirectories(dir + "/keys"));
  return internal::CreateFileExclusively(dir + "/store.json", Bytes(header.dump(2) + "\n"));
}

// Reads the header of `dir` and derives the sealing key from `passphrase`.
StatusOr<std::unique_ptr<Vault>> OpenVault(const std::string& dir, const SecretBytes& passphrase) {
  const std::string path = dir + "/store.json";
  CUSTOS_ASSIGN_OR_RETURN(std::string text, internal::ReadFileText(path, kMaxFileBytes));
  auto corrupt = [&path](std::string_view why) {
    return DataLossError("store header '" + path + "' is corrupt (" + std::string(why) + ")");
  };
  const Json header = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return corrupt("not a JSON object");
  if (StringMember(header, "format") != kHeaderFormat) return corrupt("not a custos store");
  if (UintMember(header, "version") != uint64_t{kVersion}) return corrupt("unknown version");
  auto kdf = header.find("kdf");
  if (kdf == header.end() || !kdf->is_object() || StringMember(*kdf, "name") != "scrypt") {
    return corrupt("unknown key derivation");
  }
  std::optional<uint64_t> n = UintMember(*kdf, "n");
  std::optional<uint64_t> r = UintMember(*kdf, "r");
  std::optional<uint64_t> p = UintMember(*kdf, "p");
  std::optional<std::string> salt_hex = StringMember(*kdf, "salt");
  std::optional<std::string> check_hex = StringMember(header, "check");
  if (!n || !r || !p || !salt_hex || !check_hex || *r > 32 || *p > 16) {
    return corrupt("bad scrypt parameters");
  }
  StatusOr<std::vector<uint8_t>> salt = HexDecode(*salt_hex);
  StatusOr<std::vector<uint8_t>> check = HexDecode(*check_hex);
  if (!salt.ok() || salt->size() < 16 || !check.ok()) return corrupt("bad salt or check value");
  StatusOr<std::unique_ptr<lwc::NonceAead>> aead =
      MasterAead(passphrase, *salt, *n, static_cast<uint32_t>(*r), static_cast<uint32_t>(*p));
  if (aead.status().code() == StatusCode::kInvalidArgument) {
    return corrupt(std::string(aead.status().message()));
  }
  if (!aead.ok()) return aead.status();
  auto vault = std::make_unique<Vault>(dir, *std::move(aead));
  if (!vault->Open(*check, CheckAd(*n, *r, *p, *salt_hex)).ok()) {
    return UnauthenticatedError("wrong passphrase for software key store at " + dir);
  }
  return vault;
}

Status CheckOptions(const SoftKeyStoreOptions& options) {
  const uint64_t n = options.scrypt_n;
  if (n < 2 || n > (uint64_t{1} << 24) || (n & (n - 1)) != 0 || options.scrypt_r == 0 ||
      options.scrypt_r > 32 || options.scrypt_p == 0 || options.scrypt_p > 16) {
    return InvalidArgumentError(
        "scrypt options must be N a power of two in 2..2^24, r in 1..32, p in 1..16");
  }
  return OkStatus();
}

// Decodes %XX escapes (RFC 3986).
StatusOr<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return InvalidArgumentError("truncated %-escape in '" + std::string(text) + "'");
    }
    StatusOr<std::vector<uint8_t>> byte = HexDecode(text.substr(i + 1, 2));
    if (!byte.ok()) return InvalidArgumentError("bad %-escape in '" + std::string(text) + "'");
    out += static_cast<char>((*byte)[0]);
    i += 2;
  }
  return out;
}

SecretBytes WithoutTrailingNewline(SecretBytes bytes) {
  std::size_t size = bytes.size();
  if (size > 0 && bytes[size - 1] == '\n') --size;
  if (size > 0 && bytes[size - 1] == '\r') --size;
  bytes.resize(size);
  return bytes;
}

StatusOr<SecretBytes> PassphraseFromSource(std::string_view source) {
  if (source.substr(0, 5) == "file:") {
    CUSTOS_ASSIGN_OR_RETURN(std::string path, PercentDecode(source.substr(5)));
    StatusOr<SecretBytes> bytes = internal::ReadFileSecret(path, kMaxPassphraseBytes);
    if (bytes.status().code() == StatusCode::kNotFound) {
      return NotFoundError("passphrase file '" + path + "' does not exist");
    }
    if (!bytes.ok()) return Annotate(bytes.status(), "passphrase file");
    return WithoutTrailingNewline(*std::move(bytes));
  }
  if (source.substr(0, 4) == "env:") {
    const std::string name(source.substr(4));
    // Reading the environment is process-wide state, read only.
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) {
      return NotFoundError("passphrase variable '" + name + "' is not set");
    }
    return SecretBytes(Bytes(value));
  }
  return InvalidArgumentError("passphrase-source must be file:PATH or env:NAME, got '" +
                              std::string(source) + "'");
}

// The default passphrase: DIR/store.key, created with 32 random bytes (hex)
// for a new store.
StatusOr<SecretBytes> DefaultPassphrase(const std::string& dir) {
  const std::string key_path = dir + "/store.key";
  StatusOr<SecretBytes> existing = internal::ReadFileSecret(key_path, kMaxPassphraseBytes);
  if (existing.ok()) return WithoutTrailingNewline(*std::move(existing));
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (internal::PathExists(dir + "/store.json")) {
    return FailedPreconditionError("software key store at " + dir +
                                   " has no store.key; give its passphrase with "
                                   "?passphrase-source=file:PATH");
  }
  CUSTOS_RETURN_IF_ERROR(internal::MakeDirectories(dir));
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes random, RandomSecret(32));
  std::string hex = HexEncode(random.span()) + "\n";
  SecretBytes contents(Bytes(hex));
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(hex.data()), hex.size()));
  Status created = internal::CreateFileExclusively(key_path, contents.span(), 0600);
  if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes bytes,
                          internal::ReadFileSecret(key_path, kMaxPassphraseBytes));
  return WithoutTrailingNewline(std::move(bytes));
}

}  // namespace

std::unique_ptr<KeyStore> NewInMemorySoftKeyStore() {
  return std::make_unique<SoftKeyStore>(nullptr);
}

StatusOr<std::unique_ptr<KeyStore>> OpenSoftKeyStore(std::string_view dir_view,
                                                     const SecretBytes& passphrase,
                                                     const SoftKeyStoreOptions& options) {
  std::string dir(dir_view);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return InvalidArgumentError("software key store needs a folder");
  if (passphrase.empty()) {
    return InvalidArgumentError("empty passphrase for software key store at " + dir);
  }
  CUSTOS_RETURN_IF_ERROR(CheckOptions(options));
  if (!internal::PathExists(dir + "/store.json")) {
    Status created = CreateHeader(dir, passphrase, options);
    // Another process may have created it meanwhile; open what is there.
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) return created;
  }
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault, OpenVault(dir, passphrase));
  auto store = std::make_unique<SoftKeyStore>(std::move(vault));
  CUSTOS_RETURN_IF_ERROR(store->Load());
  return store;
}

namespace {

// The parts of a soft: URI.
struct SoftUri {
  std::string dir;  // percent-decoded, without trailing slashes; "mem" for soft:mem
  std::optional<std::string> passphrase_source;
};

StatusOr<SoftUri> ParseSoftUri(std::string_view uri) {
  constexpr std::string_view kScheme = "soft:";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("not a soft: URI: '" + std::string(uri) + "'");
  }
  std::string_view rest = uri.substr(kScheme.size());
  std::string_view query;
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  SoftUri parsed;
  CUSTOS_ASSIGN_OR_RETURN(parsed.dir, PercentDecode(rest));
  if (parsed.dir.empty()) {
    return InvalidArgumentError("soft: URI needs a folder or 'mem': '" + std::string(uri) + "'");
  }
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view attribute = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = attribute.find('=');
    const std::string_view name = attribute.substr(0, eq);
    if (name != "passphrase-source" || eq == std::string_view::npos) {
      return InvalidArgumentError("unknown attribute '" + std::string(attribute) +
                                  "' in soft: URI (valid: passphrase-source=file:PATH or "
                                  "passphrase-source=env:NAME)");
    }
    parsed.passphrase_source = std::string(attribute.substr(eq + 1));
  }
  if (parsed.dir != "mem") {
    while (parsed.dir.size() > 1 && parsed.dir.back() == '/') parsed.dir.pop_back();
  }
  return parsed;
}

}  // namespace

StatusOr<std::unique_ptr<KeyStore>> OpenSoftKeyStoreUri(std::string_view uri,
                                                        const SoftKeyStoreOptions& options) {
  CUSTOS_ASSIGN_OR_RETURN(const SoftUri parsed, ParseSoftUri(uri));
  if (parsed.dir == "mem") {
    if (parsed.passphrase_source) {
      return InvalidArgumentError("soft:mem takes no passphrase-source");
    }
    return NewInMemorySoftKeyStore();
  }
  SecretBytes passphrase;
  if (parsed.passphrase_source) {
    CUSTOS_ASSIGN_OR_RETURN(passphrase, PassphraseFromSource(*parsed.passphrase_source));
  } else {
    CUSTOS_ASSIGN_OR_RETURN(passphrase, DefaultPassphrase(parsed.dir));
  }
  return OpenSoftKeyStore(parsed.dir, passphrase, options);
}

StatusOr<std::size_t> DestroySoftKeyStoreFiles(std::string_view uri) {
  CUSTOS_ASSIGN_OR_RETURN(const SoftUri parsed, ParseSoftUri(uri));
  if (parsed.dir == "mem") {
    return InvalidArgumentError("soft:mem has no files; its keys die with the process");
  }
  const std::string keys_dir = parsed.dir + "/keys";
  if (!internal::PathExists(keys_dir)) return std::size_t{0};
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<std::string> names, internal::ListDirectory(keys_dir));
  Status first_error = OkStatus();
  std::size_t destroyed = 0;
  for (const std::string& name : names) {
    const Status status = internal::OverwriteAndUnlink(keys_dir + "/" + name);
    if (status.ok() && name.find(".tmp-") == std::string::npos) ++destroyed;
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  if (!first_error.ok()) {
    return Annotate(first_error, "destroying the key files of software key store at " + parsed.dir);
  }
  return destroyed;
}

}  // namespace custos::keystore
