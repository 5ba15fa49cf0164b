#include "custos/identity/x509_certificate.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "custos/core/hex.h"
#include "custos/identity/internal/x509_util.h"

namespace custos::identity {
namespace {

using internal::OpenSslDeleter;

constexpr std::size_t kMaxNameLength = 256;

bool IsDeviceIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The keyIdentifier of an extension holding an OCTET STRING (SKID) or an
// AUTHORITY_KEYID, as hex.
std::string SubjectKeyIdHex(X509* x509) {
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(x509);
  if (skid == nullptr) return "";
  return HexEncode(std::span<const uint8_t>(ASN1_STRING_get0_data(skid),
                                            static_cast<std::size_t>(ASN1_STRING_length(skid))));
}

std::string AuthorityKeyIdHex(X509* x509) {
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(x509);
  if (akid == nullptr) return "";
  return HexEncode(std::span<const uint8_t>(ASN1_STRING_get0_data(akid),
                                            static_cast<std::size_t>(ASN1_STRING_length(akid))));
}

}  // namespace

Status ValidateDeviceId(std::string_view device_id) {
  if (device_id.empty()) return InvalidArgumentError("device id is empty");
  if (device_id.size() > kMaxDeviceIdLength) {
    return InvalidArgumentError("device id is longer than " + std::to_string(kMaxDeviceIdLength) +
                                " characters");
  }
  if (!std::all_of(device_id.begin(), device_id.end(), IsDeviceIdCharacter)) {
    return InvalidArgumentError("device id may only contain A-Z a-z 0-9 . _ -");
  }
  if (device_id.front() == '.' || device_id.front() == '-') {
    return InvalidArgumentError("device id '" + std::string(device_id) +
                                "' must not start with '.' or '-'");
  }
  return OkStatus();
}

std::string DeviceUri(std::string_view device_id) {
  return std::string(kDeviceUriPrefix) + std::string(device_id);
}

struct Certificate::Native {
  std::once_flag parsed;
  internal::X509Ptr x509;
};

X509* Certificate::native() const {
  if (native_ == nullptr) return nullptr;
  std::call_once(native_->parsed, [this] {
    if (native_->x509 != nullptr) return;
    const unsigned char* in = der_.data();
    native_->x509.reset(d2i_X509(nullptr, &in, static_cast<long>(der_.size())));
    if (native_->x509 == nullptr) internal::TakeOpenSslReason();
  });
  return native_->x509.get();
}

StatusOr<Certificate> Certificate::FromDer(std::span<const uint8_t> der) {
  if (der.empty()) return InvalidArgumentError("certificate is empty");
  if (der.size() > kMaxCertificateBytes) {
    return InvalidArgumentError("certificate is larger than " +
                                std::to_string(kMaxCertificateBytes) + " bytes");
  }
  const unsigned char* in = der.data();
  internal::X509Ptr x509(d2i_X509(nullptr, &in, static_cast<long>(der.size())));
  if (x509 == nullptr) {
    return InvalidArgumentError("not a DER X.509 certificate: " + internal::TakeOpenSslReason());
  }
  if (in != der.data() + der.size()) {
    return InvalidArgumentError("certificate has trailing bytes after the DER");
  }
  const EVP_PKEY* pkey = X509_get0_pubkey(x509.get());
  if (pkey == nullptr) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("certificate public key is malformed or unsupported");
  }
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, FromFields(x509.get(), pkey, der));
  // Already parsed: native() returns this object.
  cert.native_->x509 = std::move(x509);
  return cert;
}

