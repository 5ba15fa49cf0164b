#include "custos/keystore/pkcs11/pkcs11_key_store.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "custos/core/random.h"
#include "custos/crypto/spki.h"
#include "custos/keystore/pkcs11/internal/pkcs11_module.h"
#include "custos/keystore/pkcs11/pkcs11_uri.h"

namespace custos::keystore {
namespace {

using internal::CkError;
using internal::Pkcs11Module;
using internal::Session;

// Montgomery curves came with PKCS#11 3.0; p11-kit 0.24's header predates
// them.
constexpr CK_KEY_TYPE kCkkEcMontgomery = 0x41;
constexpr CK_MECHANISM_TYPE kCkmEcMontgomeryKeyPairGen = 0x1056;

// DER encodings of the curve OIDs that go in CKA_EC_PARAMS.
constexpr std::array<uint8_t, 10> kP256Oid = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::array<uint8_t, 5> kEd25519Oid = {0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr std::array<uint8_t, 5> kX25519Oid = {0x06, 0x03, 0x2b, 0x65, 0x6e};
// PKCS#11 3.0 also allows the curve name as a PrintableString; SoftHSM2
// stores Edwards keys' CKA_EC_PARAMS that way whatever it was given.
constexpr std::array<uint8_t, 14> kEd25519Name = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                                  'd',  's',  '2', '5', '5', '1', '9'};
constexpr std::array<uint8_t, 12> kX25519Name = {0x13, 0x0a, 'c', 'u', 'r', 'v',
                                                 'e',  '2',  '5', '5', '1', '9'};

constexpr std::size_t kP256PointSize = 65;  // 0x04 || X || Y
constexpr std::size_t kCurve25519KeySize = 32;
constexpr std::size_t kSignatureSize = 64;
constexpr std::size_t kGcmNonceSize = 12;
constexpr std::size_t kGcmTagSize = 16;
constexpr std::size_t kIdSize = 16;
constexpr std::size_t kMaxLabelSize = 255;
constexpr std::size_t kMaxHkdfOutput = 255 * 32;
constexpr std::string_view kCounterApplication = "custos-counter";

constexpr CK_BBOOL kTrue = CK_TRUE;
constexpr CK_BBOOL kFalse = CK_FALSE;

template <typename T>
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, T& value) {
  return {type, &value, sizeof(value)};
}
CK_ATTRIBUTE BoolAttr(CK_ATTRIBUTE_TYPE type, bool value) {
  // Modules only read template values.
  return {type, const_cast<CK_BBOOL*>(value ? &kTrue : &kFalse), sizeof(CK_BBOOL)};
}
CK_ATTRIBUTE BytesAttr(CK_ATTRIBUTE_TYPE type, std::span<const uint8_t> bytes) {
  return {type, const_cast<uint8_t*>(bytes.data()), bytes.size()};
}
CK_ATTRIBUTE TextAttr(CK_ATTRIBUTE_TYPE type, std::string_view text) {
  return {type, const_cast<char*>(text.data()), text.size()};
}

bool Has(const std::vector<CK_MECHANISM_TYPE>& mechanisms, CK_MECHANISM_TYPE mechanism) {
  return std::find(mechanisms.begin(), mechanisms.end(), mechanism) != mechanisms.end();
}

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

struct EvpKdfDeleter {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct EvpKdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

StatusOr<std::array<uint8_t, 32>> Sha256(std::span<const uint8_t> message) {
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &size, EVP_sha256(), nullptr) !=
          1 ||
      size != digest.size()) {
    return InternalError("OpenSSL SHA-256 failed");
  }
  return digest;
}

StatusOr<SecretBytes> HkdfSha256(std::span<const uint8_t> secret, std::span<const uint8_t> salt,
                                 std::span<const uint8_t> info, std::size_t length) {
  std::unique_ptr<EVP_KDF, EvpKdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return InternalError("OpenSSL HKDF is unavailable");
  std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return InternalError("OpenSSL EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  std::array<OSSL_PARAM, 5> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    return InternalError("OpenSSL HKDF-SHA-256 failed");
  }
  return out;
}

