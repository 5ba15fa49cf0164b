#include "custos/lwc/speck.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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
using ::testing::HasSubstr;

constexpr char kKatFile[] = "kat/speck/speck_eprint2013-404_appendix.txt";

constexpr std::pair<int, int> kSizes[] = {{32, 64}, {48, 72},  {48, 96},   {64, 96},   {64, 128},
                                          {96, 96}, {96, 144}, {128, 128}, {128, 192}, {128, 256}};

struct Vector {
  std::string name;
  int block_bits = 0;
  int key_bits = 0;
  std::vector<uint8_t> key;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> ciphertext;
};

std::vector<Vector> LoadVectors() {
  std::vector<Vector> vectors;
  for (const KatRecord& record : LoadKat(kKatFile, KatFormat::kKeyValue)) {
    Vector v;
    v.name = record.Get("Cipher").value_or("?");
    StatusOr<int64_t> block_bits = record.GetInt("BlockBits");
    StatusOr<int64_t> key_bits = record.GetInt("KeyBits");
    StatusOr<std::vector<uint8_t>> key = record.GetBytes("KeyBytes");
    StatusOr<std::vector<uint8_t>> plaintext = record.GetBytes("PlaintextBytes");
    StatusOr<std::vector<uint8_t>> ciphertext = record.GetBytes("CiphertextBytes");
    EXPECT_THAT(block_bits, IsOk());
    EXPECT_THAT(key_bits, IsOk());
    EXPECT_THAT(key, IsOk());
    EXPECT_THAT(plaintext, IsOk());
    EXPECT_THAT(ciphertext, IsOk());
    if (!block_bits.ok() || !key_bits.ok() || !key.ok() || !plaintext.ok() || !ciphertext.ok()) {
      continue;
    }
    v.block_bits = static_cast<int>(*block_bits);
    v.key_bits = static_cast<int>(*key_bits);
    v.key = *std::move(key);
    v.plaintext = *std::move(plaintext);
    v.ciphertext = *std::move(ciphertext);
    vectors.push_back(std::move(v));
  }
  return vectors;
}

// A deterministic byte stream for round-trip tests (not a secret).
std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 1;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

TEST(SpeckTest, EncryptsEveryPaperVector) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(speck, IsOk());
    std::vector<uint8_t> out(v.plaintext.size());
    ASSERT_THAT((*speck)->EncryptBlock(v.plaintext, out), IsOk());
    EXPECT_EQ(out, v.ciphertext);
    ++count;
  }
  EXPECT_EQ(count, 10);
}

TEST(SpeckTest, DecryptsEveryPaperVector) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(speck, IsOk());
    std::vector<uint8_t> out(v.ciphertext.size());
    ASSERT_THAT((*speck)->DecryptBlock(v.ciphertext, out), IsOk());
    EXPECT_EQ(out, v.plaintext);
    ++count;
  }
  EXPECT_EQ(count, 10);
}

TEST(SpeckTest, VectorsCoverEverySize) {
  std::vector<std::pair<int, int>> seen;
  for (const Vector& v : LoadVectors()) seen.emplace_back(v.block_bits, v.key_bits);
  for (const auto& size : kSizes) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), size), seen.end())
        << size.first << "/" << size.second;
  }
}

TEST(SpeckTest, EncryptsAndDecryptsInPlace) {
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(speck, IsOk());
    std::vector<uint8_t> block = v.plaintext;
    ASSERT_THAT((*speck)->EncryptBlock(block, block), IsOk());
    EXPECT_EQ(block, v.ciphertext);
    ASSERT_THAT((*speck)->DecryptBlock(block, block), IsOk());
    EXPECT_EQ(block, v.plaintext);
  }
}

TEST(SpeckTest, DecryptInvertsEncryptForAllSizes) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    SCOPED_TRACE(std::to_string(block_bits) + "/" + std::to_string(key_bits));
    for (uint32_t seed = 0; seed < 64; ++seed) {
      // Seed 0 uses all-ones inputs: they exercise the masking of 24- and 48-bit words.
      std::vector<uint8_t> key =
          seed == 0 ? std::vector<uint8_t>(key_bits / 8, 0xff) : TestBytes(key_bits / 8, seed);
      std::vector<uint8_t> block = seed == 0 ? std::vector<uint8_t>(block_bits / 8, 0xff)
                                             : TestBytes(block_bits / 8, seed + 1000);
      StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(block_bits, key_bits, key);
      ASSERT_THAT(speck, IsOk());
      std::vector<uint8_t> ciphertext(block.size());
      std::vector<uint8_t> decrypted(block.size());
      ASSERT_THAT((*speck)->EncryptBlock(block, ciphertext), IsOk());
      EXPECT_NE(ciphertext, block);
      ASSERT_THAT((*speck)->DecryptBlock(ciphertext, decrypted), IsOk());
      EXPECT_EQ(decrypted, block);
    }
  }
}

TEST(SpeckTest, ReportsBlockAndKeySizes) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    std::vector<uint8_t> key(key_bits / 8);
    StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(block_bits, key_bits, key);
    ASSERT_THAT(speck, IsOk());
    EXPECT_EQ((*speck)->block_size(), static_cast<std::size_t>(block_bits / 8));
    EXPECT_EQ((*speck)->key_size(), static_cast<std::size_t>(key_bits / 8));
  }
}

TEST(SpeckTest, RejectsUnknownSizes) {
  std::vector<uint8_t> key(16);
  EXPECT_THAT(NewSpeck(64, 64, std::span<const uint8_t>(key).first(8)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(NewSpeck(128, 96, std::span<const uint8_t>(key).first(12)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(NewSpeck(256, 128, key), StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(NewSpeck(0, 0, {}), StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(NewSpeck(-32, 64, key), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SpeckTest, RejectsWrongKeyLength) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    for (int delta : {-1, 1}) {
      std::vector<uint8_t> key(key_bits / 8 + delta);
      EXPECT_THAT(NewSpeck(block_bits, key_bits, key),
                  StatusIs(StatusCode::kInvalidArgument, HasSubstr("key must be")));
    }
  }
}

TEST(SpeckTest, RejectsWrongBlockBuffers) {
  std::vector<uint8_t> key(16);
  StatusOr<std::unique_ptr<BlockCipher>> speck = NewSpeck(64, 128, key);
  ASSERT_THAT(speck, IsOk());
  std::vector<uint8_t> block(8);
  std::vector<uint8_t> longer(9);
  EXPECT_THAT((*speck)->EncryptBlock(longer, block), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*speck)->EncryptBlock(block, longer), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*speck)->DecryptBlock(longer, block), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SpeckTest, DifferentKeysGiveDifferentCiphertexts) {
  std::vector<uint8_t> key_a(16, 0);
  std::vector<uint8_t> key_b(16, 0);
  key_b[15] = 0x80;  // last key byte: the top bit of l[0]
  std::vector<uint8_t> block(16, 0);
  StatusOr<std::unique_ptr<BlockCipher>> a = NewSpeck(128, 128, key_a);
  StatusOr<std::unique_ptr<BlockCipher>> b = NewSpeck(128, 128, key_b);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  std::vector<uint8_t> out_a(16);
  std::vector<uint8_t> out_b(16);
  ASSERT_THAT((*a)->EncryptBlock(block, out_a), IsOk());
  ASSERT_THAT((*b)->EncryptBlock(block, out_b), IsOk());
  EXPECT_NE(out_a, out_b);
}

}  // namespace
}  // namespace custos::lwc
