// The agent and the simulator against a REAL control plane: an in-process
// server::ControlPlane (SoftHSM2 token, SQLite, a mosquitto broker, the
// telemetry subscriber) on a temporary folder and loopback ports. A fleet of
// 50 simulated devices enrolls through the API, connects over mutual TLS,
// publishes sealed telemetry that custosd accepts, rotates on request and on
// the "rotate" command, and a revoked device is cut off and not let back in.
// One `custos agent`-style Agent enrolls, publishes, and after a restart
// continues its sequence numbers.
#include "custos/sim/fleet.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "custos/agent/agent.h"
#include "custos/agent/api_calls.h"
#include "custos/agent/device_session.h"
#include "custos/core/hex.h"
#include "custos/server/control_plane.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::sim {
namespace {

using ::custos::testing::IsOk;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    std::string templ =
        (std::filesystem::temp_directory_path() / "custos-fleet-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    shared_dir = new std::string(templ);
    server::ControlPlaneOptions options;
    options.data_dir = *shared_dir + "/custosd";
    options.ca_name = "fleet test";
    auto plane = server::ControlPlane::Start(options);
    ASSERT_THAT(plane.status(), IsOk());
    shared_plane = plane->release();
  }

  static void TearDownTestSuite() {
    delete shared_plane;
    shared_plane = nullptr;
    if (shared_dir != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*shared_dir, ignored);
      delete shared_dir;
      shared_dir = nullptr;
    }
  }

  void SetUp() override { ASSERT_NE(shared_plane, nullptr); }

  static std::vector<identity::Certificate> Roots() {
    auto roots = identity::ParseCertificatePemBundle(ReadFile(shared_plane->roots_path()));
    EXPECT_THAT(roots.status(), IsOk());
    return roots.ok() ? *roots : std::vector<identity::Certificate>{};
  }

  static SecretBytes OperatorToken() {
    std::string text = ReadFile(shared_plane->operator_token_path());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return SecretBytes(AsBytes(text));
  }

  // An operator's HTTPS client.
  static std::unique_ptr<net::HttpsClient> OperatorClient() {
    net::HttpsClientOptions options;
    options.port = shared_plane->api_port();
    auto verifier = net::PeerVerifier::Create(Roots());
    EXPECT_THAT(verifier.status(), IsOk());
    options.server_verifier = *verifier;
    auto client = net::HttpsClient::Create(options);
    EXPECT_THAT(client.status(), IsOk());
    return *std::move(client);
  }

  static StatusOr<net::HttpsResult> OperatorPost(const std::string& path, const std::string& body) {
    return OperatorClient()->Post(path, body, "application/json",
                                  {{"Authorization", agent::BearerHeader(OperatorToken())}});
  }

  // custosd's view of one device (GET /v1/devices/{id}).
  static StatusOr<server::DeviceStatusReply> DeviceStatus(const std::string& id) {
    CUSTOS_ASSIGN_OR_RETURN(
        net::HttpsResult result,
        OperatorClient()->Get("/v1/devices/" + id,
                              {{"Authorization", agent::BearerHeader(OperatorToken())}}));
    CUSTOS_RETURN_IF_ERROR(agent::StatusOfResult(result, "GET /v1/devices/" + id));
    return server::ParseDeviceStatusReply(result.body);
  }

  static int64_t Accepted() {
    auto stats = shared_plane->Stats();
    return stats.ok() ? stats->telemetry_accepted : -1;
  }

  static inline std::string* shared_dir = nullptr;
  static inline server::ControlPlane* shared_plane = nullptr;
};

