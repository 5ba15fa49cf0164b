// Tests of DeviceSession against a real fleet CA (identity::FleetCa in memory)
// standing in for the control plane's enrollment and rotation handlers, and a
// "custosd" X25519 key in its own store: enrollment, the telemetry channel
// seen from custosd, commands, rotation, sequence numbers across restarts.
// The same flows over HTTPS and MQTT against a real ControlPlane are in
// agent_control_plane_test.cpp.
#include "custos/agent/device_session.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "custos/agent/api_calls.h"
#include "custos/agent/profiles.h"
#include "custos/core/clock.h"
#include "custos/core/hex.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/manufacture.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/keystore/tpm/swtpm_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::agent {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

int64_t NowS() { return static_cast<int64_t>(std::time(nullptr)); }
int64_t NowMs() { return NowS() * 1000; }

std::string Text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

class TempDir {
 public:
  TempDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "custos-agent-test-XXXXXX").string();
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fleet CA and custosd's telemetry key, answering enrollment and rotation
// bodies the way POST /v1/enroll and /v1/rotate do.
class FakeControlPlaneCa {
 public:
  static std::unique_ptr<FakeControlPlaneCa> Create(const std::string& name) {
    auto out = std::make_unique<FakeControlPlaneCa>();
    identity::CaOptions options;
    options.name = name;
    options.store_uri = "soft:mem";
    auto ca = identity::FleetCa::Create(identity::NewInMemoryDeviceRegistry(),
                                        keystore::NewInMemorySoftKeyStore(), options, NowS());
    EXPECT_THAT(ca.status(), IsOk());
    out->ca = *std::move(ca);
    out->store = keystore::NewInMemorySoftKeyStore();
    EXPECT_THAT(out->store->Generate(keystore::KeyType::kX25519, "custosd-telemetry").status(),
                IsOk());
    out->fleet.ca_name = name;
    out->fleet.api.port = 8443;
    out->fleet.mqtt.port = 8883;
    out->fleet.telemetry_key = *out->store->ExportPublicKey("custosd-telemetry");
    return out;
  }

  SecretBytes Token() {
    auto tokens = ca->IssueTokens(1, "", 3600, NowS());
    EXPECT_THAT(tokens.status(), IsOk());
    return (*tokens)[0];
  }

  StatusOr<std::string> Enroll(const std::string& body_json) {
    CUSTOS_ASSIGN_OR_RETURN(server::EnrollBody body, server::ParseEnrollBody(body_json));
    CUSTOS_ASSIGN_OR_RETURN(identity::EnrollmentResponse response,
                            ca->Enroll(body.request, NowS()));
    device_keys[body.request.device_id] = body.telemetry_key;
    return server::EnrollReplyToJson({std::move(response), fleet});
  }

  StatusOr<std::string> Rotate(const std::string& body_json) {
    CUSTOS_ASSIGN_OR_RETURN(server::RotateBody body, server::ParseRotateBody(body_json));
    CUSTOS_ASSIGN_OR_RETURN(identity::EnrollmentResponse response,
                            ca->Rotate(body.request, NowS()));
    return server::EnrollReplyToJson({std::move(response), fleet});
  }

  // custosd's side of the channel with `device_id`.
  StatusOr<net::TelemetryChannel> Channel(const std::string& device_id) {
    return net::TelemetryChannel::Derive(*store, "custosd-telemetry", device_keys[device_id],
                                         fleet.telemetry_key, device_id, false);
  }

  std::unique_ptr<identity::FleetCa> ca;
  std::unique_ptr<keystore::KeyStore> store;
  server::FleetInfo fleet;
  std::map<std::string, std::vector<uint8_t>> device_keys;
};

class DeviceSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plane_ = FakeControlPlaneCa::Create("acme");
    ASSERT_FALSE(dir_.path().empty());
  }

  DeviceFolderOptions Folder() {
    DeviceFolderOptions options;
    options.dir = dir_.path() + "/device";
    options.device_id = "dev-1";
    options.bootstrap_roots = plane_->ca->Roots();
    return options;
  }

  std::unique_ptr<DeviceSession> EnrolledSession() {
    auto session = DeviceSession::Open(Folder());
    EXPECT_THAT(session.status(), IsOk());
    auto body = (*session)->EnrollBody(plane_->Token(), NowS());
    EXPECT_THAT(body.status(), IsOk());
    auto reply = plane_->Enroll(*body);
    EXPECT_THAT(reply.status(), IsOk());
    EXPECT_THAT((*session)->AcceptEnrollReply(*reply, NowS()), IsOk());
    return *std::move(session);
  }

  // The labels of the keys in the device's software store (session closed).
  std::vector<std::string> StoredKeyLabels() {
    auto store = keystore::OpenKeyStore("soft:" + dir_.path() + "/device/keys");
    EXPECT_THAT(store.status(), IsOk());
    std::vector<std::string> labels;
    if (!store.ok()) return labels;
    StatusOr<std::vector<keystore::KeyInfo>> keys = (*store)->List();
    EXPECT_THAT(keys.status(), IsOk());
    if (!keys.ok()) return labels;
    for (const keystore::KeyInfo& key : *keys) labels.push_back(key.label);
    return labels;
  }

  TempDir dir_;
  std::unique_ptr<FakeControlPlaneCa> plane_;
};

