#include "custos/lwc/spongent.h"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "custos/core/kat_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;

constexpr std::array<SpongentVariant, 5> kAllVariants = {
    SpongentVariant::k88, SpongentVariant::k128, SpongentVariant::k160, SpongentVariant::k224,
    SpongentVariant::k256};

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "line " << record.line() << " field " << name;
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

int64_t Int(const KatRecord& record, std::string_view name) {
  StatusOr<int64_t> value = record.GetInt(name);
  EXPECT_THAT(value, IsOk()) << "line " << record.line() << " field " << name;
  return value.ok() ? *value : -1;
}

std::vector<uint8_t> OneShot(SpongentVariant variant, std::span<const uint8_t> message) {
  std::unique_ptr<Hash> hash = NewSpongent(variant);
  hash->Update(message);
  return hash->Final();
}

std::vector<uint8_t> TestMessage(std::size_t length) {
  std::vector<uint8_t> message(length);
  for (std::size_t i = 0; i < length; ++i) message[i] = static_cast<uint8_t>(31 * i + 7);
  return message;
}

// The five CHES 2011 vectors; the record's n/c/r fields pick the variant.
TEST(SpongentTest, MatchesPaperVectors) {
  int count = 0;
  for (const KatRecord& record :
       LoadKat("kat/spongent/spongent_test_vectors.txt", KatFormat::kKeyValue)) {
    const int64_t n = Int(record, "n");
    SpongentVariant variant;
    switch (n) {
      case 88:
        variant = SpongentVariant::k88;
        break;
      case 128:
        variant = SpongentVariant::k128;
        break;
      case 160:
        variant = SpongentVariant::k160;
        break;
      case 224:
        variant = SpongentVariant::k224;
        break;
      case 256:
        variant = SpongentVariant::k256;
        break;
      default:
        ADD_FAILURE() << "unexpected n = " << n << " at line " << record.line();
        continue;
    }
    std::unique_ptr<Hash> hash = NewSpongent(variant);
    EXPECT_EQ(static_cast<int64_t>(hash->digest_size()) * 8, n);
    EXPECT_EQ(static_cast<int64_t>(hash->block_size()) * 8, Int(record, "r"));
    hash->Update(Bytes(record, "Msg"));
    EXPECT_EQ(hash->Final(), Bytes(record, "MD")) << "line " << record.line();
    ++count;
  }
  EXPECT_EQ(count, 5);
}

// Feeding a message in odd-sized pieces gives the one-shot digest, for
// lengths around every block boundary.
TEST(SpongentTest, IncrementalUpdatesInOddChunksEqualOneShot) {
  for (SpongentVariant variant : kAllVariants) {
    for (std::size_t length = 0; length <= 41; ++length) {
      const std::vector<uint8_t> message = TestMessage(length);
      const std::vector<uint8_t> expected = OneShot(variant, message);
      for (std::size_t chunk : {1, 3, 5, 7}) {
        std::unique_ptr<Hash> hash = NewSpongent(variant);
        std::span<const uint8_t> rest(message);
        while (!rest.empty()) {
          const std::size_t take = std::min(chunk, rest.size());
          hash->Update(rest.first(take));
          hash->Update({});  // empty updates change nothing
          rest = rest.subspan(take);
        }
        EXPECT_EQ(hash->Final(), expected) << "length " << length << " chunk " << chunk;
      }
    }
  }
}

// A clone carries the absorbed input and evolves independently.
TEST(SpongentTest, CloneCopiesState) {
  for (SpongentVariant variant : kAllVariants) {
    const std::vector<uint8_t> message = TestMessage(23);
    std::unique_ptr<Hash> hash = NewSpongent(variant);
    hash->Update(std::span<const uint8_t>(message).first(11));
    std::unique_ptr<Hash> clone = hash->Clone();
    ASSERT_NE(clone, nullptr);
    EXPECT_EQ(clone->digest_size(), hash->digest_size());
    clone->Update(std::span<const uint8_t>(message).subspan(11));
    EXPECT_EQ(clone->Final(), OneShot(variant, message));
    // The original did not see the clone's input.
    EXPECT_EQ(hash->Final(), OneShot(variant, std::span<const uint8_t>(message).first(11)));
  }
}

// Final and Reset both return to the initial state.
TEST(SpongentTest, FinalAndResetStartAFreshMessage) {
  for (SpongentVariant variant : kAllVariants) {
    const std::vector<uint8_t> empty_digest = OneShot(variant, {});
    const std::vector<uint8_t> message = TestMessage(5);
    std::unique_ptr<Hash> hash = NewSpongent(variant);
    hash->Update(message);
    const std::vector<uint8_t> digest = hash->Final();
    EXPECT_NE(digest, empty_digest);
    EXPECT_EQ(hash->Final(), empty_digest);
    hash->Update(message);
    hash->Reset();
    EXPECT_EQ(hash->Final(), empty_digest);
    hash->Update(message);
    EXPECT_EQ(hash->Final(), digest);
  }
}

// Messages that differ only in padding-sensitive ways hash differently, and
// the variants are different functions.
TEST(SpongentTest, DistinguishesPaddingLikeMessagesAndVariants) {
  std::vector<std::vector<uint8_t>> digests;
  for (SpongentVariant variant : kAllVariants) {
    const std::vector<uint8_t> empty = OneShot(variant, {});
    const std::vector<uint8_t> zero = OneShot(variant, std::vector<uint8_t>{0x00});
    const std::vector<uint8_t> pad = OneShot(variant, std::vector<uint8_t>{0x80});
    EXPECT_NE(empty, zero);
    EXPECT_NE(empty, pad);
    EXPECT_NE(zero, pad);
    digests.push_back(empty);
  }
  for (std::size_t i = 0; i < digests.size(); ++i) {
    for (std::size_t j = i + 1; j < digests.size(); ++j) EXPECT_NE(digests[i], digests[j]);
  }
}

TEST(SpongentTest, FinalIntoRejectsWrongDigestSize) {
  for (SpongentVariant variant : kAllVariants) {
    std::unique_ptr<Hash> hash = NewSpongent(variant);
    const std::vector<uint8_t> message = TestMessage(9);
    hash->Update(message);
    std::vector<uint8_t> too_small(hash->digest_size() - 1);
    EXPECT_THAT(hash->FinalInto(too_small), StatusIs(StatusCode::kInvalidArgument));
    // The failed call changed nothing.
    std::vector<uint8_t> digest(hash->digest_size());
    EXPECT_THAT(hash->FinalInto(digest), IsOk());
    EXPECT_EQ(digest, OneShot(variant, message));
  }
}

}  // namespace
}  // namespace custos::lwc