TEST_F(FleetTest, FiftyDevicesEnrollConnectPublishRotateAndARevokedOneIsCutOff) {
  FleetOptions options;
  options.api_port = shared_plane->api_port();
  options.roots = Roots();
  options.operator_token = OperatorToken();
  options.devices = 50;
  options.id_prefix = "fleet-";
  options.interval_scale = 0.2;  // five times the profiles' rates, to keep the test short
  options.seed = 42;
  auto made = Fleet::Create(options);
  ASSERT_THAT(made.status(), IsOk());
  Fleet& fleet = **made;

  auto enrolled = fleet.Enroll();
  ASSERT_THAT(enrolled.status(), IsOk());
  EXPECT_EQ(enrolled->enrolled, 50) << enrolled->first_error;
  EXPECT_EQ(enrolled->failed, 0);
  EXPECT_EQ(enrolled->latencies_ms.size(), 50u);
  ASSERT_THAT(fleet.Connect(std::chrono::seconds(60)), IsOk());
  EXPECT_EQ(fleet.Stats().connected, 50);

  // Telemetry flows and custosd opens and accepts it.
  const int64_t accepted_before = Accepted();
  ASSERT_TRUE(fleet.WaitFor([](const FleetStats& s) { return s.messages_sent >= 200; },
                            std::chrono::seconds(30)));
  EXPECT_TRUE(
      Eventually([&] { return Accepted() >= accepted_before + 150; }, std::chrono::seconds(15)))
      << "accepted " << Accepted();
  auto stats = shared_plane->Stats();
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->telemetry_rejected["unauthenticated"], 0);
  EXPECT_EQ(stats->telemetry_rejected["replay"], 0);
  const std::vector<std::string> ids = fleet.device_ids();
  auto status = DeviceStatus(ids[0]);
  ASSERT_THAT(status.status(), IsOk());
  ASSERT_TRUE(status->telemetry.has_value());
  EXPECT_GT(status->telemetry->message_count, 0);

  // Rotation on request (as the demo drives it) and by the operator's command.
  const std::string serial_1 = *fleet.certificate_serial(ids[1]);
  const std::string serial_2 = *fleet.certificate_serial(ids[2]);
  fleet.RequestRotation({ids[1]});
  auto sent = OperatorPost("/v1/commands", R"({"command":"rotate","devices":[")" + ids[2] + "\"]}");
  ASSERT_THAT(sent.status(), IsOk());
  EXPECT_EQ(sent->status, 202) << sent->body;
  ASSERT_TRUE(
      fleet.WaitFor([](const FleetStats& s) { return s.rotated >= 2; }, std::chrono::seconds(30)))
      << "rotated " << fleet.Stats().rotated << ", failures " << fleet.Stats().rotation_failures;
  EXPECT_NE(*fleet.certificate_serial(ids[1]), serial_1);
  EXPECT_NE(*fleet.certificate_serial(ids[2]), serial_2);
  EXPECT_EQ(fleet.Stats().rotation_failures, 0);
  EXPECT_TRUE(fleet.WaitFor([](const FleetStats& s) { return s.connected == 50; },
                            std::chrono::seconds(20)));
  // The rotated device's new certificate is the one custosd lists as current.
  auto rotated_status = DeviceStatus(ids[2]);
  ASSERT_THAT(rotated_status.status(), IsOk());
  EXPECT_EQ(rotated_status->device.certificate_serial, *fleet.certificate_serial(ids[2]));
  // And its telemetry keeps being accepted after the reconnection.
  const uint64_t seq_after_rotation = *fleet.last_sequence(ids[2]);
  EXPECT_TRUE(Eventually(
      [&] {
        auto now = DeviceStatus(ids[2]);
        return now.ok() && now->telemetry.has_value() &&
               static_cast<uint64_t>(now->telemetry->last_sequence) > seq_after_rotation;
      },
      std::chrono::seconds(20)));

  // Revocation: the device is disconnected and cannot come back.
  const std::string victim = ids[3];
  const Clock::time_point revoked_at = Clock::now();
  auto revoked =
      OperatorPost("/v1/devices/" + victim + "/revoke", R"({"reason":"key-compromise"})");
  ASSERT_THAT(revoked.status(), IsOk());
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  auto disconnected_after = [&](Clock::time_point since) {
    for (const ConnectionEvent& event : fleet.ConnectionEvents(victim)) {
      if (event.kind == ConnectionEventKind::kDisconnected && event.at >= since) return true;
    }
    return false;
  };
  ASSERT_TRUE(Eventually([&] { return disconnected_after(revoked_at); }, std::chrono::seconds(10)));
  for (const ConnectionEvent& event : fleet.ConnectionEvents(victim)) {
    if (event.kind == ConnectionEventKind::kDisconnected && event.at >= revoked_at) {
      // Recorded for reports (--gtest_output=xml), not asserted.
      RecordProperty("revocation_cut_off_ms",
                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        event.at - revoked_at)
                                        .count()));
      break;
    }
  }
  {
    std::vector<double> rotation_ms = fleet.RotationLatenciesMs();
    RecordProperty("rotation_ms_max",
                   std::to_string(static_cast<int>(Percentile(rotation_ms, 100))));
    RecordProperty("enroll_ms_p50", std::to_string(Percentile(enrolled->latencies_ms, 50)));
  }
  // Give its reconnection attempts (backoff from 250 ms) time to fail.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  for (const ConnectionEvent& event : fleet.ConnectionEvents(victim)) {
    if (event.at >= revoked_at) {
      EXPECT_NE(event.kind, ConnectionEventKind::kConnected) << "the revoked device reconnected";
    }
  }
  EXPECT_EQ(fleet.Stats().connected, 49);

  fleet.Stop();
  EXPECT_EQ(fleet.Stats().connected, 0);
}

