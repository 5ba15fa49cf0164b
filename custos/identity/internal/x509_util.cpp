#include "custos/identity/internal/x509_util.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>

#include "custos/core/hex.h"
#include "custos/crypto/spki.h"
#include "custos/identity/x509_certificate.h"

namespace custos::identity::internal {
namespace {

constexpr std::size_t kEcdsaP256RawSignatureSize = 64;
constexpr std::size_t kEd25519SignatureSize = 64;

bool IsAsciiSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True for text a person can read in one line: printable, no controls.
bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
}

// The UTF-8 text of an ASN1_STRING; InvalidArgument if it cannot be decoded.
StatusOr<std::string> StringToUtf8(const ASN1_STRING* string, std::string_view what) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, string);
  if (length < 0) {
    TakeOpenSslReason();
    return InvalidArgumentError(std::string(what) + " is not decodable text");
  }
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

Status OpenSslFailure(std::string_view what) {
  std::string message = "OpenSSL " + std::string(what) + " failed";
  std::string reason = TakeOpenSslReason();
  if (!reason.empty()) message += ": " + reason;
  return InternalError(message);
}

std::string TakeOpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) return reason;
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

StatusOr<X509SignatureScheme> SchemeOf(const SigningKey& key) {
  if (key.store == nullptr) return InvalidArgumentError("signing key has no key store");
  if (key.label.empty()) return InvalidArgumentError("signing key has an empty label");
  CUSTOS_ASSIGN_OR_RETURN(const keystore::KeyInfo info, key.store->Find(key.label));
  switch (info.type) {
    case keystore::KeyType::kEcdsaP256:
      return X509SignatureScheme{info.type, NID_ecdsa_with_SHA256};
    case keystore::KeyType::kEd25519:
      return X509SignatureScheme{info.type, NID_ED25519};
    default:
      return FailedPreconditionError("key '" + key.label + "' is a " +
                                     std::string(keystore::KeyTypeName(info.type)) +
                                     " key, which cannot sign X.509 objects (use ecdsa-p256 or "
                                     "ed25519)");
  }
}

StatusOr<X509SignatureScheme> SchemeOfPublicKey(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    return X509SignatureScheme{keystore::KeyType::kEd25519, NID_ED25519};
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t group_length = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &group_length) == 1 &&
        std::string_view(group, group_length) == "prime256v1") {
      return X509SignatureScheme{keystore::KeyType::kEcdsaP256, NID_ecdsa_with_SHA256};
    }
    TakeOpenSslReason();
    return InvalidArgumentError(
        "EC public key is not on P-256 (only ECDSA P-256 and Ed25519 "
        "keys are supported)");
  }
  return InvalidArgumentError("public key type " + KeyAlgorithmName(pkey) +
                              " is not supported (only ECDSA P-256 and Ed25519)");
}

StatusOr<std::vector<uint8_t>> SignTbs(const SigningKey& key, const X509SignatureScheme& scheme,
                                       std::span<const uint8_t> tbs) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, key.store->Sign(key.label, tbs));
  if (scheme.key_type == keystore::KeyType::kEd25519) {
    if (raw.size() != kEd25519SignatureSize) {
      return InternalError("key store returned a " + std::to_string(raw.size()) +
                           "-byte Ed25519 signature for key '" + key.label + "'");
    }
    return raw;
  }
  if (raw.size() != kEcdsaP256RawSignatureSize) {
    return InternalError("key store returned a " + std::to_string(raw.size()) +
                         "-byte ECDSA P-256 signature for key '" + key.label +
                         "' (expected r || s, 64 bytes)");
  }
  std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(raw.data(), 32, nullptr));
  BignumPtr s(BN_bin2bn(raw.data() + 32, 32, nullptr));
  if (sig == nullptr || r == nullptr || s == nullptr) return OpenSslFailure("ECDSA_SIG setup");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return OpenSslFailure("ECDSA_SIG_set0");
  (void)r.release();  // now owned by sig
  (void)s.release();
  return EncodeDer<ECDSA_SIG>(sig.get(), i2d_ECDSA_SIG, "ECDSA-Sig-Value encoding");
}

Status SetSignatureAlgorithm(X509_ALGOR* algorithm, int signature_nid) {
  ASN1_OBJECT* oid = OBJ_nid2obj(signature_nid);
  if (oid == nullptr || X509_ALGOR_set0(algorithm, oid, V_ASN1_UNDEF, nullptr) != 1) {
    return OpenSslFailure("setting the signature AlgorithmIdentifier");
  }
  return OkStatus();
}

