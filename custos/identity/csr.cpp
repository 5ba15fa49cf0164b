#include "custos/identity/csr.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <utility>

#include "custos/identity/internal/x509_util.h"
#include "custos/identity/x509_certificate.h"

namespace custos::identity {
namespace {

using internal::OpenSslDeleter;

constexpr std::size_t kMaxCsrSanEntries = 16;
constexpr std::size_t kMaxCsrStringLength = 256;

using ExtensionStackPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype([](STACK_OF(X509_EXTENSION) * stack) {
                      sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
                    })>;

// Reads the SAN of a request's extensionRequest attribute (empty if none).
StatusOr<internal::SanEntries> RequestedSan(X509_REQ* req, const CsrLimits& limits) {
  // X509_REQ_get_extensions returns null both for "no extensionRequest" and
  // for a malformed one; tell them apart by the attribute's presence.
  const int attribute_index = X509_REQ_get_attr_by_NID(req, NID_ext_req, -1);
  if (attribute_index < 0) return internal::SanEntries{};
  if (X509_REQ_get_attr_by_NID(req, NID_ext_req, attribute_index) >= 0) {
    return InvalidArgumentError("CSR has more than one extensionRequest attribute");
  }
  ExtensionStackPtr extensions(X509_REQ_get_extensions(req));
  if (extensions == nullptr) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("CSR extensionRequest attribute is malformed");
  }
  internal::SanEntries entries;
  bool seen_san = false;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions.get()); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    if (seen_san) return InvalidArgumentError("CSR requests more than one SAN extension");
    seen_san = true;
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>> names(
        static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
    if (names == nullptr) {
      internal::TakeOpenSslReason();
      return InvalidArgumentError("CSR SAN extension is malformed");
    }
    if (static_cast<std::size_t>(sk_GENERAL_NAME_num(names.get())) > limits.max_san_entries) {
      return InvalidArgumentError("CSR requests more than " +
                                  std::to_string(limits.max_san_entries) + " SAN entries");
    }
    CUSTOS_ASSIGN_OR_RETURN(entries,
                            internal::ReadGeneralNames(names.get(), limits.max_string_length));
    if (entries.other_entries != 0) {
      return InvalidArgumentError("CSR SAN holds an entry that is neither a URI nor a DNS name");
    }
  }
  return entries;
}

}  // namespace

