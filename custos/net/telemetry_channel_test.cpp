// Tests of the end-to-end telemetry channel: key agreement between a device's
// store and custosd's store, sealing bound to the topic, tampering, and the
// JSON message parsers.
#include "custos/net/telemetry_channel.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "custos/core/hex.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/lwc/ascon.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

constexpr std::string_view kTopic = "devices/dev-1/telemetry";

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

class TelemetryChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    device_store_ = keystore::NewInMemorySoftKeyStore();
    server_store_ = keystore::NewInMemorySoftKeyStore();
    for (auto* store : {device_store_.get(), server_store_.get()}) {
      ASSERT_THAT(store->Generate(keystore::KeyType::kX25519, "telemetry").status(), IsOk());
    }
    ASSERT_THAT(device_store_->Generate(keystore::KeyType::kX25519, "other").status(), IsOk());
    device_spki_ = *device_store_->ExportPublicKey("telemetry");
    other_spki_ = *device_store_->ExportPublicKey("other");
    server_spki_ = *server_store_->ExportPublicKey("telemetry");
  }

  TelemetryChannel DeviceSide(std::string_view device_id = "dev-1") {
    auto channel = TelemetryChannel::Derive(*device_store_, "telemetry", device_spki_, server_spki_,
                                            device_id, true);
    EXPECT_THAT(channel.status(), IsOk());
    return *std::move(channel);
  }
  TelemetryChannel ServerSide(std::string_view device_id = "dev-1") {
    auto channel = TelemetryChannel::Derive(*server_store_, "telemetry", device_spki_, server_spki_,
                                            device_id, false);
    EXPECT_THAT(channel.status(), IsOk());
    return *std::move(channel);
  }

  std::unique_ptr<keystore::KeyStore> device_store_;
  std::unique_ptr<keystore::KeyStore> server_store_;
  std::vector<uint8_t> device_spki_;
  std::vector<uint8_t> other_spki_;
  std::vector<uint8_t> server_spki_;
};

TEST_F(TelemetryChannelTest, BothSidesDeriveTheSameKeyFromTheirOwnStores) {
  TelemetryChannel device = DeviceSide();
  TelemetryChannel server = ServerSide();
  EXPECT_EQ(device.key_id(), server.key_id());
  EXPECT_EQ(device.key_id(), TelemetryKeyId(device_spki_, server_spki_));

  auto sealed = device.Seal(Bytes("{\"hello\":1}"), kTopic);
  ASSERT_THAT(sealed.status(), IsOk());
  EXPECT_THAT(SealedKeyId(*sealed), ::custos::testing::IsOkAndHolds(device.key_id()));
  auto opened = server.Open(*sealed, kTopic);
  ASSERT_THAT(opened.status(), IsOk());
  EXPECT_EQ(*opened, Bytes("{\"hello\":1}"));

  // And the other direction (commands).
  constexpr std::string_view kCommands = "devices/dev-1/commands";
  auto command = server.Seal(Bytes("cmd"), kCommands);
  ASSERT_THAT(command.status(), IsOk());
  auto command_opened = device.Open(*command, kCommands);
  ASSERT_THAT(command_opened.status(), IsOk());
  EXPECT_EQ(*command_opened, Bytes("cmd"));
}

TEST_F(TelemetryChannelTest, SealedBytesHaveTheEnvelopeLayoutAndHideThePlaintext) {
  TelemetryChannel device = DeviceSide();
  const std::vector<uint8_t> plaintext = Bytes("temperature 21.5 secret-reading");
  auto sealed = device.Seal(plaintext, kTopic);
  ASSERT_THAT(sealed.status(), IsOk());
  ASSERT_EQ(sealed->size(), plaintext.size() + kTelemetrySealOverhead);
  EXPECT_EQ((*sealed)[0], 1);
  EXPECT_EQ(((*sealed)[1] << 8) | (*sealed)[2], kTelemetryAeadAlgorithmId);
  EXPECT_EQ((*sealed)[7], 16);
  std::string as_text(sealed->begin(), sealed->end());
  EXPECT_EQ(as_text.find("secret-reading"), std::string::npos);
  // Two seals of the same message differ (fresh nonce).
  auto again = device.Seal(plaintext, kTopic);
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_NE(*sealed, *again);
}