Status SetSignatureBits(ASN1_BIT_STRING* bits, std::span<const uint8_t> signature) {
  if (ASN1_BIT_STRING_set(bits, const_cast<uint8_t*>(signature.data()),
                          static_cast<int>(signature.size())) != 1) {
    return OpenSslFailure("setting the signature BIT STRING");
  }
  // No unused bits: without this OpenSSL would trim trailing zero bits.
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return OkStatus();
}

StatusOr<EvpPkeyPtr> ParsePublicKey(std::span<const uint8_t> spki, std::string_view what) {
  if (spki.empty()) return InvalidArgumentError(std::string(what) + " is empty");
  StatusOr<crypto::EvpPkeyPtr> pkey = crypto::ParseSpki(spki);
  if (!pkey.ok()) {
    return InvalidArgumentError(std::string(what) + ": " + std::string(pkey.status().message()));
  }
  return EvpPkeyPtr(pkey->release());
}

StatusOr<std::vector<uint8_t>> PublicKeyDer(const EVP_PKEY* pkey) { return crypto::SpkiOf(pkey); }

StatusOr<bool> SetPublicKeyDirect(X509_PUBKEY* target, std::span<const uint8_t> spki) {
  const std::optional<crypto::RawPublicKey> raw = crypto::SplitSpki(spki);
  if (!raw.has_value() || raw->algorithm == crypto::SpkiAlgorithm::kX25519) return false;
  // OBJ_nid2obj returns OpenSSL's static objects, which X509_ALGOR may own.
  ASN1_OBJECT* algorithm = nullptr;
  int parameter_type = V_ASN1_UNDEF;  // RFC 8410: parameters absent
  void* parameter = nullptr;
  if (raw->algorithm == crypto::SpkiAlgorithm::kEcP256) {
    algorithm = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
    parameter_type = V_ASN1_OBJECT;  // RFC 5480: namedCurve
    parameter = OBJ_nid2obj(NID_X9_62_prime256v1);
  } else {
    algorithm = OBJ_nid2obj(NID_ED25519);
  }
  auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(raw->key.data(), raw->key.size()));
  if (algorithm == nullptr || bits == nullptr ||
      X509_PUBKEY_set0_param(target, algorithm, parameter_type, parameter, bits,
                             static_cast<int>(raw->key.size())) != 1) {
    OPENSSL_free(bits);
    return OpenSslFailure("setting the SubjectPublicKeyInfo");
  }
  return true;
}

Status VerifyTbsSignature(EVP_PKEY* key, const X509SignatureScheme& scheme,
                          std::span<const uint8_t> tbs, std::span<const uint8_t> signature) {
  std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>> context(EVP_MD_CTX_new());
  if (context == nullptr ||
      EVP_DigestVerifyInit(
          context.get(), nullptr,
          scheme.key_type == keystore::KeyType::kEcdsaP256 ? EVP_sha256() : nullptr, nullptr,
          key) != 1) {
    return OpenSslFailure("signature verification setup");
  }
  const int verified =
      EVP_DigestVerify(context.get(), signature.data(), signature.size(), tbs.data(), tbs.size());
  ERR_clear_error();
  if (verified != 1) return UnauthenticatedError("signature does not verify");
  return OkStatus();
}

std::string KeyAlgorithmName(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return "ed25519";
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t group_length = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &group_length) == 1 &&
        std::string_view(group, group_length) == "prime256v1") {
      return "ecdsa-p256";
    }
    TakeOpenSslReason();
  }
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return name != nullptr ? name : "unknown";
}

std::string SignatureAlgorithmName(int nid) {
  const char* name = OBJ_nid2sn(nid);
  return name != nullptr ? name : "unknown";
}

std::string NameToString(const X509_NAME* name) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO_free>> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return "";
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    TakeOpenSslReason();
    return "";
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : "";
}

StatusOr<std::string> NameEntryText(const X509_NAME* name, int nid, std::string_view what,
                                    std::size_t max_length) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return std::string();
  if (X509_NAME_get_index_by_NID(name, nid, index) >= 0) {
    return InvalidArgumentError(std::string(what) + " appears more than once");
  }
  const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, index);
  CUSTOS_ASSIGN_OR_RETURN(std::string text, StringToUtf8(X509_NAME_ENTRY_get_data(entry), what));
  if (text.size() > max_length) {
    return InvalidArgumentError(std::string(what) + " is longer than " +
                                std::to_string(max_length) + " bytes");
  }
  if (HasControlCharacter(text)) {
    return InvalidArgumentError(std::string(what) + " contains a control character");
  }
  return text;
}

