// File: custos/identity/device_client.h
//
// The device side of enrollment and rotation: build the request messages
// with a key held in the device's KeyStore (the private key never leaves
// it), and check the CA's response before the device relies on it.
#ifndef CUSTOS_IDENTITY_DEVICE_CLIENT_H_
#define CUSTOS_IDENTITY_DEVICE_CLIENT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_signing_key.h"

namespace custos::identity {

// An enrollment request for `device_id` whose key is `key` (an ecdsa-p256 or
// ed25519 key already in its store): a CSR signed through the store plus the
// token (if `token` is not empty) or else the birth chain (birth certificate
// first). InvalidArgument if neither or both are given or the id is bad; the
// store's error for a missing key.
StatusOr<EnrollmentRequest> BuildEnrollmentRequest(const SigningKey& key,
                                                   std::string_view device_id,
                                                   const SecretBytes& token,
                                                   std::span<const Certificate> birth_chain,
                                                   int64_t now);

// A rotation request: a CSR by `new_key` and a signature by `old_key` (the
// key of `old_certificate`) over RotationTranscript, with a fresh random
// challenge and `now` as its time.
StatusOr<RotationRequest> BuildRotationRequest(const SigningKey& old_key,
                                               const Certificate& old_certificate,
                                               const SigningKey& new_key, int64_t now);

// What a device keeps from a response after checking it.
struct DeviceCredentials {
  std::string device_id;
  std::string key_type;
  Certificate certificate;
  std::vector<Certificate> chain;  // intermediates and cross-certificates
  std::vector<Certificate> roots;  // trust anchors
};

// Checks a response before the device uses it: the certificate is for
// `device_id`, certifies the public key of `key`, and chains to one of the
// response's roots at `now`. When `trusted_roots` is not empty (a device
// that already trusts its fleet), the chain must end at one of them instead,
// so a re-keyed CA is accepted only through a cross-certificate.
// Unauthenticated / InvalidArgument naming the problem.
StatusOr<DeviceCredentials> AcceptEnrollmentResponse(const EnrollmentResponse& response,
                                                     const SigningKey& key,
                                                     std::string_view device_id,
                                                     std::span<const Certificate> trusted_roots,
                                                     int64_t now);

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_DEVICE_CLIENT_H_