// The uncompressed point of a P-256 SubjectPublicKeyInfo, checked by OpenSSL
// to be on the curve.
StatusOr<std::vector<uint8_t>> P256PointFromSpki(std::span<const uint8_t> spki) {
  StatusOr<crypto::EvpPkeyPtr> key = crypto::ParseSpki(spki);
  if (!key.ok()) {
    return InvalidArgumentError("peer public key is not a DER SubjectPublicKeyInfo (" +
                                std::string(key.status().message()) + ")");
  }
  if (const auto raw = crypto::SplitSpki(spki);
      raw.has_value() && raw->algorithm == crypto::SpkiAlgorithm::kEcP256) {
    return std::vector<uint8_t>(raw->key.begin(), raw->key.end());
  }
  // Another form of a P-256 key (a compressed point), or another key.
  char group[32] = {};
  if (!EVP_PKEY_is_a(key->get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(key->get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     nullptr) != 1 ||
      std::string_view(group) != "prime256v1") {
    return InvalidArgumentError("peer public key is not a P-256 key");
  }
  std::vector<uint8_t> point(kP256PointSize);
  std::size_t size = 0;
  EVP_PKEY_set_utf8_string_param(key->get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                 "uncompressed");
  if (EVP_PKEY_get_octet_string_param(key->get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                      point.size(), &size) != 1 ||
      size != kP256PointSize) {
    return InvalidArgumentError("peer P-256 public key has no uncompressed encoding");
  }
  return point;
}

// CKA_EC_POINT is a DER OCTET STRING in PKCS#11 2.40 but some modules return
// the raw point; accept both.
std::span<const uint8_t> UnwrapEcPoint(std::span<const uint8_t> value, std::size_t raw_size) {
  if (value.size() == raw_size + 2 && value[0] == 0x04 && value[1] == raw_size) {
    return value.subspan(2);
  }
  return value;
}

// One key on the token.
struct KeyObjects {
  KeyInfo info;
  CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;  // private or secret key
  CK_OBJECT_CLASS object_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = CKK_EC;  // of `secret`, as the token reports it
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
};

class Pkcs11KeyStore final : public KeyStore {
 public:
  Pkcs11KeyStore(std::unique_ptr<Pkcs11Module> module, Session session, std::string token,
                 std::vector<CK_MECHANISM_TYPE> mechanisms)
      : module_(std::move(module)),
        session_(std::move(session)),
        f_(module_->functions()),
        token_(std::move(token)),
        mechanisms_(std::move(mechanisms)) {}

  std::string_view BackendName() const override { return "pkcs11"; }
  bool HardwareProtected() const override { return true; }

  std::vector<KeyType> SupportedKeyTypes() const override {
    std::vector<KeyType> types;
    for (const KeyType type : AllKeyTypes()) {
      if (MissingMechanism(type).empty()) types.push_back(type);
    }
    return types;
  }

  StatusOr<KeyInfo> Generate(KeyType type, std::string_view label) override;
  StatusOr<std::vector<KeyInfo>> List() override;
  StatusOr<KeyInfo> Find(std::string_view label) override {
    CUSTOS_ASSIGN_OR_RETURN(KeyObjects key, Resolve(label, /*with_public=*/false));
    return key.info;
  }
  Status Destroy(std::string_view label) override;
  StatusOr<std::vector<uint8_t>> Sign(std::string_view label,
                                      std::span<const uint8_t> message) override;
  Status Verify(std::string_view label, std::span<const uint8_t> message,
                std::span<const uint8_t> signature) override;
  StatusOr<std::vector<uint8_t>> ExportPublicKey(std::string_view label) override;
  StatusOr<SecretBytes> DeriveSharedKey(std::string_view label,
                                        std::span<const uint8_t> peer_public_key,
                                        std::span<const uint8_t> salt,
                                        std::span<const uint8_t> info, std::size_t length) override;
  StatusOr<std::vector<uint8_t>> Seal(std::string_view label, std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data) override;
  StatusOr<std::vector<uint8_t>> Open(std::string_view label, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) override;
  StatusOr<uint64_t> ReadCounter(std::string_view name) override;
  StatusOr<uint64_t> IncrementCounter(std::string_view name) override;
  StatusOr<std::size_t> ZeroizeKeys() override;

 private:
  // "" if the module offers every mechanism `type` needs, else the name of
  // the first missing one.
  std::string_view MissingMechanism(KeyType type) const;

  std::string KeyName(std::string_view label) const {
    return "key '" + std::string(label) + "' on token '" + token_ + "'";
  }

  StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(std::vector<CK_ATTRIBUTE> attributes);
  StatusOr<std::vector<uint8_t>> GetBytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  StatusOr<SecretBytes> GetSecretBytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  StatusOr<CK_ULONG> GetUlong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  StatusOr<bool> GetBool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

  // The custos key type of private/secret key `object`; NotFound-free:
  // FailedPrecondition for objects of no custos type.
  StatusOr<KeyType> Classify(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class);
  // The key of private/secret key `object`; looks up its public half only
  // when `with_public` (one search less on the signing path).
  StatusOr<KeyObjects> Describe(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class,
                                std::string label, bool with_public);
  // The key named `label`: NotFound if there is none. Without `with_public`
  // the answer may come from resolved_ (see there).
  StatusOr<KeyObjects> Resolve(std::string_view label, bool with_public = true);
  // True if `key` (from resolved_) still names a private or secret key object
  // labelled `label` of the cached class and key type on the token: one
  // C_GetAttributeValue instead of a search.
  bool StillResolves(const KeyObjects& key, std::string_view label);
  // Resolve, then checks that the key serves `purpose`.
  StatusOr<KeyObjects> ResolveFor(std::string_view label, KeyPurpose purpose,
                                  std::string_view action, bool with_public = false);

  Status CheckLabel(std::string_view label) const;
  // Every object holding counter `name` (normally one).
  StatusOr<std::vector<CK_OBJECT_HANDLE>> FindCounter(std::string_view name);

  std::unique_ptr<Pkcs11Module> module_;
  Session session_;
  CK_FUNCTION_LIST* f_;
  std::string token_;
  std::vector<CK_MECHANISM_TYPE> mechanisms_;
  // Private/secret key handles found by label (without their public half),
  // so that signing does not search the token before every signature. Each
  // use checks the handle still names that key (StillResolves), so a key
  // destroyed or replaced through another session or process is looked up
  // again; Generate, Destroy and ZeroizeKeys through this store clear it.
  std::map<std::string, KeyObjects, std::less<>> resolved_;
};

std::string_view Pkcs11KeyStore::MissingMechanism(KeyType type) const {
  struct Mechanism {
    CK_MECHANISM_TYPE type;
    std::string_view name;
  };
  // What each key type needs: a key-generation mechanism, then its use.
  std::array<Mechanism, 2> needs;
  switch (type) {
    case KeyType::kEcdsaP256:
      needs = {{{CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"}, {CKM_ECDSA, "CKM_ECDSA"}}};
      break;
    case KeyType::kEcdhP256:
      needs = {
          {{CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"}, {CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"}}};
      break;
    case KeyType::kEd25519:
      needs = {
          {{CKM_EC_EDWARDS_KEY_PAIR_GEN, "CKM_EC_EDWARDS_KEY_PAIR_GEN"}, {CKM_EDDSA, "CKM_EDDSA"}}};
      break;
    case KeyType::kX25519:
      needs = {{{kCkmEcMontgomeryKeyPairGen, "CKM_EC_MONTGOMERY_KEY_PAIR_GEN"},
                {CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"}}};
      break;
    case KeyType::kAes128:
      needs = {{{CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN"}, {CKM_AES_GCM, "CKM_AES_GCM"}}};
      break;
    case KeyType::kAsconAead128:
      return "an Ascon mechanism (PKCS#11 defines none)";
    default:
      return "an unknown mechanism";
  }
  for (const Mechanism& need : needs) {
    if (!Has(mechanisms_, need.type)) return need.name;
  }
  return "";
}

StatusOr<std::vector<CK_OBJECT_HANDLE>> Pkcs11KeyStore::FindObjects(
    std::vector<CK_ATTRIBUTE> attributes) {
  const CK_SESSION_HANDLE session = session_.handle();
  CUSTOS_RETURN_IF_ERROR(CkError(
      f_->C_FindObjectsInit(session, attributes.data(), attributes.size()), "C_FindObjectsInit"));
  std::vector<CK_OBJECT_HANDLE> found;
  std::array<CK_OBJECT_HANDLE, 64> batch{};
  while (true) {
    CK_ULONG count = 0;
    const CK_RV rv = f_->C_FindObjects(session, batch.data(), batch.size(), &count);
    if (rv != CKR_OK) {
      (void)f_->C_FindObjectsFinal(session);
      return CkError(rv, "C_FindObjects");
    }
    found.insert(found.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(count));
    if (count < batch.size()) break;
  }
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_FindObjectsFinal(session), "C_FindObjectsFinal"));
  return found;
}

StatusOr<std::vector<uint8_t>> Pkcs11KeyStore::GetBytes(CK_OBJECT_HANDLE object,
                                                        CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  std::vector<uint8_t> value(attribute.ulValueLen);
  attribute.pValue = value.data();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  value.resize(attribute.ulValueLen);
  return value;
}

StatusOr<SecretBytes> Pkcs11KeyStore::GetSecretBytes(CK_OBJECT_HANDLE object,
                                                     CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  SecretBytes value(attribute.ulValueLen);
  attribute.pValue = value.data();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  value.resize(attribute.ulValueLen);
  return value;
}

StatusOr<CK_ULONG> Pkcs11KeyStore::GetUlong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attribute = Attr(type, value);
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  return value;
}

StatusOr<bool> Pkcs11KeyStore::GetBool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attribute = Attr(type, value);
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_GetAttributeValue(session_.handle(), object, &attribute, 1),
                                 "C_GetAttributeValue"));
  return value == CK_TRUE;
}

StatusOr<KeyType> Pkcs11KeyStore::Classify(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class) {
  CUSTOS_ASSIGN_OR_RETURN(const CK_ULONG key_type, GetUlong(object, CKA_KEY_TYPE));
  if (object_class == CKO_SECRET_KEY) {
    if (key_type == CKK_AES) {
      CUSTOS_ASSIGN_OR_RETURN(const CK_ULONG size, GetUlong(object, CKA_VALUE_LEN));
      if (size == 16) return KeyType::kAes128;
    }
    return FailedPreconditionError("not a custos secret key type");
  }
  if (key_type == kCkkEcMontgomery) return KeyType::kX25519;
  if (key_type == CKK_EC || key_type == CKK_EC_EDWARDS) {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> params, GetBytes(object, CKA_EC_PARAMS));
    if (key_type == CKK_EC_EDWARDS) {
      if (SameBytes(params, kEd25519Oid) || SameBytes(params, kEd25519Name)) {
        return KeyType::kEd25519;
      }
      if (SameBytes(params, kX25519Oid) || SameBytes(params, kX25519Name)) {
        return KeyType::kX25519;
      }
    } else if (SameBytes(params, kP256Oid)) {
      CUSTOS_ASSIGN_OR_RETURN(const bool signs, GetBool(object, CKA_SIGN));
      return signs ? KeyType::kEcdsaP256 : KeyType::kEcdhP256;
    }
  }
  return FailedPreconditionError("not a custos private key type");
}

StatusOr<KeyObjects> Pkcs11KeyStore::Describe(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class,
                                              std::string label, bool with_public) {
  KeyObjects key;
  key.secret = object;
  key.object_class = object_class;
  CUSTOS_ASSIGN_OR_RETURN(key.key_type, GetUlong(object, CKA_KEY_TYPE));
  CUSTOS_ASSIGN_OR_RETURN(key.info.type, Classify(object, object_class));
  CUSTOS_ASSIGN_OR_RETURN(key.info.extractable, GetBool(object, CKA_EXTRACTABLE));
  key.info.label = std::move(label);
  if (key.info.type == KeyType::kAes128) key.info.aead_algorithm = "aes-128-gcm";
  if (object_class == CKO_PRIVATE_KEY && with_public) {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> id, GetBytes(object, CKA_ID));
    CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> publics,
                            FindObjects({Attr(CKA_CLASS, public_class), BytesAttr(CKA_ID, id),
                                         TextAttr(CKA_LABEL, key.info.label)}));
    if (!publics.empty()) key.public_key = publics.front();
  }
  return key;
}

bool Pkcs11KeyStore::StillResolves(const KeyObjects& key, std::string_view label) {
  std::vector<char> name(label.size());
  CK_OBJECT_CLASS object_class = CKO_DATA;
  CK_KEY_TYPE key_type = CKK_VENDOR_DEFINED;
  std::array<CK_ATTRIBUTE, 3> attributes = {CK_ATTRIBUTE{CKA_LABEL, name.data(), name.size()},
                                            Attr(CKA_CLASS, object_class),
                                            Attr(CKA_KEY_TYPE, key_type)};
  // A longer label fails with CKR_BUFFER_TOO_SMALL, a destroyed object with
  // CKR_OBJECT_HANDLE_INVALID.
  if (f_->C_GetAttributeValue(session_.handle(), key.secret, attributes.data(),
                              attributes.size()) != CKR_OK) {
    return false;
  }
  return attributes[0].ulValueLen == label.size() &&
         std::equal(label.begin(), label.end(), name.begin()) && object_class == key.object_class &&
         key_type == key.key_type;
}

StatusOr<KeyObjects> Pkcs11KeyStore::Resolve(std::string_view label, bool with_public) {
  if (!with_public) {
    if (auto it = resolved_.find(label); it != resolved_.end()) {
      if (StillResolves(it->second, label)) return it->second;
      resolved_.erase(it);
    }
  }
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_SECRET_KEY}) {
    CUSTOS_ASSIGN_OR_RETURN(
        const std::vector<CK_OBJECT_HANDLE> found,
        FindObjects({Attr(CKA_CLASS, object_class), TextAttr(CKA_LABEL, label)}));
    if (found.empty()) continue;
    StatusOr<KeyObjects> key =
        Describe(found.front(), object_class, std::string(label), with_public);
    if (!key.ok() && key.status().code() == StatusCode::kFailedPrecondition) {
      return FailedPreconditionError(KeyName(label) + " is " + std::string(key.status().message()));
    }
    if (key.ok()) {
      KeyObjects cached = *key;
      cached.public_key = CK_INVALID_HANDLE;
      resolved_.insert_or_assign(std::string(label), std::move(cached));
    }
    return key;
  }
  return NotFoundError("no " + KeyName(label));
}

