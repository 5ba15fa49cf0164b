// End-to-end tests of custosd's HTTPS API, broker and telemetry subscriber on
// loopback: one in-process ControlPlane on a fresh data folder (SoftHSM2
// token, SQLite, a real mosquitto), clients through net::HttpsClient and
// net::MqttClient.
#include "custos/server/control_plane.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

#include "custos/core/clock.h"
#include "custos/net/broker_policy.h"
#include "custos/net/mqtt_client.h"
#include "custos/server/server_test_util.h"
#include "testing/run_program.h"
#include "testing/status_matchers.h"

namespace custos::server {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::TestDevice;

// Polls `done` every 10 ms for up to `limit_ms`; true once it holds.
template <typename F>
bool WaitFor(F done, int limit_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

bool IsMetricName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  }
  return true;
}

// "# HELP name text" or "# TYPE name counter|gauge|histogram|summary|untyped".
bool IsPrometheusComment(const std::string& line) {
  std::istringstream in(line);
  std::string hash, kind, name, rest;
  in >> hash >> kind >> name;
  std::getline(in, rest);
  if (hash != "#" || !IsMetricName(name) || rest.size() < 2) return false;
  if (kind == "HELP") return true;
  const std::string type = rest.substr(1);
  return kind == "TYPE" && (type == "counter" || type == "gauge" || type == "histogram" ||
                            type == "summary" || type == "untyped");
}

// name{label="value",...} number (format 0.0.4; no escapes needed here).
bool IsPrometheusSample(const std::string& line) {
  const std::size_t space = line.rfind(' ');
  if (space == std::string::npos) return false;
  std::string_view metric(line.data(), space);
  const std::string value = line.substr(space + 1);
  if (value != "+Inf" && value != "-Inf" && value != "NaN") {
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size()) return false;
  }
  const std::size_t brace = metric.find('{');
  if (brace == std::string_view::npos) return IsMetricName(metric);
  if (!IsMetricName(metric.substr(0, brace)) || metric.back() != '}') return false;
  std::string_view labels = metric.substr(brace + 1, metric.size() - brace - 2);
  while (!labels.empty()) {
    const std::size_t eq = labels.find("=\"");
    if (eq == std::string_view::npos || !IsMetricName(labels.substr(0, eq))) return false;
    const std::size_t close = labels.find('"', eq + 2);
    if (close == std::string_view::npos) return false;
    labels.remove_prefix(close + 1);
    if (!labels.empty()) {
      if (labels[0] != ',') return false;
      labels.remove_prefix(1);
    }
  }
  return true;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // TLS writes to a closed socket
    shared_dir = new TempDir();
    ControlPlaneOptions options;
    options.data_dir = shared_dir->path();
    options.ca_name = "Test Fleet";
    options.activity_flush_ms = 50;
    auto plane = ControlPlane::Start(options);
    ASSERT_THAT(plane.status(), IsOk());
    shared_plane = plane->release();
  }
  static void TearDownTestSuite() {
    delete shared_plane;
    shared_plane = nullptr;
    delete shared_dir;
    shared_dir = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(shared_plane, nullptr);
    auto client = testing::PlainClient(shared_plane->api_port(), shared_plane->roots_path());
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
    auto roots = testing::RootsVerifier(shared_plane->roots_path());
    ASSERT_THAT(roots.status(), IsOk());
    roots_ = *roots;
  }

  std::map<std::string, std::string> Operator() const {
    return testing::OperatorHeaders(shared_plane->operator_token_path());
  }
  SecretBytes Token() {
    auto tokens = testing::IssueTokens(*client_, shared_plane->operator_token_path(), 1);
    EXPECT_THAT(tokens.status(), IsOk());
    return tokens.ok() ? (*tokens)[0] : SecretBytes();
  }
  // Enrolls a new device with a fresh token; expects 201.
  std::unique_ptr<TestDevice> Enrolled(const std::string& id) {
    auto device = std::make_unique<TestDevice>(id);
    auto result = device->Enroll(*client_, Token());
    EXPECT_THAT(result.status(), IsOk());
    EXPECT_EQ(result.ok() ? result->status : 0, 201) << (result.ok() ? result->body : "");
    return device;
  }
  int64_t DeviceCount() {
    auto stats = shared_plane->Stats();
    EXPECT_THAT(stats.status(), IsOk());
    int64_t n = 0;
    if (stats.ok()) {
      for (const auto& [status, count] : stats->devices_by_status) n += count;
    }
    return n;
  }
  // Expects an error answer with `status` and `code`.
  static void ExpectError(const StatusOr<net::HttpsResult>& result, int status,
                          const std::string& code) {
    ASSERT_THAT(result.status(), IsOk());
    EXPECT_EQ(result->status, status) << result->body;
    auto error = ParseErrorReply(result->body);
    ASSERT_THAT(error.status(), IsOk()) << result->body;
    EXPECT_EQ(error->code, code) << result->body;
  }

  static TempDir* shared_dir;
  static ControlPlane* shared_plane;
  std::unique_ptr<net::HttpsClient> client_;
  std::shared_ptr<net::PeerVerifier> roots_;
};

