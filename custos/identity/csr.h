// File: custos/identity/csr.h
//
// PKCS#10 certificate signing requests (RFC 2986): a device proves possession
// of its key by signing a request naming itself. CreateCsr signs through the
// KeyStore (the private key never leaves it); ParseAndVerifyCsr refuses
// oversized or malformed requests and checks the self-signature before
// returning anything from the request.
//
// A custos CSR has subject CN = the device id (and optionally O = fleet) and,
// in an extensionRequest attribute, the SAN URI "urn:custos:device:<id>"
// plus any further SAN URIs and DNS names.
#ifndef CUSTOS_IDENTITY_CSR_H_
#define CUSTOS_IDENTITY_CSR_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/x509_signing_key.h"

namespace custos::identity {

// What a CSR asks for.
struct CsrSubject {
  // The device id (ValidateDeviceId): subject CN and SAN URI.
  std::string device_id;
  // The subject O (the fleet); omitted when empty.
  std::string organization;
  // Further SAN entries requested.
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns_names;
};

// Bounds ParseAndVerifyCsr enforces on untrusted input.
struct CsrLimits {
  // The largest encoded request (DER bytes, or PEM text).
  std::size_t max_bytes = 8 * 1024;
  // The most SAN entries (URIs + DNS names, the device URI included).
  std::size_t max_san_entries = 16;
  // The longest CN, O, URI or DNS name.
  std::size_t max_string_length = 256;
};

// A parsed CSR whose self-signature verified (proof of possession).
struct CertificateRequest {
  std::string device_id;     // from the subject CN, equal to the SAN device URI
  std::string organization;  // the subject O, "" if absent
  std::string subject_name;  // RFC 2253, e.g. "CN=dev-1,O=acme"
  // SAN entries requested besides the device URI.
  std::vector<std::string> san_uris;
  std::vector<std::string> san_dns_names;
  // The key to certify, as DER SubjectPublicKeyInfo.
  std::vector<uint8_t> public_key;
  // "ecdsa-p256" or "ed25519".
  std::string key_algorithm;
  // "ecdsa-with-SHA256" or "ED25519".
  std::string signature_algorithm;
  // The request's DER encoding.
  std::vector<uint8_t> der;
};

// Creates a DER PKCS#10 request for `subject`, for the public key of `key`,
// signed through its store. InvalidArgument for a bad device id or names;
// FailedPrecondition if the key type cannot sign X.509; the store's error for
// a missing key.
StatusOr<std::vector<uint8_t>> CreateCsr(const CsrSubject& subject, const SigningKey& key);

// PEM "CERTIFICATE REQUEST" text of a DER request (no validation).
std::string CsrDerToPem(std::span<const uint8_t> der);

// Parses a request given as DER or PEM (PEM if it starts with "-----BEGIN")
// and verifies its self-signature.
//   InvalidArgument naming the problem: over limits, not a CSR, trailing
//     bytes, no CN, CN not a valid device id, CN and SAN device URI differ,
//     several device URIs, unsupported key (only ECDSA P-256 and Ed25519),
//     signature algorithm not matching the key, a non-URI/DNS SAN entry.
//   Unauthenticated "CSR signature does not verify (no proof of possession)"
//     when the signature is wrong, e.g. a tampered request.
StatusOr<CertificateRequest> ParseAndVerifyCsr(std::span<const uint8_t> der_or_pem,
                                               const CsrLimits& limits = {});

}  // namespace custos::identity

#endif  // CUSTOS_IDENTITY_CSR_H_
