#include "custos/server/api_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "custos/core/ct.h"
#include "custos/core/hex.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/manufacture.h"
#include "custos/identity/tokens.h"
#include "custos/keystore/soft_key_store.h"
#include "testing/status_matchers.h"

namespace custos::server {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::vector<uint8_t> X25519Spki() {
  auto store = keystore::NewInMemorySoftKeyStore();
  EXPECT_THAT(store->Generate(keystore::KeyType::kX25519, "t").status(), IsOk());
  auto spki = store->ExportPublicKey("t");
  EXPECT_THAT(spki.status(), IsOk());
  return *spki;
}

std::vector<uint8_t> Ed25519Spki() {
  auto store = keystore::NewInMemorySoftKeyStore();
  EXPECT_THAT(store->Generate(keystore::KeyType::kEd25519, "t").status(), IsOk());
  return *store->ExportPublicKey("t");
}

EnrollBody SampleEnroll() {
  EnrollBody body;
  body.request.device_id = "dev-1";
  body.request.key_type = "ecdsa-p256";
  body.request.csr_der = {0x30, 0x03, 0x02, 0x01, 0x01};
  body.request.token = *identity::GenerateTokenText();
  body.request.created_at = 1700000000;
  body.telemetry_key = X25519Spki();
  return body;
}

TEST(EnrollBodyTest, RoundTrips) {
  EnrollBody body = SampleEnroll();
  auto parsed = ParseEnrollBody(std::string_view(EnrollBodyToJson(body)));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->request.device_id, "dev-1");
  EXPECT_EQ(parsed->request.csr_der, body.request.csr_der);
  EXPECT_TRUE(CtEqual(parsed->request.token.span(), body.request.token.span()));
  EXPECT_EQ(parsed->telemetry_key, body.telemetry_key);
}

TEST(EnrollBodyTest, ErrorsNameTheField) {
  Json good = Json::parse(EnrollBodyToJson(SampleEnroll()));
  Json j = good;
  j.erase("telemetry_key");
  EXPECT_THAT(EnrollBodyFromJson(j),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("telemetry_key")));
  j = good;
  j["telemetry_key"] = Base64Encode(Ed25519Spki());
  EXPECT_THAT(EnrollBodyFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("X25519")));
  j = good;
  j["telemetry_key"] = "not base64!";
  EXPECT_THAT(EnrollBodyFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("base64")));
  j = good;
  j["request"] = "text";
  EXPECT_THAT(EnrollBodyFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("request")));
  j = good;
  j["request"].erase("device_id");
  EXPECT_THAT(EnrollBodyFromJson(j),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("device_id")));
  j = good;
  j["extra"] = 1;
  EXPECT_THAT(EnrollBodyFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("extra")));
  EXPECT_THAT(ParseEnrollBody(std::string_view("[1]")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEnrollBody(std::string_view("{")), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEnrollBody(std::string_view(std::string(kMaxApiBodyBytes + 1, ' '))),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(FleetInfoTest, RoundTripsAndChecksTheKey) {
  FleetInfo info;
  info.ca_name = "Fleet";
  info.api.port = 8443;
  info.mqtt.port = 8883;
  info.telemetry_key = X25519Spki();
  auto parsed = ParseFleetInfo(std::string_view(FleetInfoToJson(info).dump()));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->ca_name, "Fleet");
  EXPECT_EQ(parsed->api.port, 8443);
  EXPECT_EQ(parsed->mqtt.port, 8883);
  EXPECT_EQ(parsed->telemetry_key, info.telemetry_key);
  Json j = FleetInfoToJson(info);
  j["mqtt"]["port"] = 70000;
  EXPECT_THAT(FleetInfoFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("port")));
  j = FleetInfoToJson(info);
  j["telemetry"]["aead"] = "aes-128-gcm";
  EXPECT_THAT(FleetInfoFromJson(j), StatusIs(StatusCode::kInvalidArgument, HasSubstr("aead")));
}

