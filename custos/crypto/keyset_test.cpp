#include "custos/crypto/keyset.h"

#include "custos/core/ct.h"
#include "custos/crypto/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::crypto {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

std::shared_ptr<const lwc::AlgorithmRegistry> Registry() {
  auto registry = NewDefaultRegistry();
  EXPECT_THAT(registry, IsOk());
  return *registry;
}

TEST(KeysetTest, GenerateRotateAndJsonRoundTrip) {
  auto registry = Registry();
  auto keyset = Keyset::Generate("ascon-aead128", *registry);
  ASSERT_THAT(keyset, IsOk());
  ASSERT_EQ(keyset->keys().size(), 1u);
  EXPECT_EQ(keyset->keys()[0].key.size(), 16u);
  const uint32_t first = keyset->primary_key_id();
  ASSERT_THAT(keyset->Rotate("chacha20-poly1305", *registry), IsOk());
  EXPECT_NE(keyset->primary_key_id(), first);
  ASSERT_THAT(keyset->Disable(first), IsOk());
  EXPECT_THAT(keyset->Disable(keyset->primary_key_id()),
              StatusIs(StatusCode::kFailedPrecondition));

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
  auto registry = Registry();
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "JSON object"},
      {R"({"version":2,"primary_key_id":1,"keys":[]})", "version"},
      {R"({"version":1,"keys":[]})", "primary_key_id"},
      {R"({"version":1,"primary_key_id":1,"keys":[]})", "keys"},
      {R"({"version":1,"primary_key_id":1,"keys":[{"key_id":1,"algorithm":"sha256",
          "status":"enabled","key":"00"}]})",
       "not an AEAD"},
      {R"({"version":1,"primary_key_id":1,"keys":[{"key_id":1,"algorithm":"ascon-aead128",
          "status":"enabled","key":"0011"}]})",
       "must be 16 bytes"},
      {R"({"version":1,"primary_key_id":1,"keys":[{"key_id":1,"algorithm":"ascon-aead128",
          "status":"enabled","key":"zz"}]})",
       "keys[0].key"},
      {R"({"version":1,"primary_key_id":2,"keys":[{"key_id":1,"algorithm":"ascon-aead128",
          "status":"enabled","key":"000102030405060708090a0b0c0d0e0f"}]})",
       "names no key"},
      {R"({"version":1,"primary_key_id":1,"keys":[{"key_id":1,"algorithm":"ascon-aead128",
          "status":"lost","key":"000102030405060708090a0b0c0d0e0f"}]})",
       "status"},
      {R"({"version":1,"primary_key_id":1,"keys":[{"key_id":1,"algorithm":"ascon-aead128",
          "status":"enabled","key":"000102030405060708090a0b0c0d0e0f"},{"key_id":1,
          "algorithm":"ascon-aead128","status":"enabled","key":"000102030405060708090a0b0c0d0e0f"}]})",
       "appears twice"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Keyset::FromJson(c.json, *registry),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.expected)))
        << c.json;
  }
}

TEST(KeysetTest, RawKeyHasIdZeroAndIsChecked) {
  auto registry = Registry();
  std::vector<uint8_t> key(16, 7);
  auto keyset = Keyset::FromRawKey("gift-cofb", key, *registry);
  ASSERT_THAT(keyset, IsOk());
  EXPECT_EQ(keyset->primary_key_id(), 0u);
  EXPECT_THAT(Keyset::FromRawKey("gift-cofb", std::vector<uint8_t>(5), *registry),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::crypto