StatusOr<X509NamePtr> BuildName(std::string_view common_name, std::string_view organization) {
  X509NamePtr name(X509_NAME_new());
  if (name == nullptr) return OpenSslFailure("X509_NAME_new");
  const auto add = [&](int nid, std::string_view text) -> Status {
    if (X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()), -1, 0) != 1) {
      return InvalidArgumentError("subject " + std::string(OBJ_nid2sn(nid)) + " '" +
                                  std::string(text) +
                                  "' is not acceptable: " + TakeOpenSslReason());
    }
    return OkStatus();
  };
  // Conventional X.500 order, most general first: O, then CN (RFC 2253
  // prints it back as "CN=...,O=...").
  if (!organization.empty()) CUSTOS_RETURN_IF_ERROR(add(NID_organizationName, organization));
  CUSTOS_RETURN_IF_ERROR(add(NID_commonName, common_name));
  return name;
}

StatusOr<int64_t> TimeToUnix(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    TakeOpenSslReason();
    return InvalidArgumentError("malformed time");
  }
  return static_cast<int64_t>(timegm(&tm));
}

StatusOr<Asn1TimePtr> UnixToTime(int64_t unix_seconds) {
  // RFC 5280 times run from year 0 to 9999; stay within what time_t and
  // GeneralizedTime both hold.
  constexpr int64_t kLatest = 253402300799;  // 9999-12-31T23:59:59Z
  if (unix_seconds < 0 || unix_seconds > kLatest) {
    return InvalidArgumentError("time " + std::to_string(unix_seconds) + " is outside 1970..9999");
  }
  Asn1TimePtr time(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)));
  if (time == nullptr) return OpenSslFailure("ASN1_TIME_set");
  return time;
}

std::string FormatUnixTime(int64_t unix_seconds) {
  const auto seconds = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return std::to_string(unix_seconds);
  char text[32];
  if (std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return std::to_string(unix_seconds);
  }
  return text;
}

std::string SerialToHex(const ASN1_INTEGER* serial) {
  const int length = ASN1_STRING_length(serial);
  const unsigned char* data = ASN1_STRING_get0_data(serial);
  std::string hex =
      HexEncode(std::span<const uint8_t>(data, static_cast<std::size_t>(std::max(length, 0))));
  const std::size_t first = hex.find_first_not_of('0');
  hex = first == std::string::npos ? "0" : hex.substr(first);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) hex.insert(0, "-");
  return hex;
}

StatusOr<Asn1IntegerPtr> HexToSerial(std::string_view normalized_hex) {
  std::string padded(normalized_hex);
  if (padded.size() % 2 != 0) padded.insert(0, "0");
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, HexDecode(padded));
  BignumPtr number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (number == nullptr) return OpenSslFailure("BN_bin2bn");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (serial == nullptr) return OpenSslFailure("BN_to_ASN1_INTEGER");
  return serial;
}

StatusOr<SanEntries> ReadGeneralNames(const GENERAL_NAMES* names, std::size_t max_length) {
  SanEntries entries;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    if (type != GEN_URI && type != GEN_DNS) {
      ++entries.other_entries;
      continue;
    }
    const char* what = type == GEN_URI ? "SAN URI" : "SAN DNS name";
    const int length = ASN1_STRING_length(value);
    if (length <= 0 || static_cast<std::size_t>(length) > max_length) {
      return InvalidArgumentError(std::string(what) + " is empty or longer than " +
                                  std::to_string(max_length) + " bytes");
    }
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(length));
    if (!IsPrintableAscii(text)) {
      return InvalidArgumentError(std::string(what) + " holds a non-printable character");
    }
    (type == GEN_URI ? entries.uris : entries.dns_names).push_back(std::move(text));
  }
  return entries;
}

StatusOr<GeneralNamesPtr> BuildGeneralNames(std::span<const std::string> uris,
                                            std::span<const std::string> dns_names) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslFailure("GENERAL_NAMES_new");
  const auto add = [&](int type, const std::string& text) -> Status {
    std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME_free>> name(GENERAL_NAME_new());
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (name == nullptr || value == nullptr ||
        ASN1_STRING_set(value, text.data(), static_cast<int>(text.size())) != 1) {
      ASN1_IA5STRING_free(value);
      return OpenSslFailure("building a SAN entry");
    }
    GENERAL_NAME_set0_value(name.get(), type, value);
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
      return OpenSslFailure("building the SAN");
    }
    (void)name.release();  // now owned by names
    return OkStatus();
  };
  for (const std::string& uri : uris) CUSTOS_RETURN_IF_ERROR(add(GEN_URI, uri));
  for (const std::string& dns : dns_names) CUSTOS_RETURN_IF_ERROR(add(GEN_DNS, dns));
  return names;
}