TempDir* ControlPlaneTest::shared_dir = nullptr;
ControlPlane* ControlPlaneTest::shared_plane = nullptr;

TEST_F(ControlPlaneTest, FirstStartCreatedTheDataFolder) {
  std::string all;
  for (const std::string& line : shared_plane->created()) all += line + "\n";
  EXPECT_THAT(all, HasSubstr("/hsm/"));
  EXPECT_THAT(all, HasSubstr("custos.db"));
  EXPECT_THAT(all, HasSubstr("telemetry-keys"));
  EXPECT_THAT(all, HasSubstr("roots.pem"));
  EXPECT_THAT(all, HasSubstr("operator.token"));
  EXPECT_THAT(all, HasSubstr("fleet CA 'Test Fleet'"));
  struct stat st {};
  ASSERT_EQ(::stat(shared_plane->operator_token_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlPlaneTest, ASecondControlPlaneOnTheSameFolderIsRefused) {
  ControlPlaneOptions options;
  options.data_dir = shared_plane->data_dir();
  EXPECT_THAT(ControlPlane::Start(options).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("another custos serve")));
}

TEST_F(ControlPlaneTest, FleetAndHealthAnswerAnyone) {
  auto fleet = client_->Get("/v1/fleet");
  ASSERT_THAT(fleet.status(), IsOk());
  ASSERT_EQ(fleet->status, 200);
  auto info = ParseFleetInfo(fleet->body);
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->ca_name, "Test Fleet");
  EXPECT_EQ(info->api.port, shared_plane->api_port());
  EXPECT_EQ(info->mqtt.port, shared_plane->mqtt_port());
  auto health = client_->Get("/v1/health");
  ASSERT_THAT(health.status(), IsOk());
  EXPECT_EQ(health->status, 200);
  auto h = ParseHealthInfo(health->body);
  ASSERT_THAT(h.status(), IsOk());
  EXPECT_EQ(h->status, "ok");
  EXPECT_EQ(h->broker, "running");
  EXPECT_EQ(h->database, "ok");
}

TEST_F(ControlPlaneTest, EnrollsWithATokenAndListsTheDevice) {
  auto device = Enrolled("enroll-1");
  auto list = client_->Get("/v1/devices?limit=1000", Operator());
  ASSERT_THAT(list.status(), IsOk());
  ASSERT_EQ(list->status, 200) << list->body;
  auto reply = ParseDeviceListReply(list->body);
  ASSERT_THAT(reply.status(), IsOk());
  bool found = false;
  for (const store::DeviceRecord& d : reply->devices) {
    if (d.id == "enroll-1") {
      found = true;
      EXPECT_EQ(d.status, "enrolled");
      EXPECT_EQ(d.certificate_serial, device->certificate().serial_hex());
    }
  }
  EXPECT_TRUE(found);
  auto one = client_->Get("/v1/devices/enroll-1", Operator());
  ASSERT_THAT(one.status(), IsOk());
  ASSERT_EQ(one->status, 200);
  auto status = ParseDeviceStatusReply(one->body);
  ASSERT_THAT(status.status(), IsOk());
  ASSERT_EQ(status->certificates.size(), 1u);
  EXPECT_EQ(status->certificates[0].method, "token");
}

