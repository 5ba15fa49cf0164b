// File: custos/net/mqtt_test_util.h
//
// Test support for the MQTT tests: a small fleet PKI (a CA whose key is in an
// in-memory soft key store, device / privileged / broker certificates whose
// keys are OpenSSL keys in memory), client SSL_CTXs, a temporary folder, and
// a broker started with them.
#ifndef CUSTOS_NET_MQTT_TEST_UTIL_H_
#define CUSTOS_NET_MQTT_TEST_UTIL_H_

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_signing_key.h"
#include "custos/keystore/key_store.h"
#include "custos/net/broker_process.h"

namespace custos::net::testing {

// The CN of custosd's certificate in the tests.
inline constexpr std::string_view kPrivilegedIdentity = "custosd:control-plane";

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* key) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A certificate and its private key.
struct Credential {
  identity::Certificate cert;
  PkeyPtr key;
  // The key as unencrypted PKCS#8 PEM.
  SecretBytes KeyPem() const;
};

// A CA, plus certificates issued by it.
class TestFleetPki {
 public:
  static StatusOr<std::unique_ptr<TestFleetPki>> Create(std::string_view ca_name = "Test Fleet CA");

  const identity::Certificate& ca() const { return *ca_; }
  // A device certificate (CN = device id, client auth).
  StatusOr<Credential> Device(std::string_view device_id);
  // A client certificate with an arbitrary CN (e.g. kPrivilegedIdentity).
  StatusOr<Credential> Client(std::string_view common_name);
  // The broker's certificate (server auth, DNS localhost and 127.0.0.1).
  StatusOr<Credential> Server();
  // A CRL of this CA listing `revoked` certificates, PEM.
  StatusOr<std::string> CrlPem(const std::vector<const identity::Certificate*>& revoked);

 private:
  TestFleetPki() = default;
  StatusOr<Credential> Issue(std::string_view device_id, std::string_view common_name, bool server);

  std::unique_ptr<keystore::KeyStore> store_;
  identity::SigningKey ca_key_;
  std::optional<identity::Certificate> ca_;
  uint64_t crl_number_ = 0;
};

// A TLS client context trusting `ca` and presenting `credential` (none if
// nullptr).
StatusOr<SslCtxPtr> ClientSslCtx(const identity::Certificate& ca, const Credential* credential);

// A fresh temporary folder, removed with its content on destruction.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A broker for `pki` in `dir` with a fresh server certificate, an empty CRL
// and kPrivilegedIdentity as its privileged identity; with the plug-in
// unless `with_plugin` is false.
StatusOr<std::unique_ptr<MosquittoBroker>> StartTestBroker(TestFleetPki& pki,
                                                           const std::string& dir,
                                                           bool with_plugin = true);

}  // namespace custos::net::testing

#endif  // CUSTOS_NET_MQTT_TEST_UTIL_H_
