// File: custos/server/server_test_util.h
//
// Test support for custosd's tests and benchmark: a temporary folder, HTTPS
// clients for operators (roots + bearer token) and devices (mutual TLS), and
// a simulated device that enrolls, rotates and seals telemetry through the
// real API messages (api_messages.h), with keys in an in-memory soft store.
#ifndef CUSTOS_SERVER_SERVER_TEST_UTIL_H_
#define CUSTOS_SERVER_SERVER_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/keystore/key_store.h"
#include "custos/net/https_server.h"
#include "custos/net/telemetry_channel.h"
#include "custos/net/tls_context.h"
#include "custos/net/tls_key.h"
#include "custos/server/api_messages.h"

namespace custos::server::testing {

// A fresh temporary folder (not created: the control plane creates its data
// folder), removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // A path inside the folder that does not exist yet.
  const std::string& path() const { return path_; }

 private:
  std::string parent_;
  std::string path_;
};

// The certificates of a PEM file (e.g. DIR/roots.pem).
StatusOr<std::vector<identity::Certificate>> ReadPemCertificates(const std::string& path);
// A verifier trusting the certificates of `roots_path`.
StatusOr<std::shared_ptr<net::PeerVerifier>> RootsVerifier(const std::string& roots_path);
// The Authorization header with the token of `token_path`.
std::map<std::string, std::string> OperatorHeaders(const std::string& token_path);
// An HTTPS client without a client certificate (operators, enrollment).
StatusOr<std::unique_ptr<net::HttpsClient>> PlainClient(int port, const std::string& roots_path);

// Issues `count` tokens through POST /v1/tokens.
StatusOr<std::vector<SecretBytes>> IssueTokens(net::HttpsClient& client,
                                               const std::string& token_path, int count);

// A device with its identity key and telemetry key in an in-memory store.
class TestDevice {
 public:
  explicit TestDevice(std::string id);
  const std::string& id() const { return id_; }
  keystore::KeyStore& store() { return *store_; }

  // The body of POST /v1/enroll with `token`.
  StatusOr<EnrollBody> MakeEnrollBody(const SecretBytes& token);
  // Enrolls through `client`; returns the HTTP result (and keeps the
  // credentials when it is 201).
  StatusOr<net::HttpsResult> Enroll(net::HttpsClient& client, const SecretBytes& token);
  // Keeps the credentials of an enrollment or rotation answer.
  Status Accept(const EnrollReply& reply);

  // The body of POST /v1/rotate moving to a fresh key; Rotate() posts it
  // over `client` (which must be this device's mTLS client) and on 200
  // keeps the new credentials.
  StatusOr<RotateBody> MakeRotateBody();
  StatusOr<net::HttpsResult> Rotate(net::HttpsClient& client);

  // An mTLS HTTPS client presenting the current certificate.
  StatusOr<std::unique_ptr<net::HttpsClient>> MtlsClient(int port,
                                                         std::shared_ptr<net::PeerVerifier> roots);
  // A TLS client context for MQTT with the current certificate.
  StatusOr<net::SslCtxPtr> MqttContext(std::shared_ptr<net::PeerVerifier> roots);
  // Telemetry `seq` sealed for devices/<id>/telemetry.
  StatusOr<std::vector<uint8_t>> SealTelemetry(uint64_t seq, int64_t sent_us);
  // Opens and parses a command received on devices/<id>/commands.
  StatusOr<net::CommandMessage> OpenCommand(std::span<const uint8_t> sealed);

  const identity::Certificate& certificate() const { return *certificate_; }
  const FleetInfo& fleet() const { return fleet_; }

 private:
  std::string id_;
  std::shared_ptr<keystore::KeyStore> store_;
  std::shared_ptr<std::mutex> store_mutex_ = std::make_shared<std::mutex>();
  std::string key_label_ = "identity-1";
  std::string pending_label_;
  int generation_ = 1;
  std::optional<identity::Certificate> certificate_;
  std::vector<identity::Certificate> chain_;
  FleetInfo fleet_;
  net::EvpPkeyPtr tls_key_;
  std::optional<net::TelemetryChannel> channel_;
};

}  // namespace custos::server::testing

#endif  // CUSTOS_SERVER_SERVER_TEST_UTIL_H_
