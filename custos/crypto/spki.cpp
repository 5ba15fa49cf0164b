#include "custos/crypto/spki.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "custos/crypto/internal/openssl_util.h"

namespace custos::crypto {
namespace {

// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes,
// no unused bits) }; the 65-byte point follows.
constexpr std::array<uint8_t, 26> kP256Prefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
// SEQUENCE { SEQUENCE { id-Ed25519 }, BIT STRING (33 bytes) }; 32 bytes follow.
constexpr std::array<uint8_t, 12> kEd25519Prefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                    0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
// The same with id-X25519.
constexpr std::array<uint8_t, 12> kX25519Prefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                   0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00};

constexpr std::size_t kP256PointSize = 65;
constexpr std::size_t kCurve25519KeySize = 32;
constexpr std::string_view kP256GroupName = "prime256v1";

std::span<const uint8_t> PrefixOf(SpkiAlgorithm algorithm) {
  switch (algorithm) {
    case SpkiAlgorithm::kEcP256:
      return kP256Prefix;
    case SpkiAlgorithm::kEd25519:
      return kEd25519Prefix;
    case SpkiAlgorithm::kX25519:
      return kX25519Prefix;
  }
  return {};
}

std::size_t KeySizeOf(SpkiAlgorithm algorithm) {
  return algorithm == SpkiAlgorithm::kEcP256 ? kP256PointSize : kCurve25519KeySize;
}

bool StartsWith(std::span<const uint8_t> data, std::span<const uint8_t> prefix) {
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

// OpenSSL's reason for the oldest queued error ("" if none); clears the queue.
std::string TakeReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "";
}

StatusOr<EvpPkeyPtr> P256FromPoint(std::span<const uint8_t> point) {
  struct ContextDeleter {
    void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
  };
  std::unique_ptr<EVP_PKEY_CTX, ContextDeleter> context(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_fromdata_init(context.get()) != 1) {
    return internal::OpenSslError("EC key import setup");
  }
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                       const_cast<char*>(kP256GroupName.data()),
                                       kP256GroupName.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  // The import decodes the point and rejects one that is not on the curve.
  if (EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("P-256 public key is not a point on the curve");
  }
  return EvpPkeyPtr(key);
}

// The DER through OpenSSL's encoders, for keys EncodeSpki does not cover.
StatusOr<std::vector<uint8_t>> SpkiThroughEncoder(const EVP_PKEY* key) {
  const int length = i2d_PUBKEY(key, nullptr);
  if (length <= 0) return internal::OpenSslError("SubjectPublicKeyInfo encoding");
  std::vector<uint8_t> der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  if (i2d_PUBKEY(key, &out) != length) {
    return internal::OpenSslError("SubjectPublicKeyInfo encoding");
  }
  return der;
}

}  // namespace

StatusOr<std::vector<uint8_t>> EncodeSpki(SpkiAlgorithm algorithm,
                                          std::span<const uint8_t> raw_key) {
  if (raw_key.size() != KeySizeOf(algorithm) ||
      (algorithm == SpkiAlgorithm::kEcP256 && raw_key[0] != 0x04)) {
    return InvalidArgumentError(algorithm == SpkiAlgorithm::kEcP256
                                    ? "P-256 public key must be a 65-byte uncompressed point"
                                    : "Curve25519 public key must be 32 bytes");
  }
  const std::span<const uint8_t> prefix = PrefixOf(algorithm);
  std::vector<uint8_t> spki;
  spki.reserve(prefix.size() + raw_key.size());
  spki.insert(spki.end(), prefix.begin(), prefix.end());
  spki.insert(spki.end(), raw_key.begin(), raw_key.end());
  return spki;
}

std::optional<RawPublicKey> SplitSpki(std::span<const uint8_t> spki) {
  for (const SpkiAlgorithm algorithm :
       {SpkiAlgorithm::kEcP256, SpkiAlgorithm::kEd25519, SpkiAlgorithm::kX25519}) {
    const std::span<const uint8_t> prefix = PrefixOf(algorithm);
    if (spki.size() != prefix.size() + KeySizeOf(algorithm) || !StartsWith(spki, prefix)) {
      continue;
    }
    const std::span<const uint8_t> key = spki.subspan(prefix.size());
    if (algorithm == SpkiAlgorithm::kEcP256 && key[0] != 0x04) return std::nullopt;
    return RawPublicKey{algorithm, key};
  }
  return std::nullopt;
}

StatusOr<EvpPkeyPtr> ParseSpki(std::span<const uint8_t> spki) {
  if (const std::optional<RawPublicKey> raw = SplitSpki(spki); raw.has_value()) {
    if (raw->algorithm == SpkiAlgorithm::kEcP256) return P256FromPoint(raw->key);
    EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(
        raw->algorithm == SpkiAlgorithm::kEd25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519, nullptr,
        raw->key.data(), raw->key.size()));
    if (key == nullptr) return internal::OpenSslError("raw public key import");
    return key;
  }
  if (spki.empty()) return InvalidArgumentError("not a DER SubjectPublicKeyInfo: empty");
  const unsigned char* in = spki.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &in, static_cast<long>(spki.size())));
  if (key == nullptr) {
    const std::string reason = TakeReason();
    return InvalidArgumentError("not a DER SubjectPublicKeyInfo" +
                                (reason.empty() ? std::string() : ": " + reason));
  }
  ERR_clear_error();
  if (in != spki.data() + spki.size()) {
    return InvalidArgumentError("trailing bytes after the DER SubjectPublicKeyInfo");
  }
  return key;
}

StatusOr<std::vector<uint8_t>> SpkiOf(const EVP_PKEY* key) {
  if (key == nullptr) return InvalidArgumentError("no public key given");
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "X25519")) {
    std::array<uint8_t, kCurve25519KeySize> raw{};
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &size) != 1 || size != raw.size()) {
      return internal::OpenSslError("reading a raw public key");
    }
    return EncodeSpki(
        EVP_PKEY_is_a(key, "ED25519") ? SpkiAlgorithm::kEd25519 : SpkiAlgorithm::kX25519, raw);
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    std::array<char, 32> group{};
    std::size_t group_size = 0;
    std::array<char, 32> form{};
    std::size_t form_size = 0;
    std::array<uint8_t, kP256PointSize> point{};
    std::size_t point_size = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                       &group_size) == 1 &&
        std::string_view(group.data(), group_size) == kP256GroupName &&
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form.data(),
                                       form.size(), &form_size) == 1 &&
        std::string_view(form.data(), form_size) == "uncompressed" &&
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                        point.size(), &point_size) == 1 &&
        point_size == point.size() && point[0] == 0x04) {
      return EncodeSpki(SpkiAlgorithm::kEcP256, point);
    }
    // Another curve, explicit parameters or another point form.
    ERR_clear_error();
  }
  return SpkiThroughEncoder(key);
}

}  // namespace custos::crypto
