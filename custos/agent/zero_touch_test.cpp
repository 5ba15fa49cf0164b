// Zero-touch enrollment end to end: a manufacturer CA makes a device (key and
// birth certificate in the device's own store), the operator trusts the
// manufacturer's root through POST /v1/manufacturers of a real ControlPlane,
// and the device (DeviceSession + EnrollOverApi, no token) enrolls over
// HTTPS. A device of a manufacturer the fleet does not trust is refused with
// 401 and nothing is recorded. Here rather than in custos/server because it
// drives the agent library, which the server module must not depend on.
//
// SoftHSM2's configuration is process-wide: this test binary runs one
// ControlPlane data folder, shared by its tests.
#include <csignal>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "custos/agent/api_calls.h"
#include "custos/agent/device_session.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/manufacture.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/server/api_messages.h"
#include "custos/server/control_plane.h"
#include "custos/server/server_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::agent {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

int64_t NowS() { return static_cast<int64_t>(std::time(nullptr)); }

// A manufacturer CA ("Acme Manufacturing"), in memory.
std::unique_ptr<identity::FleetCa> MakeManufacturer(const std::string& name) {
  identity::CaOptions options;
  options.name = name;
  options.store_uri = "soft:mem";
  auto ca = identity::FleetCa::Create(identity::NewInMemoryDeviceRegistry(),
                                      keystore::NewInMemorySoftKeyStore(), options, NowS());
  EXPECT_THAT(ca.status(), IsOk());
  return ca.ok() ? *std::move(ca) : nullptr;
}

class ZeroTouchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // TLS writes to a closed socket
    shared_dir = new server::testing::TempDir();
    server::ControlPlaneOptions options;
    options.data_dir = shared_dir->path();
    options.ca_name = "Zero Touch Fleet";
    auto plane = server::ControlPlane::Start(options);
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
    auto client =
        server::testing::PlainClient(shared_plane->api_port(), shared_plane->roots_path());
    ASSERT_THAT(client.status(), IsOk());
    client_ = *std::move(client);
  }

  std::map<std::string, std::string> Operator() const {
    return server::testing::OperatorHeaders(shared_plane->operator_token_path());
  }

  // POST /v1/manufacturers with `root`.
  StatusOr<net::HttpsResult> Trust(const identity::Certificate& root) {
    return client_->Post("/v1/manufacturers", server::ManufacturerBodyToJson({root}),
                         "application/json", Operator());
  }

  // A device made by `maker` in folder `dir` (its keys in soft:<dir>/keys),
  // opened as a DeviceSession that trusts the fleet's roots.
  std::unique_ptr<DeviceSession> Manufactured(identity::FleetCa& maker, const std::string& dir,
                                              const std::string& device_id) {
    const std::string store_uri = "soft:" + dir + "/keys";
    {
      auto store = keystore::OpenKeyStore(store_uri);
      EXPECT_THAT(store.status(), IsOk());
      if (!store.ok()) return nullptr;
      auto state = identity::Manufacture(maker, **store, store_uri, device_id,
                                         keystore::KeyType::kEcdsaP256, "birth-key", NowS());
      EXPECT_THAT(state.status(), IsOk());
      if (!state.ok()) return nullptr;
      EXPECT_THAT(identity::SaveDeviceState(dir, *state), IsOk());
    }
    auto roots = server::testing::ReadPemCertificates(shared_plane->roots_path());
    EXPECT_THAT(roots.status(), IsOk());
    if (!roots.ok()) return nullptr;
    DeviceFolderOptions options;
    options.dir = dir;
    options.bootstrap_roots = *roots;
    auto session = DeviceSession::Open(options);
    EXPECT_THAT(session.status(), IsOk());
    return session.ok() ? *std::move(session) : nullptr;
  }

  static server::testing::TempDir* shared_dir;
  static server::ControlPlane* shared_plane;
  std::unique_ptr<net::HttpsClient> client_;
  server::testing::TempDir device_dir_;
};

server::testing::TempDir* ZeroTouchTest::shared_dir = nullptr;
server::ControlPlane* ZeroTouchTest::shared_plane = nullptr;

TEST_F(ZeroTouchTest, ATrustedManufacturersDeviceEnrollsWithNoToken) {
  auto maker = MakeManufacturer("Acme Manufacturing");
  ASSERT_NE(maker, nullptr);
  auto trusted = Trust(maker->root());
  ASSERT_THAT(trusted.status(), IsOk());
  ASSERT_EQ(trusted->status, 201) << trusted->body;
  auto reply = server::ParseTrustManufacturerReply(trusted->body);
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(reply->subject, maker->root().subject_name());
  EXPECT_EQ(reply->fingerprint, server::ManufacturerJsonOf(maker->root()).fingerprint);
  EXPECT_GE(reply->manufacturers, 1);

  // Trusting it again changes nothing.
  auto again = Trust(maker->root());
  ASSERT_THAT(again.status(), IsOk());
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(server::ParseTrustManufacturerReply(again->body)->manufacturers, reply->manufacturers);

  auto listed = client_->Get("/v1/manufacturers", Operator());
  ASSERT_THAT(listed.status(), IsOk());
  ASSERT_EQ(listed->status, 200) << listed->body;
  auto list = server::ParseManufacturerListReply(listed->body);
  ASSERT_THAT(list.status(), IsOk());
  bool found = false;
  for (const server::ManufacturerJson& m : list->manufacturers) {
    if (m.fingerprint == reply->fingerprint) {
      found = true;
      EXPECT_EQ(m.subject, reply->subject);
      EXPECT_EQ(m.not_after, maker->root().not_after());
    }
  }
  EXPECT_TRUE(found) << listed->body;

  auto session = Manufactured(*maker, device_dir_.path() + "/device", "zt-dev-1");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->has_birth_certificate());
  auto api = session->ApiClient(shared_plane->api_port(), /*mutual=*/false);
  ASSERT_THAT(api.status(), IsOk());
  ASSERT_THAT(EnrollOverApi(*session, **api, SecretBytes(), NowS()), IsOk());
  EXPECT_TRUE(session->enrolled());
  EXPECT_FALSE(session->certificate_serial().empty());

  // custosd recorded the device, enrolled by its birth certificate.
  auto shown = client_->Get("/v1/devices/zt-dev-1", Operator());
  ASSERT_THAT(shown.status(), IsOk());
  ASSERT_EQ(shown->status, 200) << shown->body;
  auto status = server::ParseDeviceStatusReply(shown->body);
  ASSERT_THAT(status.status(), IsOk());
  ASSERT_EQ(status->certificates.size(), 1u);
  EXPECT_EQ(status->certificates[0].serial, session->certificate_serial());
  EXPECT_EQ(status->certificates[0].method, "birth-certificate");

  // The enrolled device can use its certificate: mutual TLS to the API.
  auto mtls = session->ApiClient(shared_plane->api_port(), /*mutual=*/true);
  ASSERT_THAT(mtls.status(), IsOk());
  auto own = (*mtls)->Get("/v1/devices/zt-dev-1");
  ASSERT_THAT(own.status(), IsOk());
  EXPECT_EQ(own->status, 200) << own->body;
}

