#include "custos/identity/crl.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "custos/identity/internal/x509_util.h"

namespace custos::identity {
namespace {

using internal::OpenSslDeleter;

constexpr std::size_t kMaxSerialHexDigits = 40;  // 20 bytes (RFC 5280 4.1.2.2)

// Orders normalized serials numerically: shorter first, then by digits.
bool SerialLess(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

bool IsKnownReason(long code) { return (code >= 0 && code <= 6) || (code >= 8 && code <= 10); }

// A throwaway key of the issuer's algorithm. OpenSSL offers no setter for a
// CRL's inner AlgorithmIdentifier; X509_CRL_sign with this key sets both
// identifiers correctly, and the signature is then replaced by the one the
// key store makes. The throwaway key signs nothing that is kept.
StatusOr<internal::EvpPkeyPtr> ThrowawayKey(const internal::X509SignatureScheme& scheme) {
  internal::EvpPkeyPtr key(scheme.key_type == keystore::KeyType::kEd25519
                               ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return internal::OpenSslFailure("generating a throwaway signing key");
  return key;
}

}  // namespace

std::string_view RevocationReasonName(RevocationReason reason) {
  switch (reason) {
    case RevocationReason::kUnspecified:
      return "unspecified";
    case RevocationReason::kKeyCompromise:
      return "keyCompromise";
    case RevocationReason::kCaCompromise:
      return "cACompromise";
    case RevocationReason::kAffiliationChanged:
      return "affiliationChanged";
    case RevocationReason::kSuperseded:
      return "superseded";
    case RevocationReason::kCessationOfOperation:
      return "cessationOfOperation";
    case RevocationReason::kCertificateHold:
      return "certificateHold";
    case RevocationReason::kRemoveFromCrl:
      return "removeFromCRL";
    case RevocationReason::kPrivilegeWithdrawn:
      return "privilegeWithdrawn";
    case RevocationReason::kAaCompromise:
      return "aACompromise";
  }
  return "unknown";
}

StatusOr<std::string> NormalizeSerialHex(std::string_view serial_hex) {
  if (serial_hex.empty()) return InvalidArgumentError("serial is empty");
  std::string hex;
  hex.reserve(serial_hex.size());
  for (const char c : serial_hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return InvalidArgumentError("serial '" + std::string(serial_hex.substr(0, 64)) +
                                  "' is not hex");
    }
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  const std::size_t first = hex.find_first_not_of('0');
  hex = first == std::string::npos ? "0" : hex.substr(first);
  if (hex.size() > kMaxSerialHexDigits) {
    return InvalidArgumentError("serial is longer than 20 bytes");
  }
  return hex;
}

StatusOr<Crl> Crl::FromDer(std::span<const uint8_t> der) {
  if (der.empty()) return InvalidArgumentError("CRL is empty");
  if (der.size() > kMaxCrlBytes) {
    return InvalidArgumentError("CRL is larger than " + std::to_string(kMaxCrlBytes) + " bytes");
  }
  const unsigned char* in = der.data();
  internal::X509CrlPtr crl(d2i_X509_CRL(nullptr, &in, static_cast<long>(der.size())));
  if (crl == nullptr) {
    return InvalidArgumentError("not a DER X.509 CRL: " + internal::TakeOpenSslReason());
  }
  if (in != der.data() + der.size()) {
    return InvalidArgumentError("CRL has trailing bytes after the DER");
  }
  Crl result;
  result.der_.assign(der.begin(), der.end());
  result.issuer_name_ = internal::NameToString(X509_CRL_get_issuer(crl.get()));
  CUSTOS_ASSIGN_OR_RETURN(
      result.this_update_,
      internal::AnnotateOr(internal::TimeToUnix(X509_CRL_get0_lastUpdate(crl.get())),
                           "CRL thisUpdate"));
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
    CUSTOS_ASSIGN_OR_RETURN(result.next_update_,
                            internal::AnnotateOr(internal::TimeToUnix(next), "CRL nextUpdate"));
  }
  int critical = 0;
  std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>> number(
      static_cast<ASN1_INTEGER*>(
          X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &critical, nullptr)));
  if (number == nullptr && critical != -1) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("CRL cRLNumber extension is malformed or repeated");
  }
  int64_t crl_number = -1;
  if (number != nullptr && ASN1_INTEGER_get_int64(&crl_number, number.get()) != 1) {
    internal::TakeOpenSslReason();
    crl_number = -1;
  }
  result.crl_number_ = crl_number < 0 ? -1 : crl_number;

  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* item = sk_X509_REVOKED_value(revoked, i);
    RevokedEntry entry;
    entry.serial_hex = internal::SerialToHex(X509_REVOKED_get0_serialNumber(item));
    CUSTOS_ASSIGN_OR_RETURN(
        entry.revocation_time,
        internal::AnnotateOr(internal::TimeToUnix(X509_REVOKED_get0_revocationDate(item)),
                             "CRL entry " + entry.serial_hex + " revocationDate"));
    std::unique_ptr<ASN1_ENUMERATED, OpenSslDeleter<ASN1_ENUMERATED_free>> reason(
        static_cast<ASN1_ENUMERATED*>(
            X509_REVOKED_get_ext_d2i(item, NID_crl_reason, &critical, nullptr)));
    if (reason == nullptr && critical != -1) {
      internal::TakeOpenSslReason();
      return InvalidArgumentError("CRL entry " + entry.serial_hex + " has a malformed reason");
    }
    if (reason != nullptr) {
      const long code = ASN1_ENUMERATED_get(reason.get());
      if (!IsKnownReason(code)) {
        return InvalidArgumentError("CRL entry " + entry.serial_hex + " has unknown reason " +
                                    std::to_string(code));
      }
      entry.reason = static_cast<RevocationReason>(code);
    }
    result.entries_.push_back(std::move(entry));
  }
  std::sort(result.entries_.begin(), result.entries_.end(),
            [](const RevokedEntry& a, const RevokedEntry& b) {
              return SerialLess(a.serial_hex, b.serial_hex);
            });
  result.crl_ = std::shared_ptr<X509_CRL>(crl.release(), OpenSslDeleter<X509_CRL_free>());
  return result;
}

