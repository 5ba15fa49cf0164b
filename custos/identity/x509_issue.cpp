#include "custos/identity/x509_issue.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <utility>

#include "custos/core/random.h"
#include "custos/identity/internal/x509_util.h"

namespace custos::identity {
namespace {

using internal::OpenSslDeleter;

constexpr std::size_t kMaxNameLength = 64;  // RFC 5280 ub-common-name, ub-organization-name
constexpr std::size_t kMaxSanEntries = 16;
constexpr std::size_t kMaxSanLength = 256;
constexpr std::size_t kRandomSerialBytes = 16;
constexpr std::size_t kMaxSerialBytes = 20;

// Adds `value` (an OpenSSL extension structure) as extension `nid`.
Status AddExtension(X509* x509, int nid, void* value, bool critical, std::string_view what) {
  if (X509_add1_ext_i2d(x509, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    return internal::OpenSslFailure(std::string("adding ") + std::string(what));
  }
  return OkStatus();
}

Status ValidateTemplate(const CertificateTemplate& tmpl) {
  if (!tmpl.device_id.empty()) {
    CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(tmpl.device_id));
    if (!tmpl.common_name.empty() && tmpl.common_name != tmpl.device_id) {
      return InvalidArgumentError("template common name '" + tmpl.common_name +
                                  "' differs from its device id '" + tmpl.device_id + "'");
    }
  } else if (tmpl.common_name.empty()) {
    return InvalidArgumentError("template has neither a device id nor a common name");
  }
  if (tmpl.common_name.size() > kMaxNameLength || tmpl.organization.size() > kMaxNameLength) {
    return InvalidArgumentError("template common name or organization is longer than " +
                                std::to_string(kMaxNameLength) + " bytes");
  }
  for (const std::string& uri : tmpl.san_uris) {
    if (uri.starts_with(kDeviceUriPrefix)) {
      return InvalidArgumentError("template SAN URI '" + uri +
                                  "' is a device URI; set device_id instead");
    }
  }
  CUSTOS_RETURN_IF_ERROR(internal::ValidateSanStrings(tmpl.san_uris, tmpl.san_dns_names,
                                                      kMaxSanEntries - 1, kMaxSanLength));
  if (tmpl.not_before >= tmpl.not_after) {
    return InvalidArgumentError(
        "template validity is empty: not_before " + internal::FormatUnixTime(tmpl.not_before) +
        " is not before not_after " + internal::FormatUnixTime(tmpl.not_after));
  }
  if (tmpl.is_ca) {
    if (tmpl.path_length < -1) {
      return InvalidArgumentError("template path length " + std::to_string(tmpl.path_length) +
                                  " is negative (use -1 for none)");
    }
    if (!tmpl.device_id.empty()) {
      return InvalidArgumentError("a CA certificate cannot name a device");
    }
  } else if (!tmpl.client_auth && !tmpl.server_auth) {
    return InvalidArgumentError("an end-entity template needs client_auth or server_auth");
  }
  if (tmpl.serial.size() > kMaxSerialBytes) {
    return InvalidArgumentError("template serial is longer than 20 bytes");
  }
  if (!tmpl.crl_distribution_point.empty()) {
    CUSTOS_RETURN_IF_ERROR(internal::ValidateSanStrings(std::span(&tmpl.crl_distribution_point, 1),
                                                        {}, 1, kMaxSanLength));
  }
  return OkStatus();
}

StatusOr<internal::Asn1IntegerPtr> SerialFor(const CertificateTemplate& tmpl) {
  std::vector<uint8_t> bytes = tmpl.serial;
  if (bytes.empty()) {
    bytes.resize(kRandomSerialBytes);
    CUSTOS_RETURN_IF_ERROR(FillRandom(bytes));
    bytes[0] &= 0x7f;  // positive
    bytes[0] |= 0x01;  // and 16 bytes long, never shortened by leading zeros
  }
  internal::BignumPtr number(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (number == nullptr) return internal::OpenSslFailure("BN_bin2bn");
  if (BN_is_zero(number.get())) return InvalidArgumentError("template serial is zero");
  internal::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (serial == nullptr) return internal::OpenSslFailure("BN_to_ASN1_INTEGER");
  return serial;
}

Status AddExtensions(X509* x509, const CertificateTemplate& tmpl, const Certificate* issuer) {
  // basicConstraints
  std::unique_ptr<BASIC_CONSTRAINTS, OpenSslDeleter<BASIC_CONSTRAINTS_free>> basic(
      BASIC_CONSTRAINTS_new());
  if (basic == nullptr) return internal::OpenSslFailure("BASIC_CONSTRAINTS_new");
  basic->ca = tmpl.is_ca ? 0xff : 0;
  if (tmpl.is_ca && tmpl.path_length >= 0) {
    basic->pathlen = ASN1_INTEGER_new();
    if (basic->pathlen == nullptr || ASN1_INTEGER_set(basic->pathlen, tmpl.path_length) != 1) {
      return internal::OpenSslFailure("setting pathLenConstraint");
    }
  }
  CUSTOS_RETURN_IF_ERROR(
      AddExtension(x509, NID_basic_constraints, basic.get(), true, "basicConstraints"));

  // keyUsage
  internal::Asn1BitStringPtr usage(ASN1_BIT_STRING_new());
  if (usage == nullptr) return internal::OpenSslFailure("ASN1_BIT_STRING_new");
  const auto set_bit = [&](int bit) { return ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) == 1; };
  // Bit numbers of RFC 5280 4.2.1.3.
  constexpr int kDigitalSignature = 0;
  constexpr int kKeyCertSign = 5;
  constexpr int kCrlSign = 6;
  const bool usage_ok =
      tmpl.is_ca ? set_bit(kKeyCertSign) && set_bit(kCrlSign) : set_bit(kDigitalSignature);
  if (!usage_ok) return internal::OpenSslFailure("setting keyUsage bits");
  CUSTOS_RETURN_IF_ERROR(AddExtension(x509, NID_key_usage, usage.get(), true, "keyUsage"));

  // extendedKeyUsage (end entities only: a CA is unrestricted)
  if (!tmpl.is_ca) {
    std::unique_ptr<EXTENDED_KEY_USAGE, OpenSslDeleter<EXTENDED_KEY_USAGE_free>> eku(
        sk_ASN1_OBJECT_new_null());
    if (eku == nullptr) return internal::OpenSslFailure("EXTENDED_KEY_USAGE_new");
    if ((tmpl.client_auth && sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_client_auth)) <= 0) ||
        (tmpl.server_auth && sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth)) <= 0)) {
      return internal::OpenSslFailure("building extendedKeyUsage");
    }
    CUSTOS_RETURN_IF_ERROR(
        AddExtension(x509, NID_ext_key_usage, eku.get(), false, "extendedKeyUsage"));
  }

  // subjectAltName
  std::vector<std::string> uris;
  if (!tmpl.device_id.empty()) uris.push_back(DeviceUri(tmpl.device_id));
  uris.insert(uris.end(), tmpl.san_uris.begin(), tmpl.san_uris.end());
  if (!uris.empty() || !tmpl.san_dns_names.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(internal::GeneralNamesPtr san,
                            internal::BuildGeneralNames(uris, tmpl.san_dns_names));
    CUSTOS_RETURN_IF_ERROR(
        AddExtension(x509, NID_subject_alt_name, san.get(), false, "subjectAltName"));
  }

  // subjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280
  // 4.2.1.2 method 1), so the same key always has the same identifier (a
  // cross-signed CA certificate matches its self-signed twin).
  std::array<unsigned char, 20> key_hash{};
  unsigned int key_hash_length = 0;
  if (X509_pubkey_digest(x509, EVP_sha1(), key_hash.data(), &key_hash_length) != 1) {
    return internal::OpenSslFailure("hashing the subject public key");
  }
  internal::Asn1OctetStringPtr skid(ASN1_OCTET_STRING_new());
  if (skid == nullptr ||
      ASN1_OCTET_STRING_set(skid.get(), key_hash.data(), static_cast<int>(key_hash_length)) != 1) {
    return internal::OpenSslFailure("building subjectKeyIdentifier");
  }
  CUSTOS_RETURN_IF_ERROR(
      AddExtension(x509, NID_subject_key_identifier, skid.get(), false, "subjectKeyIdentifier"));

  // authorityKeyIdentifier: the issuer's subjectKeyIdentifier.
  const ASN1_OCTET_STRING* issuer_skid =
      issuer != nullptr ? X509_get0_subject_key_id(issuer->native()) : skid.get();
  if (issuer_skid != nullptr) {
    std::unique_ptr<AUTHORITY_KEYID, OpenSslDeleter<AUTHORITY_KEYID_free>> akid(
        AUTHORITY_KEYID_new());
    if (akid == nullptr || (akid->keyid = ASN1_OCTET_STRING_dup(issuer_skid)) == nullptr) {
      return internal::OpenSslFailure("building authorityKeyIdentifier");
    }
    CUSTOS_RETURN_IF_ERROR(AddExtension(x509, NID_authority_key_identifier, akid.get(), false,
                                        "authorityKeyIdentifier"));
  }

  // cRLDistributionPoints
  if (!tmpl.crl_distribution_point.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(
        internal::GeneralNamesPtr full_name,
        internal::BuildGeneralNames(std::span(&tmpl.crl_distribution_point, 1), {}));
    std::unique_ptr<CRL_DIST_POINTS, OpenSslDeleter<CRL_DIST_POINTS_free>> points(
        sk_DIST_POINT_new_null());
    std::unique_ptr<DIST_POINT, OpenSslDeleter<DIST_POINT_free>> point(DIST_POINT_new());
    if (points == nullptr || point == nullptr ||
        (point->distpoint = DIST_POINT_NAME_new()) == nullptr) {
      return internal::OpenSslFailure("building cRLDistributionPoints");
    }
    point->distpoint->type = 0;  // fullName
    point->distpoint->name.fullname = full_name.release();
    if (sk_DIST_POINT_push(points.get(), point.get()) <= 0) {
      return internal::OpenSslFailure("building cRLDistributionPoints");
    }
    (void)point.release();  // now owned by points
    CUSTOS_RETURN_IF_ERROR(AddExtension(x509, NID_crl_distribution_points, points.get(), false,
                                        "cRLDistributionPoints"));
  }
  return OkStatus();
}

