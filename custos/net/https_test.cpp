// Tests of HttpsServer / HttpsClient over loopback with mutual TLS whose
// keys stay in an in-memory software key store.
#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "custos/keystore/soft_key_store.h"
#include "custos/net/https_json.h"
#include "custos/net/https_server.h"
#include "custos/net/tls_key.h"
#include "custos/net/tls_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using testing::TestPki;

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    store_ = keystore::NewInMemorySoftKeyStore();
    auto pki = TestPki::Create(*store_, "acme");
    ASSERT_THAT(pki, IsOk());
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    auto server_cert = pki_->IssueServer(*store_, "server", "localhost");
    ASSERT_THAT(server_cert, IsOk());
    auto device_cert = pki_->IssueDevice(*store_, "device", "dev-7");
    ASSERT_THAT(device_cert, IsOk());
    device_cert_.emplace(*device_cert);
    auto server_key = MakeKeyStorePrivateKey(*store_, "server", store_mutex_);
    auto device_key = MakeKeyStorePrivateKey(*store_, "device", store_mutex_);
    ASSERT_THAT(server_key, IsOk());
    ASSERT_THAT(device_key, IsOk());
    server_key_ = *std::move(server_key);
    device_key_ = *std::move(device_key);
    auto verifier = PeerVerifier::Create({pki_->root()});
    ASSERT_THAT(verifier, IsOk());
    verifier_ = *verifier;

    HttpsServerOptions options;
    options.tls.chain = {*server_cert};
    options.tls.key = server_key_.get();
    options.tls.client_verifier = verifier_;
    auto server = HttpsServer::Create(options);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    server_->Get("/health", RouteAccess::kAnyone, [](const HttpsRequest&) {
      return HttpsResponse::Json({{"status", "ok"}});
    });
    server_->Get("/whoami", RouteAccess::kDevice, [](const HttpsRequest& request) {
      return HttpsResponse::Json({{"device", *request.device_id}});
    });
    server_->Post("/echo", RouteAccess::kDevice, [](const HttpsRequest& request) {
      return HttpsResponse::Json({{"device", *request.device_id}, {"got", request.json}});
    });
    ASSERT_THAT(server_->Start(), IsOk());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  std::unique_ptr<HttpsClient> Client(bool with_certificate, bool keep_alive = true) {
    HttpsClientOptions options;
    options.port = server_->port();
    options.server_verifier = verifier_;
    options.keep_alive = keep_alive;
    if (with_certificate) {
      options.chain = {*device_cert_};
      options.key = device_key_.get();
    }
    auto client = HttpsClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::unique_ptr<keystore::KeyStore> store_;
  std::shared_ptr<std::mutex> store_mutex_ = std::make_shared<std::mutex>();
  std::unique_ptr<TestPki> pki_;
  std::optional<identity::Certificate> device_cert_;
  EvpPkeyPtr server_key_;
  EvpPkeyPtr device_key_;
  std::shared_ptr<PeerVerifier> verifier_;
  std::unique_ptr<HttpsServer> server_;
};

TEST_F(HttpsTest, MutualTlsGivesTheDeviceIdentity) {
  auto client = Client(true);
  auto result = client->Get("/whoami");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"({"device":"dev-7"})");
  auto echo = client->Post("/echo", R"({"a":[1,2,3]})");
  ASSERT_THAT(echo, IsOk());
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, R"({"device":"dev-7","got":{"a":[1,2,3]}})");
}

TEST_F(HttpsTest, ClientWithoutCertificateIsRefusedForDeviceRoutes) {
  auto client = Client(false);
  auto health = client->Get("/health");
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(health->status, 200);
  auto result = client->Get("/whoami");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, 401);
  auto body = ParseJsonBody(result->body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ((*body)["error"]["code"], "unauthenticated");
  auto post = client->Post("/echo", "{}");
  ASSERT_THAT(post, IsOk());
  EXPECT_EQ(post->status, 401);
}

TEST_F(HttpsTest, RevokedClientIsRefusedAfterTheCrlIsReplaced) {
  auto crl = pki_->IssueCrl({}, 1);
  ASSERT_THAT(crl, IsOk());
  verifier_->ReplaceCrls({*crl});
  auto before = Client(true, /*keep_alive=*/false)->Get("/whoami");
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->status, 200);

  auto revoked = pki_->IssueCrl({*device_cert_}, 2);
  ASSERT_THAT(revoked, IsOk());
  verifier_->ReplaceCrls({*revoked});
  EXPECT_THAT(Client(true, false)->Get("/whoami"), StatusIs(StatusCode::kUnavailable));
}

TEST_F(HttpsTest, OversizedBodyIs413) {
  auto client = Client(true);
  std::string big = "{\"x\":\"" + std::string(70 * 1024, 'a') + "\"}";
  auto result = client->Post("/echo", big);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, 413);
  EXPECT_THAT(result->body, HasSubstr("payload_too_large"));
}

TEST_F(HttpsTest, WrongContentTypeIs415) {
  auto client = Client(true);
  auto result = client->Post("/echo", "{}", "text/plain");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, 415);
  auto body = ParseJsonBody(result->body);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ((*body)["error"]["code"], "unsupported_media_type");
  auto with_charset = client->Post("/echo", "{}", "application/json; charset=utf-8");
  ASSERT_THAT(with_charset, IsOk());
  EXPECT_EQ(with_charset->status, 200);
}

TEST_F(HttpsTest, MalformedJsonIs400) {
  auto client = Client(true);
  for (const char* bad : {"{", "[1,2]", "nul", "{\"a\":}", ""}) {
    auto result = client->Post("/echo", bad);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->status, 400) << bad;
    auto body = ParseJsonBody(result->body);
    ASSERT_THAT(body, IsOk());
    EXPECT_EQ((*body)["error"]["code"], "invalid_argument");
  }
}

TEST_F(HttpsTest, UnknownRouteIs404WithErrorBody) {
  auto result = Client(true)->Get("/nope");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(result->body, HasSubstr("not_found"));
}

TEST_F(HttpsTest, StopIsGracefulAndIdempotent) {
  ASSERT_THAT(Client(true)->Get("/health"), IsOk());
  server_->Stop();
  server_->Stop();
  EXPECT_THAT(Client(true)->Get("/health"), StatusIs(StatusCode::kUnavailable));
}

TEST(HttpsJsonTest, ParseJsonBodyLimits) {
  EXPECT_THAT(ParseJsonBody(R"({"a":1})"), IsOk());
  EXPECT_THAT(ParseJsonBody("[]"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJsonBody("{\"a\":1} x"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJsonBody(std::string(40, '[') + std::string(40, ']')),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJsonBody("{\"s\":\"" + std::string(40, '[') + "\"}"), IsOk());
  EXPECT_THAT(ParseJsonBody("{}", 1), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(ErrorBody("x", "y"), R"({"error":{"code":"x","message":"y"}})");
  EXPECT_EQ(HttpStatusOf(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(ErrorCodeName(StatusCode::kNotFound), "not_found");
}

}  // namespace
}  // namespace custos::net