TEST(DeviceListQueryTest, DefaultsBoundsAndUnknownParameters) {
  auto q = ParseDeviceListQuery({});
  ASSERT_THAT(q.status(), IsOk());
  EXPECT_EQ(q->limit, kDefaultDevicePageSize);
  EXPECT_EQ(q->after, "");
  EXPECT_FALSE(q->status.has_value());
  q = ParseDeviceListQuery({{"after", "dev-9"}, {"limit", "5"}, {"status", "revoked"}});
  ASSERT_THAT(q.status(), IsOk());
  EXPECT_EQ(q->after, "dev-9");
  EXPECT_EQ(q->limit, 5);
  EXPECT_EQ(q->status, "revoked");
  EXPECT_THAT(ParseDeviceListQuery({{"limit", "0"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("limit")));
  EXPECT_THAT(ParseDeviceListQuery({{"limit", "1001"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDeviceListQuery({{"limit", "-1"}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDeviceListQuery({{"status", "Bad"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("status")));
  EXPECT_THAT(ParseDeviceListQuery({{"after", "a/b"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("after")));
  EXPECT_THAT(ParseDeviceListQuery({{"sort", "x"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("sort")));
  EXPECT_THAT(ParseDeviceListQuery({{"limit", "1"}, {"limit", "2"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("more than once")));
}

TEST(DeviceRepliesTest, RoundTrip) {
  store::DeviceRecord d;
  d.id = "dev-1";
  d.certificate_serial = "0abc";
  d.enrolled_at_ms = 5;
  DeviceListReply list{{d}, "dev-1"};
  auto parsed = ParseDeviceListReply(DeviceListReplyToJson(list));
  ASSERT_THAT(parsed.status(), IsOk());
  ASSERT_EQ(parsed->devices.size(), 1u);
  EXPECT_EQ(parsed->devices[0].id, "dev-1");
  EXPECT_EQ(parsed->devices[0].certificate_serial, "0abc");
  EXPECT_EQ(parsed->next_after, "dev-1");

  DeviceStatusReply status;
  status.device = d;
  status.telemetry = store::TelemetrySummary{"dev-1", 3, 7, 1, 2, R"({"t":1})"};
  status.certificates.push_back({"0abc", 99, "token", false});
  auto s = ParseDeviceStatusReply(DeviceStatusReplyToJson(status));
  ASSERT_THAT(s.status(), IsOk());
  ASSERT_TRUE(s->telemetry.has_value());
  EXPECT_EQ(s->telemetry->message_count, 3);
  EXPECT_EQ(s->telemetry->last_sequence, 7);
  ASSERT_EQ(s->certificates.size(), 1u);
  EXPECT_EQ(s->certificates[0].method, "token");
}

TEST(RevokeBodyTest, ReasonsAndErrors) {
  auto r = RevokeBodyFromJson(Json::object());
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->reason, identity::RevocationReason::kUnspecified);
  r = ParseRevokeBody(RevokeBodyToJson({identity::RevocationReason::kKeyCompromise}));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->reason, identity::RevocationReason::kKeyCompromise);
  EXPECT_THAT(RevokeBodyFromJson(Json{{"reason", "because"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("reason")));
  EXPECT_THAT(RevokeBodyFromJson(Json{{"reason", 1}}), StatusIs(StatusCode::kInvalidArgument));
}

TEST(CommandsBodyTest, AllOrAListOfDistinctIds) {
  auto c = ParseCommandsBody(std::string_view(R"({"command":"rotate","devices":"all"})"));
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_TRUE(c->all);
  c = ParseCommandsBody(CommandsBodyToJson({"report", false, {"a", "b"}}));
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ(c->devices, (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(CommandsBodyFromJson(Json{{"command", "reboot"}, {"devices", "all"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("command")));
  EXPECT_THAT(CommandsBodyFromJson(Json{{"command", "report"}, {"devices", Json::array()}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("devices")));
  EXPECT_THAT(CommandsBodyFromJson(Json{{"command", "report"}, {"devices", {"a", "a"}}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(CommandsBodyFromJson(Json{{"command", "report"}, {"devices", {"+"}}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("invalid")));
  EXPECT_THAT(CommandsBodyFromJson(Json{{"command", "report"}, {"devices", "some"}}),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(TokensBodyTest, BoundsAndDefaults) {
  auto t = TokensBodyFromJson(Json{{"count", 3}});
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_EQ(t->count, 3);
  EXPECT_EQ(t->lifetime_s, kDefaultTokenLifetimeSeconds);
  EXPECT_EQ(t->device_id, "");
  t = ParseTokensBody(TokensBodyToJson({2, "dev-2", 60}));
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_EQ(t->device_id, "dev-2");
  EXPECT_EQ(t->lifetime_s, 60);
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", 0}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("count")));
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", 10001}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", 1.5}}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", 1}, {"lifetime_s", 0}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("lifetime_s")));
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", 1}, {"device_id", "a b"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("device_id")));
  EXPECT_THAT(TokensBodyFromJson(Json{{"count", "1"}}), StatusIs(StatusCode::kInvalidArgument));
}

// A manufacturer CA in memory, and the birth certificate of one device (not
// a CA) it made.
struct Manufacturer {
  std::unique_ptr<identity::FleetCa> ca;
  std::string birth_pem;
};
Manufacturer MakeManufacturer() {
  Manufacturer out;
  identity::CaOptions options;
  options.name = "Acme Manufacturing";
  options.store_uri = "soft:mem";
  auto ca = identity::FleetCa::Create(identity::NewInMemoryDeviceRegistry(),
                                      keystore::NewInMemorySoftKeyStore(), options, 1700000000);
  EXPECT_THAT(ca.status(), IsOk());
  if (!ca.ok()) return out;
  out.ca = *std::move(ca);
  auto device_store = keystore::NewInMemorySoftKeyStore();
  auto state = identity::Manufacture(*out.ca, *device_store, "soft:mem", "dev-1",
                                     keystore::KeyType::kEcdsaP256, "birth", 1700000000);
  EXPECT_THAT(state.status(), IsOk());
  if (state.ok()) out.birth_pem = state->birth_certificate_pem;
  return out;
}

TEST(ManufacturerBodyTest, AcceptsOneCaCertificateAndRoundTrips) {
  Manufacturer maker = MakeManufacturer();
  ASSERT_NE(maker.ca, nullptr);
  auto parsed = ParseManufacturerBody(ManufacturerBodyToJson({maker.ca->root()}));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->certificate.der(), maker.ca->root().der());
  // Text around the PEM block is allowed (as in a roots.pem file).
  auto annotated = ParseManufacturerBody(
      Json{{"certificate_pem", "Acme root\n" + maker.ca->root().ToPem()}}.dump());
  EXPECT_THAT(annotated.status(), IsOk());

  const ManufacturerJson info = ManufacturerJsonOf(maker.ca->root());
  EXPECT_EQ(info.subject, maker.ca->root().subject_name());
  EXPECT_EQ(info.fingerprint, HexEncode(maker.ca->root().fingerprint_sha256()));
  EXPECT_EQ(info.fingerprint.size(), 64u);
  EXPECT_EQ(info.not_after, maker.ca->root().not_after());
}

TEST(ManufacturerBodyTest, ErrorsNameTheField) {
  Manufacturer maker = MakeManufacturer();
  ASSERT_NE(maker.ca, nullptr);
  const std::string root = maker.ca->root().ToPem();
  auto error_of = [](const Json& body) { return ParseManufacturerBody(body.dump()).status(); };
  EXPECT_THAT(error_of(Json::object()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'certificate_pem' is missing")));
  EXPECT_THAT(error_of(Json{{"certificate_pem", 1}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("certificate_pem")));
  EXPECT_THAT(error_of(Json{{"certificate_pem", "MIIB..."}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a PEM certificate")));
  EXPECT_THAT(error_of(Json{{"certificate_pem", root + maker.birth_pem}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("more than one certificate")));
  EXPECT_THAT(error_of(Json{{"certificate_pem", maker.birth_pem}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a CA certificate")));
  std::string damaged = root;
  damaged[damaged.find('\n') + 10] ^= 0x01;  // inside the base64
  EXPECT_THAT(error_of(Json{{"certificate_pem", damaged}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("certificate_pem")));
  EXPECT_THAT(error_of(Json{{"certificate_pem", root}, {"name", "acme"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown member 'name'")));
  // The whole body is bounded too (kMaxApiBodyBytes), so only a parsed
  // body reaches the member's own bound.
  const Json long_pem{{"certificate_pem", std::string(identity::kMaxCertificateBytes + 1, 'A')}};
  EXPECT_THAT(ManufacturerBodyFromJson(long_pem).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("longer than")));
  EXPECT_THAT(error_of(long_pem), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseManufacturerBody("[]").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ManufacturerRepliesTest, RoundTrip) {
  TrustManufacturerReply trusted{"CN=Acme Root,O=Acme", std::string(64, 'a'), 2};
  auto t = ParseTrustManufacturerReply(TrustManufacturerReplyToJson(trusted));
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_EQ(t->subject, trusted.subject);
  EXPECT_EQ(t->fingerprint, trusted.fingerprint);
  EXPECT_EQ(t->manufacturers, 2);

  ManufacturerListReply list;
  list.manufacturers.push_back({"CN=A", std::string(64, 'b'), 1800000000});
  list.manufacturers.push_back({"CN=B", std::string(64, 'c'), 1900000000});
  auto l = ParseManufacturerListReply(ManufacturerListReplyToJson(list));
  ASSERT_THAT(l.status(), IsOk());
  ASSERT_EQ(l->manufacturers.size(), 2u);
  EXPECT_EQ(l->manufacturers[1].subject, "CN=B");
  EXPECT_EQ(l->manufacturers[1].not_after, 1900000000);
  EXPECT_THAT(ParseManufacturerListReply(R"({"manufacturers": [1]})").status(),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(RepliesTest, TokensRevokeHealthErrorRoundTrip) {
  TokensReply tokens;
  tokens.tokens.push_back(*identity::GenerateTokenText());
  tokens.expires_at = 42;
  auto t = ParseTokensReply(TokensReplyToJson(tokens));
  ASSERT_THAT(t.status(), IsOk());
  ASSERT_EQ(t->tokens.size(), 1u);
  EXPECT_TRUE(CtEqual(t->tokens[0].span(), tokens.tokens[0].span()));
  EXPECT_EQ(t->expires_at, 42);

  auto r = ParseRevokeReply(RevokeReplyToJson({"dev-1", 2, 7}));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->revoked_certificates, 2);
  EXPECT_EQ(r->crl_number, 7);

  auto h = ParseHealthInfo(HealthInfoToJson({"degraded", "down", "ok", 3}).dump());
  ASSERT_THAT(h.status(), IsOk());
  EXPECT_EQ(h->broker, "down");

  auto e = ParseErrorReply(R"({"error":{"code":"not_found","message":"no"}})");
  ASSERT_THAT(e.status(), IsOk());
  EXPECT_EQ(e->code, "not_found");
}

}  // namespace
}  // namespace custos::server
