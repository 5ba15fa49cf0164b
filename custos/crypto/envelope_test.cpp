#include "custos/crypto/envelope.h"

#include <memory>
#include <string_view>
#include <utility>

#include "custos/crypto/keyset.h"
#include "custos/lwc/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/default_registry.h"
#include "testing/status_matchers.h"

namespace custos::crypto {
namespace {

using ::custos::testing::DefaultRegistry;
using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

// A keyset holding one new key of `algorithm`, and an envelope over it.
struct KeyedEnvelope {
  Keyset keyset;
  EnvelopeAead envelope;
};

StatusOr<KeyedEnvelope> NewKeyedEnvelope(
    std::string_view algorithm, const std::shared_ptr<const lwc::AlgorithmRegistry>& registry) {
  CUSTOS_ASSIGN_OR_RETURN(Keyset keyset, Keyset::Generate(algorithm, *registry));
  CUSTOS_ASSIGN_OR_RETURN(EnvelopeAead envelope, EnvelopeAead::Create(keyset, registry));
  return KeyedEnvelope{std::move(keyset), std::move(envelope)};
}

const std::vector<uint8_t> kMessage = {'h', 'e', 'l', 'l', 'o'};
const std::vector<uint8_t> kAd = {'t', 'o', 'p', 'i', 'c'};

TEST(EnvelopeTest, LayoutIsAsDocumented) {
  auto keyed = NewKeyedEnvelope("ascon-aead128", DefaultRegistry());
  ASSERT_THAT(keyed, IsOk());
  auto sealed = keyed->envelope.Encrypt(kMessage, kAd);
  ASSERT_THAT(sealed, IsOk());
  ASSERT_EQ(sealed->size(), 8 + 16 + kMessage.size() + 16);
  auto view = ParseEnvelope(*sealed);
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->version, 1);
  EXPECT_EQ(view->algorithm_id, 0x0001);  // ascon-aead128
  EXPECT_EQ(view->key_id, keyed->keyset.primary_key_id());
  EXPECT_EQ(view->nonce.size(), 16u);
  EXPECT_EQ((*sealed)[7], 16);
}

TEST(EnvelopeTest, EveryAeadSealsAndOpensAndNoncesDiffer) {
  auto registry = DefaultRegistry();
  for (const lwc::AlgorithmInfo& info : registry->List()) {
    if (info.kind != lwc::AlgorithmKind::kAead) continue;
    auto keyed = NewKeyedEnvelope(info.name, registry);
    ASSERT_THAT(keyed, IsOk()) << info.name;
    const EnvelopeAead& envelope = keyed->envelope;
    auto a = envelope.Encrypt(kMessage, kAd);
    auto b = envelope.Encrypt(kMessage, kAd);
    ASSERT_THAT(a, IsOk());
    ASSERT_THAT(b, IsOk());
    EXPECT_NE(*a, *b) << info.name << ": nonces must be fresh";
    EXPECT_THAT(envelope.Decrypt(*a, kAd), IsOkAndHolds(kMessage)) << info.name;
  }
}

TEST(EnvelopeTest, OldMessagesOpenAfterRotation) {
  auto registry = DefaultRegistry();
  auto keyed = NewKeyedEnvelope("grain128-aead-v2", registry);
  ASSERT_THAT(keyed, IsOk());
  Keyset& keyset = keyed->keyset;
  auto old_message = keyed->envelope.Encrypt(kMessage, kAd);
  ASSERT_THAT(old_message, IsOk());
  ASSERT_THAT(keyset.Rotate("ascon-aead128", *registry), IsOk());
  auto after = EnvelopeAead::Create(keyset, registry);
  ASSERT_THAT(after, IsOk());
  EXPECT_THAT(after->Decrypt(*old_message, kAd), IsOkAndHolds(kMessage));
  auto new_message = after->Encrypt(kMessage, kAd);
  ASSERT_THAT(new_message, IsOk());
  EXPECT_EQ(ParseEnvelope(*new_message)->algorithm_id, 0x0001);
  // Disabling the old key retires its messages.
  const uint32_t old_id = ParseEnvelope(*old_message)->key_id;
  ASSERT_THAT(keyset.Disable(old_id), IsOk());
  auto retired = EnvelopeAead::Create(keyset, registry);
  ASSERT_THAT(retired, IsOk());
  EXPECT_THAT(retired->Decrypt(*old_message, kAd), StatusIs(StatusCode::kNotFound));
}

TEST(EnvelopeTest, EveryBitOfTheEnvelopeAndTheAdIsAuthenticated) {
  auto keyed = NewKeyedEnvelope("ascon-aead128", DefaultRegistry());
  ASSERT_THAT(keyed, IsOk());
  const EnvelopeAead& envelope = keyed->envelope;
  auto sealed = envelope.Encrypt(kMessage, kAd);
  ASSERT_THAT(sealed, IsOk());
  for (std::size_t i = 0; i < sealed->size() * 8; ++i) {
    std::vector<uint8_t> tampered = *sealed;
    tampered[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    EXPECT_FALSE(envelope.Decrypt(tampered, kAd).ok()) << "bit " << i;
  }
  EXPECT_THAT(envelope.Decrypt(*sealed, {}), StatusIs(StatusCode::kUnauthenticated));
}

TEST(EnvelopeTest, MalformedEnvelopesAreInvalidArgument) {
  auto keyed = NewKeyedEnvelope("ascon-aead128", DefaultRegistry());
  ASSERT_THAT(keyed, IsOk());
  EXPECT_THAT(keyed->envelope.Decrypt(std::vector<uint8_t>(3), {}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("header")));
  std::vector<uint8_t> bad_version = {9, 0, 1, 0, 0, 0, 0, 0};
  EXPECT_THAT(ParseEnvelope(bad_version),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("version 9")));
  std::vector<uint8_t> short_nonce = {1, 0, 1, 0, 0, 0, 0, 16, 1, 2};
  EXPECT_THAT(ParseEnvelope(short_nonce),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nonce")));
}

}  // namespace
}  // namespace custos::crypto