TEST_F(TelemetryChannelTest, DoesNotOpenForAnotherTopicOrDevice) {
  TelemetryChannel device = DeviceSide();
  auto sealed = device.Seal(Bytes("reading"), kTopic);
  ASSERT_THAT(sealed.status(), IsOk());
  EXPECT_THAT(ServerSide().Open(*sealed, "devices/dev-2/telemetry").status(),
              StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(ServerSide().Open(*sealed, "devices/dev-1/commands").status(),
              StatusIs(StatusCode::kUnauthenticated));
  // The same key pair bound to another device id gives another key.
  TelemetryChannel other_device = ServerSide("dev-2");
  EXPECT_EQ(other_device.key_id(), device.key_id());  // the key id depends on the keys only
  EXPECT_THAT(other_device.Open(*sealed, kTopic).status(), StatusIs(StatusCode::kUnauthenticated));
  // Another device key gives another key id.
  auto other_key =
      TelemetryChannel::Derive(*device_store_, "other", other_spki_, server_spki_, "dev-1", true);
  ASSERT_THAT(other_key.status(), IsOk());
  EXPECT_NE(other_key->key_id(), device.key_id());
  EXPECT_THAT(other_key->Open(*sealed, kTopic).status(), StatusIs(StatusCode::kNotFound));
}

TEST_F(TelemetryChannelTest, AnyChangedByteFails) {
  TelemetryChannel device = DeviceSide();
  TelemetryChannel server = ServerSide();
  auto sealed = device.Seal(Bytes("reading 42"), kTopic);
  ASSERT_THAT(sealed.status(), IsOk());
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    std::vector<uint8_t> tampered = *sealed;
    tampered[i] ^= 0x01;
    auto opened = server.Open(tampered, kTopic);
    EXPECT_FALSE(opened.ok()) << "byte " << i;
  }
  // Body bytes (after the header) fail authentication specifically.
  std::vector<uint8_t> tampered = *sealed;
  tampered.back() ^= 0x80;
  EXPECT_THAT(server.Open(tampered, kTopic).status(),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("authentication failed")));
  tampered = *sealed;
  tampered.pop_back();
  EXPECT_THAT(server.Open(tampered, kTopic).status(), StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(TelemetryChannelTest, RejectsMalformedAndOversizeEnvelopes) {
  TelemetryChannel server = ServerSide();
  EXPECT_THAT(server.Open({}, kTopic).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(SealedKeyId(Bytes("abc")).status(), StatusIs(StatusCode::kInvalidArgument));
  auto sealed = DeviceSide().Seal(Bytes("x"), kTopic);
  ASSERT_THAT(sealed.status(), IsOk());
  std::vector<uint8_t> wrong_version = *sealed;
  wrong_version[0] = 2;
  EXPECT_THAT(server.Open(wrong_version, kTopic).status(), StatusIs(StatusCode::kInvalidArgument));
  std::vector<uint8_t> wrong_algorithm = *sealed;
  wrong_algorithm[2] = 0x02;
  EXPECT_THAT(server.Open(wrong_algorithm, kTopic).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("algorithm")));
  std::vector<uint8_t> huge(kMaxSealedTelemetryBytes + 1, 0);
  EXPECT_THAT(server.Open(huge, kTopic).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  std::vector<uint8_t> big_plaintext(kMaxTelemetryPlaintextBytes + 1, 'a');
  EXPECT_THAT(DeviceSide().Seal(big_plaintext, kTopic).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  std::vector<uint8_t> max_plaintext(kMaxTelemetryPlaintextBytes, 'a');
  auto max_sealed = DeviceSide().Seal(max_plaintext, kTopic);
  ASSERT_THAT(max_sealed.status(), IsOk());
  EXPECT_THAT(server.Open(*max_sealed, kTopic).status(), IsOk());
}

TEST_F(TelemetryChannelTest, DeriveChecksItsInputs) {
  EXPECT_THAT(TelemetryChannel::Derive(*device_store_, "telemetry", device_spki_, server_spki_,
                                       "bad/id", true)
                  .status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("device id")));
  // The own key must be the one named as the device's (or custosd's) key.
  EXPECT_THAT(TelemetryChannel::Derive(*device_store_, "telemetry", other_spki_, server_spki_,
                                       "dev-1", true)
                  .status(),
              StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(
      TelemetryChannel::Derive(*device_store_, "missing", device_spki_, server_spki_, "dev-1", true)
          .status(),
      StatusIs(StatusCode::kNotFound));
  EXPECT_FALSE(TelemetryChannel::Derive(*device_store_, "telemetry", device_spki_,
                                        Bytes("not a key"), "dev-1", true)
                   .ok());
}

// The channel key as docs/formats/telemetry.md defines it, computed here with
// OpenSSL alone (X25519, HKDF-SHA-256, SHA-256) from a custosd key held in the
// test: a message the device's channel sealed must open under it.
TEST(TelemetryChannelFormatTest, MatchesTheDocumentedDerivationAndLayout) {
  auto device_store = keystore::NewInMemorySoftKeyStore();
  ASSERT_THAT(device_store->Generate(keystore::KeyType::kX25519, "t").status(), IsOk());
  auto device_spki = device_store->ExportPublicKey("t");
  ASSERT_THAT(device_spki.status(), IsOk());

  EVP_PKEY* server_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  ASSERT_NE(server_key, nullptr);
  unsigned char* der = nullptr;
  const int der_len = i2d_PUBKEY(server_key, &der);
  ASSERT_GT(der_len, 0);
  const std::vector<uint8_t> server_spki(der, der + der_len);
  OPENSSL_free(der);

  const std::string device_id = "dev-42";
  auto channel = TelemetryChannel::Derive(*device_store, "t", *device_spki, server_spki, device_id,
                                          /*own_is_device=*/true);
  ASSERT_THAT(channel.status(), IsOk());
  const std::string topic = "devices/dev-42/telemetry";
  auto sealed = channel->Seal(Bytes("hello custosd"), topic);
  ASSERT_THAT(sealed.status(), IsOk());

  // X25519(custosd private, device public).
  const unsigned char* p = device_spki->data();
  EVP_PKEY* device_public = d2i_PUBKEY(nullptr, &p, static_cast<long>(device_spki->size()));
  ASSERT_NE(device_public, nullptr);
  EVP_PKEY_CTX* derive = EVP_PKEY_CTX_new(server_key, nullptr);
  ASSERT_EQ(EVP_PKEY_derive_init(derive), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(derive, device_public), 1);
  std::vector<uint8_t> shared(32);
  size_t shared_len = shared.size();
  ASSERT_EQ(EVP_PKEY_derive(derive, shared.data(), &shared_len), 1);
  EVP_PKEY_CTX_free(derive);
  EVP_PKEY_free(device_public);
  EVP_PKEY_free(server_key);

  // info = "custos telemetry" 0 device_id 0 SHA-256(device_spki) SHA-256(custosd_spki).
  std::vector<uint8_t> info = Bytes("custos telemetry");
  info.push_back(0);
  for (char c : device_id) info.push_back(static_cast<uint8_t>(c));
  info.push_back(0);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(device_spki->data(), device_spki->size(), digest);
  info.insert(info.end(), digest, digest + sizeof(digest));
  SHA256(server_spki.data(), server_spki.size(), digest);
  info.insert(info.end(), digest, digest + sizeof(digest));
  std::string salt = "custos-telemetry-v1";
  std::vector<uint8_t> key(16);
  EVP_KDF* hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* kdf = EVP_KDF_CTX_new(hkdf);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared.data(), shared_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  ASSERT_EQ(EVP_KDF_derive(kdf, key.data(), key.size(), params), 1);
  EVP_KDF_CTX_free(kdf);
  EVP_KDF_free(hkdf);

  // key id = first 4 bytes of SHA-256(device_spki || custosd_spki).
  std::vector<uint8_t> both = *device_spki;
  both.insert(both.end(), server_spki.begin(), server_spki.end());
  SHA256(both.data(), both.size(), digest);
  const uint32_t key_id = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                          (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  EXPECT_EQ(channel->key_id(), key_id);

  // Envelope: 1 | 0x0001 | key id | 16 | nonce | ciphertext || tag; AD = header || topic.
  ASSERT_GE(sealed->size(), 40u);
  EXPECT_EQ((*sealed)[0], 1);
  EXPECT_EQ((*sealed)[1], 0x00);
  EXPECT_EQ((*sealed)[2], 0x01);
  EXPECT_EQ(((*sealed)[3] << 24 | (*sealed)[4] << 16 | (*sealed)[5] << 8 | (*sealed)[6]),
            static_cast<int>(key_id));
  EXPECT_EQ((*sealed)[7], 16);
  auto aead = lwc::NewAsconAead128(key);
  ASSERT_THAT(aead.status(), IsOk());
  std::vector<uint8_t> ad(sealed->begin(), sealed->begin() + 24);
  ad.insert(ad.end(), topic.begin(), topic.end());
  auto opened = (*aead)->Open(std::span<const uint8_t>(sealed->data() + 8, 16), ad,
                              std::span<const uint8_t>(sealed->data() + 24, sealed->size() - 24));
  ASSERT_THAT(opened.status(), IsOk());
  EXPECT_EQ(*opened, Bytes("hello custosd"));
}

TEST(TelemetryMessageTest, RoundTrips) {
  TelemetryMessage message;
  message.type = "report";
  message.device = "dev-9";
  message.seq = 12345678901ULL;
  message.sent_us = 1764000000123456;
  message.profile = "hub";
  message.values = {{"temperature_c", 21.5}, {"readings", {1, 2, 3}}};
  std::string json = TelemetryMessageToJson(message);
  auto parsed = ParseTelemetryMessage(json);
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->type, "report");
  EXPECT_EQ(parsed->device, "dev-9");
  EXPECT_EQ(parsed->seq, 12345678901ULL);
  EXPECT_EQ(parsed->sent_us, 1764000000123456);
  EXPECT_EQ(parsed->profile, "hub");
  EXPECT_EQ(parsed->values, message.values);
}

TEST(TelemetryMessageTest, RejectsBadMessagesWithClearErrors) {
  struct Case {
    std::string json;
    std::string error;
  };
  const std::string ok_tail = R"("device":"d1","seq":1,"sent_us":5,"values":{}})";
  const std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {"[1]", "object"},
      {R"({"v":2,"type":"telemetry",)" + ok_tail, "\"v\""},
      {R"({"type":"telemetry",)" + ok_tail, "\"v\""},
      {R"({"v":1,"type":"other",)" + ok_tail, "\"type\""},
      {R"({"v":1,"type":"telemetry","device":"a/b","seq":1,"sent_us":5})", "device"},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":0,"sent_us":5})", "\"seq\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":-3,"sent_us":5})", "\"seq\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":1.5,"sent_us":5})", "\"seq\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":"1","sent_us":5})", "\"seq\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":1})", "\"sent_us\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":1,"sent_us":5,"values":[]})", "\"values\""},
      {R"({"v":1,"type":"telemetry","device":"d1","seq":1,"sent_us":5,"profile":7})",
       "\"profile\""},
      {std::string(kMaxTelemetryPlaintextBytes + 1, ' '), "exceeds"},
      {std::string(100, '[') + std::string(100, ']'), "deeper"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseTelemetryMessage(c.json).status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.json.substr(0, 80);
  }
  // Unknown extra fields are ignored; profile and values are optional.
  EXPECT_THAT(
      ParseTelemetryMessage(R"({"v":1,"type":"telemetry","device":"d1","seq":1,"sent_us":5,"x":1})")
          .status(),
      IsOk());
}