TEST_F(ControlPlaneTest, AReplayedTokenIsRefusedAndNothingIsWritten) {
  SecretBytes token = Token();
  TestDevice first("replay-1");
  auto ok = first.Enroll(*client_, token);
  ASSERT_THAT(ok.status(), IsOk());
  ASSERT_EQ(ok->status, 201);
  const int64_t before = DeviceCount();
  TestDevice second("replay-2");
  ExpectError(second.Enroll(*client_, token), 403, "permission_denied");
  EXPECT_EQ(DeviceCount(), before);
  ExpectError(client_->Get("/v1/devices/replay-2", Operator()), 404, "not_found");
}

TEST_F(ControlPlaneTest, BadRequestsGetClearErrorsAndWriteNothing) {
  const int64_t before = DeviceCount();
  ExpectError(client_->Post("/v1/enroll", "{not json"), 400, "invalid_argument");
  ExpectError(client_->Post("/v1/enroll", "[1, 2]"), 400, "invalid_argument");
  ExpectError(client_->Post("/v1/enroll", R"({"request": {}, "telemetry_key": "x"})"), 400,
              "invalid_argument");
  ExpectError(client_->Post("/v1/enroll", "{\"pad\": \"" + std::string(70 * 1024, 'a') + "\"}"),
              413, "payload_too_large");
  ExpectError(client_->Post("/v1/enroll", "{}", "text/plain"), 415, "unsupported_media_type");
  // An unknown token: nothing to authenticate the request.
  TestDevice stranger("stranger-1");
  auto fake = stranger.MakeEnrollBody(SecretBytes(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>("cet1-0000000000000000000000000000000000000000"), 45)));
  ASSERT_THAT(fake.status(), IsOk());
  ExpectError(client_->Post("/v1/enroll", EnrollBodyToJson(*fake)), 401, "unauthenticated");
  // Operator routes.
  ExpectError(client_->Get("/v1/devices"), 401, "unauthenticated");
  ExpectError(client_->Get("/v1/devices", {{"Authorization", "Bearer wrong"}}), 401,
              "unauthenticated");
  ExpectError(client_->Get("/metrics"), 401, "unauthenticated");
  ExpectError(client_->Post("/v1/tokens", R"({"count": 1})"), 401, "unauthenticated");
  ExpectError(client_->Post("/v1/devices/x/revoke", "{}"), 401, "unauthenticated");
  ExpectError(client_->Get("/v1/devices?limit=0", Operator()), 400, "invalid_argument");
  ExpectError(client_->Post("/v1/tokens", R"({"count": 0})", "application/json", Operator()), 400,
              "invalid_argument");
  ExpectError(client_->Get("/v1/devices/nobody-here", Operator()), 404, "not_found");
  ExpectError(client_->Post("/v1/devices/nobody-here/revoke", "{}", "application/json", Operator()),
              404, "not_found");
  ExpectError(client_->Get("/v1/nothing"), 404, "not_found");
  // A device route without a device certificate.
  ExpectError(client_->Post("/v1/rotate", "{}"), 401, "unauthenticated");
  EXPECT_EQ(DeviceCount(), before);
  EXPECT_THAT(stranger.MakeEnrollBody(SecretBytes()).status(),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(ControlPlaneTest, ADeviceReadsOnlyItsOwnStatus) {
  auto a = Enrolled("own-a");
  auto b = Enrolled("own-b");
  auto client = a->MtlsClient(shared_plane->api_port(), roots_);
  ASSERT_THAT(client.status(), IsOk());
  auto mine = (*client)->Get("/v1/devices/own-a");
  ASSERT_THAT(mine.status(), IsOk());
  EXPECT_EQ(mine->status, 200) << mine->body;
  ExpectError((*client)->Get("/v1/devices/own-b"), 403, "permission_denied");
}

TEST_F(ControlPlaneTest, RotatesOverMutualTls) {
  auto device = Enrolled("rotate-1");
  auto other = Enrolled("rotate-2");
  const std::string old_serial = device->certificate().serial_hex();
  // Another device's certificate may not rotate this one.
  auto other_client = other->MtlsClient(shared_plane->api_port(), roots_);
  ASSERT_THAT(other_client.status(), IsOk());
  auto body = device->MakeRotateBody();
  ASSERT_THAT(body.status(), IsOk());
  ExpectError((*other_client)->Post("/v1/rotate", RotateBodyToJson(*body)), 403,
              "permission_denied");

  auto client = device->MtlsClient(shared_plane->api_port(), roots_);
  ASSERT_THAT(client.status(), IsOk());
  auto rotated = device->Rotate(**client);
  ASSERT_THAT(rotated.status(), IsOk());
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  EXPECT_NE(device->certificate().serial_hex(), old_serial);
  auto one = client_->Get("/v1/devices/rotate-1", Operator());
  ASSERT_THAT(one.status(), IsOk());
  auto status = ParseDeviceStatusReply(one->body);
  ASSERT_THAT(status.status(), IsOk());
  EXPECT_EQ(status->device.certificate_serial, device->certificate().serial_hex());
  EXPECT_EQ(status->certificates.size(), 2u);
}

TEST_F(ControlPlaneTest, TelemetryIsOpenedRecordedAndReplaysDropped) {
  auto device = Enrolled("telemetry-1");
  auto ctx = device->MqttContext(roots_);
  ASSERT_THAT(ctx.status(), IsOk());
  net::MqttClientOptions options;
  options.port = static_cast<uint16_t>(shared_plane->mqtt_port());
  options.client_id = "telemetry-1";
  options.ssl_ctx = ctx->get();
  auto mqtt = net::MqttClient::Create(options);
  ASSERT_THAT(mqtt.status(), IsOk());
  ASSERT_THAT((*mqtt)->Connect(), IsOk());
  auto before = shared_plane->Stats();
  ASSERT_THAT(before.status(), IsOk());

  auto sealed = device->SealTelemetry(1, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  const std::string topic = net::DeviceTelemetryTopic("telemetry-1");
  ASSERT_THAT((*mqtt)->Publish(topic, *sealed, 1).status(), IsOk());
  ASSERT_TRUE(WaitFor(
      [&] { return shared_plane->Stats()->telemetry_accepted > before->telemetry_accepted; },
      10000));
  ASSERT_THAT((*mqtt)->Publish(topic, *sealed, 1).status(), IsOk());  // the same message again
  ASSERT_TRUE(
      WaitFor([&] { return shared_plane->Stats()->telemetry_rejected["replay"] > 0; }, 10000));
  auto garbage = std::vector<uint8_t>(64, 0x42);
  ASSERT_THAT((*mqtt)->Publish(topic, garbage, 1).status(), IsOk());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = shared_plane->Stats();
        return s->telemetry_rejected["unauthenticated"] + s->telemetry_rejected["malformed"] > 0;
      },
      10000));
  EXPECT_EQ(shared_plane->Stats()->telemetry_accepted, before->telemetry_accepted + 1);
  // The writer thread records the message.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto one = client_->Get("/v1/devices/telemetry-1", Operator());
        if (!one.ok()) return false;
        auto status = ParseDeviceStatusReply(one->body);
        return status.ok() && status->telemetry.has_value() &&
               status->telemetry->last_sequence == 1 && status->device.last_seen_ms > 0;
      },
      10000));
  auto stats = shared_plane->Stats();
  EXPECT_GE(stats->latency_p99_ms, stats->latency_p50_ms);
  (*mqtt)->Disconnect();
}