StatusOr<Certificate> Certificate::FromFields(X509* x509, const EVP_PKEY* public_key,
                                              std::span<const uint8_t> der) {
  if (X509_get_version(x509) != X509_VERSION_3) {
    return InvalidArgumentError("certificate is not X.509 version 3");
  }

  Certificate cert;
  cert.native_ = std::make_shared<Native>();
  cert.der_.assign(der.begin(), der.end());
  const X509_NAME* subject = X509_get_subject_name(x509);
  CUSTOS_ASSIGN_OR_RETURN(
      cert.subject_common_name_,
      internal::NameEntryText(subject, NID_commonName, "subject CN", kMaxNameLength));
  CUSTOS_ASSIGN_OR_RETURN(
      cert.subject_organization_,
      internal::NameEntryText(subject, NID_organizationName, "subject O", kMaxNameLength));
  cert.subject_name_ = internal::NameToString(subject);
  cert.issuer_name_ = internal::NameToString(X509_get_issuer_name(x509));

  int critical = 0;
  std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>> san(
      static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x509, NID_subject_alt_name, &critical, nullptr)));
  if (san == nullptr && critical != -1) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("certificate SAN extension is malformed or repeated");
  }
  if (san != nullptr) {
    CUSTOS_ASSIGN_OR_RETURN(internal::SanEntries entries,
                            internal::ReadGeneralNames(san.get(), kMaxNameLength));
    cert.san_uris_ = std::move(entries.uris);
    cert.san_dns_names_ = std::move(entries.dns_names);
  }
  StatusOr<std::string> device_id =
      internal::DeviceIdFromSan(cert.san_uris_, cert.subject_common_name_);
  if (!device_id.ok()) return Annotate(device_id.status(), "certificate");
  cert.device_id_ = *std::move(device_id);

  cert.serial_hex_ = internal::SerialToHex(X509_get0_serialNumber(x509));
  CUSTOS_ASSIGN_OR_RETURN(cert.not_before_, internal::TimeToUnix(X509_get0_notBefore(x509)));
  CUSTOS_ASSIGN_OR_RETURN(cert.not_after_, internal::TimeToUnix(X509_get0_notAfter(x509)));

  // X509_get_extension_flags parses the extensions custos reads (basic
  // constraints, key usage, key ids) and flags malformed ones.
  const uint32_t flags = X509_get_extension_flags(x509);
  if ((flags & EXFLAG_INVALID) != 0) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("certificate has a malformed or repeated extension");
  }
  cert.is_ca_ = (flags & EXFLAG_CA) != 0;
  cert.path_length_ = cert.is_ca_ ? static_cast<int>(X509_get_pathlen(x509)) : -1;
  cert.subject_key_id_ = SubjectKeyIdHex(x509);
  cert.authority_key_id_ = AuthorityKeyIdHex(x509);

  // The SubjectPublicKeyInfo as it is in the certificate (plain ASN.1; no
  // re-encoding of the key through OpenSSL's encoders).
  CUSTOS_ASSIGN_OR_RETURN(cert.public_key_, internal::EncodeDer<X509_PUBKEY>(
                                                X509_get_X509_PUBKEY(x509), i2d_X509_PUBKEY,
                                                "SubjectPublicKeyInfo encoding"));
  cert.key_algorithm_ = internal::KeyAlgorithmName(public_key);
  cert.signature_algorithm_ = internal::SignatureAlgorithmName(X509_get_signature_nid(x509));

  unsigned int digest_length = 0;
  if (EVP_Digest(der.data(), der.size(), cert.fingerprint_sha256_.data(), &digest_length,
                 EVP_sha256(), nullptr) != 1 ||
      digest_length != cert.fingerprint_sha256_.size()) {
    return internal::OpenSslFailure("SHA-256 of the certificate");
  }
  return cert;
}

StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  if (pem.size() > kMaxCertificateBytes * 2) {
    return InvalidArgumentError("certificate PEM is larger than " +
                                std::to_string(kMaxCertificateBytes * 2) + " bytes");
  }
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> der,
                          internal::PemBlockToDer(pem, "CERTIFICATE", kMaxCertificateBytes));
  return FromDer(der);
}

StatusOr<Certificate> Certificate::Parse(std::span<const uint8_t> data) {
  if (internal::LooksLikePem(data)) {
    return FromPem(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  return FromDer(data);
}

std::string Certificate::ToPem() const { return internal::DerToPem(der_, "CERTIFICATE"); }

StatusOr<std::vector<Certificate>> ParseCertificatePemBundle(std::string_view pem) {
  if (pem.size() > kMaxCertificateBytes * 2 * kMaxBundleCertificates) {
    return InvalidArgumentError("certificate bundle is too large");
  }
  std::vector<Certificate> certs;
  std::string_view rest = pem;
  while (rest.find("-----BEGIN") != std::string_view::npos) {
    if (certs.size() == kMaxBundleCertificates) {
      return InvalidArgumentError("certificate bundle has more than " +
                                  std::to_string(kMaxBundleCertificates) + " certificates");
    }
    std::string_view after;
    StatusOr<std::vector<uint8_t>> der =
        internal::PemBlockToDer(rest, "CERTIFICATE", kMaxCertificateBytes, &after);
    if (!der.ok()) {
      return Annotate(der.status(), "certificate " + std::to_string(certs.size() + 1));
    }
    StatusOr<Certificate> cert = Certificate::FromDer(*der);
    if (!cert.ok()) {
      return Annotate(cert.status(), "certificate " + std::to_string(certs.size() + 1));
    }
    certs.push_back(*std::move(cert));
    rest = after;
  }
  if (certs.empty()) return InvalidArgumentError("no PEM certificate found");
  return certs;
}

}  // namespace custos::identity