TEST(CommandMessageTest, RoundTripsAndRejectsBadCommands) {
  auto id = NewCommandId();
  ASSERT_THAT(id.status(), IsOk());
  EXPECT_EQ(id->size(), 32u);
  CommandMessage command{*id, "rotate", 1764000000000};
  auto parsed = ParseCommandMessage(CommandMessageToJson(command));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->id, *id);
  EXPECT_EQ(parsed->command, "rotate");
  EXPECT_EQ(parsed->issued_ms, 1764000000000);

  const std::string good_id = std::string(32, 'a');
  EXPECT_THAT(ParseCommandMessage(R"({"v":1,"id":"abc","command":"rotate","issued_ms":1})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"id\"")));
  EXPECT_THAT(ParseCommandMessage(R"({"v":1,"id":")" + std::string(32, 'A') +
                                  R"(","command":"rotate","issued_ms":1})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"id\"")));
  EXPECT_THAT(
      ParseCommandMessage(R"({"v":1,"id":")" + good_id + R"(","command":"reboot","issued_ms":1})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"command\"")));
  EXPECT_THAT(
      ParseCommandMessage(R"({"v":3,"id":")" + good_id + R"(","command":"rotate","issued_ms":1})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"v\"")));
  EXPECT_THAT(ParseCommandMessage(R"({"v":1,"id":")" + good_id + R"(","command":"report"})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("\"issued_ms\"")));
  EXPECT_THAT(ParseCommandMessage("{"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::net
