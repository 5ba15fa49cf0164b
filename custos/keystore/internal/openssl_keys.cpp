#include "custos/keystore/internal/openssl_keys.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <array>
#include <string>

#include "custos/crypto/spki.h"

namespace custos::keystore::internal {
namespace {

struct PkeyContextDeleter {
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
};
using PkeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyContextDeleter>;

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

struct KdfDeleter {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfContextDeleter {
  void operator()(EVP_KDF_CTX* context) const { EVP_KDF_CTX_free(context); }
};
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfContextPtr = std::unique_ptr<EVP_KDF_CTX, KdfContextDeleter>;

struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

constexpr std::size_t kP256ScalarBytes = 32;
constexpr std::size_t kRawSignatureBytes = 64;
constexpr std::size_t kSha256Bytes = 32;
constexpr uint64_t kMaxScryptMemoryBytes = uint64_t{1} << 30;

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    ERR_clear_error();
    return false;
  }
  const std::string_view name(group.data(), length);
  return name == "prime256v1" || name == "P-256";
}

// True if `key` is a key of `type` (curve included).
bool KeyMatches(EVP_PKEY* key, KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return EVP_PKEY_is_a(key, "ED25519") == 1;
    case KeyType::kX25519:
      return EVP_PKEY_is_a(key, "X25519") == 1;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdhP256:
      return IsP256(key);
    case KeyType::kAes128:
    case KeyType::kAsconAead128:
      return false;
  }
  return false;
}

Status Unverified() { return UnauthenticatedError("signature does not verify"); }

}  // namespace

Status OpenSslFailure(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message = "OpenSSL " + std::string(what) + " failed";
  if (code != 0) {
    std::array<char, 256> reason{};
    ERR_error_string_n(code, reason.data(), reason.size());
    message += ": ";
    message += reason.data();
  }
  return InternalError(message);
}

StatusOr<PkeyPtr> GenerateKeyPair(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kX25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
      break;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdhP256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kAes128:
    case KeyType::kAsconAead128:
      return InvalidArgumentError(std::string(KeyTypeName(type)) + " keys have no key pair");
  }
  if (key == nullptr) return OpenSslFailure("key generation");
  return PkeyPtr(key);
}

StatusOr<std::vector<uint8_t>> SignRaw(EVP_PKEY* key, KeyType type,
                                       std::span<const uint8_t> message) {
  DigestContextPtr context(EVP_MD_CTX_new());
  if (context == nullptr) return OpenSslFailure("EVP_MD_CTX_new");
  const bool ecdsa = type == KeyType::kEcdsaP256;
  if (EVP_DigestSignInit_ex(context.get(), nullptr, ecdsa ? "SHA256" : nullptr, nullptr, nullptr,
                            key, nullptr) != 1) {
    return OpenSslFailure("signature setup");
  }
  std::size_t length = 0;
  if (EVP_DigestSign(context.get(), nullptr, &length, message.data(), message.size()) != 1) {
    return OpenSslFailure("signing");
  }
  std::vector<uint8_t> signature(length);
  if (EVP_DigestSign(context.get(), signature.data(), &length, message.data(), message.size()) !=
      1) {
    return OpenSslFailure("signing");
  }
  signature.resize(length);
  if (!ecdsa) return signature;

  const uint8_t* der = signature.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
  if (sig == nullptr) return OpenSslFailure("ECDSA signature decoding");
  std::vector<uint8_t> raw(kRawSignatureBytes);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kP256ScalarBytes) !=
          static_cast<int>(kP256ScalarBytes) ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kP256ScalarBytes, kP256ScalarBytes) !=
          static_cast<int>(kP256ScalarBytes)) {
    return OpenSslFailure("ECDSA signature encoding");
  }
  return raw;
}

Status VerifyRaw(EVP_PKEY* key, KeyType type, std::span<const uint8_t> message,
                 std::span<const uint8_t> signature) {
  if (signature.size() != kRawSignatureBytes) return Unverified();
  const bool ecdsa = type == KeyType::kEcdsaP256;
  std::vector<uint8_t> der;
  std::span<const uint8_t> to_check = signature;
  if (ecdsa) {
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(signature.data(), kP256ScalarBytes, nullptr);
    BIGNUM* s = BN_bin2bn(signature.data() + kP256ScalarBytes, kP256ScalarBytes, nullptr);
    if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return OpenSslFailure("ECDSA signature setup");
    }
    const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (length <= 0) return OpenSslFailure("ECDSA signature encoding");
    der.resize(static_cast<std::size_t>(length));
    uint8_t* out = der.data();
    if (i2d_ECDSA_SIG(sig.get(), &out) != length) return OpenSslFailure("ECDSA encoding");
    to_check = der;
  }
  DigestContextPtr context(EVP_MD_CTX_new());
  if (context == nullptr) return OpenSslFailure("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit_ex(context.get(), nullptr, ecdsa ? "SHA256" : nullptr, nullptr, nullptr,
                              key, nullptr) != 1) {
    return OpenSslFailure("verification setup");
  }
  const int result = EVP_DigestVerify(context.get(), to_check.data(), to_check.size(),
                                      message.data(), message.size());
  ERR_clear_error();
  if (result != 1) return Unverified();
  return OkStatus();
}

