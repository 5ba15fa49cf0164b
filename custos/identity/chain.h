// File: custos/identity/chain.h
//
// Certificate-chain validation with OpenSSL's X509_verify_cert at a fixed
// time given by the caller (never the wall clock), with CRL checking when
// CRLs are given, and errors that say why a chain fails.
//
// CA re-keying: a relying party that trusts only the old root accepts a leaf
// issued under a new CA when the caller passes the new CA's certificate
// cross-signed by the old root (same subject and key as the new CA, issuer
// the old root) among the intermediates.
#ifndef CUSTOS_IDENTITY_CHAIN_H_
#define CUSTOS_IDENTITY_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "custos/core/status.h"
#include "custos/identity/crl.h"
#include "custos/identity/x509_certificate.h"

namespace custos::identity {

// What the leaf must be good for.
enum class CertificatePurpose {
  kAny,         // no extendedKeyUsage check
  kClientAuth,  // TLS client / device authentication (id-kp-clientAuth)
  kServerAuth,  // TLS server (id-kp-serverAuth)
};

struct ChainOptions {
  // When true, every certificate below a trust anchor (leaf and
  // intermediates) must be covered by a valid CRL from its issuer among the
  // given CRLs, else the chain fails ("no CRL for ..."). When false, the
  // given CRLs are checked where they apply and a missing CRL is accepted.
  bool require_crl_for_each_ca = false;
  CertificatePurpose purpose = CertificatePurpose::kAny;
  // The longest chain accepted (leaf and anchor included).
  std::size_t max_depth = 8;
};

// Verifies that `leaf` chains through (some of) `intermediates` to one of
// `trust_anchors`, every certificate valid at `at_unix_time`, every signature
// correct, basicConstraints/pathLen/keyUsage respected, the purpose allowed,
// and no certificate revoked by a CRL in `crls` (CRLs are themselves checked:
// signature by the issuer, valid at `at_unix_time`).
//
// Errors (Unauthenticated unless said otherwise), for example:
//   "certificate for device 'dev-1' expired at 2025-01-31T00:00:00Z"
//   "certificate for device 'dev-1' is not valid before ..."
//   "certificate for device 'dev-1' (serial 1f...) is revoked"
//   "issuer not trusted (unknown CA 'CN=Other Root,O=acme')"
//   "signature invalid on certificate 'CN=dev-1,O=acme'"
//   "no CRL for certificate 'CN=...' (CRL checking required)"
//   "certificate for device 'dev-1' is not allowed for client authentication"
// InvalidArgument if `trust_anchors` is empty.
Status VerifyCertificateChain(const Certificate& leaf, std::span<const Certificate> intermediates,
                              std::span<const Certificate> trust_anchors, std::span<const Crl> crls,
                              int64_t at_unix_time, const ChainOptions& options = {});

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_CHAIN_H_