TEST_F(ZeroTouchTest, AnUntrustedManufacturersDeviceIsRefusedAndNothingIsWritten) {
  // Some manufacturer is trusted, just not this one.
  auto known = MakeManufacturer("Known Manufacturing");
  ASSERT_NE(known, nullptr);
  auto trusted = Trust(known->root());
  ASSERT_THAT(trusted.status(), IsOk());
  ASSERT_EQ(trusted->status, 201) << trusted->body;

  auto rogue = MakeManufacturer("Rogue Manufacturing");
  ASSERT_NE(rogue, nullptr);
  auto session = Manufactured(*rogue, device_dir_.path() + "/device", "zt-rogue-1");
  ASSERT_NE(session, nullptr);
  auto before = shared_plane->Stats();
  ASSERT_THAT(before.status(), IsOk());

  // The raw answer is 401.
  auto body = session->EnrollBody(SecretBytes(), NowS());
  ASSERT_THAT(body.status(), IsOk());
  auto answer = client_->Post("/v1/enroll", *body);
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->status, 401) << answer->body;
  session->AbandonEnrollment();
  // And through the agent's call.
  auto api = session->ApiClient(shared_plane->api_port(), /*mutual=*/false);
  ASSERT_THAT(api.status(), IsOk());
  EXPECT_THAT(EnrollOverApi(*session, **api, SecretBytes(), NowS()),
              StatusIs(StatusCode::kUnauthenticated));
  EXPECT_FALSE(session->enrolled());

  auto shown = client_->Get("/v1/devices/zt-rogue-1", Operator());
  ASSERT_THAT(shown.status(), IsOk());
  EXPECT_EQ(shown->status, 404) << shown->body;
  auto after = shared_plane->Stats();
  ASSERT_THAT(after.status(), IsOk());
  EXPECT_EQ(after->enrollments, before->enrollments);
  EXPECT_EQ(after->enrollments_refused, before->enrollments_refused + 2);
}

TEST_F(ZeroTouchTest, TheManufacturerRoutesNeedTheOperatorAndACaCertificate) {
  auto maker = MakeManufacturer("Acme Manufacturing");
  ASSERT_NE(maker, nullptr);
  auto anonymous =
      client_->Post("/v1/manufacturers", server::ManufacturerBodyToJson({maker->root()}));
  ASSERT_THAT(anonymous.status(), IsOk());
  EXPECT_EQ(anonymous->status, 401);
  auto list = client_->Get("/v1/manufacturers");
  ASSERT_THAT(list.status(), IsOk());
  EXPECT_EQ(list->status, 401);

  // A device's birth certificate (not a CA) is refused, naming the field.
  auto leaf_store = keystore::NewInMemorySoftKeyStore();
  auto leaf = identity::Manufacture(*maker, *leaf_store, "soft:mem", "zt-leaf",
                                    keystore::KeyType::kEcdsaP256, "birth-key", NowS());
  ASSERT_THAT(leaf.status(), IsOk());
  auto not_ca = client_->Post(
      "/v1/manufacturers", nlohmann::json{{"certificate_pem", leaf->birth_certificate_pem}}.dump(),
      "application/json", Operator());
  ASSERT_THAT(not_ca.status(), IsOk());
  EXPECT_EQ(not_ca->status, 400);
  EXPECT_THAT(not_ca->body, HasSubstr("certificate_pem"));
  EXPECT_THAT(not_ca->body, HasSubstr("not a CA"));

  const std::string pem = maker->root().ToPem();
  for (const std::string& bad : {std::string(R"({"certificate_pem": "not a certificate"})"),
                                 nlohmann::json{{"certificate_pem", pem + pem}}.dump(),
                                 nlohmann::json{{"certificate_pem", pem}, {"extra", 1}}.dump(),
                                 std::string(R"({"certificate_pem": 7})"), std::string("{}")}) {
    auto answer = client_->Post("/v1/manufacturers", bad, "application/json", Operator());
    ASSERT_THAT(answer.status(), IsOk());
    EXPECT_EQ(answer->status, 400) << bad << " -> " << answer->body;
  }
}

}  // namespace
}  // namespace custos::agent
