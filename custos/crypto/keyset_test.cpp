#include "custos/crypto/keyset.h"

#include <string>
#include <string_view>

#include "custos/core/ct.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/default_registry.h"
#include "testing/status_matchers.h"

namespace custos::crypto {
namespace {

using ::custos::testing::DefaultRegistry;
using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

// A keyset's JSON: primary key `primary_key_id` and the entries `keys`.
std::string KeysetJson(int primary_key_id, std::string_view keys) {
  return R"({"version":1,"primary_key_id":)" + std::to_string(primary_key_id) + R"(,"keys":[)" +
         std::string(keys) + "]}";
}

// One entry of a keyset's "keys", with key id 1.
std::string KeyJson(std::string_view algorithm, std::string_view status, std::string_view key_hex) {
  return R"({"key_id":1,"algorithm":")" + std::string(algorithm) + R"(","status":")" +
         std::string(status) + R"(","key":")" + std::string(key_hex) + R"("})";
}

constexpr char kKeyHex[] = "000102030405060708090a0b0c0d0e0f";

TEST(KeysetTest, GenerateRotateAndJsonRoundTrip) {
  auto registry = DefaultRegistry();
  auto keyset = Keyset::Generate("ascon-aead128", *registry);
  ASSERT_THAT(keyset, IsOk());
  ASSERT_EQ(keyset->keys().size(), 1u);
  EXPECT_EQ(keyset->keys()[0].key.size(), 16u);
  const uint32_t first = keyset->primary_key_id();
  ASSERT_THAT(keyset->Rotate("chacha20-poly1305", *registry), IsOk());
  EXPECT_NE(keyset->primary_key_id(), first);
  ASSERT_THAT(keyset->Disable(first), IsOk());
  EXPECT_THAT(keyset->Disable(keyset->primary_key_id()), StatusIs(StatusCode::kFailedPrecondition));

  auto parsed = Keyset::FromJson(keyset->ToJson(), *registry);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->primary_key_id(), keyset->primary_key_id());
  ASSERT_EQ(parsed->keys().size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parsed->keys()[i].key_id, keyset->keys()[i].key_id);
    EXPECT_EQ(parsed->keys()[i].algorithm, keyset->keys()[i].algorithm);
    EXPECT_EQ(parsed->keys()[i].status, keyset->keys()[i].status);
    EXPECT_TRUE(CtEqual(parsed->keys()[i].key.span(), keyset->keys()[i].key.span()));
  }
}

TEST(KeysetTest, RejectsBadKeysetsNamingTheField) {
  auto registry = DefaultRegistry();
  const std::string ascon_key = KeyJson("ascon-aead128", "enabled", kKeyHex);
  struct Case {
    std::string json;
    const char* expected;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"version":2,"primary_key_id":1,"keys":[]})", "version"},
      {R"({"version":1,"keys":[]})", "primary_key_id"},
      {KeysetJson(1, ""), "keys"},
      {KeysetJson(1, KeyJson("sha256", "enabled", "00")), "not an AEAD"},
      {KeysetJson(1, KeyJson("ascon-aead128", "enabled", "0011")), "must be 16 bytes"},
      {KeysetJson(1, KeyJson("ascon-aead128", "enabled", "zz")), "keys[0].key"},
      {KeysetJson(2, ascon_key), "names no key"},
      {KeysetJson(1, KeyJson("ascon-aead128", "lost", kKeyHex)), "status"},
      {KeysetJson(1, ascon_key + "," + ascon_key), "appears twice"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Keyset::FromJson(c.json, *registry),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.expected)))
        << c.json;
  }
}

TEST(KeysetTest, RawKeyHasIdZeroAndIsChecked) {
  auto registry = DefaultRegistry();
  std::vector<uint8_t> key(16, 7);
  auto keyset = Keyset::FromRawKey("gift-cofb", key, *registry);
  ASSERT_THAT(keyset, IsOk());
  EXPECT_EQ(keyset->primary_key_id(), 0u);
  EXPECT_THAT(Keyset::FromRawKey("gift-cofb", std::vector<uint8_t>(5), *registry),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::crypto