StatusOr<std::vector<uint8_t>> CreateCsr(const CsrSubject& subject, const SigningKey& key) {
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(subject.device_id));
  if (subject.organization.size() > kMaxCsrStringLength) {
    return InvalidArgumentError("CSR organization is longer than " +
                                std::to_string(kMaxCsrStringLength) + " bytes");
  }
  for (const std::string& uri : subject.san_uris) {
    if (uri.starts_with(kDeviceUriPrefix)) {
      return InvalidArgumentError("CSR SAN URI '" + uri +
                                  "' is a device URI; it is added from device_id");
    }
  }
  CUSTOS_RETURN_IF_ERROR(internal::ValidateSanStrings(subject.san_uris, subject.san_dns_names,
                                                      kMaxCsrSanEntries - 1, kMaxCsrStringLength));
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509SignatureScheme scheme, internal::SchemeOf(key));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> spki, key.store->ExportPublicKey(key.label));
  CUSTOS_ASSIGN_OR_RETURN(const internal::EvpPkeyPtr public_key,
                          internal::ParsePublicKey(spki, "key store public key"));
  CUSTOS_ASSIGN_OR_RETURN(
      const internal::X509SignatureScheme key_scheme,
      internal::AnnotateOr(internal::SchemeOfPublicKey(public_key.get()), "key store public key"));
  if (key_scheme.key_type != scheme.key_type) {
    return InternalError("key store exports a " + internal::KeyAlgorithmName(public_key.get()) +
                         " public key for " + std::string(keystore::KeyTypeName(scheme.key_type)) +
                         " key '" + key.label + "'");
  }

  internal::X509ReqPtr req(X509_REQ_new());
  if (req == nullptr) return internal::OpenSslFailure("X509_REQ_new");
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509NamePtr name,
                          internal::BuildName(subject.device_id, subject.organization));
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1) {
    return internal::OpenSslFailure("filling the CertificationRequestInfo");
  }
  CUSTOS_ASSIGN_OR_RETURN(const bool key_set,
                          internal::SetPublicKeyDirect(X509_REQ_get_X509_PUBKEY(req.get()), spki));
  if (!key_set && X509_REQ_set_pubkey(req.get(), public_key.get()) != 1) {
    return internal::OpenSslFailure("setting the CSR public key");
  }
  std::vector<std::string> uris{DeviceUri(subject.device_id)};
  uris.insert(uris.end(), subject.san_uris.begin(), subject.san_uris.end());
  CUSTOS_ASSIGN_OR_RETURN(internal::GeneralNamesPtr san,
                          internal::BuildGeneralNames(uris, subject.san_dns_names));
  ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
  internal::X509ExtensionPtr san_extension(X509V3_EXT_i2d(NID_subject_alt_name, 0, san.get()));
  if (extensions == nullptr || san_extension == nullptr ||
      sk_X509_EXTENSION_push(extensions.get(), san_extension.get()) <= 0) {
    return internal::OpenSslFailure("building the requested SAN");
  }
  (void)san_extension.release();  // now owned by extensions
  if (X509_REQ_add_extensions(req.get(), extensions.get()) != 1) {
    return internal::OpenSslFailure("X509_REQ_add_extensions");
  }

  internal::X509AlgorPtr algorithm(X509_ALGOR_new());
  if (algorithm == nullptr) return internal::OpenSslFailure("X509_ALGOR_new");
  CUSTOS_RETURN_IF_ERROR(internal::SetSignatureAlgorithm(algorithm.get(), scheme.signature_nid));
  if (X509_REQ_set1_signature_algo(req.get(), algorithm.get()) != 1) {
    return internal::OpenSslFailure("X509_REQ_set1_signature_algo");
  }
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> tbs,
                          internal::EncodeDer<X509_REQ>(req.get(), i2d_re_X509_REQ_tbs,
                                                        "CertificationRequestInfo encoding"));
  CUSTOS_ASSIGN_OR_RETURN(const std::vector<uint8_t> signature,
                          internal::SignTbs(key, scheme, tbs));
  internal::Asn1BitStringPtr bits(ASN1_BIT_STRING_new());
  if (bits == nullptr) return internal::OpenSslFailure("ASN1_BIT_STRING_new");
  CUSTOS_RETURN_IF_ERROR(internal::SetSignatureBits(bits.get(), signature));
  X509_REQ_set0_signature(req.get(), bits.release());
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> der,
                          internal::EncodeDer<X509_REQ>(req.get(), i2d_X509_REQ, "CSR encoding"));

  // Proof of possession as a CA checks it: the store's signature over the
  // CertificationRequestInfo must verify with the public key the CSR
  // carries. (The rest of the CSR is built here from checked input; parsing
  // it back would cost an OpenSSL key decoder for nothing.)
  const Status verified = internal::VerifyTbsSignature(public_key.get(), scheme, tbs, signature);
  if (!verified.ok()) {
    return InternalError("created CSR does not verify: " + std::string(verified.message()) +
                         " (does key '" + key.label + "' sign correctly?)");
  }
  return der;
}

std::string CsrDerToPem(std::span<const uint8_t> der) {
  return internal::DerToPem(der, "CERTIFICATE REQUEST");
}

