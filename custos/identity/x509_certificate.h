// File: custos/identity/x509_certificate.h
//
// Certificate: an immutable, parsed X.509 v3 certificate (RFC 5280) with the
// fields custos reads from it. A device certificate names its device twice:
// as the subject common name and as a SAN URI "urn:custos:device:<id>"; the
// parsers refuse a certificate where the two disagree, so device_id() is the
// one identity both name.
//
// Parsing never trusts its input: sizes are bounded (kMaxCertificateBytes),
// trailing bytes after the DER are refused, and errors (InvalidArgument) name
// what was wrong. Parsing does not check any signature or validity period;
// that is VerifyCertificateChain's job (custos/identity/chain.h).
//
// A Certificate is immutable; copies share the parsed OpenSSL object and are
// safe to use from several threads at once.
#ifndef CUSTOS_IDENTITY_X509_CERTIFICATE_H_
#define CUSTOS_IDENTITY_X509_CERTIFICATE_H_

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos::identity {

// The largest encoded certificate (DER, or PEM text) the parsers accept.
inline constexpr std::size_t kMaxCertificateBytes = 64 * 1024;
// The most certificates ParseCertificatePemBundle accepts.
inline constexpr std::size_t kMaxBundleCertificates = 16;
// The SAN URI prefix that names a device: "urn:custos:device:<id>".
inline constexpr std::string_view kDeviceUriPrefix = "urn:custos:device:";
// The longest device id.
inline constexpr std::size_t kMaxDeviceIdLength = 64;

// OK if `device_id` is a valid device id: 1 to kMaxDeviceIdLength characters
// from [A-Za-z0-9._-], not starting with '.' or '-'. InvalidArgument naming
// the problem otherwise.
Status ValidateDeviceId(std::string_view device_id);

// "urn:custos:device:<device_id>" (no validation).
std::string DeviceUri(std::string_view device_id);

struct CertificateTemplate;
struct SigningKey;

class Certificate {
 public:
  // Parses one DER certificate (no trailing bytes). InvalidArgument naming
  // the problem for malformed input, sizes over kMaxCertificateBytes, or a
  // device id in the SAN that differs from the subject CN.
  static StatusOr<Certificate> FromDer(std::span<const uint8_t> der);
  // Parses one PEM "CERTIFICATE" block (text around it is ignored; a second
  // certificate is refused). Errors as FromDer.
  static StatusOr<Certificate> FromPem(std::string_view pem);
  // Parses `data` as PEM if it starts (after whitespace) with "-----BEGIN",
  // as DER otherwise.
  static StatusOr<Certificate> Parse(std::span<const uint8_t> data);

  Certificate(const Certificate&) = default;
  Certificate& operator=(const Certificate&) = default;
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  // The DER encoding, exactly as parsed or issued.
  const std::vector<uint8_t>& der() const { return der_; }
  // The PEM encoding ("-----BEGIN CERTIFICATE-----" ...), ending in '\n'.
  std::string ToPem() const;

  // The subject's commonName ("" if absent).
  const std::string& subject_common_name() const { return subject_common_name_; }
  // The subject's organizationName ("" if absent): the fleet.
  const std::string& subject_organization() const { return subject_organization_; }
  // The subject as an RFC 2253 string, e.g. "CN=dev-1,O=acme".
  const std::string& subject_name() const { return subject_name_; }
  // The issuer as an RFC 2253 string.
  const std::string& issuer_name() const { return issuer_name_; }
  // The device id named by both the SAN URI and the subject CN; "" for a
  // certificate without a device URI (a CA, a server).
  const std::string& device_id() const { return device_id_; }
  // The SAN URIs and DNS names, in certificate order.
  const std::vector<std::string>& san_uris() const { return san_uris_; }
  const std::vector<std::string>& san_dns_names() const { return san_dns_names_; }
  // The serial number as lowercase hex without leading zeros ("0" for 0).
  const std::string& serial_hex() const { return serial_hex_; }
  // The validity period in unix seconds.
  int64_t not_before() const { return not_before_; }
  int64_t not_after() const { return not_after_; }
  // True if basicConstraints says cA.
  bool is_ca() const { return is_ca_; }
  // The basicConstraints pathLenConstraint; -1 if absent.
  int path_length() const { return path_length_; }
  // The subject public key as DER SubjectPublicKeyInfo.
  const std::vector<uint8_t>& public_key() const { return public_key_; }
  // The key type: "ecdsa-p256" or "ed25519" (custos names, as KeyTypeName),
  // otherwise OpenSSL's name of the key type (e.g. "RSA").
  const std::string& key_algorithm() const { return key_algorithm_; }
  // The signature algorithm: "ecdsa-with-SHA256", "ED25519", ... (OpenSSL's
  // short names).
  const std::string& signature_algorithm() const { return signature_algorithm_; }
  // The subjectKeyIdentifier / authorityKeyIdentifier keyIdentifier as
  // lowercase hex; "" if absent.
  const std::string& subject_key_id() const { return subject_key_id_; }
  const std::string& authority_key_id() const { return authority_key_id_; }
  // SHA-256 of the DER encoding.
  const std::array<uint8_t, 32>& fingerprint_sha256() const { return fingerprint_sha256_; }

  // The parsed OpenSSL object, owned by this Certificate (and its copies).
  // Do not modify it. For the other files of custos/identity and for callers
  // that hand certificates to OpenSSL (TLS). A certificate just issued by
  // IssueCertificate is parsed from der() on the first call (thread-safe);
  // null only if that parse fails, which it does not for DER OpenSSL wrote.
  X509* native() const;

 private:
  // The OpenSSL object behind native(), shared by copies.
  struct Native;

  Certificate() = default;
  // The fields of `x509` (whose DER is `der`) with public key `public_key`,
  // without keeping `x509` (native() parses `der` when first asked).
  static StatusOr<Certificate> FromFields(X509* x509, const EVP_PKEY* public_key,
                                          std::span<const uint8_t> der);
  // IssueCertificate builds its result with FromFields from the object it
  // signed instead of parsing the DER back.
  friend StatusOr<Certificate> IssueCertificate(const CertificateTemplate& tmpl,
                                                const Certificate* issuer,
                                                const SigningKey& issuer_key);

  std::shared_ptr<Native> native_;
  std::vector<uint8_t> der_;
  std::string subject_common_name_;
  std::string subject_organization_;
  std::string subject_name_;
  std::string issuer_name_;
  std::string device_id_;
  std::vector<std::string> san_uris_;
  std::vector<std::string> san_dns_names_;
  std::string serial_hex_;
  int64_t not_before_ = 0;
  int64_t not_after_ = 0;
  bool is_ca_ = false;
  int path_length_ = -1;
  std::vector<uint8_t> public_key_;
  std::string key_algorithm_;
  std::string signature_algorithm_;
  std::string subject_key_id_;
  std::string authority_key_id_;
  std::array<uint8_t, 32> fingerprint_sha256_{};
};

// Parses every "CERTIFICATE" block of a PEM bundle, in order. At most
// kMaxBundleCertificates blocks and kMaxCertificateBytes * that many bytes;
// InvalidArgument if there are none or one is malformed (naming which).
StatusOr<std::vector<Certificate>> ParseCertificatePemBundle(std::string_view pem);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_X509_CERTIFICATE_H_
