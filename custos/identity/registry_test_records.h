// File: custos/identity/registry_test_records.h
//
// Test support: small records for DeviceRegistry tests, shared by the file
// registry's tests and every other implementation's (custos/store).
#ifndef CUSTOS_IDENTITY_REGISTRY_TEST_RECORDS_H_
#define CUSTOS_IDENTITY_REGISTRY_TEST_RECORDS_H_

#include <cstdint>
#include <string>

#include "custos/identity/device_registry.h"

namespace custos::identity::testing {

// A token record with hash `hash`, created at 100, expiring at `expires`,
// bound to `device` (any device when empty).
inline TokenRecord Token(const std::string& hash, int64_t expires, const std::string& device = "") {
  TokenRecord t;
  t.hash = hash;
  t.device_id = device;
  t.created_at = 100;
  t.expires_at = expires;
  return t;
}

// A token-issued Ed25519 certificate record for `device`, valid 140..1000.
inline IssuedCertificateRecord Cert(const std::string& serial, const std::string& device) {
  IssuedCertificateRecord c;
  c.serial = serial;
  c.device_id = device;
  c.key_type = "ed25519";
  c.issuer_key_type = "ecdsa-p256";
  c.issuer_generation = 1;
  c.fingerprint = "f00d";
  c.issued_at = 150;
  c.not_before = 140;
  c.not_after = 1000;
  c.method = std::string(kIssuedByToken);
  c.certificate_der_base64 = "MIIB";
  return c;
}

}  // namespace custos::identity::testing

#endif  // CUSTOS_IDENTITY_REGISTRY_TEST_RECORDS_H_