StatusOr<CertificateRequest> ParseAndVerifyCsr(std::span<const uint8_t> der_or_pem,
                                               const CsrLimits& limits) {
  if (der_or_pem.empty()) return InvalidArgumentError("CSR is empty");
  if (der_or_pem.size() > limits.max_bytes) {
    return InvalidArgumentError("CSR is larger than " + std::to_string(limits.max_bytes) +
                                " bytes");
  }
  std::vector<uint8_t> der;
  if (internal::LooksLikePem(der_or_pem)) {
    const std::string_view pem(reinterpret_cast<const char*>(der_or_pem.data()), der_or_pem.size());
    const std::string_view label =
        pem.find("-----BEGIN NEW CERTIFICATE REQUEST-----") != std::string_view::npos
            ? "NEW CERTIFICATE REQUEST"
            : "CERTIFICATE REQUEST";
    CUSTOS_ASSIGN_OR_RETURN(
        der, internal::AnnotateOr(internal::PemBlockToDer(pem, label, limits.max_bytes), "CSR"));
  } else {
    der.assign(der_or_pem.begin(), der_or_pem.end());
  }

  const unsigned char* in = der.data();
  internal::X509ReqPtr req(d2i_X509_REQ(nullptr, &in, static_cast<long>(der.size())));
  if (req == nullptr) {
    return InvalidArgumentError("not a DER PKCS#10 CSR: " + internal::TakeOpenSslReason());
  }
  if (in != der.data() + der.size()) {
    return InvalidArgumentError("CSR has trailing bytes after the DER");
  }
  if (X509_REQ_get_version(req.get()) != X509_REQ_VERSION_1) {
    return InvalidArgumentError("CSR version is not 1 (v1 = 0)");
  }
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (public_key == nullptr) {
    internal::TakeOpenSslReason();
    return InvalidArgumentError("CSR public key is malformed or of an unsupported type");
  }
  CUSTOS_ASSIGN_OR_RETURN(const internal::X509SignatureScheme scheme,
                          internal::AnnotateOr(internal::SchemeOfPublicKey(public_key), "CSR"));
  const int signature_nid = X509_REQ_get_signature_nid(req.get());
  if (signature_nid != scheme.signature_nid) {
    return InvalidArgumentError(
        "CSR signature algorithm " + internal::SignatureAlgorithmName(signature_nid) +
        " does not match its " + internal::KeyAlgorithmName(public_key) + " key (expected " +
        internal::SignatureAlgorithmName(scheme.signature_nid) + ")");
  }
  // Proof of possession, before anything else of the request is read.
  if (X509_REQ_verify(req.get(), public_key) != 1) {
    internal::TakeOpenSslReason();
    return UnauthenticatedError("CSR signature does not verify (no proof of possession)");
  }

  CertificateRequest request;
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  CUSTOS_ASSIGN_OR_RETURN(
      request.device_id,
      internal::NameEntryText(subject, NID_commonName, "CSR subject CN", limits.max_string_length));
  if (request.device_id.empty()) return InvalidArgumentError("CSR subject has no CN (device id)");
  CUSTOS_RETURN_IF_ERROR(Annotate(ValidateDeviceId(request.device_id), "CSR subject CN"));
  CUSTOS_ASSIGN_OR_RETURN(request.organization,
                          internal::NameEntryText(subject, NID_organizationName, "CSR subject O",
                                                  limits.max_string_length));
  request.subject_name = internal::NameToString(subject);

  CUSTOS_ASSIGN_OR_RETURN(internal::SanEntries san, RequestedSan(req.get(), limits));
  if (san.uris.size() + san.dns_names.size() > limits.max_san_entries) {
    return InvalidArgumentError("CSR requests more than " + std::to_string(limits.max_san_entries) +
                                " SAN entries");
  }
  const StatusOr<std::string> san_device = internal::DeviceIdFromSan(san.uris, request.device_id);
  if (!san_device.ok()) return Annotate(san_device.status(), "CSR");
  for (std::string& uri : san.uris) {
    if (!uri.starts_with(kDeviceUriPrefix)) request.san_uris.push_back(std::move(uri));
  }
  request.san_dns_names = std::move(san.dns_names);

  // The SubjectPublicKeyInfo as the CSR carries it (plain ASN.1; no
  // re-encoding of the key through OpenSSL's encoders).
  CUSTOS_ASSIGN_OR_RETURN(
      request.public_key,
      internal::EncodeDer<X509_PUBKEY>(X509_REQ_get_X509_PUBKEY(req.get()), i2d_X509_PUBKEY,
                                       "SubjectPublicKeyInfo encoding"));
  request.key_algorithm = internal::KeyAlgorithmName(public_key);
  request.signature_algorithm = internal::SignatureAlgorithmName(signature_nid);
  request.der = std::move(der);
  return request;
}

}  // namespace custos::identity