StatusOr<KeyObjects> Pkcs11KeyStore::ResolveFor(std::string_view label, KeyPurpose purpose,
                                                std::string_view action, bool with_public) {
  CUSTOS_ASSIGN_OR_RETURN(KeyObjects key, Resolve(label, with_public));
  if (PurposeOf(key.info.type) != purpose) {
    return FailedPreconditionError(KeyName(label) + " is a " +
                                   std::string(KeyTypeName(key.info.type)) + " key and cannot " +
                                   std::string(action));
  }
  return key;
}

Status Pkcs11KeyStore::CheckLabel(std::string_view label) const {
  if (label.empty() || label.size() > kMaxLabelSize) {
    return InvalidArgumentError("key label must be 1 to 255 bytes long");
  }
  if (label.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("key label contains a NUL byte");
  }
  return OkStatus();
}

StatusOr<KeyInfo> Pkcs11KeyStore::Generate(KeyType type, std::string_view label) {
  CUSTOS_RETURN_IF_ERROR(CheckLabel(label));
  resolved_.clear();
  if (const std::string_view missing = MissingMechanism(type); !missing.empty()) {
    return UnimplementedError("key type '" + std::string(KeyTypeName(type)) +
                              "' is not supported by token '" + token_ + "': module " +
                              module_->path() + " lacks " + std::string(missing));
  }
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKO_PUBLIC_KEY}) {
    CUSTOS_ASSIGN_OR_RETURN(
        const std::vector<CK_OBJECT_HANDLE> found,
        FindObjects({Attr(CKA_CLASS, object_class), TextAttr(CKA_LABEL, label)}));
    if (!found.empty()) return AlreadyExistsError(KeyName(label) + " already exists");
  }
  std::array<uint8_t, kIdSize> id{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(id));
  const CK_SESSION_HANDLE session = session_.handle();
  const std::string what = "generating " + KeyName(label);

  if (type == KeyType::kAes128) {
    CK_MECHANISM mechanism = {CKM_AES_KEY_GEN, nullptr, 0};
    CK_ULONG size = 16;
    std::vector<CK_ATTRIBUTE> attributes = {
        BoolAttr(CKA_TOKEN, true),     BoolAttr(CKA_PRIVATE, true),
        BoolAttr(CKA_SENSITIVE, true), BoolAttr(CKA_EXTRACTABLE, false),
        BoolAttr(CKA_ENCRYPT, true),   BoolAttr(CKA_DECRYPT, true),
        BoolAttr(CKA_WRAP, false),     BoolAttr(CKA_UNWRAP, false),
        BoolAttr(CKA_DERIVE, false),   Attr(CKA_VALUE_LEN, size),
        TextAttr(CKA_LABEL, label),    BytesAttr(CKA_ID, id)};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CUSTOS_RETURN_IF_ERROR(
        CkError(f_->C_GenerateKey(session, &mechanism, attributes.data(), attributes.size(), &key),
                "C_GenerateKey " + what));
  } else {
    CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    std::span<const uint8_t> params = kP256Oid;
    const bool signs = PurposeOf(type) == KeyPurpose::kSign;
    if (type == KeyType::kEd25519) {
      mechanism.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
      params = kEd25519Oid;
    } else if (type == KeyType::kX25519) {
      mechanism.mechanism = kCkmEcMontgomeryKeyPairGen;
      params = kX25519Oid;
    }
    std::vector<CK_ATTRIBUTE> public_attributes = {
        BoolAttr(CKA_TOKEN, true),   BoolAttr(CKA_PRIVATE, false),
        BoolAttr(CKA_VERIFY, signs), BoolAttr(CKA_ENCRYPT, false),
        BoolAttr(CKA_WRAP, false),   BytesAttr(CKA_EC_PARAMS, params),
        TextAttr(CKA_LABEL, label),  BytesAttr(CKA_ID, id)};
    std::vector<CK_ATTRIBUTE> private_attributes = {
        BoolAttr(CKA_TOKEN, true),     BoolAttr(CKA_PRIVATE, true),
        BoolAttr(CKA_SENSITIVE, true), BoolAttr(CKA_EXTRACTABLE, false),
        BoolAttr(CKA_SIGN, signs),     BoolAttr(CKA_DERIVE, !signs),
        BoolAttr(CKA_DECRYPT, false),  BoolAttr(CKA_UNWRAP, false),
        TextAttr(CKA_LABEL, label),    BytesAttr(CKA_ID, id)};
    CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
    CUSTOS_RETURN_IF_ERROR(
        CkError(f_->C_GenerateKeyPair(session, &mechanism, public_attributes.data(),
                                      public_attributes.size(), private_attributes.data(),
                                      private_attributes.size(), &public_key, &private_key),
                "C_GenerateKeyPair " + what));
  }
  return Find(label);
}

