#include "custos/server/server_test_util.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "custos/identity/device_client.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/net/broker_policy.h"

namespace custos::server::testing {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "custos-server-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) != nullptr) parent_ = tmpl;
  path_ = parent_ + "/data";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!parent_.empty()) std::filesystem::remove_all(parent_, ec);
}

StatusOr<std::vector<identity::Certificate>> ReadPemCertificates(const std::string& path) {
  const std::string text = ReadAll(path);
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<identity::Certificate> certs;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(kEnd, start);
    if (end == std::string::npos) break;
    CUSTOS_ASSIGN_OR_RETURN(identity::Certificate cert, identity::Certificate::FromPem(text.substr(
                                                            start, end + kEnd.size() - start)));
    certs.push_back(std::move(cert));
    start = end + kEnd.size();
  }
  if (certs.empty()) return NotFoundError("no certificate in " + path);
  return certs;
}

StatusOr<std::shared_ptr<net::PeerVerifier>> RootsVerifier(const std::string& roots_path) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<identity::Certificate> roots,
                          ReadPemCertificates(roots_path));
  return net::PeerVerifier::Create(std::move(roots));
}

std::map<std::string, std::string> OperatorHeaders(const std::string& token_path) {
  std::string token = ReadAll(token_path);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return {{"Authorization", "Bearer " + token}};
}

StatusOr<std::unique_ptr<net::HttpsClient>> PlainClient(int port, const std::string& roots_path) {
  net::HttpsClientOptions options;
  options.port = port;
  CUSTOS_ASSIGN_OR_RETURN(options.server_verifier, RootsVerifier(roots_path));
  options.timeout_seconds = 30;
  return net::HttpsClient::Create(options);
}

StatusOr<std::vector<SecretBytes>> IssueTokens(net::HttpsClient& client,
                                               const std::string& token_path, int count) {
  TokensBody body;
  body.count = count;
  CUSTOS_ASSIGN_OR_RETURN(net::HttpsResult result,
                          client.Post("/v1/tokens", TokensBodyToJson(body), "application/json",
                                      OperatorHeaders(token_path)));
  if (result.status != 201) {
    return InternalError("POST /v1/tokens answered " + std::to_string(result.status) + ": " +
                         result.body);
  }
  CUSTOS_ASSIGN_OR_RETURN(TokensReply reply, ParseTokensReply(result.body));
  return std::move(reply.tokens);
}

TestDevice::TestDevice(std::string id)
    : id_(std::move(id)), store_(keystore::NewInMemorySoftKeyStore()) {
  (void)store_->Generate(keystore::KeyType::kEcdsaP256, key_label_);
  (void)store_->Generate(keystore::KeyType::kX25519, "telemetry");
}

StatusOr<EnrollBody> TestDevice::MakeEnrollBody(const SecretBytes& token) {
  EnrollBody body;
  CUSTOS_ASSIGN_OR_RETURN(
      body.request,
      identity::BuildEnrollmentRequest({store_.get(), key_label_}, id_, token, {}, NowSeconds()));
  CUSTOS_ASSIGN_OR_RETURN(body.telemetry_key, store_->ExportPublicKey("telemetry"));
  return body;
}

StatusOr<net::HttpsResult> TestDevice::Enroll(net::HttpsClient& client, const SecretBytes& token) {
  CUSTOS_ASSIGN_OR_RETURN(EnrollBody body, MakeEnrollBody(token));
  CUSTOS_ASSIGN_OR_RETURN(net::HttpsResult result,
                          client.Post("/v1/enroll", EnrollBodyToJson(body)));
  if (result.status == 201) {
    CUSTOS_ASSIGN_OR_RETURN(EnrollReply reply, ParseEnrollReply(result.body));
    CUSTOS_RETURN_IF_ERROR(Accept(reply));
  }
  return result;
}

