// HMAC as a construction, over a test-only hash. The RFC 4231 HMAC-SHA-256
// vectors need OpenSSL's SHA-256 and live in custos/crypto/openssl_hash_test.cpp.
#include "custos/lwc/hmac.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

// A stand-in hash with any block and digest size: FNV-1a over the input,
// expanded with splitmix64. Not cryptographic; HMAC only needs a function of
// the whole input that the test can also compute in one shot.
class ToyHash final : public Hash {
 public:
  ToyHash(std::size_t block_size, std::size_t digest_size)
      : block_size_(block_size), digest_size_(digest_size) {}

  std::size_t digest_size() const override { return digest_size_; }
  std::size_t block_size() const override { return block_size_; }
  void Reset() override {
    state_ = kOffset;
    length_ = 0;
  }
  void Update(std::span<const uint8_t> data) override {
    for (uint8_t b : data) state_ = (state_ ^ b) * kPrime;
    length_ += data.size();
  }
  std::unique_ptr<Hash> Clone() const override { return std::make_unique<ToyHash>(*this); }

  static std::vector<uint8_t> Of(std::size_t block_size, std::size_t digest_size,
                                 const std::vector<uint8_t>& data) {
    ToyHash hash(block_size, digest_size);
    hash.Update(data);
    return hash.Final();
  }

 protected:
  void DoFinal(std::span<uint8_t> digest) override {
    uint64_t x = state_ ^ (length_ * 0x9e3779b97f4a7c15u);
    for (uint8_t& out : digest) {
      x += 0x9e3779b97f4a7c15u;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
      out = static_cast<uint8_t>(z ^ (z >> 31));
    }
    Reset();
  }

 private:
  static constexpr uint64_t kOffset = 0xcbf29ce484222325u;
  static constexpr uint64_t kPrime = 0x100000001b3u;
  std::size_t block_size_;
  std::size_t digest_size_;
  uint64_t state_ = kOffset;
  uint64_t length_ = 0;
};

std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 3;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::unique_ptr<Mac> MakeHmac(std::size_t block_size, std::size_t digest_size,
                              const std::vector<uint8_t>& key) {
  StatusOr<std::unique_ptr<Mac>> mac =
      NewHmac(std::make_unique<ToyHash>(block_size, digest_size), key);
  EXPECT_THAT(mac, IsOk());
  return mac.ok() ? *std::move(mac) : nullptr;
}

std::vector<uint8_t> Tag(std::size_t block_size, std::size_t digest_size,
                         const std::vector<uint8_t>& key, const std::vector<uint8_t>& message) {
  std::unique_ptr<Mac> mac = MakeHmac(block_size, digest_size, key);
  if (mac == nullptr) return {};
  mac->Update(message);
  return mac->Final();
}

// RFC 2104, section 2, written out with the pad length `pad`.
std::vector<uint8_t> ReferenceHmac(std::size_t block_size, std::size_t digest_size, std::size_t pad,
                                   std::vector<uint8_t> key, const std::vector<uint8_t>& message) {
  if (key.size() > pad) key = ToyHash::Of(block_size, digest_size, key);
  key.resize(pad, 0);
  std::vector<uint8_t> inner;
  std::vector<uint8_t> outer;
  for (uint8_t k : key) {
    inner.push_back(k ^ 0x36);
    outer.push_back(k ^ 0x5c);
  }
  inner.insert(inner.end(), message.begin(), message.end());
  const std::vector<uint8_t> inner_digest = ToyHash::Of(block_size, digest_size, inner);
  outer.insert(outer.end(), inner_digest.begin(), inner_digest.end());
  return ToyHash::Of(block_size, digest_size, outer);
}

TEST(HmacTest, MatchesRfc2104Definition) {
  int count = 0;
  for (std::size_t key_length : {0, 1, 20, 32, 63, 64, 65, 100, 200}) {
    for (std::size_t message_length : {0, 1, 55, 64, 65, 300}) {
      const std::vector<uint8_t> key = TestBytes(key_length, 1);
      const std::vector<uint8_t> message = TestBytes(message_length, 2);
      EXPECT_EQ(Tag(64, 32, key, message), ReferenceHmac(64, 32, 64, key, message))
          << "key " << key_length << " message " << message_length;
      ++count;
    }
  }
  EXPECT_EQ(count, 54);
}

TEST(HmacTest, TagIsOneDigest) {
  EXPECT_EQ(MakeHmac(64, 32, {})->tag_size(), 32u);
  EXPECT_EQ(MakeHmac(136, 32, {})->tag_size(), 32u);
  EXPECT_EQ(MakeHmac(128, 64, {})->tag_size(), 64u);
}

TEST(HmacTest, KeyLongerThanTheBlockIsHashedFirst) {
  const std::vector<uint8_t> message = TestBytes(10, 4);
  for (std::size_t key_length : {65, 130, 1000}) {
    const std::vector<uint8_t> key = TestBytes(key_length, 5);
    EXPECT_EQ(Tag(64, 32, key, message), Tag(64, 32, ToyHash::Of(64, 32, key), message))
        << key_length;
  }
}