StatusOr<std::vector<KeyInfo>> Pkcs11KeyStore::List() {
  std::vector<KeyInfo> keys;
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_SECRET_KEY}) {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found,
                            FindObjects({Attr(CKA_CLASS, object_class)}));
    for (const CK_OBJECT_HANDLE object : found) {
      CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> label, GetBytes(object, CKA_LABEL));
      StatusOr<KeyObjects> key =
          Describe(object, object_class, std::string(label.begin(), label.end()), false);
      // Keys of types custos does not make (another application's) are not
      // listed; they are still destroyed by ZeroizeKeys.
      if (!key.ok() && key.status().code() == StatusCode::kFailedPrecondition) continue;
      if (!key.ok()) return key.status();
      keys.push_back(std::move(key->info));
    }
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyInfo& a, const KeyInfo& b) { return a.label < b.label; });
  return keys;
}

Status Pkcs11KeyStore::Destroy(std::string_view label) {
  resolved_.clear();
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key, Resolve(label));
  resolved_.clear();
  if (key.public_key != CK_INVALID_HANDLE) {
    CUSTOS_RETURN_IF_ERROR(CkError(f_->C_DestroyObject(session_.handle(), key.public_key),
                                   "C_DestroyObject for the public half of " + KeyName(label)));
  }
  return CkError(f_->C_DestroyObject(session_.handle(), key.secret),
                 "C_DestroyObject for " + KeyName(label));
}