Status TestDevice::Accept(const EnrollReply& reply) {
  CUSTOS_ASSIGN_OR_RETURN(identity::Certificate cert,
                          identity::Certificate::FromDer(reply.response.certificate_der));
  chain_.clear();
  for (const std::vector<uint8_t>& der : reply.response.chain_der) {
    CUSTOS_ASSIGN_OR_RETURN(identity::Certificate c, identity::Certificate::FromDer(der));
    chain_.push_back(std::move(c));
  }
  certificate_ = std::move(cert);
  fleet_ = reply.fleet;
  CUSTOS_ASSIGN_OR_RETURN(tls_key_, net::MakeKeyStorePrivateKey(store_, key_label_, store_mutex_));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> own, store_->ExportPublicKey("telemetry"));
  CUSTOS_ASSIGN_OR_RETURN(
      net::TelemetryChannel channel,
      net::TelemetryChannel::Derive(*store_, "telemetry", own, fleet_.telemetry_key, id_, true));
  channel_.emplace(std::move(channel));
  return OkStatus();
}

StatusOr<RotateBody> TestDevice::MakeRotateBody() {
  if (!certificate_.has_value()) return FailedPreconditionError("not enrolled");
  pending_label_ = "identity-" + std::to_string(generation_ + 1);
  if (!store_->Find(pending_label_).ok()) {
    CUSTOS_RETURN_IF_ERROR(
        store_->Generate(keystore::KeyType::kEcdsaP256, pending_label_).status());
  }
  RotateBody body;
  CUSTOS_ASSIGN_OR_RETURN(
      body.request, identity::BuildRotationRequest({store_.get(), key_label_}, *certificate_,
                                                   {store_.get(), pending_label_}, NowSeconds()));
  return body;
}

StatusOr<net::HttpsResult> TestDevice::Rotate(net::HttpsClient& client) {
  CUSTOS_ASSIGN_OR_RETURN(RotateBody body, MakeRotateBody());
  CUSTOS_ASSIGN_OR_RETURN(net::HttpsResult result,
                          client.Post("/v1/rotate", RotateBodyToJson(body)));
  if (result.status == 200) {
    CUSTOS_ASSIGN_OR_RETURN(EnrollReply reply, ParseEnrollReply(result.body));
    key_label_ = pending_label_;
    ++generation_;
    CUSTOS_RETURN_IF_ERROR(Accept(reply));
  }
  return result;
}

StatusOr<std::unique_ptr<net::HttpsClient>> TestDevice::MtlsClient(
    int port, std::shared_ptr<net::PeerVerifier> roots) {
  if (!certificate_.has_value()) return FailedPreconditionError("not enrolled");
  net::HttpsClientOptions options;
  options.port = port;
  options.server_verifier = std::move(roots);
  options.chain = {*certificate_};
  options.chain.insert(options.chain.end(), chain_.begin(), chain_.end());
  options.key = tls_key_.get();
  options.timeout_seconds = 30;
  return net::HttpsClient::Create(options);
}

StatusOr<net::SslCtxPtr> TestDevice::MqttContext(std::shared_ptr<net::PeerVerifier> roots) {
  if (!certificate_.has_value()) return FailedPreconditionError("not enrolled");
  net::TlsClientOptions tls;
  tls.server_verifier = std::move(roots);
  tls.server_name = "localhost";
  tls.chain = {*certificate_};
  tls.chain.insert(tls.chain.end(), chain_.begin(), chain_.end());
  tls.key = tls_key_.get();
  return net::MakeClientContext(tls);
}

StatusOr<std::vector<uint8_t>> TestDevice::SealTelemetry(uint64_t seq, int64_t sent_us) {
  if (!channel_.has_value()) return FailedPreconditionError("not enrolled");
  net::TelemetryMessage message;
  message.device = id_;
  message.seq = seq;
  message.sent_us = sent_us;
  message.profile = "sensor";
  message.values = {{"temp_c", 21.5}};
  const std::string text = net::TelemetryMessageToJson(message);
  return channel_->Seal(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      net::DeviceTelemetryTopic(id_));
}

StatusOr<net::CommandMessage> TestDevice::OpenCommand(std::span<const uint8_t> sealed) {
  if (!channel_.has_value()) return FailedPreconditionError("not enrolled");
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          channel_->Open(sealed, net::DeviceCommandsTopic(id_)));
  return net::ParseCommandMessage(
      std::string_view(reinterpret_cast<const char*>(plain.data()), plain.size()));
}

}  // namespace custos::server::testing