TEST_F(FleetTest, AnAgentEnrollsPublishesAndContinuesItsSequenceAfterARestart) {
  const std::string folder = *shared_dir + "/agent-device";
  net::HttpsClientOptions client_options;
  client_options.port = shared_plane->api_port();
  client_options.server_verifier = *net::PeerVerifier::Create(Roots());
  auto api = net::HttpsClient::Create(client_options);
  ASSERT_THAT(api.status(), IsOk());
  auto tokens = agent::MintTokens(**api, OperatorToken(), 1);
  ASSERT_THAT(tokens.status(), IsOk());

  auto run_agent = [&](SecretBytes token, uint64_t count) -> uint64_t {
    agent::DeviceFolderOptions device;
    device.dir = folder;
    device.device_id = "agent-1";
    device.bootstrap_roots = Roots();
    auto session = agent::DeviceSession::Open(device);
    EXPECT_THAT(session.status(), IsOk());
    agent::AgentOptions options;
    options.api_port = shared_plane->api_port();
    options.token = std::move(token);
    options.interval_ms = 20;
    options.count = count;
    auto made = agent::Agent::Create(*std::move(session), std::move(options));
    EXPECT_THAT(made.status(), IsOk());
    EXPECT_THAT((*made)->Run(), IsOk());
    agent::AgentStats stats = (*made)->stats();
    EXPECT_EQ(stats.messages_sent, count);
    EXPECT_EQ(stats.messages_acked, count);
    return stats.last_sequence;
  };
  const uint64_t first_last = run_agent((*tokens)[0], 5);
  EXPECT_EQ(first_last, 5u);
  ASSERT_TRUE(Eventually(
      [&] {
        auto status = DeviceStatus("agent-1");
        return status.ok() && status->telemetry.has_value() &&
               status->telemetry->message_count >= 5;
      },
      std::chrono::seconds(10)));
  // Restarted without a token: it is enrolled already, and its numbers go on.
  const uint64_t second_last = run_agent(SecretBytes(), 3);
  EXPECT_GT(second_last - 2, first_last);  // the first number of the second run
  ASSERT_TRUE(Eventually(
      [&] {
        auto status = DeviceStatus("agent-1");
        return status.ok() && status->telemetry.has_value() &&
               status->telemetry->message_count >= 8 &&
               static_cast<uint64_t>(status->telemetry->last_sequence) == second_last;
      },
      std::chrono::seconds(10)));
  auto stats = shared_plane->Stats();
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->telemetry_rejected["replay"], 0);
}

TEST_F(FleetTest, EnrollmentWithAReusedTokenFailsCleanly) {
  net::HttpsClientOptions client_options;
  client_options.port = shared_plane->api_port();
  client_options.server_verifier = *net::PeerVerifier::Create(Roots());
  auto api = net::HttpsClient::Create(client_options);
  ASSERT_THAT(api.status(), IsOk());
  auto tokens = agent::MintTokens(**api, OperatorToken(), 1);
  ASSERT_THAT(tokens.status(), IsOk());
  auto first = agent::DeviceSession::CreateInMemory("reuse-1", Roots());
  auto second = agent::DeviceSession::CreateInMemory("reuse-2", Roots());
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_THAT(second.status(), IsOk());
  ASSERT_THAT(agent::EnrollOverApi(**first, **api, (*tokens)[0], std::time(nullptr)), IsOk());
  Status again = agent::EnrollOverApi(**second, **api, (*tokens)[0], std::time(nullptr));
  EXPECT_FALSE(again.ok());
  EXPECT_FALSE((*second)->enrolled());
  EXPECT_THAT(std::string(again.message()), HasSubstr("/v1/enroll"));
}

TEST(ProfileMixTest, ParsesWeightsAndRefusesUnknownProfiles) {
  auto mix = ParseProfileMix("sensor:70,camera:10,hub:20");
  ASSERT_THAT(mix.status(), IsOk());
  ASSERT_EQ(mix->size(), 3u);
  EXPECT_EQ((*mix)[1].profile, "camera");
  EXPECT_EQ((*mix)[1].weight, 10);
  EXPECT_THAT(ParseProfileMix("sensor").status(), IsOk());
  EXPECT_FALSE(ParseProfileMix("toaster:5").ok());
  EXPECT_FALSE(ParseProfileMix("sensor:-1").ok());
  EXPECT_FALSE(ParseProfileMix("sensor:0").ok());
  EXPECT_FALSE(ParseProfileMix("").ok());
  EXPECT_EQ(Percentile({5, 1, 3, 2, 4}, 50), 3);
  EXPECT_EQ(Percentile({5, 1, 3, 2, 4}, 100), 5);
  EXPECT_EQ(Percentile({}, 99), 0);
}

}  // namespace
}  // namespace custos::sim
