// File: custos/net/tls_test_util.h
//
// For the tests and benchmarks of custos/net: a small PKI whose keys live in
// real KeyStores (a root CA that issues server and device certificates and
// CRLs, valid around the current time), built with
// custos::identity::IssueCertificate / IssueCrl.
#ifndef CUSTOS_NET_TLS_TEST_UTIL_H_
#define CUSTOS_NET_TLS_TEST_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/identity/crl.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_signing_key.h"
#include "custos/keystore/key_store.h"

namespace custos::net::testing {

class TestPki {
 public:
  // A root CA named `name` whose ECDSA P-256 key is generated in `ca_store`
  // (borrowed: it must outlive the TestPki).
  static StatusOr<TestPki> Create(keystore::KeyStore& ca_store, std::string_view name);

  const identity::Certificate& root() const { return root_; }

  // Generates a key `label` of `type` in `store` and issues a server
  // certificate (serverAuth, SAN DNS `dns_name`) for it.
  StatusOr<identity::Certificate> IssueServer(
      keystore::KeyStore& store, std::string_view label, std::string_view dns_name,
      keystore::KeyType type = keystore::KeyType::kEcdsaP256) const;
  // Generates a key `label` in `store` and issues a device certificate
  // (clientAuth, CN and SAN URI naming `device_id`).
  StatusOr<identity::Certificate> IssueDevice(
      keystore::KeyStore& store, std::string_view label, std::string_view device_id,
      keystore::KeyType type = keystore::KeyType::kEcdsaP256) const;
  // A CRL of the root listing `revoked`, valid from now - 60 s for a day.
  StatusOr<identity::Crl> IssueCrl(const std::vector<identity::Certificate>& revoked,
                                   uint64_t number) const;

 private:
  TestPki(identity::Certificate root, identity::SigningKey key)
      : root_(std::move(root)), key_(std::move(key)) {}
  StatusOr<identity::Certificate> Issue(keystore::KeyStore& store, std::string_view label,
                                        keystore::KeyType type, std::string_view device_id,
                                        std::string_view dns_name) const;

  identity::Certificate root_;
  identity::SigningKey key_;
};

}  // namespace custos::net::testing

#endif  // CUSTOS_NET_TLS_TEST_UTIL_H_