TEST_F(DeviceSessionTest, EnrollsAndItsTelemetryOpensOnlyAtTheControlPlane) {
  auto session = EnrolledSession();
  ASSERT_TRUE(session->enrolled());
  EXPECT_EQ(session->telemetry_topic(), "devices/dev-1/telemetry");
  EXPECT_EQ(session->commands_topic(), "devices/dev-1/commands");
  EXPECT_FALSE(session->certificate_serial().empty());

  auto sealed =
      session->SealTelemetry("telemetry", "sensor", {{"temperature_c", 21.5}}, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  EXPECT_EQ(sealed->seq, 1u);
  EXPECT_EQ(Text(sealed->payload).find("temperature_c"), std::string::npos);
  auto channel = plane_->Channel("dev-1");
  ASSERT_THAT(channel.status(), IsOk());
  auto plaintext = channel->Open(sealed->payload, "devices/dev-1/telemetry");
  ASSERT_THAT(plaintext.status(), IsOk());
  auto message = net::ParseTelemetryMessage(Text(*plaintext));
  ASSERT_THAT(message.status(), IsOk());
  EXPECT_EQ(message->device, "dev-1");
  EXPECT_EQ(message->seq, 1u);
  EXPECT_EQ(message->profile, "sensor");
  EXPECT_EQ(message->values["temperature_c"], 21.5);
  // Moved to another device's topic, it does not open.
  EXPECT_FALSE(channel->Open(sealed->payload, "devices/dev-2/telemetry").ok());
}

TEST_F(DeviceSessionTest, SequenceNumbersKeepIncreasingAcrossRestarts) {
  uint64_t last = 0;
  {
    auto session = EnrolledSession();
    for (int i = 0; i < 5; ++i) {
      auto sealed = session->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
      ASSERT_THAT(sealed.status(), IsOk());
      EXPECT_GT(sealed->seq, last);
      last = sealed->seq;
    }
  }
  // A restart (e.g. after a crash) continues above every number used.
  auto reopened = DeviceSession::Open(Folder());
  ASSERT_THAT(reopened.status(), IsOk());
  ASSERT_TRUE((*reopened)->enrolled());
  auto sealed = (*reopened)->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  EXPECT_GT(sealed->seq, last);
  // And the reopened device still talks to the same channel.
  auto channel = plane_->Channel("dev-1");
  ASSERT_THAT(channel.status(), IsOk());
  EXPECT_THAT(channel->Open(sealed->payload, (*reopened)->telemetry_topic()).status(), IsOk());
}

TEST_F(DeviceSessionTest, AcceptsFreshCommandsOnceAndRefusesStaleOrForeignOnes) {
  auto session = EnrolledSession();
  auto channel = plane_->Channel("dev-1");
  ASSERT_THAT(channel.status(), IsOk());
  auto seal = [&](const net::CommandMessage& command, std::string_view topic) {
    auto sealed = channel->Seal(AsBytes(net::CommandMessageToJson(command)), topic);
    EXPECT_THAT(sealed.status(), IsOk());
    return *sealed;
  };
  net::CommandMessage rotate{std::string(32, 'a'), "rotate", NowMs()};
  auto payload = seal(rotate, session->commands_topic());
  auto opened = session->OpenCommand(payload, NowMs());
  ASSERT_THAT(opened.status(), IsOk());
  EXPECT_EQ(opened->command, "rotate");
  EXPECT_THAT(session->OpenCommand(payload, NowMs()).status(),
              StatusIs(StatusCode::kAlreadyExists));

  net::CommandMessage stale{std::string(32, 'b'), "report", NowMs() - 6 * 60 * 1000};
  EXPECT_THAT(session->OpenCommand(seal(stale, session->commands_topic()), NowMs()).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("older")));
  // Sealed for the telemetry topic (the other direction): refused.
  net::CommandMessage wrong_topic{std::string(32, 'c'), "report", NowMs()};
  EXPECT_THAT(session->OpenCommand(seal(wrong_topic, session->telemetry_topic()), NowMs()).status(),
              StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(DeviceSessionTest, RotationSwitchesKeyAndCertificateThenDestroysTheOldKey) {
  auto session = EnrolledSession();
  const std::string old_serial = session->certificate_serial();
  auto body = session->BeginRotation(NowS());
  ASSERT_THAT(body.status(), IsOk());
  // Until the answer is accepted, the old certificate is current.
  EXPECT_EQ(session->certificate_serial(), old_serial);
  auto reply = plane_->Rotate(*body);
  ASSERT_THAT(reply.status(), IsOk());
  ASSERT_THAT(session->AcceptRotationReply(*reply, NowS()), IsOk());
  EXPECT_NE(session->certificate_serial(), old_serial);
  ASSERT_THAT(session->DestroyRetiredKey(), IsOk());
  // Telemetry still flows on the same channel.
  auto sealed = session->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  auto channel = plane_->Channel("dev-1");
  ASSERT_THAT(channel.status(), IsOk());
  EXPECT_THAT(channel->Open(sealed->payload, session->telemetry_topic()).status(), IsOk());
  session.reset();
  // One identity key (generation 2) and the telemetry key remain.
  EXPECT_THAT(StoredKeyLabels(), ::testing::UnorderedElementsAre("custos-device-dev-1-g2",
                                                                 std::string(kTelemetryKeyLabel)));
  auto reopened = DeviceSession::Open(Folder());
  ASSERT_THAT(reopened.status(), IsOk());
  EXPECT_NE((*reopened)->certificate_serial(), old_serial);
}

TEST_F(DeviceSessionTest, AFailedEnrollmentLeavesNoKeyAndNoState) {
  {
    auto session = DeviceSession::Open(Folder());
    ASSERT_THAT(session.status(), IsOk());
    EXPECT_THAT((*session)->EnrollBody(SecretBytes(), NowS()).status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("token")));
    auto body = (*session)->EnrollBody(plane_->Token(), NowS());
    ASSERT_THAT(body.status(), IsOk());
    // An answer from another fleet's CA does not chain to the roots given.
    auto other = FakeControlPlaneCa::Create("other");
    auto other_reply = other->Enroll(
        *(*session)->EnrollBody(other->Token(), NowS()));  // a fresh attempt for `other`
    ASSERT_THAT(other_reply.status(), IsOk());
    EXPECT_FALSE((*session)->AcceptEnrollReply(*other_reply, NowS()).ok());
    EXPECT_FALSE((*session)->enrolled());
    EXPECT_THAT((*session)->SealTelemetry("telemetry", "sensor", {}, UnixMicros()).status(),
                StatusIs(StatusCode::kFailedPrecondition));
  }
  // Only the telemetry key (made for the request) is left; no identity key.
  EXPECT_THAT(StoredKeyLabels(), ::testing::ElementsAre(std::string(kTelemetryKeyLabel)));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/device/device.json"));
}

TEST_F(DeviceSessionTest, AnIdentityKeyInSoftHsmWithTheTelemetryKeyBesideIt) {
  auto token = keystore::SoftHsmTestToken::Create("agent-test");
  ASSERT_THAT(token.status(), IsOk());
  {
    DeviceFolderOptions options = Folder();
    options.store_uri = token->uri();
    auto session = DeviceSession::Open(options);
    ASSERT_THAT(session.status(), IsOk());
    auto body = (*session)->EnrollBody(plane_->Token(), NowS());
    ASSERT_THAT(body.status(), IsOk());
    auto reply = plane_->Enroll(*body);
    ASSERT_THAT(reply.status(), IsOk());
    ASSERT_THAT((*session)->AcceptEnrollReply(*reply, NowS()), IsOk());
    // SoftHSM2 has no X25519 here: the telemetry key lives in a software
    // store beside the device state, the identity key in the token.
    EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/device/telemetry-keys"));
    auto sealed = (*session)->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
    ASSERT_THAT(sealed.status(), IsOk());
    auto channel = plane_->Channel("dev-1");
    ASSERT_THAT(channel.status(), IsOk());
    EXPECT_THAT(channel->Open(sealed->payload, (*session)->telemetry_topic()).status(), IsOk());
    EXPECT_THAT((*session)->MqttTlsContext().status(), IsOk());
    // Rotation with both keys in the token.
    auto rotation = (*session)->BeginRotation(NowS());
    ASSERT_THAT(rotation.status(), IsOk());
    auto rotated = plane_->Rotate(*rotation);
    ASSERT_THAT(rotated.status(), IsOk());
    ASSERT_THAT((*session)->AcceptRotationReply(*rotated, NowS()), IsOk());
    EXPECT_THAT((*session)->DestroyRetiredKey(), IsOk());
  }
  auto store = keystore::OpenKeyStore(token->uri());
  ASSERT_THAT(store.status(), IsOk());
  auto keys = (*store)->List();
  ASSERT_THAT(keys.status(), IsOk());
  std::vector<std::string> labels;
  for (const keystore::KeyInfo& key : *keys) labels.push_back(key.label);
  EXPECT_THAT(labels, ::testing::ElementsAre("custos-device-dev-1-g2"));
}

// The labels of the keys in the store at `uri`.
std::vector<std::string> KeyLabelsIn(const std::string& uri) {
  std::vector<std::string> labels;
  auto store = keystore::OpenKeyStore(uri);
  EXPECT_THAT(store.status(), IsOk());
  if (!store.ok()) return labels;
  auto keys = (*store)->List();
  EXPECT_THAT(keys.status(), IsOk());
  if (!keys.ok()) return labels;
  for (const keystore::KeyInfo& key : *keys) labels.push_back(key.label);
  return labels;
}

TEST_F(DeviceSessionTest, AnIdentityKeyInATpmWithTheTelemetryKeyBesideIt) {
  auto tpm = keystore::SwtpmProcess::Start();
  ASSERT_THAT(tpm.status(), IsOk());
  const std::string tpm_uri = "tpm:" + (*tpm)->Tcti();
  std::string first_serial;
  {
    DeviceFolderOptions options = Folder();
    options.store_uri = tpm_uri;
    auto session = DeviceSession::Open(options);
    ASSERT_THAT(session.status(), IsOk());
    auto body = (*session)->EnrollBody(plane_->Token(), NowS());
    ASSERT_THAT(body.status(), IsOk());
    auto reply = plane_->Enroll(*body);
    ASSERT_THAT(reply.status(), IsOk());
    ASSERT_THAT((*session)->AcceptEnrollReply(*reply, NowS()), IsOk());
    ASSERT_TRUE((*session)->enrolled());
    first_serial = (*session)->certificate_serial();
    // The TPM has no X25519: the telemetry key lives in a software store
    // beside the device state, the identity key in the TPM.
    EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/device/telemetry-keys"));
    EXPECT_THAT(KeyLabelsIn(tpm_uri), ::testing::ElementsAre("custos-device-dev-1-g1"));
    auto sealed =
        (*session)->SealTelemetry("telemetry", "sensor", {{"temperature_c", 21.5}}, UnixMicros());
    ASSERT_THAT(sealed.status(), IsOk());
    auto channel = plane_->Channel("dev-1");
    ASSERT_THAT(channel.status(), IsOk());
    auto plaintext = channel->Open(sealed->payload, (*session)->telemetry_topic());
    ASSERT_THAT(plaintext.status(), IsOk());
    auto message = net::ParseTelemetryMessage(Text(*plaintext));
    ASSERT_THAT(message.status(), IsOk());
    EXPECT_EQ(message->device, "dev-1");
    EXPECT_EQ(message->values["temperature_c"], 21.5);
    EXPECT_THAT((*session)->MqttTlsContext().status(), IsOk());
    // Rotation: the new identity key is made in the TPM too.
    auto rotation = (*session)->BeginRotation(NowS());
    ASSERT_THAT(rotation.status(), IsOk());
    auto rotated = plane_->Rotate(*rotation);
    ASSERT_THAT(rotated.status(), IsOk());
    ASSERT_THAT((*session)->AcceptRotationReply(*rotated, NowS()), IsOk());
    EXPECT_NE((*session)->certificate_serial(), first_serial);
    EXPECT_THAT((*session)->DestroyRetiredKey(), IsOk());
    EXPECT_THAT((*session)->MqttTlsContext().status(), IsOk());
    auto after = (*session)->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
    ASSERT_THAT(after.status(), IsOk());
    EXPECT_THAT(channel->Open(after->payload, (*session)->telemetry_topic()).status(), IsOk());
  }
  // Only the generation-2 identity key is in the TPM; the telemetry key is
  // in the software store beside it, not in the TPM.
  EXPECT_THAT(KeyLabelsIn(tpm_uri), ::testing::ElementsAre("custos-device-dev-1-g2"));
  EXPECT_THAT(KeyLabelsIn("soft:" + dir_.path() + "/device/telemetry-keys"),
              ::testing::ElementsAre(std::string(kTelemetryKeyLabel)));
  // A restart finds the rotated identity in the TPM.
  DeviceFolderOptions options = Folder();
  options.store_uri = tpm_uri;
  auto reopened = DeviceSession::Open(options);
  ASSERT_THAT(reopened.status(), IsOk());
  ASSERT_TRUE((*reopened)->enrolled());
  EXPECT_NE((*reopened)->certificate_serial(), first_serial);
  EXPECT_THAT((*reopened)->MqttTlsContext().status(), IsOk());
}

TEST_F(DeviceSessionTest, AManufacturedDeviceEnrollsWithItsBirthCertificate) {
  // The factory: a manufacturer CA gives the device its key and birth
  // certificate in the device's own store and folder.
  auto maker = FakeControlPlaneCa::Create("acme manufacturing");
  const std::string dir = dir_.path() + "/device";
  const std::string store_uri = "soft:" + dir + "/keys";
  {
    auto store = keystore::OpenKeyStore(store_uri);
    ASSERT_THAT(store.status(), IsOk());
    auto state = identity::Manufacture(*maker->ca, **store, store_uri, "dev-1",
                                       keystore::KeyType::kEcdsaP256, "birth-key", NowS());
    ASSERT_THAT(state.status(), IsOk());
    ASSERT_THAT(identity::SaveDeviceState(dir, *state), IsOk());
  }
  ASSERT_THAT(plane_->ca->TrustManufacturerRoot(maker->ca->root()), IsOk());

  DeviceFolderOptions options;
  options.dir = dir;
  options.bootstrap_roots = plane_->ca->Roots();
  auto session = DeviceSession::Open(options);
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_EQ((*session)->device_id(), "dev-1");
  EXPECT_TRUE((*session)->has_birth_certificate());
  auto body = (*session)->EnrollBody(SecretBytes(), NowS());  // no token
  ASSERT_THAT(body.status(), IsOk());
  auto reply = plane_->Enroll(*body);
  ASSERT_THAT(reply.status(), IsOk());
  ASSERT_THAT((*session)->AcceptEnrollReply(*reply, NowS()), IsOk());
  EXPECT_TRUE((*session)->enrolled());
  auto sealed = (*session)->SealTelemetry("telemetry", "sensor", {}, UnixMicros());
  ASSERT_THAT(sealed.status(), IsOk());
  auto channel = plane_->Channel("dev-1");
  ASSERT_THAT(channel.status(), IsOk());
  EXPECT_THAT(channel->Open(sealed->payload, (*session)->telemetry_topic()).status(), IsOk());
  session->reset();
  // The manufactured key is the identity key (no other identity key made).
  EXPECT_THAT(StoredKeyLabels(),
              ::testing::UnorderedElementsAre("birth-key", std::string(kTelemetryKeyLabel)));
}

TEST_F(DeviceSessionTest, InMemorySessionsPersistNothing) {
  auto session = DeviceSession::CreateInMemory("sim-00001", plane_->ca->Roots());
  ASSERT_THAT(session.status(), IsOk());
  auto body = (*session)->EnrollBody(plane_->Token(), NowS());
  ASSERT_THAT(body.status(), IsOk());
  auto reply = plane_->Enroll(*body);
  ASSERT_THAT(reply.status(), IsOk());
  ASSERT_THAT((*session)->AcceptEnrollReply(*reply, NowS()), IsOk());
  EXPECT_TRUE((*session)->enrolled());
  EXPECT_THAT((*session)->MqttTlsContext().status(), IsOk());
  EXPECT_THAT(DeviceSession::CreateInMemory("bad/id", {}).status(),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(ApiCallsTest, ParsesServerUrls) {
  auto url = ParseServerUrl("https://127.0.0.1:8443");
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_EQ(url->port, 8443);
  EXPECT_THAT(ParseServerUrl("https://localhost:1/").status(), IsOk());
  EXPECT_THAT(ParseServerUrl("http://127.0.0.1:8443").status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("https://")));
  EXPECT_THAT(ParseServerUrl("https://example.com:8443").status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("loopback")));
  EXPECT_THAT(ParseServerUrl("https://127.0.0.1:99999").status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("port")));
  EXPECT_THAT(ParseServerUrl("https://127.0.0.1").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ApiCallsTest, MapsErrorAnswersToStatuses) {
  net::HttpsResult ok{201, "{}", "application/json"};
  EXPECT_THAT(StatusOfResult(ok, "POST /v1/enroll"), IsOk());
  net::HttpsResult denied{403, R"({"error":{"code":"permission_denied","message":"token used"}})",
                          "application/json"};
  EXPECT_THAT(StatusOfResult(denied, "POST /v1/enroll"),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("token used")));
  net::HttpsResult bare{503, "busy", "text/plain"};
  EXPECT_THAT(StatusOfResult(bare, "GET /v1/fleet"), StatusIs(StatusCode::kUnavailable));
}

TEST(ProfilesTest, EveryProfileMakesAReadingAndJittersWithinTwentyPercent) {
  ProfileRng rng(7);
  ASSERT_GE(KnownProfiles().size(), 3u);
  for (const TelemetryProfile& profile : KnownProfiles()) {
    nlohmann::json values = profile.reading(rng, 1);
    EXPECT_TRUE(values.is_object()) << profile.name;
    EXPECT_LT(values.dump().size(), net::kMaxTelemetryPlaintextBytes) << profile.name;
    for (int i = 0; i < 200; ++i) {
      const int64_t delay = NextDelayMs(profile.interval_ms, rng);
      EXPECT_GE(delay, profile.interval_ms * 8 / 10);
      EXPECT_LE(delay, profile.interval_ms * 12 / 10);
      const int64_t first = FirstDelayMs(profile.interval_ms, rng);
      EXPECT_GE(first, 0);
      EXPECT_LT(first, profile.interval_ms);
    }
  }
  EXPECT_THAT(FindProfile("camera").status(), IsOk());
  EXPECT_THAT(FindProfile("toaster").status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("sensor")));
}

}  // namespace
}  // namespace custos::agent