TEST(HmacTest, KeyOfExactlyOneBlockIsNotHashed) {
  const std::vector<uint8_t> key = TestBytes(64, 6);
  const std::vector<uint8_t> message = TestBytes(10, 7);
  EXPECT_NE(Tag(64, 32, key, message), Tag(64, 32, ToyHash::Of(64, 32, key), message));
}

TEST(HmacTest, ShortKeyIsZeroPadded) {
  const std::vector<uint8_t> message = TestBytes(10, 8);
  for (std::size_t key_length : {0, 16, 63}) {
    std::vector<uint8_t> key = TestBytes(key_length, 9);
    std::vector<uint8_t> padded = key;
    padded.push_back(0);
    EXPECT_EQ(Tag(64, 32, key, message), Tag(64, 32, padded, message)) << key_length;
  }
}

TEST(HmacTest, SmallRateHashWidensThePadToHoldADigest) {
  // Block 8 (an Ascon-like rate), digest 32: the pad is 32 bytes.
  const std::vector<uint8_t> message = TestBytes(50, 10);
  for (std::size_t key_length : {0, 8, 9, 31, 32, 33, 80}) {
    const std::vector<uint8_t> key = TestBytes(key_length, 11);
    EXPECT_EQ(Tag(8, 32, key, message), ReferenceHmac(8, 32, 32, key, message)) << key_length;
  }
  // Block 12, digest 32: the pad is the next multiple of the block, 36.
  for (std::size_t key_length : {20, 36, 37}) {
    const std::vector<uint8_t> key = TestBytes(key_length, 12);
    EXPECT_EQ(Tag(12, 32, key, message), ReferenceHmac(12, 32, 36, key, message)) << key_length;
  }
}

TEST(HmacTest, IncrementalEqualsOneShot) {
  std::unique_ptr<Mac> mac = MakeHmac(64, 32, TestBytes(20, 13));
  const std::vector<uint8_t> message = TestBytes(200, 14);
  mac->Update(message);
  const std::vector<uint8_t> one_shot = mac->Final();
  for (std::size_t chunk : {1, 3, 7, 63, 64, 65, 199}) {
    for (std::size_t i = 0; i < message.size(); i += chunk) {
      mac->Update(
          std::span<const uint8_t>(message).subspan(i, std::min(chunk, message.size() - i)));
      mac->Update({});
    }
    EXPECT_EQ(mac->Final(), one_shot) << chunk;
  }
}

TEST(HmacTest, FinalResetsAndResetForgetsInput) {
  std::unique_ptr<Mac> mac = MakeHmac(64, 32, TestBytes(20, 15));
  const std::vector<uint8_t> message = TestBytes(30, 16);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  mac->Update(message);
  EXPECT_EQ(mac->Final(), tag);
  mac->Update(TestBytes(5, 17));
  mac->Reset();
  mac->Update(message);
  EXPECT_EQ(mac->Final(), tag);
}

TEST(HmacTest, DiscardsThePriorStateOfTheHash) {
  auto used = std::make_unique<ToyHash>(64, 32);
  used->Update(TestBytes(40, 18));
  const std::vector<uint8_t> key = TestBytes(16, 19);
  StatusOr<std::unique_ptr<Mac>> mac = NewHmac(std::move(used), key);
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ((*mac)->Final(), Tag(64, 32, key, {}));
}

TEST(HmacTest, VerifyAcceptsFullAndTruncatedTags) {
  std::unique_ptr<Mac> mac = MakeHmac(64, 32, TestBytes(20, 20));
  const std::vector<uint8_t> message = TestBytes(30, 21);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  for (std::size_t length = 4; length <= tag.size(); ++length) {
    mac->Update(message);
    EXPECT_THAT(mac->Verify(std::span<const uint8_t>(tag).first(length)), IsOk()) << length;
  }
}

TEST(HmacTest, VerifyRejectsWrongOrShortTags) {
  std::unique_ptr<Mac> mac = MakeHmac(64, 32, TestBytes(20, 22));
  const std::vector<uint8_t> message = TestBytes(30, 23);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  std::vector<uint8_t> bad = tag;
  bad[31] ^= 0x80;
  mac->Update(message);
  EXPECT_THAT(mac->Verify(bad), StatusIs(StatusCode::kUnauthenticated));
  mac->Update(message);
  EXPECT_THAT(mac->Verify(std::span<const uint8_t>(tag).first(3)),
              StatusIs(StatusCode::kUnauthenticated));
  mac->Update(TestBytes(29, 23));
  EXPECT_THAT(mac->Verify(tag), StatusIs(StatusCode::kUnauthenticated));
  mac->Update(message);
  EXPECT_THAT(mac->Verify(tag), IsOk());
}

TEST(HmacTest, DifferentKeysGiveDifferentTags) {
  const std::vector<uint8_t> message = TestBytes(30, 24);
  EXPECT_NE(Tag(64, 32, TestBytes(16, 25), message), Tag(64, 32, TestBytes(16, 26), message));
}

TEST(HmacTest, RejectsNullHash) {
  EXPECT_THAT(NewHmac(nullptr, TestBytes(16, 27)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("null")));
}

TEST(HmacTest, RejectsHashWithoutBlock) {
  EXPECT_THAT(NewHmac(std::make_unique<ToyHash>(0, 32), TestBytes(16, 28)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("block")));
}

}  // namespace
}  // namespace custos::lwc