StatusOr<std::string> DeviceIdFromSan(std::span<const std::string> uris,
                                      std::string_view common_name) {
  std::string device_id;
  bool found = false;
  for (const std::string& uri : uris) {
    if (!uri.starts_with(kDeviceUriPrefix)) continue;
    if (found) return InvalidArgumentError("more than one SAN device URI");
    found = true;
    device_id = uri.substr(kDeviceUriPrefix.size());
  }
  if (!found) return std::string();
  CUSTOS_RETURN_IF_ERROR(Annotate(ValidateDeviceId(device_id), "SAN device URI"));
  if (device_id != common_name) {
    return InvalidArgumentError("SAN device URI names device '" + device_id +
                                "' but the subject CN is '" + std::string(common_name) + "'");
  }
  return device_id;
}

Status ValidateSanStrings(std::span<const std::string> uris, std::span<const std::string> dns_names,
                          std::size_t max_entries, std::size_t max_length) {
  if (uris.size() + dns_names.size() > max_entries) {
    return InvalidArgumentError("more than " + std::to_string(max_entries) + " SAN entries");
  }
  const auto check = [&](const std::string& text, std::string_view what) -> Status {
    if (text.empty() || text.size() > max_length || !IsPrintableAscii(text)) {
      return InvalidArgumentError(
          std::string(what) + " '" + (IsPrintableAscii(text) ? text : std::string("?")) +
          "' must be 1 to " + std::to_string(max_length) + " printable ASCII characters");
    }
    return OkStatus();
  };
  for (const std::string& uri : uris) CUSTOS_RETURN_IF_ERROR(check(uri, "SAN URI"));
  for (const std::string& dns : dns_names) CUSTOS_RETURN_IF_ERROR(check(dns, "SAN DNS name"));
  return OkStatus();
}

bool LooksLikePem(std::span<const uint8_t> data) {
  std::size_t i = 0;
  while (i < data.size() && IsAsciiSpace(data[i])) ++i;
  constexpr std::string_view kBegin = "-----BEGIN";
  if (data.size() - i < kBegin.size()) return false;
  return std::equal(kBegin.begin(), kBegin.end(), data.begin() + static_cast<std::ptrdiff_t>(i));
}

StatusOr<std::vector<uint8_t>> PemBlockToDer(std::string_view pem, std::string_view label,
                                             std::size_t max_der_bytes, std::string_view* rest) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const std::size_t begin_at = pem.find(begin);
  if (begin_at == std::string_view::npos) {
    return InvalidArgumentError("no PEM block '" + std::string(label) + "' found");
  }
  const std::size_t body_at = begin_at + begin.size();
  const std::size_t end_at = pem.find(end, body_at);
  if (end_at == std::string_view::npos) {
    return InvalidArgumentError("PEM block '" + std::string(label) + "' has no END line");
  }
  const std::string_view after = pem.substr(end_at + end.size());
  if (rest != nullptr) {
    *rest = after;
  } else if (after.find("-----BEGIN") != std::string_view::npos) {
    return InvalidArgumentError("more than one PEM block (expected one '" + std::string(label) +
                                "')");
  }
  std::string base64;
  base64.reserve(end_at - body_at);
  for (const char c : pem.substr(body_at, end_at - body_at)) {
    if (!IsAsciiSpace(static_cast<uint8_t>(c))) base64.push_back(c);
  }
  if (base64.size() / 4 * 3 > max_der_bytes + 3) {
    return InvalidArgumentError("PEM block '" + std::string(label) + "' is larger than " +
                                std::to_string(max_der_bytes) + " bytes");
  }
  StatusOr<std::vector<uint8_t>> der = Base64Decode(base64);
  if (!der.ok()) {
    return InvalidArgumentError("PEM block '" + std::string(label) + "' is not valid base64");
  }
  if (der->size() > max_der_bytes) {
    return InvalidArgumentError("PEM block '" + std::string(label) + "' is larger than " +
                                std::to_string(max_der_bytes) + " bytes");
  }
  return der;
}

std::string DerToPem(std::span<const uint8_t> der, std::string_view label) {
  const std::string base64 = Base64Encode(der);
  std::string pem = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < base64.size(); i += 64) {
    pem.append(base64, i, 64);
    pem.push_back('\n');
  }
  pem += "-----END " + std::string(label) + "-----\n";
  return pem;
}

}  // namespace custos::identity::internal
