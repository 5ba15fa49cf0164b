// File: custos/net/mqtt_client_test.cpp
//
// The MQTT client and the broker against a real mosquitto started per test
// on 127.0.0.1, with TLS client certificates of a test fleet CA.
#include "custos/net/mqtt_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "custos/net/broker_policy.h"
#include "custos/net/broker_process.h"
#include "custos/net/mqtt_test_util.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::net::testing::ClientSslCtx;
using ::custos::net::testing::Credential;
using ::custos::net::testing::kPrivilegedIdentity;
using ::custos::net::testing::SslCtxPtr;
using ::custos::net::testing::TempFolder;
using ::custos::net::testing::TestFleetPki;
using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Collects received messages from a handler thread.
class Inbox {
 public:
  void Add(const MqttMessageView& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    messages_.emplace_back(std::string(message.topic),
                           std::string(message.payload.begin(), message.payload.end()));
    cv_.notify_all();
  }
  // Waits until at least `count` messages arrived or `timeout_ms` passed.
  bool WaitFor(std::size_t count, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return messages_.size() >= count; });
  }
  std::vector<std::pair<std::string, std::string>> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, std::string>> messages_;
};

bool WaitUntil(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class MqttBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartBroker(true); }

  void StartBroker(bool with_plugin) {
    ASSERT_FALSE(dir_.path().empty());
    auto pki = TestFleetPki::Create();
    ASSERT_THAT(pki, IsOk());
    pki_ = std::move(*pki);
    auto broker = testing::StartTestBroker(*pki_, dir_.path(), with_plugin);
    ASSERT_THAT(broker, IsOk());
    broker_ = std::move(*broker);
  }

  // A client with `credential` (none if nullptr); its SSL_CTX is kept.
  std::unique_ptr<MqttClient> NewClient(const std::string& client_id,
                                        const Credential* credential) {
    auto ctx = ClientSslCtx(pki_->ca(), credential);
    EXPECT_THAT(ctx, IsOk());
    if (!ctx.ok()) return nullptr;
    MqttClientOptions options;
    options.port = broker_->port();
    options.client_id = client_id;
    options.ssl_ctx = ctx->get();
    contexts_.push_back(std::move(*ctx));
    auto client = MqttClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(*client) : nullptr;
  }

  // custosd: privileged, subscribed to every device's telemetry.
  std::unique_ptr<MqttClient> ConnectControlPlane(Inbox* inbox) {
    auto credential = pki_->Client(kPrivilegedIdentity);
    EXPECT_THAT(credential, IsOk());
    credentials_.push_back(std::move(*credential));
    auto client = NewClient("custosd", &credentials_.back());
    client->set_message_handler([inbox](const MqttMessageView& m) { inbox->Add(m); });
    EXPECT_THAT(client->Connect(), IsOk());
    EXPECT_THAT(client->Subscribe("devices/+/telemetry"), IsOk());
    // The SUBACK is not awaited by Subscribe; give the broker a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return client;
  }

  Credential& NewDevice(const std::string& id) {
    auto credential = pki_->Device(id);
    EXPECT_THAT(credential, IsOk());
    credentials_.push_back(std::move(*credential));
    return credentials_.back();
  }

  TempFolder dir_;
  std::unique_ptr<TestFleetPki> pki_;
  std::unique_ptr<MosquittoBroker> broker_;
  std::vector<SslCtxPtr> contexts_;
  std::list<Credential> credentials_;
};