StatusOr<std::vector<uint8_t>> Pkcs11KeyStore::Sign(std::string_view label,
                                                    std::span<const uint8_t> message) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key, ResolveFor(label, KeyPurpose::kSign, "sign"));
  CK_MECHANISM mechanism = {CKM_EDDSA, nullptr, 0};
  std::array<uint8_t, 32> digest{};
  std::span<const uint8_t> input = message;
  if (key.info.type == KeyType::kEcdsaP256) {
    mechanism.mechanism = CKM_ECDSA;
    CUSTOS_ASSIGN_OR_RETURN(digest, Sha256(message));
    input = digest;
  }
  const CK_SESSION_HANDLE session = session_.handle();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_SignInit(session, &mechanism, key.secret),
                                 "C_SignInit with " + KeyName(label)));
  std::vector<uint8_t> signature(kSignatureSize);
  CK_ULONG size = signature.size();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_Sign(session, const_cast<uint8_t*>(input.data()),
                                            input.size(), signature.data(), &size),
                                 "C_Sign with " + KeyName(label)));
  if (size != kSignatureSize) {
    return InternalError("C_Sign with " + KeyName(label) + " returned " + std::to_string(size) +
                         " bytes, not 64");
  }
  return signature;
}

Status Pkcs11KeyStore::Verify(std::string_view label, std::span<const uint8_t> message,
                              std::span<const uint8_t> signature) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key,
                          ResolveFor(label, KeyPurpose::kSign, "verify", true));
  if (key.public_key == CK_INVALID_HANDLE) {
    return FailedPreconditionError(KeyName(label) + " has no public key object");
  }
  if (signature.size() != kSignatureSize) {
    return UnauthenticatedError("signature does not verify with " + KeyName(label));
  }
  CK_MECHANISM mechanism = {CKM_EDDSA, nullptr, 0};
  std::array<uint8_t, 32> digest{};
  std::span<const uint8_t> input = message;
  if (key.info.type == KeyType::kEcdsaP256) {
    mechanism.mechanism = CKM_ECDSA;
    CUSTOS_ASSIGN_OR_RETURN(digest, Sha256(message));
    input = digest;
  }
  const CK_SESSION_HANDLE session = session_.handle();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_VerifyInit(session, &mechanism, key.public_key),
                                 "C_VerifyInit with " + KeyName(label)));
  const CK_RV rv = f_->C_Verify(session, const_cast<uint8_t*>(input.data()), input.size(),
                                const_cast<uint8_t*>(signature.data()), signature.size());
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) {
    return UnauthenticatedError("signature does not verify with " + KeyName(label));
  }
  return CkError(rv, "C_Verify with " + KeyName(label));
}