TEST_F(ControlPlaneTest, ARevokedDeviceIsCutOffFromBrokerAndApi) {
  auto device = Enrolled("revoke-1");
  auto ctx = device->MqttContext(roots_);
  ASSERT_THAT(ctx.status(), IsOk());
  net::MqttClientOptions options;
  options.port = static_cast<uint16_t>(shared_plane->mqtt_port());
  options.client_id = "revoke-1";
  options.ssl_ctx = ctx->get();
  options.min_backoff_ms = 60000;  // no automatic reconnection during the test
  options.max_backoff_ms = 60000;
  auto mqtt = net::MqttClient::Create(options);
  ASSERT_THAT(mqtt.status(), IsOk());
  ASSERT_THAT((*mqtt)->Connect(), IsOk());
  ASSERT_TRUE((*mqtt)->connected());

  auto revoked = client_->Post("/v1/devices/revoke-1/revoke", R"({"reason": "key-compromise"})",
                               "application/json", Operator());
  ASSERT_THAT(revoked.status(), IsOk());
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  auto reply = ParseRevokeReply(revoked->body);
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->device, "revoke-1");
  EXPECT_EQ(reply->revoked_certificates, 1);
  EXPECT_GT(reply->crl_number, 0);

  // Disconnected by the broker, and refused when it comes back (the
  // requirement is 2 s; this waits up to 2 s).
  EXPECT_TRUE(WaitFor([&] { return !(*mqtt)->connected(); }, 2000));
  auto again = net::MqttClient::Create(options);
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_FALSE((*again)->Connect(2000).ok());
  // The HTTPS server refuses its certificate from now on (no HTTP answer).
  auto api = device->MtlsClient(shared_plane->api_port(), roots_);
  ASSERT_THAT(api.status(), IsOk());
  auto status = (*api)->Get("/v1/devices/revoke-1");
  EXPECT_TRUE(!status.ok() || status->status == 401) << (status.ok() ? status->body : "");
  auto record = client_->Get("/v1/devices/revoke-1", Operator());
  ASSERT_THAT(record.status(), IsOk());
  auto parsed = ParseDeviceStatusReply(record->body);
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_TRUE(parsed->device.revoked);
  EXPECT_EQ(parsed->device.status, "revoked");
}

