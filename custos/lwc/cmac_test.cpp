// CMAC over the lwc ciphers. The vector tests (AES-CMAC from NIST CAVS and
// RFC 4493, 3DES-CMAC) need OpenSSL and live in custos/crypto/aes_test.cpp;
// here CMAC-SPECK64/128 and CMAC-SPECK128/128 are checked against a plain
// transcription of SP 800-38B, section 6.
#include "custos/lwc/cmac.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "custos/lwc/speck.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 7;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::unique_ptr<BlockCipher> MakeSpeck(int block_bits, int key_bits, uint32_t seed) {
  StatusOr<std::unique_ptr<BlockCipher>> cipher =
      NewSpeck(block_bits, key_bits, TestBytes(key_bits / 8, seed));
  EXPECT_THAT(cipher, IsOk());
  return cipher.ok() ? *std::move(cipher) : nullptr;
}

std::unique_ptr<Mac> MakeCmac(int block_bits, uint32_t seed) {
  StatusOr<std::unique_ptr<Mac>> mac = NewCmac(MakeSpeck(block_bits, 128, seed));
  EXPECT_THAT(mac, IsOk());
  return mac.ok() ? *std::move(mac) : nullptr;
}

// SP 800-38B as written: subkeys with a branch on the top bit, the message
// split into blocks, the last one masked with K1 or padded and masked with K2.
std::vector<uint8_t> ReferenceCmac(const BlockCipher& cipher, const std::vector<uint8_t>& message) {
  const std::size_t n = cipher.block_size();
  const uint8_t rb = n == 8 ? 0x1B : 0x87;
  auto dbl = [&](const std::vector<uint8_t>& x) {
    std::vector<uint8_t> y(n);
    for (std::size_t i = 0; i < n; ++i) {
      y[i] = static_cast<uint8_t>(x[i] << 1);
      if (i + 1 < n && (x[i + 1] & 0x80) != 0) y[i] |= 1;
    }
    if ((x[0] & 0x80) != 0) y[n - 1] ^= rb;
    return y;
  };
  std::vector<uint8_t> l(n, 0);
  EXPECT_THAT(cipher.EncryptBlock(l, l), IsOk());
  const std::vector<uint8_t> k1 = dbl(l);
  const std::vector<uint8_t> k2 = dbl(k1);
  const std::size_t blocks = message.empty() ? 1 : (message.size() + n - 1) / n;
  const bool complete = !message.empty() && message.size() % n == 0;
  std::vector<uint8_t> last(n, 0);
  const std::size_t last_start = (blocks - 1) * n;
  for (std::size_t i = 0; last_start + i < message.size(); ++i) last[i] = message[last_start + i];
  if (!complete) last[message.size() - last_start] = 0x80;
  for (std::size_t i = 0; i < n; ++i) last[i] ^= complete ? k1[i] : k2[i];
  std::vector<uint8_t> c(n, 0);
  for (std::size_t b = 0; b + 1 < blocks; ++b) {
    for (std::size_t i = 0; i < n; ++i) c[i] ^= message[b * n + i];
    EXPECT_THAT(cipher.EncryptBlock(c, c), IsOk());
  }
  for (std::size_t i = 0; i < n; ++i) c[i] ^= last[i];
  EXPECT_THAT(cipher.EncryptBlock(c, c), IsOk());
  return c;
}

TEST(CmacTest, MatchesSp80038bForSpeck64And128) {
  int count = 0;
  for (int block_bits : {64, 128}) {
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      std::unique_ptr<BlockCipher> reference = MakeSpeck(block_bits, 128, seed);
      std::unique_ptr<Mac> mac = MakeCmac(block_bits, seed);
      ASSERT_NE(mac, nullptr);
      for (std::size_t length = 0; length <= 5 * 16 + 3; ++length) {
        SCOPED_TRACE(std::to_string(block_bits) + "-bit block, length " + std::to_string(length));
        const std::vector<uint8_t> message = TestBytes(length, seed * 1000 + length);
        mac->Update(message);
        EXPECT_EQ(mac->Final(), ReferenceCmac(*reference, message));
        ++count;
      }
    }
  }
  EXPECT_EQ(count, 2 * 4 * 84);
}

TEST(CmacTest, TagIsOneBlock) {
  EXPECT_EQ(MakeCmac(64, 1)->tag_size(), 8u);
  EXPECT_EQ(MakeCmac(128, 1)->tag_size(), 16u);
}

TEST(CmacTest, IncrementalEqualsOneShotAtEverySplit) {
  for (int block_bits : {64, 128}) {
    std::unique_ptr<Mac> mac = MakeCmac(block_bits, 7);
    const std::vector<uint8_t> message = TestBytes(3 * 16 + 5, 99);
    for (std::size_t length = 0; length <= message.size(); ++length) {
      std::span<const uint8_t> prefix = std::span<const uint8_t>(message).first(length);
      mac->Update(prefix);
      const std::vector<uint8_t> one_shot = mac->Final();
      for (std::size_t split = 0; split <= length; ++split) {
        mac->Update(prefix.first(split));
        mac->Update(prefix.subspan(split));
        ASSERT_EQ(mac->Final(), one_shot) << "length " << length << " split " << split;
      }
      // Odd chunks, including empty updates.
      for (std::size_t i = 0; i < length; i += 3) {
        mac->Update({});
        mac->Update(prefix.subspan(i, std::min<std::size_t>(3, length - i)));
      }
      ASSERT_EQ(mac->Final(), one_shot) << "length " << length << " in 3-byte chunks";
    }
  }
}