StatusOr<std::vector<uint8_t>> Pkcs11KeyStore::ExportPublicKey(std::string_view label) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key, Resolve(label));
  if (PurposeOf(key.info.type) == KeyPurpose::kEncrypt) {
    return FailedPreconditionError(KeyName(label) +
                                   " is a secret key and cannot be exported: secrets never leave "
                                   "the token");
  }
  if (key.public_key == CK_INVALID_HANDLE) {
    return FailedPreconditionError(KeyName(label) + " has no public key object");
  }
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> value, GetBytes(key.public_key, CKA_EC_POINT));
  const bool p256 = key.info.type == KeyType::kEcdsaP256 || key.info.type == KeyType::kEcdhP256;
  const std::size_t raw_size = p256 ? kP256PointSize : kCurve25519KeySize;
  const std::span<const uint8_t> raw = UnwrapEcPoint(value, raw_size);
  if (raw.size() != raw_size || (p256 && raw[0] != 0x04)) {
    return DataLossError("CKA_EC_POINT of " + KeyName(label) + " is malformed");
  }
  crypto::SpkiAlgorithm algorithm = crypto::SpkiAlgorithm::kEcP256;
  if (key.info.type == KeyType::kEd25519) algorithm = crypto::SpkiAlgorithm::kEd25519;
  if (key.info.type == KeyType::kX25519) algorithm = crypto::SpkiAlgorithm::kX25519;
  return crypto::EncodeSpki(algorithm, raw);
}

StatusOr<SecretBytes> Pkcs11KeyStore::DeriveSharedKey(std::string_view label,
                                                      std::span<const uint8_t> peer_public_key,
                                                      std::span<const uint8_t> salt,
                                                      std::span<const uint8_t> info,
                                                      std::size_t length) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key,
                          ResolveFor(label, KeyPurpose::kAgree, "agree on keys"));
  if (length == 0 || length > kMaxHkdfOutput) {
    return InvalidArgumentError("HKDF-SHA-256 output length must be 1 to 8160 bytes");
  }
  std::vector<uint8_t> peer_point;
  if (key.info.type == KeyType::kEcdhP256) {
    CUSTOS_ASSIGN_OR_RETURN(peer_point, P256PointFromSpki(peer_public_key));
  } else {
    const auto raw = crypto::SplitSpki(peer_public_key);
    if (!raw.has_value() || raw->algorithm != crypto::SpkiAlgorithm::kX25519) {
      return InvalidArgumentError("peer public key is not an X25519 SubjectPublicKeyInfo");
    }
    peer_point.assign(raw->key.begin(), raw->key.end());
  }
  CK_ECDH1_DERIVE_PARAMS params = {CKD_NULL, 0, nullptr, peer_point.size(), peer_point.data()};
  CK_MECHANISM mechanism = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
  CK_ULONG size = 32;
  // A session object, readable so that HKDF can run on the host.
  std::vector<CK_ATTRIBUTE> attributes = {
      Attr(CKA_CLASS, secret_class),  Attr(CKA_KEY_TYPE, generic),     BoolAttr(CKA_TOKEN, false),
      BoolAttr(CKA_SENSITIVE, false), BoolAttr(CKA_EXTRACTABLE, true), Attr(CKA_VALUE_LEN, size)};
  const CK_SESSION_HANDLE session = session_.handle();
  CK_OBJECT_HANDLE shared = CK_INVALID_HANDLE;
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_DeriveKey(session, &mechanism, key.secret, attributes.data(),
                                                 attributes.size(), &shared),
                                 "C_DeriveKey (ECDH) with " + KeyName(label)));
  StatusOr<SecretBytes> secret = GetSecretBytes(shared, CKA_VALUE);
  const CK_RV destroyed = f_->C_DestroyObject(session, shared);
  if (!secret.ok()) return Annotate(secret.status(), "reading the ECDH secret");
  CUSTOS_RETURN_IF_ERROR(CkError(destroyed, "C_DestroyObject for the ECDH secret"));
  return HkdfSha256(secret->span(), salt, info, length);
}