StatusOr<Crl> Crl::FromPem(std::string_view pem) {
  if (pem.size() > kMaxCrlBytes * 2) {
    return InvalidArgumentError("CRL PEM is larger than " + std::to_string(kMaxCrlBytes * 2) +
                                " bytes");
  }
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> der,
                          internal::PemBlockToDer(pem, "X509 CRL", kMaxCrlBytes));
  return FromDer(der);
}

StatusOr<Crl> Crl::Parse(std::span<const uint8_t> data) {
  if (internal::LooksLikePem(data)) {
    return FromPem(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  return FromDer(data);
}

std::string Crl::ToPem() const { return internal::DerToPem(der_, "X509 CRL"); }

bool Crl::IsRevoked(std::string_view serial_hex) const {
  const StatusOr<std::string> serial = NormalizeSerialHex(serial_hex);
  if (!serial.ok()) return false;
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), *serial,
                                   [](const RevokedEntry& entry, const std::string& s) {
                                     return SerialLess(entry.serial_hex, s);
                                   });
  return it != entries_.end() && it->serial_hex == *serial;
}

bool Crl::IsRevoked(const Certificate& cert) const {
  return X509_NAME_cmp(X509_CRL_get_issuer(crl_.get()), X509_get_issuer_name(cert.native())) == 0 &&
         IsRevoked(cert.serial_hex());
}

Status Crl::VerifySignature(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl_.get()), X509_get_subject_name(issuer.native())) != 0) {
    return UnauthenticatedError("CRL issuer '" + issuer_name_ + "' is not '" +
                                issuer.subject_name() + "'");
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer.native());
  if (key == nullptr || X509_CRL_verify(crl_.get(), key) != 1) {
    internal::TakeOpenSslReason();
    return UnauthenticatedError("CRL signature does not verify with the key of '" +
                                issuer.subject_name() + "'");
  }
  return OkStatus();
}