TEST_F(ControlPlaneTest, CommandsAreSealedAndPublished) {
  auto device = Enrolled("command-1");
  auto ctx = device->MqttContext(roots_);
  ASSERT_THAT(ctx.status(), IsOk());
  net::MqttClientOptions options;
  options.port = static_cast<uint16_t>(shared_plane->mqtt_port());
  options.client_id = "command-1";
  options.ssl_ctx = ctx->get();
  auto mqtt = net::MqttClient::Create(options);
  ASSERT_THAT(mqtt.status(), IsOk());
  std::mutex mutex;
  std::vector<std::vector<uint8_t>> received;
  (*mqtt)->set_message_handler([&](const net::MqttMessageView& m) {
    std::lock_guard<std::mutex> lock(mutex);
    received.emplace_back(m.payload.begin(), m.payload.end());
  });
  ASSERT_THAT((*mqtt)->Subscribe(net::DeviceCommandsTopic("command-1"), 1),
              StatusIs(StatusCode::kUnavailable));  // made at the connection
  ASSERT_THAT((*mqtt)->Connect(), IsOk());

  auto sent = client_->Post("/v1/commands", R"({"command": "report", "devices": ["command-1"]})",
                            "application/json", Operator());
  ASSERT_THAT(sent.status(), IsOk());
  ASSERT_EQ(sent->status, 202) << sent->body;
  EXPECT_EQ(nlohmann::json::parse(sent->body)["sent"], 1);
  // The device's subscription may reach the broker after that command: send
  // again until one arrives.
  ASSERT_TRUE(WaitFor(
      [&] {
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (!received.empty()) return true;
        }
        (void)client_->Post("/v1/commands", R"({"command": "report", "devices": ["command-1"]})",
                            "application/json", Operator());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::lock_guard<std::mutex> lock(mutex);
        return !received.empty();
      },
      10000));
  std::vector<uint8_t> sealed;
  {
    std::lock_guard<std::mutex> lock(mutex);
    sealed = received[0];
  }
  auto command = device->OpenCommand(sealed);
  ASSERT_THAT(command.status(), IsOk());
  EXPECT_EQ(command->command, "report");
  EXPECT_EQ(command->id.size(), 32u);
  EXPECT_GT(command->issued_ms, 0);
  // The broker saw only ciphertext: the command word is not in the payload.
  EXPECT_EQ(std::string(sealed.begin(), sealed.end()).find("report"), std::string::npos);
  (*mqtt)->Disconnect();
  ExpectError(client_->Post("/v1/commands", R"({"command": "reboot", "devices": "all"})",
                            "application/json", Operator()),
              400, "invalid_argument");
}