StatusOr<std::vector<uint8_t>> Pkcs11KeyStore::Seal(std::string_view label,
                                                    std::span<const uint8_t> plaintext,
                                                    std::span<const uint8_t> associated_data) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key, ResolveFor(label, KeyPurpose::kEncrypt, "encrypt"));
  std::vector<uint8_t> sealed(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  CUSTOS_RETURN_IF_ERROR(FillRandom(std::span<uint8_t>(sealed).first(kGcmNonceSize)));
  CK_GCM_PARAMS params = {sealed.data(),          kGcmNonceSize,
                          kGcmNonceSize * 8,      const_cast<uint8_t*>(associated_data.data()),
                          associated_data.size(), kGcmTagSize * 8};
  CK_MECHANISM mechanism = {CKM_AES_GCM, &params, sizeof(params)};
  const CK_SESSION_HANDLE session = session_.handle();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_EncryptInit(session, &mechanism, key.secret),
                                 "C_EncryptInit with " + KeyName(label)));
  CK_ULONG size = sealed.size() - kGcmNonceSize;
  // Some modules (SoftHSM2) refuse a null data pointer even for 0 bytes.
  uint8_t empty = 0;
  uint8_t* data = plaintext.empty() ? &empty : const_cast<uint8_t*>(plaintext.data());
  CUSTOS_RETURN_IF_ERROR(
      CkError(f_->C_Encrypt(session, data, plaintext.size(), sealed.data() + kGcmNonceSize, &size),
              "C_Encrypt with " + KeyName(label)));
  if (size != plaintext.size() + kGcmTagSize) {
    return InternalError("C_Encrypt with " + KeyName(label) + " returned an unexpected length");
  }
  return sealed;
}

StatusOr<std::vector<uint8_t>> Pkcs11KeyStore::Open(std::string_view label,
                                                    std::span<const uint8_t> sealed,
                                                    std::span<const uint8_t> associated_data) {
  CUSTOS_ASSIGN_OR_RETURN(const KeyObjects key, ResolveFor(label, KeyPurpose::kEncrypt, "decrypt"));
  const Status bad =
      UnauthenticatedError("sealed data does not authenticate with " + KeyName(label));
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) return bad;
  CK_GCM_PARAMS params = {
      const_cast<uint8_t*>(sealed.data()),          kGcmNonceSize,          kGcmNonceSize * 8,
      const_cast<uint8_t*>(associated_data.data()), associated_data.size(), kGcmTagSize * 8};
  CK_MECHANISM mechanism = {CKM_AES_GCM, &params, sizeof(params)};
  const CK_SESSION_HANDLE session = session_.handle();
  CUSTOS_RETURN_IF_ERROR(CkError(f_->C_DecryptInit(session, &mechanism, key.secret),
                                 "C_DecryptInit with " + KeyName(label)));
  const std::span<const uint8_t> body = sealed.subspan(kGcmNonceSize);
  std::vector<uint8_t> plaintext(body.size());
  CK_ULONG size = plaintext.size();
  const CK_RV rv = f_->C_Decrypt(session, const_cast<uint8_t*>(body.data()), body.size(),
                                 plaintext.data(), &size);
  if (rv != CKR_OK) {
    SecureWipe(plaintext);
    // SoftHSM2 reports a tag mismatch as CKR_GENERAL_ERROR or
    // CKR_ENCRYPTED_DATA_INVALID; any decryption failure here means the
    // input does not authenticate.
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
        rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED || rv == CKR_DATA_INVALID) {
      return bad;
    }
    return CkError(rv, "C_Decrypt with " + KeyName(label));
  }
  if (size != body.size() - kGcmTagSize) {
    SecureWipe(plaintext);
    return InternalError("C_Decrypt with " + KeyName(label) + " returned an unexpected length");
  }
  plaintext.resize(size);
  return plaintext;
}

StatusOr<std::vector<CK_OBJECT_HANDLE>> Pkcs11KeyStore::FindCounter(std::string_view name) {
  if (name.empty() || name.size() > kMaxLabelSize || name.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("counter name must be 1 to 255 bytes without NUL");
  }
  CK_OBJECT_CLASS data_class = CKO_DATA;
  return FindObjects({Attr(CKA_CLASS, data_class), TextAttr(CKA_APPLICATION, kCounterApplication),
                      TextAttr(CKA_LABEL, name)});
}

StatusOr<uint64_t> Pkcs11KeyStore::ReadCounter(std::string_view name) {
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> objects, FindCounter(name));
  uint64_t highest = 0;
  for (const CK_OBJECT_HANDLE object : objects) {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> value, GetBytes(object, CKA_VALUE));
    if (value.size() != 8) {
      return DataLossError("counter '" + std::string(name) + "' on token '" + token_ +
                           "' does not hold 8 bytes");
    }
    uint64_t count = 0;
    for (const uint8_t byte : value) count = (count << 8) | byte;
    highest = std::max(highest, count);
  }
  return highest;
}