TEST_F(MqttBrokerTest, ConfigurationIsTlsOnlyOnLoopbackWithAPrivateKeyFile) {
  const std::string conf = ReadFile(broker_->config_path());
  EXPECT_THAT(conf, HasSubstr("listener " + std::to_string(broker_->port()) + " 127.0.0.1\n"));
  EXPECT_THAT(conf, HasSubstr("require_certificate true\n"));
  EXPECT_THAT(conf, HasSubstr("allow_anonymous false\n"));
  EXPECT_THAT(conf, HasSubstr("tls_version tlsv1.2\n"));
  EXPECT_THAT(conf, HasSubstr("crlfile "));
  EXPECT_THAT(conf, HasSubstr("plugin "));
  std::size_t listeners = 0;
  for (std::size_t pos = conf.find("\nlistener "); pos != std::string::npos;
       pos = conf.find("\nlistener ", pos + 1)) {
    ++listeners;
  }
  EXPECT_EQ(listeners, 1u);
  struct stat st = {};
  ASSERT_EQ(stat((broker_->dir() + "/server.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(broker_->running());
}

TEST_F(MqttBrokerTest, TelemetryAndCommandsRoundTripOverMutualTls) {
  Inbox control_inbox;
  auto control = ConnectControlPlane(&control_inbox);
  Inbox device_inbox;
  auto device = NewClient("sensor-1", &NewDevice("sensor-1"));
  device->set_message_handler([&](const MqttMessageView& m) { device_inbox.Add(m); });
  ASSERT_THAT(device->Connect(), IsOk());
  ASSERT_THAT(device->Subscribe(DeviceCommandsTopic("sensor-1")), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  ASSERT_THAT(device->Publish(DeviceTelemetryTopic("sensor-1"), "{\"t\":21.5}"), IsOk());
  ASSERT_TRUE(control_inbox.WaitFor(1, 3000));
  EXPECT_EQ(control_inbox.messages()[0],
            std::make_pair(std::string("devices/sensor-1/telemetry"), std::string("{\"t\":21.5}")));

  ASSERT_THAT(control->Publish(DeviceCommandsTopic("sensor-1"), "report-status"), IsOk());
  ASSERT_TRUE(device_inbox.WaitFor(1, 3000));
  EXPECT_EQ(device_inbox.messages()[0].second, "report-status");
}

TEST_F(MqttBrokerTest, ClientWithoutCertificateIsRefused) {
  auto client = NewClient("anonymous", nullptr);
  EXPECT_THAT(client->Connect(3000), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(client->connected());
}

TEST_F(MqttBrokerTest, CertificateOfAnotherCaIsRefused) {
  auto other = TestFleetPki::Create("Rogue CA");
  ASSERT_THAT(other, IsOk());
  auto rogue = (*other)->Device("sensor-1");
  ASSERT_THAT(rogue, IsOk());
  auto client = NewClient("sensor-1", &*rogue);
  EXPECT_THAT(client->Connect(3000), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(MqttBrokerTest, DeviceCannotUseAnotherDevicesTopics) {
  Inbox control_inbox;
  auto control = ConnectControlPlane(&control_inbox);
  Inbox victim_inbox;
  auto victim = NewClient("victim", &NewDevice("victim"));
  victim->set_message_handler([&](const MqttMessageView& m) { victim_inbox.Add(m); });
  ASSERT_THAT(victim->Connect(), IsOk());
  ASSERT_THAT(victim->Subscribe(DeviceCommandsTopic("victim")), IsOk());
  Inbox attacker_inbox;
  auto attacker = NewClient("attacker", &NewDevice("attacker"));
  attacker->set_message_handler([&](const MqttMessageView& m) { attacker_inbox.Add(m); });
  ASSERT_THAT(attacker->Connect(), IsOk());
  // Subscriptions to someone else's commands and to wildcards are refused.
  ASSERT_THAT(attacker->Subscribe(DeviceCommandsTopic("victim")), IsOk());
  ASSERT_THAT(attacker->Subscribe("devices/#"), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(150));

  // Forged telemetry and commands are accepted at the MQTT level and dropped.
  ASSERT_THAT(attacker->Publish(DeviceTelemetryTopic("victim"), "forged"), IsOk());
  ASSERT_THAT(attacker->Publish(DeviceCommandsTopic("victim"), "forged-command"), IsOk());
  ASSERT_THAT(attacker->Publish(DeviceTelemetryTopic("attacker"), "own"), IsOk());
  ASSERT_THAT(control->Publish(DeviceCommandsTopic("victim"), "real-command"), IsOk());

  ASSERT_TRUE(control_inbox.WaitFor(1, 3000));
  ASSERT_TRUE(victim_inbox.WaitFor(1, 3000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(
      control_inbox.messages(),
      (std::vector<std::pair<std::string, std::string>>{{"devices/attacker/telemetry", "own"}}));
  EXPECT_EQ(victim_inbox.messages(), (std::vector<std::pair<std::string, std::string>>{
                                         {"devices/victim/commands", "real-command"}}));
  EXPECT_TRUE(attacker_inbox.messages().empty());
}

TEST_F(MqttBrokerTest, RevokedDeviceIsDisconnectedAndCannotReconnectWithinTwoSeconds) {
  Credential& credential = NewDevice("doomed");
  auto device = NewClient("doomed", &credential);
  std::atomic<bool> disconnected{false};
  device->set_disconnect_handler([&](int) { disconnected = true; });
  ASSERT_THAT(device->Connect(), IsOk());
  auto bystander = NewClient("bystander", &NewDevice("bystander"));
  ASSERT_THAT(bystander->Connect(), IsOk());

  auto crl = pki_->CrlPem({&credential.cert});
  ASSERT_THAT(crl, IsOk());
  const auto revoked_at = Clock::now();
  ASSERT_THAT(broker_->UpdateCrl(*crl), IsOk());
  ASSERT_TRUE(WaitUntil([&] { return disconnected.load(); }, 2000));
  device->Disconnect();
  const auto cut_off = Clock::now() - revoked_at;
  EXPECT_LT(cut_off, std::chrono::seconds(2));

  auto again = NewClient("doomed-again", &credential);
  EXPECT_THAT(again->Connect(1500), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(again->last_connack_code(), kConnackNotAuthorized);
  EXPECT_LT(Clock::now() - revoked_at, std::chrono::seconds(2));
  // Other devices are unaffected.
  EXPECT_TRUE(bystander->connected());
}

TEST_F(MqttBrokerTest, UnverifiableCrlKeepsThePreviousList) {
  auto device = NewClient("d1", &NewDevice("d1"));
  ASSERT_THAT(device->Connect(), IsOk());
  auto other = TestFleetPki::Create("Other CA");
  ASSERT_THAT(other, IsOk());
  auto foreign_crl = (*other)->CrlPem({});
  ASSERT_THAT(foreign_crl, IsOk());
  ASSERT_THAT(broker_->UpdateCrl("-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n"),
              IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_THAT(broker_->UpdateCrl(*foreign_crl), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(device->connected());
  EXPECT_TRUE(broker_->running());
  EXPECT_THAT(ReadFile(broker_->log_path()), HasSubstr("keeping the previous revocation list"));
  auto second = NewClient("d2", &NewDevice("d2"));
  EXPECT_THAT(second->Connect(), IsOk());
}

TEST_F(MqttBrokerTest, TwoHundredClientsOnOneEventLoop) {
  constexpr int kDevices = 200;
  Inbox control_inbox;
  auto control = ConnectControlPlane(&control_inbox);
  MqttEventLoop loop;
  std::vector<std::unique_ptr<MqttClient>> devices;
  for (int i = 0; i < kDevices; ++i) {
    const std::string id = "dev-" + std::to_string(i);
    devices.push_back(NewClient(id, &NewDevice(id)));
    ASSERT_NE(devices.back(), nullptr);
    ASSERT_THAT(loop.Add(devices.back().get()), IsOk());
  }
  ASSERT_TRUE(loop.RunUntil([&] { return loop.connected_count() == kDevices; }, 20000))
      << loop.connected_count() << " of " << kDevices << " connected";
  for (int i = 0; i < kDevices; ++i) {
    ASSERT_THAT(devices[i]->Publish(DeviceTelemetryTopic("dev-" + std::to_string(i)),
                                    "m" + std::to_string(i)),
                IsOk());
  }
  ASSERT_TRUE(loop.RunUntil([&] { return control_inbox.messages().size() >= kDevices; }, 10000))
      << control_inbox.messages().size() << " of " << kDevices << " received";
  std::set<std::string> topics;
  for (const auto& [topic, payload] : control_inbox.messages()) topics.insert(topic);
  EXPECT_EQ(topics.size(), static_cast<std::size_t>(kDevices));
}

TEST_F(MqttBrokerTest, EventLoopReconnectsAfterTheBrokerKicksAClient) {
  MqttEventLoop loop;
  auto first = NewClient("same-id", &NewDevice("dup"));
  ASSERT_THAT(loop.Add(first.get()), IsOk());
  ASSERT_TRUE(loop.RunUntil([&] { return first->connected(); }, 5000));
  // A second session with the same client id takes over; the first is
  // disconnected, reconnects after its backoff, and so on.
  auto second = NewClient("same-id", &NewDevice("dup"));
  ASSERT_THAT(second->Connect(), IsOk());
  ASSERT_TRUE(loop.RunUntil([&] { return first->connection_count() >= 2; }, 5000));
}

TEST_F(MqttBrokerTest, EventLoopDoesNotSpinWhileTheHandshakeWaitsForTheServer) {
  // A listener whose one-place backlog is full drops the client's SYN, so the
  // TLS handshake starts before the TCP connection completes and has to wait
  // for the socket to be writable. Once the backlog has room the SYN is
  // retransmitted (after about 1 s) and the ClientHello goes out, but this
  // listener never answers it: the loop must then wait for a read, not poll
  // for writability (libmosquitto's stale want_write) and spin.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int filler = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(filler, 0);
  ASSERT_EQ(::connect(filler, reinterpret_cast<sockaddr*>(&address), length), 0);
  auto ctx = ClientSslCtx(pki_->ca(), &NewDevice("d1"));
  ASSERT_THAT(ctx, IsOk());
  MqttClientOptions options;
  options.port = ntohs(address.sin_port);
  options.client_id = "d1";
  options.ssl_ctx = ctx->get();
  auto client = MqttClient::Create(options);
  ASSERT_THAT(client, IsOk());
  MqttEventLoop loop;
  ASSERT_THAT(loop.Add(client->get()), IsOk());
  loop.RunOnce(50);
  const int accepted = ::accept(listener, nullptr, nullptr);  // the filler
  ASSERT_GE(accepted, 0);
  // Wait for the retransmitted SYN to be accepted into the backlog.
  for (int i = 0; i < 30; ++i) loop.RunOnce(50);
  int busy_iterations = 0;
  for (int i = 0; i < 10; ++i) {
    if (loop.RunOnce(50) > 0) ++busy_iterations;
  }
  EXPECT_LE(busy_iterations, 1);
  EXPECT_FALSE((*client)->connected());
  loop.Remove(client->get());
  ::close(accepted);
  ::close(filler);
  ::close(listener);
}

TEST_F(MqttBrokerTest, WatcherReportsAnUnexpectedExit) {
  // A second broker with a callback, killed from outside.
  MosquittoBrokerConfig config;
  auto server = pki_->Server();
  ASSERT_THAT(server, IsOk());
  config.dir = dir_.path() + "/second";
  config.ca_pem = pki_->ca().ToPem();
  config.server_cert_pem = server->cert.ToPem();
  config.server_key_pem = server->KeyPem();
  auto crl = pki_->CrlPem({});
  ASSERT_THAT(crl, IsOk());
  config.crl_pem = *crl;
  std::atomic<int> exits{0};
  config.on_unexpected_exit = [&](int) { ++exits; };
  auto broker = MosquittoBroker::Start(std::move(config));
  ASSERT_THAT(broker, IsOk());
  ASSERT_EQ(::kill((*broker)->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return exits.load() == 1; }, 3000));
  EXPECT_FALSE((*broker)->running());
  // Stop after an exit, and a normal stop, report nothing more.
  (*broker)->Stop();
  broker_->Stop();
  EXPECT_FALSE(broker_->running());
  EXPECT_EQ(exits.load(), 1);
}

TEST_F(MqttBrokerTest, StartRefusesBadConfigurations) {
  MosquittoBrokerConfig base;
  auto server = pki_->Server();
  ASSERT_THAT(server, IsOk());
  base.dir = dir_.path() + "/bad";
  base.ca_pem = pki_->ca().ToPem();
  base.server_cert_pem = server->cert.ToPem();
  base.server_key_pem = server->KeyPem();
  auto crl = pki_->CrlPem({});
  ASSERT_THAT(crl, IsOk());
  base.crl_pem = *crl;

  MosquittoBrokerConfig no_crl = base;
  no_crl.crl_pem.clear();
  EXPECT_THAT(MosquittoBroker::Start(no_crl), StatusIs(absl::StatusCode::kInvalidArgument));
  MosquittoBrokerConfig device_as_admin = base;
  device_as_admin.privileged_identities = {"sensor-1"};
  EXPECT_THAT(MosquittoBroker::Start(device_as_admin),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("valid device id")));
  MosquittoBrokerConfig no_binary = base;
  no_binary.mosquitto_path = "/nonexistent/mosquitto";
  EXPECT_THAT(MosquittoBroker::Start(no_binary), StatusIs(absl::StatusCode::kUnavailable));
  MosquittoBrokerConfig bad_key = base;
  bad_key.server_key_pem =
      SecretBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("not a key"), 9));
  EXPECT_THAT(MosquittoBroker::Start(bad_key),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("exited at start")));
  MosquittoBrokerConfig taken_port = base;
  taken_port.port = broker_->port();
  EXPECT_THAT(MosquittoBroker::Start(taken_port), StatusIs(absl::StatusCode::kUnavailable));
}

class MqttBrokerWithoutPluginTest : public MqttBrokerTest {
 protected:
  void SetUp() override { StartBroker(false); }
};

TEST_F(MqttBrokerWithoutPluginTest, AclFileKeepsDevicesToTheirOwnTopics) {
  EXPECT_THAT(ReadFile(broker_->config_path()), HasSubstr("use_identity_as_username true"));
  Inbox control_inbox;
  auto control = ConnectControlPlane(&control_inbox);
  auto attacker = NewClient("attacker", &NewDevice("attacker"));
  ASSERT_THAT(attacker->Connect(), IsOk());
  ASSERT_THAT(attacker->Publish(DeviceTelemetryTopic("victim"), "forged"), IsOk());
  ASSERT_THAT(attacker->Publish(DeviceTelemetryTopic("attacker"), "own"), IsOk());
  ASSERT_TRUE(control_inbox.WaitFor(1, 3000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(
      control_inbox.messages(),
      (std::vector<std::pair<std::string, std::string>>{{"devices/attacker/telemetry", "own"}}));
}

}  // namespace
}  // namespace custos::net

namespace custos::net {
namespace {

// A broker whose owner dies without stopping it (custosd crashed or was
// killed) stops itself instead of serving on with a CRL nobody updates.
TEST(MqttBrokerOwnerTest, BrokerStopsWhenTheProcessThatStartedItDies) {
  // Orphans of our children become our children, so the broker can be
  // waited for here.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  TempFolder dir;
  ASSERT_FALSE(dir.path().empty());
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(pipe_fds[0]);
    auto pki = TestFleetPki::Create();
    if (!pki.ok()) _exit(2);
    auto broker = testing::StartTestBroker(**pki, dir.path());
    if (!broker.ok()) _exit(3);
    const pid_t broker_pid = (*broker)->pid();
    if (write(pipe_fds[1], &broker_pid, sizeof(broker_pid)) != sizeof(broker_pid)) _exit(4);
    _exit(0);  // dies without stopping the broker
  }
  close(pipe_fds[1]);
  pid_t broker_pid = -1;
  const ssize_t got = read(pipe_fds[0], &broker_pid, sizeof(broker_pid));
  close(pipe_fds[0]);
  int owner_status = 0;
  ASSERT_EQ(waitpid(owner, &owner_status, 0), owner);
  ASSERT_TRUE(WIFEXITED(owner_status) && WEXITSTATUS(owner_status) == 0) << owner_status;
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof(broker_pid)));
  ASSERT_GT(broker_pid, 0);

  int broker_status = 0;
  const bool stopped =
      WaitUntil([&] { return waitpid(broker_pid, &broker_status, WNOHANG) == broker_pid; }, 5000);
  if (!stopped) kill(broker_pid, SIGKILL);
  EXPECT_TRUE(stopped) << "the orphaned broker kept running";
  EXPECT_THAT(ReadFile(dir.path() + "/broker/mosquitto.log"), HasSubstr("is gone; stopping"));
}

}  // namespace
}  // namespace custos::net
