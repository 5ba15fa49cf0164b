// File: custos/identity/crl.h
//
// Certificate revocation lists (RFC 5280 X.509 v2 CRLs). IssueCrl builds the
// TBSCertList with OpenSSL, signs it through the issuer's KeyStore, and checks
// the result with OpenSSL before returning it. Crl parses a CRL (bounded,
// errors name the problem) and answers IsRevoked; parsing does not check the
// signature (VerifySignature and VerifyCertificateChain do).
//
// A Crl is immutable; copies share the parsed object and are safe to use from
// several threads.
#ifndef CUSTOS_IDENTITY_CRL_H_
#define CUSTOS_IDENTITY_CRL_H_

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_signing_key.h"

namespace custos::identity {

// The largest encoded CRL (DER, or PEM text) Crl accepts.
inline constexpr std::size_t kMaxCrlBytes = 4 * 1024 * 1024;

// RFC 5280 CRLReason codes (7 is unused).
enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kRemoveFromCrl = 8,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};

// The stable name of `reason`, e.g. "keyCompromise" (RFC 5280 spelling).
std::string_view RevocationReasonName(RevocationReason reason);

// One revoked certificate.
struct RevokedEntry {
  // The serial as hex (any case, leading zeros allowed; as
  // Certificate::serial_hex gives it).
  std::string serial_hex;
  // When it was revoked, unix seconds.
  int64_t revocation_time = 0;
  RevocationReason reason = RevocationReason::kUnspecified;
};

class Crl {
 public:
  // Parses a DER CRL (no trailing bytes). InvalidArgument naming the
  // problem. The signature is not checked here.
  static StatusOr<Crl> FromDer(std::span<const uint8_t> der);
  // Parses one PEM "X509 CRL" block. Errors as FromDer.
  static StatusOr<Crl> FromPem(std::string_view pem);
  // PEM if `data` starts (after whitespace) with "-----BEGIN", DER otherwise.
  static StatusOr<Crl> Parse(std::span<const uint8_t> data);

  // The DER encoding.
  const std::vector<uint8_t>& der() const { return der_; }
  // The PEM encoding ("-----BEGIN X509 CRL-----" ...).
  std::string ToPem() const;
  // The issuer as an RFC 2253 string.
  const std::string& issuer_name() const { return issuer_name_; }
  // thisUpdate / nextUpdate in unix seconds (next_update 0 if absent).
  int64_t this_update() const { return this_update_; }
  int64_t next_update() const { return next_update_; }
  // The cRLNumber extension; -1 if absent (or larger than int64).
  int64_t crl_number() const { return crl_number_; }
  // The revoked entries, sorted by serial, serials normalized as
  // Certificate::serial_hex.
  const std::vector<RevokedEntry>& entries() const { return entries_; }

  // True if the serial (hex, any case, leading zeros allowed) is listed.
  // A malformed serial is never listed.
  bool IsRevoked(std::string_view serial_hex) const;
  // True if `cert`'s serial is listed and this CRL's issuer is cert's issuer.
  bool IsRevoked(const Certificate& cert) const;

  // OK if the CRL is signed by `issuer`'s key and names it as issuer;
  // Unauthenticated otherwise.
  Status VerifySignature(const Certificate& issuer) const;

  // The parsed OpenSSL object, owned by this Crl. Do not modify it.
  X509_CRL* native() const { return crl_.get(); }

 private:
  Crl() = default;

  std::shared_ptr<X509_CRL> crl_;
  std::vector<uint8_t> der_;
  std::string issuer_name_;
  int64_t this_update_ = 0;
  int64_t next_update_ = 0;
  int64_t crl_number_ = -1;
  std::vector<RevokedEntry> entries_;
};

// Issues a CRL for `issuer` (a CA certificate) signed with `issuer_key`
// through its store, listing `revoked`, valid from `this_update` to
// `next_update` (unix seconds, this_update < next_update), with cRLNumber
// `crl_number` and an authorityKeyIdentifier. InvalidArgument for a
// malformed serial or times; FailedPrecondition if `issuer` is not a CA or
// the key cannot sign; Unauthenticated if `issuer_key` is not `issuer`'s key.
StatusOr<Crl> IssueCrl(const Certificate& issuer, const SigningKey& issuer_key,
                       std::span<const RevokedEntry> revoked, int64_t this_update,
                       int64_t next_update, uint64_t crl_number);

// Returns `serial_hex` normalized (lowercase, no leading zeros, "0" for 0);
// InvalidArgument if it is empty, longer than 40 digits, or not hex.
StatusOr<std::string> NormalizeSerialHex(std::string_view serial_hex);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_CRL_H_