StatusOr<uint64_t> Pkcs11KeyStore::IncrementCounter(std::string_view name) {
  // Tokens may make CKA_VALUE of data objects read-only (SoftHSM2 does), so a
  // counter moves by creating an object with the new value before destroying
  // the old one. A crash in between leaves two objects; ReadCounter takes the
  // highest, so the counter never goes down.
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> old_objects, FindCounter(name));
  CUSTOS_ASSIGN_OR_RETURN(const uint64_t current, ReadCounter(name));
  if (current == UINT64_MAX) {
    return OutOfRangeError("counter '" + std::string(name) + "' is at its maximum");
  }
  const uint64_t next = current + 1;
  std::array<uint8_t, 8> value{};
  for (std::size_t i = 0; i < value.size(); ++i) {
    value[i] = static_cast<uint8_t>(next >> (56 - 8 * i));
  }
  CK_OBJECT_CLASS data_class = CKO_DATA;
  std::vector<CK_ATTRIBUTE> attributes = {
      Attr(CKA_CLASS, data_class), BoolAttr(CKA_TOKEN, true),
      BoolAttr(CKA_PRIVATE, true), TextAttr(CKA_APPLICATION, kCounterApplication),
      TextAttr(CKA_LABEL, name),   BytesAttr(CKA_VALUE, value)};
  const CK_SESSION_HANDLE session = session_.handle();
  CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
  CUSTOS_RETURN_IF_ERROR(
      CkError(f_->C_CreateObject(session, attributes.data(), attributes.size(), &created),
              "C_CreateObject for counter '" + std::string(name) + "'"));
  for (const CK_OBJECT_HANDLE object : old_objects) {
    CUSTOS_RETURN_IF_ERROR(
        CkError(f_->C_DestroyObject(session, object),
                "C_DestroyObject for an old value of counter '" + std::string(name) + "'"));
  }
  return next;
}

StatusOr<std::size_t> Pkcs11KeyStore::ZeroizeKeys() {
  resolved_.clear();
  std::size_t destroyed = 0;
  Status first_error;
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKO_PUBLIC_KEY}) {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> found,
                            FindObjects({Attr(CKA_CLASS, object_class)}));
    for (const CK_OBJECT_HANDLE object : found) {
      // Keep going on errors: destroy as much as possible, then report.
      const CK_RV rv = f_->C_DestroyObject(session_.handle(), object);
      if (rv == CKR_OK && object_class != CKO_PUBLIC_KEY) ++destroyed;
      if (rv != CKR_OK && first_error.ok()) {
        first_error = CkError(rv, "C_DestroyObject while zeroizing token '" + token_ + "'");
      }
    }
  }
  CUSTOS_RETURN_IF_ERROR(first_error);
  return destroyed;
}

}  // namespace

StatusOr<std::unique_ptr<KeyStore>> OpenPkcs11KeyStore(std::string_view uri_text) {
  CUSTOS_ASSIGN_OR_RETURN(const Pkcs11Uri uri, ParsePkcs11Uri(uri_text));
  CUSTOS_ASSIGN_OR_RETURN(const std::string module_path, ResolvePkcs11ModulePath(uri));
  std::string softhsm_conf;
  if (auto it = uri.vendor_query.find("x-softhsm2-conf"); it != uri.vendor_query.end()) {
    softhsm_conf = it->second;
  }
  internal::TokenQuery query;
  query.label = uri.token.value_or("");
  query.serial = uri.serial.value_or("");
  query.manufacturer = uri.manufacturer.value_or("");
  query.model = uri.model.value_or("");
  query.has_slot_id = uri.slot_id.has_value();
  query.slot_id = uri.slot_id.value_or(0);
  if (query.label.empty() && query.serial.empty() && !query.has_slot_id) {
    return InvalidArgumentError("PKCS#11 URI names no token (give token=LABEL or serial=...)");
  }
  CUSTOS_ASSIGN_OR_RETURN(const SecretBytes pin, ReadPkcs11Pin(uri));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11Module> module,
                          Pkcs11Module::Acquire(module_path, softhsm_conf));
  CUSTOS_ASSIGN_OR_RETURN(const CK_SLOT_ID slot, internal::FindSlot(*module, query));
  CK_TOKEN_INFO info{};
  CUSTOS_RETURN_IF_ERROR(
      CkError(module->functions()->C_GetTokenInfo(slot, &info), "C_GetTokenInfo"));
  std::string label = internal::TrimPadded(info.label);
  CUSTOS_ASSIGN_OR_RETURN(std::vector<CK_MECHANISM_TYPE> mechanisms, module->Mechanisms(slot));
  CUSTOS_ASSIGN_OR_RETURN(Session session, Session::Open(*module, slot));
  CUSTOS_RETURN_IF_ERROR(internal::Login(*module, slot, session.handle(), CKU_USER, pin, label));
  return std::unique_ptr<KeyStore>(new Pkcs11KeyStore(std::move(module), std::move(session),
                                                      std::move(label), std::move(mechanisms)));
}

}  // namespace custos::keystore