StatusOr<std::vector<uint8_t>> PublicKeyDer(EVP_PKEY* key) { return crypto::SpkiOf(key); }

StatusOr<SecretBytes> PrivateKeyDer(EVP_PKEY* key) {
  const int length = i2d_PrivateKey(key, nullptr);
  if (length <= 0) return OpenSslFailure("private key encoding");
  SecretBytes der(static_cast<std::size_t>(length));
  uint8_t* out = der.data();
  if (i2d_PrivateKey(key, &out) != length) return OpenSslFailure("private key encoding");
  return der;
}

StatusOr<PkeyPtr> ParsePrivateKeyDer(std::span<const uint8_t> der, KeyType type) {
  const uint8_t* in = der.data();
  PkeyPtr key(d2i_AutoPrivateKey(nullptr, &in, static_cast<long>(der.size())));
  ERR_clear_error();
  if (key == nullptr || in != der.data() + der.size() || !KeyMatches(key.get(), type)) {
    return DataLossError("stored private key is not a valid " + std::string(KeyTypeName(type)) +
                         " key");
  }
  return key;
}

StatusOr<SecretBytes> AgreeAndDerive(EVP_PKEY* key, KeyType type, std::span<const uint8_t> peer_der,
                                     std::span<const uint8_t> salt, std::span<const uint8_t> info,
                                     std::size_t length) {
  if (length == 0 || length > 255 * kSha256Bytes) {
    return InvalidArgumentError("HKDF-SHA-256 output length must be 1.." +
                                std::to_string(255 * kSha256Bytes) + " bytes, got " +
                                std::to_string(length));
  }
  StatusOr<crypto::EvpPkeyPtr> peer = crypto::ParseSpki(peer_der);
  if (!peer.ok()) {
    // An off-curve P-256 point is as unusable as malformed DER.
    return InvalidArgumentError("peer public key is not a DER SubjectPublicKeyInfo (" +
                                std::string(peer.status().message()) + ")");
  }
  if (!KeyMatches(peer->get(), type)) {
    return InvalidArgumentError("peer public key is not a " +
                                std::string(type == KeyType::kX25519 ? "X25519" : "P-256") +
                                " key");
  }
  PkeyContextPtr context(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (context == nullptr || EVP_PKEY_derive_init(context.get()) != 1) {
    return OpenSslFailure("key agreement setup");
  }
  if (EVP_PKEY_derive_set_peer_ex(context.get(), peer->get(), 1) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("peer public key is not valid for key agreement");
  }
  std::size_t shared_length = 0;
  if (EVP_PKEY_derive(context.get(), nullptr, &shared_length) != 1) {
    return OpenSslFailure("key agreement");
  }
  SecretBytes shared(shared_length);
  if (EVP_PKEY_derive(context.get(), shared.data(), &shared_length) != 1) {
    // X25519 refuses an all-zero shared secret (a low-order peer point).
    ERR_clear_error();
    return InvalidArgumentError("key agreement with the peer public key failed");
  }
  shared.resize(shared_length);

  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return OpenSslFailure("HKDF fetch");
  KdfContextPtr kdf_context(EVP_KDF_CTX_new(kdf.get()));
  if (kdf_context == nullptr) return OpenSslFailure("HKDF context");
  std::array<char, 7> digest = {'S', 'H', 'A', '2', '5', '6', '\0'};
  std::vector<OSSL_PARAM> params;
  params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0));
  params.push_back(
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared.data(), shared.size()));
  // An absent salt is HKDF's all-zero salt, the same as an empty one.
  if (!salt.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size()));
  }
  if (!info.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()));
  }
  params.push_back(OSSL_PARAM_construct_end());
  SecretBytes out(length);
  if (EVP_KDF_derive(kdf_context.get(), out.data(), out.size(), params.data()) != 1) {
    return OpenSslFailure("HKDF-SHA-256");
  }
  return out;
}

StatusOr<SecretBytes> Scrypt(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                             uint64_t n, uint32_t r, uint32_t p, std::size_t length) {
  // scrypt needs 128 * r * (n + p) bytes; refuse before OpenSSL allocates.
  if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0 ||
      n > kMaxScryptMemoryBytes / (uint64_t{128} * r) - p) {
    return InvalidArgumentError("scrypt parameters N=" + std::to_string(n) +
                                ", r=" + std::to_string(r) + ", p=" + std::to_string(p) +
                                " are invalid or need more than 1 GiB");
  }
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (kdf == nullptr) return OpenSslFailure("scrypt fetch");
  KdfContextPtr context(EVP_KDF_CTX_new(kdf.get()));
  if (context == nullptr) return OpenSslFailure("scrypt context");
  uint64_t maxmem = kMaxScryptMemoryBytes + (uint64_t{1} << 20);
  std::array<OSSL_PARAM, 7> params = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<uint8_t*>(passphrase.data()), passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(length);
  if (EVP_KDF_derive(context.get(), out.data(), out.size(), params.data()) != 1) {
    return OpenSslFailure("scrypt");
  }
  return out;
}

}  // namespace custos::keystore::internal
