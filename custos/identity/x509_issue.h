// File: custos/identity/x509_issue.h
//
// Issuing X.509 v3 certificates with a key that stays in its KeyStore.
//
// IssueCertificate builds the TBSCertificate with OpenSSL, signs its DER
// through the KeyStore, then re-parses the result and verifies its signature
// with OpenSSL against the issuer's public key before returning it; a
// certificate it returns is therefore well-formed and correctly signed. The
// profile (RFC 5280):
//   - version 3, a random 16-byte positive serial (or the caller's),
//   - subject CN (the device id or CA name) and O (the fleet),
//   - SAN: "urn:custos:device:<id>" for a device, plus the caller's URIs and
//     DNS names,
//   - basicConstraints (critical): cA with an optional pathLen, or end entity,
//   - keyUsage (critical): keyCertSign + cRLSign for a CA; digitalSignature
//     for an end entity,
//   - extendedKeyUsage for an end entity: clientAuth and/or serverAuth,
//   - subjectKeyIdentifier (SHA-1 of the public key bits) and
//     authorityKeyIdentifier (the issuer's subjectKeyIdentifier),
//   - an optional CRL distribution point URI.
#ifndef CUSTOS_IDENTITY_X509_ISSUE_H_
#define CUSTOS_IDENTITY_X509_ISSUE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_signing_key.h"

namespace custos::identity {

// Default lifetimes: devices get short-lived certificates and renew them.
inline constexpr int64_t kDefaultDeviceValiditySeconds = 30LL * 24 * 3600;
inline constexpr int64_t kDefaultIssuingCaValiditySeconds = 2LL * 365 * 24 * 3600;
inline constexpr int64_t kDefaultRootCaValiditySeconds = 10LL * 365 * 24 * 3600;

// What to put in a certificate.
struct CertificateTemplate {
  // For a device certificate: the device id (ValidateDeviceId). It becomes
  // the subject CN and the SAN URI "urn:custos:device:<id>"; common_name must
  // then be empty or equal to it.
  std::string device_id;
  // The subject CN when there is no device id (a CA or server name).
  std::string common_name;
  // The subject O: the fleet or organisation; omitted when empty.
  std::string organization;
  // Further SAN entries (at most 16 in all).
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns_names;
  // The subject's public key as DER SubjectPublicKeyInfo (ECDSA P-256 or
  // Ed25519). For a self-signed certificate it must be the signing key's.
  std::vector<uint8_t> subject_public_key;
  // The validity period in unix seconds; not_before < not_after, and it must
  // lie within the issuer's validity period.
  int64_t not_before = 0;
  int64_t not_after = 0;
  // A CA certificate (keyCertSign, cRLSign) or an end entity.
  bool is_ca = false;
  // For a CA: the pathLenConstraint, or -1 for none.
  int path_length = -1;
  // For an end entity: the extendedKeyUsage purposes (at least one).
  bool client_auth = true;
  bool server_auth = false;
  // An optional CRL distribution point (a URI).
  std::string crl_distribution_point;
  // The serial number as big-endian bytes (1 to 20 bytes, positive); empty
  // means a fresh random 16-byte positive serial.
  std::vector<uint8_t> serial;
};

// Issues a certificate for `tmpl`, signed with `issuer_key`. `issuer` is the
// issuing CA's certificate, or nullptr for a self-signed certificate (the
// subject is then the issuer and `tmpl.subject_public_key` must be the
// signing key's public key).
//
// Errors: InvalidArgument naming the template field that is wrong (bad device
// id, empty name, bad public key, inverted or out-of-issuer validity, ...);
// FailedPrecondition if `issuer` is not a CA or the key cannot sign X.509
// (wrong key type); the store's error (NotFound for a missing key label ...);
// Unauthenticated "... signature does not verify with the issuer's public
// key" if `issuer_key` is not the key of `issuer`.
StatusOr<Certificate> IssueCertificate(const CertificateTemplate& tmpl, const Certificate* issuer,
                                       const SigningKey& issuer_key);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_X509_ISSUE_H_