Status CheckIssuer(const CertificateTemplate& tmpl, const Certificate& issuer) {
  if (!issuer.is_ca()) {
    return FailedPreconditionError("issuer '" + issuer.subject_name() + "' is not a CA");
  }
  if ((X509_get_key_usage(issuer.native()) & KU_KEY_CERT_SIGN) == 0) {
    return FailedPreconditionError("issuer '" + issuer.subject_name() +
                                   "' may not sign certificates (keyUsage lacks keyCertSign)");
  }
  if (tmpl.is_ca && issuer.path_length() == 0) {
    return FailedPreconditionError("issuer '" + issuer.subject_name() +
                                   "' may not issue CA certificates (pathLen 0)");
  }
  if (tmpl.not_before < issuer.not_before() || tmpl.not_after > issuer.not_after()) {
    return InvalidArgumentError("template validity " + internal::FormatUnixTime(tmpl.not_before) +
                                " .. " + internal::FormatUnixTime(tmpl.not_after) +
                                " is not within the issuer's " +
                                internal::FormatUnixTime(issuer.not_before()) + " .. " +
                                internal::FormatUnixTime(issuer.not_after()));
  }
  return OkStatus();
}

}  // namespace

StatusOr<Certificate> IssueCertificate(const CertificateTemplate& tmpl, const Certificate* issuer,
                                       const SigningKey& issuer_key) {
  CUSTOS_RETURN_IF_ERROR(ValidateTemplate(tmpl));
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509SignatureScheme scheme,
                          internal::SchemeOf(issuer_key));
  CUSTOS_ASSIGN_OR_RETURN(
      internal::EvpPkeyPtr subject_key,
      internal::ParsePublicKey(tmpl.subject_public_key, "template subject public key"));
  CUSTOS_RETURN_IF_ERROR(Annotate(internal::SchemeOfPublicKey(subject_key.get()).status(),
                                  "template subject public key"));
  if (issuer != nullptr) {
    CUSTOS_RETURN_IF_ERROR(CheckIssuer(tmpl, *issuer));
  } else {
    CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> signer_public,
                            issuer_key.store->ExportPublicKey(issuer_key.label));
    if (signer_public != tmpl.subject_public_key) {
      return InvalidArgumentError(
          "self-signed template: subject public key is not the public "
          "key of signing key '" +
          issuer_key.label + "'");
    }
  }

  internal::X509Ptr x509(X509_new());
  if (x509 == nullptr) return internal::OpenSslFailure("X509_new");
  CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1IntegerPtr serial, SerialFor(tmpl));
  const std::string& common_name = tmpl.device_id.empty() ? tmpl.common_name : tmpl.device_id;
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509NamePtr subject,
                          internal::BuildName(common_name, tmpl.organization));
  CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1TimePtr not_before,
                          internal::UnixToTime(tmpl.not_before));
  CUSTOS_ASSIGN_OR_RETURN(const internal::Asn1TimePtr not_after,
                          internal::UnixToTime(tmpl.not_after));
  const X509_NAME* issuer_name =
      issuer != nullptr ? X509_get_subject_name(issuer->native()) : subject.get();
  if (X509_set_version(x509.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(x509.get(), serial.get()) != 1 ||
      X509_set_subject_name(x509.get(), subject.get()) != 1 ||
      X509_set_issuer_name(x509.get(), issuer_name) != 1 ||
      X509_set1_notBefore(x509.get(), not_before.get()) != 1 ||
      X509_set1_notAfter(x509.get(), not_after.get()) != 1) {
    return internal::OpenSslFailure("filling the TBSCertificate");
  }
  CUSTOS_ASSIGN_OR_RETURN(
      const bool key_set,
      internal::SetPublicKeyDirect(X509_get_X509_PUBKEY(x509.get()), tmpl.subject_public_key));
  if (!key_set && X509_set_pubkey(x509.get(), subject_key.get()) != 1) {
    return internal::OpenSslFailure("setting the certificate public key");
  }
  CUSTOS_RETURN_IF_ERROR(AddExtensions(x509.get(), tmpl, issuer));

  // OpenSSL has no setters for the two AlgorithmIdentifiers and the signature
  // of a certificate, only const getters into the X509 object it owns; the
  // objects themselves are mutable, so the casts are sound.
  const ASN1_BIT_STRING* signature = nullptr;
  const X509_ALGOR* outer_algorithm = nullptr;
  X509_get0_signature(&signature, &outer_algorithm, x509.get());
  CUSTOS_RETURN_IF_ERROR(internal::SetSignatureAlgorithm(
      const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(x509.get())), scheme.signature_nid));
  CUSTOS_RETURN_IF_ERROR(internal::SetSignatureAlgorithm(const_cast<X509_ALGOR*>(outer_algorithm),
                                                         scheme.signature_nid));
  CUSTOS_ASSIGN_OR_RETURN(
      const std::vector<uint8_t> tbs,
      internal::EncodeDer<X509>(x509.get(), i2d_re_X509_tbs, "TBSCertificate encoding"));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> signature_value,
                          internal::SignTbs(issuer_key, scheme, tbs));
  // Prove the signature before anything is built on it: it must verify over
  // the TBSCertificate just signed with the issuer's public key (parsed once
  // with the issuer certificate), so a faulty or wrong signing key is caught
  // here, not by the relying parties.
  EVP_PKEY* issuer_public =
      issuer != nullptr ? X509_get0_pubkey(issuer->native()) : subject_key.get();
  if (issuer_public == nullptr ||
      !internal::VerifyTbsSignature(issuer_public, scheme, tbs, signature_value).ok()) {
    internal::TakeOpenSslReason();
    return UnauthenticatedError(
        "issued certificate's signature does not verify with the "
        "issuer's public key (is key '" +
        issuer_key.label + "' the issuer's key?)");
  }
  CUSTOS_RETURN_IF_ERROR(
      internal::SetSignatureBits(const_cast<ASN1_BIT_STRING*>(signature), signature_value));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> der,
                          internal::EncodeDer<X509>(x509.get(), i2d_X509, "certificate encoding"));

  // The fields come from the object just signed; its OpenSSL form is parsed
  // from `der` only if someone asks for native() (a key decoder saved per
  // device certificate).
  StatusOr<Certificate> cert = Certificate::FromFields(x509.get(), subject_key.get(), der);
  if (!cert.ok()) {
    return InternalError("issued certificate is not readable: " +
                         std::string(cert.status().message()));
  }
  return cert;
}

}  // namespace custos::identity