TEST_F(ControlPlaneTest, ABrokerThatDiesIsReportedAndRestarted) {
  const int pid = shared_plane->broker_pid();
  ASSERT_GT(pid, 0);
  auto before = shared_plane->Stats();
  ASSERT_THAT(before.status(), IsOk());
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // Health says so while it is down (it may already be back: then it is ok).
  auto health = client_->Get("/v1/health");
  ASSERT_THAT(health.status(), IsOk());
  auto h = ParseHealthInfo(health->body);
  ASSERT_THAT(h.status(), IsOk());
  if (h->broker == "down") {
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(h->status, "degraded");
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = shared_plane->Stats();
        return s.ok() && s->broker_restarts > before->broker_restarts && s->broker_running;
      },
      20000));
  EXPECT_NE(shared_plane->broker_pid(), pid);
  health = client_->Get("/v1/health");
  ASSERT_THAT(health.status(), IsOk());
  EXPECT_EQ(health->status, 200) << health->body;
  // Devices can use it again, on the same port, and custosd's subscriber is back.
  auto device = Enrolled("after-restart-1");
  auto ctx = device->MqttContext(roots_);
  ASSERT_THAT(ctx.status(), IsOk());
  net::MqttClientOptions options;
  options.port = static_cast<uint16_t>(shared_plane->mqtt_port());
  options.client_id = "after-restart-1";
  options.ssl_ctx = ctx->get();
  auto mqtt = net::MqttClient::Create(options);
  ASSERT_THAT(mqtt.status(), IsOk());
  ASSERT_THAT((*mqtt)->Connect(), IsOk());
  auto sealed = device->SealTelemetry(1, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  const int64_t accepted = shared_plane->Stats()->telemetry_accepted;
  // The subscriber reconnects with backoff: publish until one arrives.
  uint64_t seq = 1;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = device->SealTelemetry(seq++, UnixMicros());
        if (s.ok()) (void)(*mqtt)->Publish(net::DeviceTelemetryTopic("after-restart-1"), *s, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return shared_plane->Stats()->telemetry_accepted > accepted;
      },
      20000))
      << "received " << shared_plane->Stats()->telemetry_received << " subscriber connected "
      << shared_plane->Stats()->subscriber_connected << " connections "
      << shared_plane->Stats()->subscriber_connections << " log "
      << ::custos::testing::ReadFileOrEmpty(shared_plane->data_dir() + "/broker/mosquitto.log");
  (*mqtt)->Disconnect();
}

