// File: custos/identity/enrollment.h
//
// The enrollment messages a device and the fleet CA exchange: a device asks
// for its first operational certificate (EnrollmentRequest), the CA answers
// (EnrollmentResponse), and later the device asks to change its key
// (RotationRequest, answered by another EnrollmentResponse). Each message is
// a versioned JSON document (docs/formats/enrollment.md); today the CLI moves
// them as files or hands them to the CA in-process, and the server of a later
// issue carries the same documents over HTTPS.
//
// The parsers take untrusted input: sizes and counts are bounded before
// anything is decoded, and every error names the field that was wrong.
// Device ids follow ValidateDeviceId (x509_certificate.h). A
// parsed message is only well-formed: the CA still checks the CSR's
// signature, the token or birth chain, and the rotation proof.
#ifndef CUSTOS_IDENTITY_ENROLLMENT_H_
#define CUSTOS_IDENTITY_ENROLLMENT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"

namespace custos::identity {

// Bounds every parser enforces.
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;
inline constexpr std::size_t kMaxDerBytes = 16 * 1024;  // one CSR or certificate
inline constexpr std::size_t kMaxChainLength = 4;       // certificates in a birth chain
// Certificates in a response chain or root list: re-keying adds
// cross-certificates, so it is longer.
inline constexpr std::size_t kMaxResponseChainLength = 16;
inline constexpr std::size_t kRotationChallengeBytes = 32;

// Message type names, the "type" member of each document.
inline constexpr std::string_view kEnrollmentRequestType = "custos.enrollment.request";
inline constexpr std::string_view kEnrollmentResponseType = "custos.enrollment.response";
inline constexpr std::string_view kRotationRequestType = "custos.rotation.request";
// The message format version this code writes and reads.
inline constexpr int kMessageVersion = 1;

// A device's request for its first operational certificate. Exactly one of
// `token` and `birth_chain_der` is set.
struct EnrollmentRequest {
  std::string device_id;
  std::string key_type;          // the device key's algorithm, e.g. "ecdsa-p256"
  std::vector<uint8_t> csr_der;  // PKCS#10, signed by the device key
  SecretBytes token;             // one-time token text (tokens.h), or empty
  // The manufacturer birth certificate first, then the manufacturer's
  // intermediate CAs (not the root, which the fleet CA must already trust).
  std::vector<std::vector<uint8_t>> birth_chain_der;
  int64_t created_at = 0;  // unix seconds, informational
};

// The CA's answer: the operational certificate and what a device needs to
// present and check it.
struct EnrollmentResponse {
  std::string device_id;
  std::string key_type;  // the certified key's algorithm
  std::string serial;    // hex serial of the certificate
  std::vector<uint8_t> certificate_der;
  // Intermediate CA certificates from the issuer up to (not including) the
  // root, then any cross-certificates from CA re-keying.
  std::vector<std::vector<uint8_t>> chain_der;
  // The fleet's root CA certificates a device should trust.
  std::vector<std::vector<uint8_t>> roots_der;
  int64_t not_after = 0;  // unix seconds
};

// A device's request to replace its certified key: it proves possession of
// the new key by the CSR and of the old key by `old_key_signature` over
// RotationTranscript(*this).
struct RotationRequest {
  std::string device_id;
  std::string old_key_type;                  // algorithm of the old key
  std::string new_key_type;                  // algorithm of the new key
  std::vector<uint8_t> old_certificate_der;  // the certificate being replaced
  std::vector<uint8_t> csr_der;              // PKCS#10 signed by the new key
  std::vector<uint8_t> challenge;            // kRotationChallengeBytes fresh random bytes
  int64_t time = 0;                          // unix seconds when the proof was made
  std::vector<uint8_t> old_key_signature;    // raw signature by the old key
};

// Serializes a message to its JSON document (one line, no trailing newline).
std::string EnrollmentRequestToJson(const EnrollmentRequest& request);
std::string EnrollmentResponseToJson(const EnrollmentResponse& response);
std::string RotationRequestToJson(const RotationRequest& request);

// The "type" member of a message document, after checking that it is a JSON
// object of bounded size with a supported version. InvalidArgument otherwise.
StatusOr<std::string> MessageTypeOf(std::string_view json);

// Parse a message document. InvalidArgument naming the member that is
// missing, of the wrong type, malformed or too large; nothing is returned
// unless every member checks.
StatusOr<EnrollmentRequest> ParseEnrollmentRequest(std::string_view json);
StatusOr<EnrollmentResponse> ParseEnrollmentResponse(std::string_view json);
StatusOr<RotationRequest> ParseRotationRequest(std::string_view json);

// The bytes the old key signs in a rotation request: a domain-separation
// label, then the device id, the new key's algorithm, the time, the
// challenge and the SHA-256 digests of the CSR and of the old certificate,
// so the signature binds the new key to the old certificate at one moment.
std::vector<uint8_t> RotationTranscript(const RotationRequest& request);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_ENROLLMENT_H_
