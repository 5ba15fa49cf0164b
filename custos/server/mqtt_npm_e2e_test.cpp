// File: custos/server/mqtt_npm_e2e_test.cpp
//
// custosd's broker against an independent MQTT client, end to end: a real
// ControlPlane (SoftHSM2 CA, SQLite, mosquitto with the custos plug-in) on
// loopback; devices whose keys and CSRs come from the openssl command line
// enroll through POST /v1/enroll; one is revoked through the API; then the
// npm `mqtt` package (testing/node/mqtt_refusals.mjs) connects without a
// certificate, with a certificate of another CA, with the revoked one, and as
// the valid device publishing to the revoked device's topic. custosd's own
// counters show that only the valid device's own message reached it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "custos/core/hex.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/x509_certificate.h"
#include "custos/server/api_messages.h"
#include "custos/server/control_plane.h"
#include "custos/server/server_test_util.h"
#include "testing/run_program.h"
#include "testing/status_matchers.h"

namespace custos::server {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::ReadFileOrEmpty;
using ::custos::testing::RunProgram;

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

// Runs openssl with `args`; true if it succeeded.
bool OpenSsl(const std::vector<std::string>& args) {
  const custos::testing::ProgramResult result = RunProgram("openssl", args);
  EXPECT_EQ(result.exit_code, 0) << "openssl " << args[0] << ": " << result.err;
  return result.exit_code == 0;
}

class MqttNpmEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    ControlPlaneOptions options;
    options.data_dir = dir_.path();
    auto plane = ControlPlane::Start(options);
    ASSERT_THAT(plane.status(), IsOk());
    plane_ = *std::move(plane);
    work_ = dir_.path() + "-work";
    std::filesystem::create_directories(work_);
    auto client = testing::PlainClient(plane_->api_port(), plane_->roots_path());
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();
    if (plane_ != nullptr) plane_->Stop();
    std::error_code ignored;
    std::filesystem::remove_all(work_, ignored);
  }

  // Makes a P-256 key and CSR for `id` with openssl, enrolls it with a token
  // through the API, and returns {"id", "cert", "key"} for the script.
  nlohmann::json EnrollWithOpenSslKey(const std::string& id) {
    const std::string key = work_ + "/" + id + ".key";
    const std::string csr = work_ + "/" + id + ".csr";
    const std::string x25519 = work_ + "/" + id + ".x25519";
    const std::string x25519_pub = work_ + "/" + id + ".x25519.der";
    if (!OpenSsl({"ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key}) ||
        !OpenSsl({"req", "-new", "-key", key, "-subj", "/CN=" + id, "-addext",
                  "subjectAltName=URI:urn:custos:device:" + id, "-outform", "DER", "-out", csr}) ||
        !OpenSsl({"genpkey", "-algorithm", "X25519", "-out", x25519}) ||
        !OpenSsl({"pkey", "-in", x25519, "-pubout", "-outform", "DER", "-out", x25519_pub})) {
      return {};
    }
    auto tokens = testing::IssueTokens(*client_, plane_->operator_token_path(), 1);
    EXPECT_THAT(tokens.status(), IsOk());
    if (!tokens.ok()) return {};
    EnrollBody body;
    body.request.device_id = id;
    body.request.key_type = "ecdsa-p256";
    body.request.csr_der = Bytes(ReadFileOrEmpty(csr));
    body.request.token = std::move(tokens->front());
    body.telemetry_key = Bytes(ReadFileOrEmpty(x25519_pub));
    auto answer = client_->Post("/v1/enroll", EnrollBodyToJson(body));
    EXPECT_THAT(answer.status(), IsOk());
    if (!answer.ok()) return {};
    EXPECT_EQ(answer->status, 201) << answer->body;
    auto reply = ParseEnrollReply(answer->body);
    EXPECT_THAT(reply.status(), IsOk());
    if (!reply.ok()) return {};
    auto certificate = identity::Certificate::FromDer(reply->response.certificate_der);
    EXPECT_THAT(certificate.status(), IsOk());
    if (!certificate.ok()) return {};
    const std::string cert = work_ + "/" + id + ".pem";
    WriteFile(cert, certificate->ToPem());
    return {{"id", id}, {"cert", cert}, {"key", key}};
  }

  testing::TempDir dir_;
  std::string work_;
  std::unique_ptr<ControlPlane> plane_;
  std::unique_ptr<net::HttpsClient> client_;
};

TEST_F(MqttNpmEndToEndTest, CustosdsBrokerRefusesWhatAnIndependentClientMustNotDo) {
  const std::string node_dir = CUSTOS_NODE_TESTS_DIR;
  ASSERT_TRUE(std::filesystem::exists(node_dir + "/node_modules/mqtt/package.json"))
      << "the npm mqtt package is missing from " << node_dir
      << "/node_modules: run scripts/install-deps.sh";

  const nlohmann::json valid = EnrollWithOpenSslKey("npm-valid");
  const nlohmann::json revoked = EnrollWithOpenSslKey("npm-revoked");
  ASSERT_FALSE(valid.empty());
  ASSERT_FALSE(revoked.empty());
  RevokeBody revoke;
  revoke.reason = identity::RevocationReason::kKeyCompromise;
  auto revoked_answer =
      client_->Post("/v1/devices/npm-revoked/revoke", RevokeBodyToJson(revoke), "application/json",
                    testing::OperatorHeaders(plane_->operator_token_path()));
  ASSERT_THAT(revoked_answer.status(), IsOk());
  ASSERT_EQ(revoked_answer->status, 200) << revoked_answer->body;

  // A certificate for a valid-looking device id from a CA custosd does not know.
  const std::string foreign_key = work_ + "/foreign.key";
  const std::string foreign_cert = work_ + "/foreign.pem";
  ASSERT_TRUE(OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-nodes", "-subj", "/CN=npm-foreign", "-keyout", foreign_key, "-out",
                       foreign_cert, "-days", "1"}));

  const nlohmann::json config = {
      {"host", "127.0.0.1"},
      {"port", plane_->mqtt_port()},
      {"ca", plane_->roots_path()},
      {"servername", "localhost"},
      {"valid", valid},
      {"revoked", revoked},
      {"foreign", {{"id", "npm-foreign"}, {"cert", foreign_cert}, {"key", foreign_key}}},
      {"other_device", "npm-revoked"},
  };
  const std::string config_path = work_ + "/config.json";
  WriteFile(config_path, config.dump());

  auto before = plane_->Stats();
  ASSERT_THAT(before.status(), IsOk());
  const custos::testing::ProgramResult result =
      RunProgram("node", {node_dir + "/mqtt_refusals.mjs", config_path});
  std::cout << "mqtt_refusals.mjs: " << result.out << result.err;
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const nlohmann::json report = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << result.out;
  for (const char* check :
       {"no_certificate_refused", "foreign_ca_refused", "revoked_refused", "valid_device_connects",
        "publishes_acknowledged", "other_device_commands_subscription_refused",
        "wildcard_subscription_refused"}) {
    ASSERT_TRUE(report["checks"].contains(check)) << check << " missing: " << result.out;
    EXPECT_TRUE(report["checks"][check]["passed"].get<bool>())
        << check << ": " << report["checks"][check]["detail"];
  }

  // custosd received the valid device's own message (it is not sealed, so
  // it is rejected as unauthenticated) and never the one it published to
  // the revoked device's topic, which the broker sent before it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = plane_->Stats();
  ASSERT_THAT(after.status(), IsOk());
  EXPECT_EQ(after->telemetry_received - before->telemetry_received, 1);
  EXPECT_EQ(
      after->telemetry_rejected["unauthenticated"] - before->telemetry_rejected["unauthenticated"],
      1);
  EXPECT_EQ(after->telemetry_accepted, before->telemetry_accepted);
}

}  // namespace
}  // namespace custos::server