TEST(CmacTest, FinalResetsAndResetForgetsInput) {
  std::unique_ptr<Mac> mac = MakeCmac(128, 3);
  const std::vector<uint8_t> message = TestBytes(40, 5);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  mac->Update(message);
  EXPECT_EQ(mac->Final(), tag);
  mac->Update(TestBytes(17, 6));
  mac->Reset();
  mac->Update(message);
  EXPECT_EQ(mac->Final(), tag);
}

TEST(CmacTest, CompleteAndPaddedLastBlocksDiffer) {
  // Message 80 00 .. 00 (one full block, K1) versus the empty message (padded
  // to that same block, K2): the two subkeys keep them apart.
  for (int block_bits : {64, 128}) {
    std::unique_ptr<Mac> mac = MakeCmac(block_bits, 11);
    std::vector<uint8_t> padded(block_bits / 8, 0);
    padded[0] = 0x80;
    const std::vector<uint8_t> empty_tag = mac->Final();
    mac->Update(padded);
    EXPECT_NE(mac->Final(), empty_tag);
  }
}

TEST(CmacTest, VerifyAcceptsFullAndTruncatedTags) {
  std::unique_ptr<Mac> mac = MakeCmac(128, 21);
  const std::vector<uint8_t> message = TestBytes(33, 8);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  for (std::size_t length = 4; length <= tag.size(); ++length) {
    mac->Update(message);
    EXPECT_THAT(mac->Verify(std::span<const uint8_t>(tag).first(length)), IsOk()) << length;
  }
}

TEST(CmacTest, VerifyRejectsWrongOrShortTags) {
  std::unique_ptr<Mac> mac = MakeCmac(64, 22);
  const std::vector<uint8_t> message = TestBytes(19, 9);
  mac->Update(message);
  const std::vector<uint8_t> tag = mac->Final();
  for (std::size_t byte = 0; byte < tag.size(); ++byte) {
    std::vector<uint8_t> bad = tag;
    bad[byte] ^= 0x01;
    mac->Update(message);
    EXPECT_THAT(mac->Verify(bad), StatusIs(StatusCode::kUnauthenticated)) << byte;
  }
  mac->Update(message);
  EXPECT_THAT(mac->Verify(std::span<const uint8_t>(tag).first(3)),
              StatusIs(StatusCode::kUnauthenticated));
  std::vector<uint8_t> longer = tag;
  longer.push_back(0);
  mac->Update(message);
  EXPECT_THAT(mac->Verify(longer), StatusIs(StatusCode::kUnauthenticated));
  mac->Update(TestBytes(18, 9));
  EXPECT_THAT(mac->Verify(tag), StatusIs(StatusCode::kUnauthenticated));
  // Verify reset the state each time: the right message verifies again.
  mac->Update(message);
  EXPECT_THAT(mac->Verify(tag), IsOk());
}

TEST(CmacTest, FinalIntoChecksTheBufferSize) {
  std::unique_ptr<Mac> mac = MakeCmac(128, 2);
  std::vector<uint8_t> short_tag(15);
  std::vector<uint8_t> long_tag(17);
  EXPECT_THAT(mac->FinalInto(short_tag), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(mac->FinalInto(long_tag), StatusIs(StatusCode::kInvalidArgument));
  std::vector<uint8_t> tag(16);
  EXPECT_THAT(mac->FinalInto(tag), IsOk());
  EXPECT_EQ(tag, mac->Final());
}

TEST(CmacTest, DifferentKeysGiveDifferentTags) {
  std::unique_ptr<Mac> a = MakeCmac(128, 31);
  std::unique_ptr<Mac> b = MakeCmac(128, 32);
  EXPECT_NE(a->Final(), b->Final());
}

TEST(CmacTest, RejectsNullCipher) {
  EXPECT_THAT(NewCmac(nullptr), StatusIs(StatusCode::kInvalidArgument, HasSubstr("null")));
}

TEST(CmacTest, RejectsBlocksOtherThan64Or128Bits) {
  const std::pair<int, int> sizes[] = {{32, 64}, {48, 72}, {96, 96}};
  for (const auto& [block_bits, key_bits] : sizes) {
    EXPECT_THAT(NewCmac(MakeSpeck(block_bits, key_bits, 1)),
                StatusIs(StatusCode::kInvalidArgument,
                         HasSubstr(std::to_string(block_bits) + "-bit block")));
  }
}

}  // namespace
}  // namespace custos::lwc