StatusOr<Crl> IssueCrl(const Certificate& issuer, const SigningKey& issuer_key,
                       std::span<const RevokedEntry> revoked, int64_t this_update,
                       int64_t next_update, uint64_t crl_number) {
  if (!issuer.is_ca()) {
    return FailedPreconditionError("CRL issuer '" + issuer.subject_name() + "' is not a CA");
  }
  if ((X509_get_key_usage(issuer.native()) & KU_CRL_SIGN) == 0) {
    return FailedPreconditionError("issuer '" + issuer.subject_name() +
                                   "' may not sign CRLs (keyUsage lacks cRLSign)");
  }
  if (this_update >= next_update) {
    return InvalidArgumentError("CRL this_update " + internal::FormatUnixTime(this_update) +
                                " is not before next_update " +
                                internal::FormatUnixTime(next_update));
  }
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509SignatureScheme scheme,
                          internal::SchemeOf(issuer_key));

  internal::X509CrlPtr crl(X509_CRL_new());
  if (crl == nullptr) return internal::OpenSslFailure("X509_CRL_new");
  CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1TimePtr last, internal::UnixToTime(this_update));
  CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1TimePtr next, internal::UnixToTime(next_update));
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.native())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return internal::OpenSslFailure("filling the TBSCertList");
  }
  for (const RevokedEntry& entry : revoked) {
    CUSTOS_ASSIGN_OR_RETURN(const std::string serial_hex, NormalizeSerialHex(entry.serial_hex));
    if (!IsKnownReason(static_cast<long>(entry.reason))) {
      return InvalidArgumentError("revocation reason " +
                                  std::to_string(static_cast<int>(entry.reason)) + " of serial " +
                                  serial_hex + " is not an RFC 5280 CRLReason");
    }
    CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1IntegerPtr serial,
                            internal::HexToSerial(serial_hex));
    CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1TimePtr when,
                            internal::AnnotateOr(internal::UnixToTime(entry.revocation_time),
                                                 "revocation time of serial " + serial_hex));
    internal::X509RevokedPtr item(X509_REVOKED_new());
    if (item == nullptr || X509_REVOKED_set_serialNumber(item.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(item.get(), when.get()) != 1) {
      return internal::OpenSslFailure("building a revoked entry");
    }
    // RFC 5280 5.3.1: omit the reason code rather than write "unspecified".
    if (entry.reason != RevocationReason::kUnspecified) {
      std::unique_ptr<ASN1_ENUMERATED, OpenSslDeleter<ASN1_ENUMERATED_free>> reason(
          ASN1_ENUMERATED_new());
      if (reason == nullptr ||
          ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) != 1 ||
          X509_REVOKED_add1_ext_i2d(item.get(), NID_crl_reason, reason.get(), 0,
                                    X509V3_ADD_DEFAULT) != 1) {
        return internal::OpenSslFailure("adding a revocation reason");
      }
    }
    if (X509_CRL_add0_revoked(crl.get(), item.get()) != 1) {
      return internal::OpenSslFailure("X509_CRL_add0_revoked");
    }
    (void)item.release();  // now owned by crl
  }
  if (X509_CRL_sort(crl.get()) != 1) return internal::OpenSslFailure("X509_CRL_sort");

  internal::Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (number == nullptr || ASN1_INTEGER_set_uint64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return internal::OpenSslFailure("adding cRLNumber");
  }
  if (const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(issuer.native()); skid != nullptr) {
    std::unique_ptr<AUTHORITY_KEYID, OpenSslDeleter<AUTHORITY_KEYID_free>> akid(
        AUTHORITY_KEYID_new());
    if (akid == nullptr || (akid->keyid = ASN1_OCTET_STRING_dup(skid)) == nullptr ||
        X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid.get(), 0,
                              X509V3_ADD_DEFAULT) != 1) {
      return internal::OpenSslFailure("adding authorityKeyIdentifier");
    }
  }

  CUSTOS_ASSIGN_OR_RETURN(const internal::EvpPkeyPtr throwaway, ThrowawayKey(scheme));
  const EVP_MD* digest = scheme.key_type == keystore::KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (X509_CRL_sign(crl.get(), throwaway.get(), digest) <= 0) {
    return internal::OpenSslFailure("setting the CRL signature algorithm");
  }
  CUSTOS_ASSIGN_OR_RETURN(
      const std::vector<uint8_t> tbs,
      internal::EncodeDer<X509_CRL>(crl.get(), i2d_re_X509_CRL_tbs, "TBSCertList encoding"));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> signature,
                          internal::SignTbs(issuer_key, scheme, tbs));
  // As for certificates, OpenSSL only offers a const getter for the
  // signature of the X509_CRL it owns.
  const ASN1_BIT_STRING* bits = nullptr;
  X509_CRL_get0_signature(crl.get(), &bits, nullptr);
  CUSTOS_RETURN_IF_ERROR(internal::SetSignatureBits(const_cast<ASN1_BIT_STRING*>(bits), signature));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> der,
                          internal::EncodeDer<X509_CRL>(crl.get(), i2d_X509_CRL, "CRL encoding"));

  StatusOr<Crl> result = Crl::FromDer(der);
  if (!result.ok()) {
    return InternalError("issued CRL does not parse back: " +
                         std::string(result.status().message()));
  }
  Status verified = result->VerifySignature(issuer);
  if (!verified.ok()) {
    return UnauthenticatedError(
        "issued CRL's signature does not verify with the issuer's "
        "public key (is key '" +
        issuer_key.label + "' the issuer's key?)");
  }
  return result;
}

}  // namespace custos::identity