TEST_F(ControlPlaneTest, MetricsAreValidPrometheusText) {
  Enrolled("metrics-1");
  auto metrics = client_->Get("/metrics", Operator());
  ASSERT_THAT(metrics.status(), IsOk());
  ASSERT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->content_type, HasSubstr("text/plain"));
  std::istringstream lines(metrics->body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      EXPECT_TRUE(IsPrometheusComment(line)) << line;
    } else {
      EXPECT_TRUE(IsPrometheusSample(line)) << line;
      ++samples;
    }
  }
  EXPECT_GT(samples, 10);
  EXPECT_THAT(metrics->body, HasSubstr("custos_enrollments_total "));
  EXPECT_THAT(metrics->body, HasSubstr("custos_telemetry_latency_seconds_bucket{le=\"+Inf\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("custos_devices{status=\"enrolled\"}"));
}

// Restarts the shared control plane on its folder (the last test in the
// file; the new instance serves any test that runs after it).
TEST_F(ControlPlaneTest, ReopensItsFolderAndRemembersDevicesAndSequences) {
  auto device = Enrolled("reopen-1");
  auto publish = [&](uint64_t seq) {
    auto ctx = device->MqttContext(roots_);
    ASSERT_THAT(ctx.status(), IsOk());
    net::MqttClientOptions options;
    options.port = static_cast<uint16_t>(shared_plane->mqtt_port());
    options.client_id = "reopen-1";
    options.ssl_ctx = ctx->get();
    auto mqtt = net::MqttClient::Create(options);
    ASSERT_THAT(mqtt.status(), IsOk());
    ASSERT_THAT((*mqtt)->Connect(), IsOk());
    auto sealed = device->SealTelemetry(seq, UnixMicros());
    ASSERT_THAT(sealed.status(), IsOk());
    auto before = shared_plane->Stats();
    ASSERT_THAT(before.status(), IsOk());
    ASSERT_THAT((*mqtt)->Publish(net::DeviceTelemetryTopic("reopen-1"), *sealed, 1).status(),
                IsOk());
    // Received, then opened and checked (accepted or rejected) by the
    // processor thread.
    ASSERT_TRUE(WaitFor(
        [&] {
          auto now = shared_plane->Stats();
          int64_t handled = now->telemetry_accepted;
          for (const auto& [reason, count] : now->telemetry_rejected) handled += count;
          return now->telemetry_received > before->telemetry_received &&
                 handled >= now->telemetry_received;
        },
        10000));
    (*mqtt)->Disconnect();
  };
  publish(5);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto one = client_->Get("/v1/devices/reopen-1", Operator());
        auto status = one.ok() ? ParseDeviceStatusReply(one->body) : StatusOr<DeviceStatusReply>();
        return status.ok() && status->telemetry.has_value() &&
               status->telemetry->last_sequence == 5;
      },
      10000));

  ControlPlaneOptions options;
  options.data_dir = shared_plane->data_dir();
  options.activity_flush_ms = 50;
  // An idle keep-alive connection would hold the HTTPS server's stop for its
  // 5 s read timeout.
  client_.reset();
  delete shared_plane;  // stops it
  shared_plane = nullptr;
  auto reopened = ControlPlane::Start(options);
  ASSERT_THAT(reopened.status(), IsOk());
  shared_plane = reopened->release();
  EXPECT_TRUE(shared_plane->created().empty());
  SetUp();  // clients for the new ports
  auto one = client_->Get("/v1/devices/reopen-1", Operator());
  ASSERT_THAT(one.status(), IsOk());
  ASSERT_EQ(one->status, 200) << one->body;
  auto status = ParseDeviceStatusReply(one->body);
  ASSERT_THAT(status.status(), IsOk());
  EXPECT_EQ(status->device.certificate_serial, device->certificate().serial_hex());

  // The last sequence number survived the restart: 5 again is a replay, 6 is new.
  publish(5);
  EXPECT_EQ(shared_plane->Stats()->telemetry_rejected["replay"], 1);
  EXPECT_EQ(shared_plane->Stats()->telemetry_accepted, 0);
  publish(6);
  EXPECT_EQ(shared_plane->Stats()->telemetry_accepted, 1);
}

}  // namespace
}  // namespace custos::server
