#include "custos/identity/device_client.h"

#include "custos/core/random.h"
#include "custos/identity/chain.h"
#include "custos/identity/csr.h"

namespace custos::identity {
namespace {

StatusOr<std::string> KeyTypeOf(const SigningKey& key) {
  if (key.store == nullptr) return InvalidArgumentError("no key store given");
  CUSTOS_ASSIGN_OR_RETURN(keystore::KeyInfo info, key.store->Find(key.label));
  return std::string(keystore::KeyTypeName(info.type));
}

}  // namespace

StatusOr<EnrollmentRequest> BuildEnrollmentRequest(const SigningKey& key,
                                                   std::string_view device_id,
                                                   const SecretBytes& token,
                                                   std::span<const Certificate> birth_chain,
                                                   int64_t now) {
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  if (token.empty() == birth_chain.empty()) {
    return InvalidArgumentError("enrollment needs exactly one of a token and a birth chain");
  }
  if (birth_chain.size() > kMaxChainLength) {
    return InvalidArgumentError("birth chain is longer than " + std::to_string(kMaxChainLength));
  }
  EnrollmentRequest request;
  request.device_id = std::string(device_id);
  CUSTOS_ASSIGN_OR_RETURN(request.key_type, KeyTypeOf(key));
  CsrSubject subject;
  subject.device_id = request.device_id;
  CUSTOS_ASSIGN_OR_RETURN(request.csr_der, CreateCsr(subject, key));
  request.token = token;
  for (const Certificate& c : birth_chain) request.birth_chain_der.push_back(c.der());
  request.created_at = now;
  return request;
}

StatusOr<RotationRequest> BuildRotationRequest(const SigningKey& old_key,
                                               const Certificate& old_certificate,
                                               const SigningKey& new_key, int64_t now) {
  RotationRequest request;
  request.device_id = old_certificate.device_id();
  CUSTOS_RETURN_IF_ERROR(ValidateDeviceId(request.device_id));
  CUSTOS_ASSIGN_OR_RETURN(request.old_key_type, KeyTypeOf(old_key));
  CUSTOS_ASSIGN_OR_RETURN(request.new_key_type, KeyTypeOf(new_key));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> old_public,
                          old_key.store->ExportPublicKey(old_key.label));
  if (old_public != old_certificate.public_key()) {
    return InvalidArgumentError("key '" + old_key.label +
                                "' is not the key of the old certificate");
  }
  request.old_certificate_der = old_certificate.der();
  CsrSubject subject;
  subject.device_id = request.device_id;
  CUSTOS_ASSIGN_OR_RETURN(request.csr_der, CreateCsr(subject, new_key));
  request.challenge.resize(kRotationChallengeBytes);
  CUSTOS_RETURN_IF_ERROR(FillRandom(request.challenge));
  request.time = now;
  CUSTOS_ASSIGN_OR_RETURN(request.old_key_signature,
                          old_key.store->Sign(old_key.label, RotationTranscript(request)));
  return request;
}

StatusOr<DeviceCredentials> AcceptEnrollmentResponse(const EnrollmentResponse& response,
                                                     const SigningKey& key,
                                                     std::string_view device_id,
                                                     std::span<const Certificate> trusted_roots,
                                                     int64_t now) {
  CUSTOS_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer(response.certificate_der));
  if (cert.device_id() != device_id) {
    return UnauthenticatedError("response certifies device '" + cert.device_id() + "', not '" +
                                std::string(device_id) + "'");
  }
  if (key.store == nullptr) return InvalidArgumentError("no key store given");
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> public_key, key.store->ExportPublicKey(key.label));
  if (cert.public_key() != public_key) {
    return UnauthenticatedError("response certifies another key than '" + key.label + "'");
  }
  std::vector<Certificate> chain;
  for (const auto& der : response.chain_der) {
    CUSTOS_ASSIGN_OR_RETURN(Certificate c, Certificate::FromDer(der));
    chain.push_back(std::move(c));
  }
  std::vector<Certificate> roots;
  for (const auto& der : response.roots_der) {
    CUSTOS_ASSIGN_OR_RETURN(Certificate c, Certificate::FromDer(der));
    roots.push_back(std::move(c));
  }
  ChainOptions options;
  options.purpose = CertificatePurpose::kClientAuth;
  std::span<const Certificate> anchors = trusted_roots.empty() ? roots : trusted_roots;
  Status valid = VerifyCertificateChain(cert, chain, anchors, {}, now, options);
  if (!valid.ok()) return Annotate(valid, "enrollment response refused");
  return DeviceCredentials{std::string(device_id), cert.key_algorithm(), std::move(cert),
                           std::move(chain), std::move(roots)};
}

}  // namespace custos::identity
