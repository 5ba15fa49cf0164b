#include "custos/identity/chain.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

#include "custos/identity/internal/x509_util.h"

namespace custos::identity {
namespace {

using internal::OpenSslDeleter;
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509), decltype([](STACK_OF(X509) * stack) { sk_X509_free(stack); })>;

// True if the failure at this point is a missing CRL for the trust anchor
// itself: an anchor is trusted by configuration, not by a CRL.
bool IsMissingAnchorCrl(X509_STORE_CTX* ctx) {
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  return cert != nullptr && chain != nullptr &&
         X509_STORE_CTX_get_error_depth(ctx) == sk_X509_num(chain) - 1 &&
         X509_self_signed(cert, 0) == 1;
}

// Verification callbacks: every error is fatal except a missing CRL for the
// anchor and, when CRLs are optional, a missing CRL anywhere.
int VerifyCrlsRequired(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
      IsMissingAnchorCrl(ctx)) {
    return 1;
  }
  return ok;
}

int VerifyCrlsOptional(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) return 1;
  return ok;
}

// "certificate for device 'x'" or "certificate 'CN=...'".
std::string Describe(X509* cert, std::span<const Certificate* const> known) {
  if (cert == nullptr) return "certificate";
  for (const Certificate* candidate : known) {
    if (X509_cmp(candidate->native(), cert) == 0) {
      if (!candidate->device_id().empty()) {
        return "certificate for device '" + candidate->device_id() + "'";
      }
      return "certificate '" + candidate->subject_name() + "'";
    }
  }
  return "certificate '" + internal::NameToString(X509_get_subject_name(cert)) + "'";
}

std::string TimeText(const ASN1_TIME* time) {
  const StatusOr<int64_t> unix_time = internal::TimeToUnix(time);
  return unix_time.ok() ? internal::FormatUnixTime(*unix_time) : "an unreadable time";
}

std::string PurposeText(CertificatePurpose purpose) {
  return purpose == CertificatePurpose::kClientAuth ? "client authentication"
                                                    : "server authentication";
}

Status ChainError(X509_STORE_CTX* ctx, std::span<const Certificate* const> known,
                  const ChainOptions& options) {
  const int error = X509_STORE_CTX_get_error(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  const std::string what = Describe(cert, known);
  const std::string subject =
      cert != nullptr ? internal::NameToString(X509_get_subject_name(cert)) : "?";
  const std::string issuer =
      cert != nullptr ? internal::NameToString(X509_get_issuer_name(cert)) : "?";
  X509_CRL* crl = X509_STORE_CTX_get0_current_crl(ctx);
  const std::string crl_issuer =
      crl != nullptr ? internal::NameToString(X509_CRL_get_issuer(crl)) : issuer;
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return UnauthenticatedError(what + " expired at " + TimeText(X509_get0_notAfter(cert)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return UnauthenticatedError(what + " is not valid before " +
                                  TimeText(X509_get0_notBefore(cert)));
    case X509_V_ERR_CERT_REVOKED:
      return UnauthenticatedError(what + " (serial " +
                                  internal::SerialToHex(X509_get0_serialNumber(cert)) +
                                  ") is revoked");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return UnauthenticatedError("issuer not trusted (unknown CA '" + issuer + "')");
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return UnauthenticatedError("issuer not trusted (unknown CA '" + subject + "')");
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return UnauthenticatedError("signature invalid on certificate '" + subject + "'");
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      return UnauthenticatedError("signature invalid on the CRL of '" + crl_issuer + "'");
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return UnauthenticatedError("no CRL for " + what + " (CRL checking required)");
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return UnauthenticatedError(
          "CRL of '" + crl_issuer + "' expired at " +
          (crl != nullptr ? TimeText(X509_CRL_get0_nextUpdate(crl)) : std::string("?")));
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return UnauthenticatedError(
          "CRL of '" + crl_issuer + "' is not valid before " +
          (crl != nullptr ? TimeText(X509_CRL_get0_lastUpdate(crl)) : std::string("?")));
    case X509_V_ERR_INVALID_PURPOSE:
      return UnauthenticatedError(what + " is not allowed for " + PurposeText(options.purpose));
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return UnauthenticatedError(what + " is not a CA allowed to issue certificates");
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return UnauthenticatedError(what + " issues beyond its path length constraint");
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return UnauthenticatedError("certificate chain is longer than " +
                                  std::to_string(options.max_depth) + " certificates");
    default:
      return UnauthenticatedError(what + ": " + X509_verify_cert_error_string(error));
  }
}

}  // namespace

Status VerifyCertificateChain(const Certificate& leaf, std::span<const Certificate> intermediates,
                              std::span<const Certificate> trust_anchors, std::span<const Crl> crls,
                              int64_t at_unix_time, const ChainOptions& options) {
  if (trust_anchors.empty()) return InvalidArgumentError("no trust anchors given");
  if (options.max_depth < 1) return InvalidArgumentError("max_depth must be at least 1");

  internal::X509StorePtr store(X509_STORE_new());
  if (store == nullptr) return internal::OpenSslFailure("X509_STORE_new");
  for (const Certificate& anchor : trust_anchors) {
    if (X509_STORE_add_cert(store.get(), anchor.native()) != 1) {
      // Adding the same anchor twice is harmless.
      internal::TakeOpenSslReason();
    }
  }
  for (const Crl& crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl.native()) != 1) internal::TakeOpenSslReason();
  }
  X509StackPtr untrusted(sk_X509_new_null());
  if (untrusted == nullptr) return internal::OpenSslFailure("sk_X509_new_null");
  for (const Certificate& intermediate : intermediates) {
    // A self-signed certificate among the untrusted ones can only end a chain
    // as an untrusted root; OpenSSL would stop there instead of looking for
    // the path through a cross certificate (CA re-keying), so leave it out.
    // If it is trusted it is among the anchors anyway.
    if (X509_self_signed(intermediate.native(), 0) == 1) continue;
    if (sk_X509_push(untrusted.get(), intermediate.native()) <= 0) {
      return internal::OpenSslFailure("sk_X509_push");
    }
  }

  internal::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), untrusted.get()) != 1) {
    return internal::OpenSslFailure("X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at_unix_time));
  // OpenSSL's depth counts the certificates between the leaf and the anchor.
  X509_VERIFY_PARAM_set_depth(param,
                              options.max_depth >= 2 ? static_cast<int>(options.max_depth - 2) : 0);
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (!crls.empty() || options.require_crl_for_each_ca) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  X509_VERIFY_PARAM_set_flags(param, flags);
  X509_STORE_CTX_set_verify_cb(
      ctx.get(), options.require_crl_for_each_ca ? VerifyCrlsRequired : VerifyCrlsOptional);
  if (options.purpose != CertificatePurpose::kAny &&
      X509_STORE_CTX_set_purpose(ctx.get(), options.purpose == CertificatePurpose::kClientAuth
                                                ? X509_PURPOSE_SSL_CLIENT
                                                : X509_PURPOSE_SSL_SERVER) != 1) {
    return internal::OpenSslFailure("X509_STORE_CTX_set_purpose");
  }

  const int verified = X509_verify_cert(ctx.get());
  internal::TakeOpenSslReason();
  if (verified == 1) return OkStatus();

  std::vector<const Certificate*> known;
  known.push_back(&leaf);
  for (const Certificate& cert : intermediates) known.push_back(&cert);
  for (const Certificate& cert : trust_anchors) known.push_back(&cert);
  return ChainError(ctx.get(), known, options);
}

}  // namespace custos::identity
