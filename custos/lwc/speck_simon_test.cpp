// Tests of SIMON and SPECK (custos/lwc/simon.h, custos/lwc/speck.h): the two
// families share their ten block/key sizes, their vector file layout (the
// appendix of ePrint 2013/404) and their interface, so one set of tests runs
// on both.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/lwc/simon.h"
#include "custos/lwc/speck.h"
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

constexpr char kSpeckKatFile[] = "kat/speck/speck_eprint2013-404_appendix.txt";
constexpr char kSimonKatFile[] = "kat/simon/simon_eprint2013-404_appendix.txt";

constexpr std::pair<int, int> kSizes[] = {{32, 64}, {48, 72},  {48, 96},   {64, 96},   {64, 128},
                                          {96, 96}, {96, 144}, {128, 128}, {128, 192}, {128, 256}};

// One family under test: NewSpeck or NewSimon and its vectors.
struct Family {
  const char* name;
  const char* kat_file;
  StatusOr<std::unique_ptr<BlockCipher>> (*make)(int block_bits, int key_bits,
                                                 std::span<const uint8_t> key);
};

// Lets GoogleTest show the family instead of the struct's bytes.
void PrintTo(const Family& family, std::ostream* os) { *os << family.name; }

struct Vector {
  std::string name;
  int block_bits = 0;
  int key_bits = 0;
  std::vector<uint8_t> key;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> ciphertext;
};

std::vector<Vector> LoadVectorsFrom(const char* kat_file) {
  std::vector<Vector> vectors;
  for (const KatRecord& record : LoadKat(kat_file, KatFormat::kKeyValue)) {
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

class SpeckSimonTest : public ::testing::TestWithParam<Family> {
 protected:
  static StatusOr<std::unique_ptr<BlockCipher>> New(int block_bits, int key_bits,
                                                    std::span<const uint8_t> key) {
    return GetParam().make(block_bits, key_bits, key);
  }
  static std::vector<Vector> LoadVectors() { return LoadVectorsFrom(GetParam().kat_file); }
};

TEST_P(SpeckSimonTest, EncryptsEveryPaperVector) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> cipher = New(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(cipher, IsOk());
    std::vector<uint8_t> out(v.plaintext.size());
    ASSERT_THAT((*cipher)->EncryptBlock(v.plaintext, out), IsOk());
    EXPECT_EQ(out, v.ciphertext);
    ++count;
  }
  EXPECT_EQ(count, 10);
}

TEST_P(SpeckSimonTest, DecryptsEveryPaperVector) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> cipher = New(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(cipher, IsOk());
    std::vector<uint8_t> out(v.ciphertext.size());
    ASSERT_THAT((*cipher)->DecryptBlock(v.ciphertext, out), IsOk());
    EXPECT_EQ(out, v.plaintext);
    ++count;
  }
  EXPECT_EQ(count, 10);
}

TEST_P(SpeckSimonTest, VectorsCoverEverySize) {
  std::vector<std::pair<int, int>> seen;
  for (const Vector& v : LoadVectors()) seen.emplace_back(v.block_bits, v.key_bits);
  for (const auto& size : kSizes) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), size), seen.end())
        << size.first << "/" << size.second;
  }
}

TEST_P(SpeckSimonTest, EncryptsAndDecryptsInPlace) {
  for (const Vector& v : LoadVectors()) {
    SCOPED_TRACE(v.name);
    StatusOr<std::unique_ptr<BlockCipher>> cipher = New(v.block_bits, v.key_bits, v.key);
    ASSERT_THAT(cipher, IsOk());
    std::vector<uint8_t> block = v.plaintext;
    ASSERT_THAT((*cipher)->EncryptBlock(block, block), IsOk());
    EXPECT_EQ(block, v.ciphertext);
    ASSERT_THAT((*cipher)->DecryptBlock(block, block), IsOk());
    EXPECT_EQ(block, v.plaintext);
  }
}

TEST_P(SpeckSimonTest, DecryptInvertsEncryptForAllSizes) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    SCOPED_TRACE(std::to_string(block_bits) + "/" + std::to_string(key_bits));
    for (uint32_t seed = 0; seed < 64; ++seed) {
      // Seed 0 uses all-ones inputs: they exercise the masking of 24- and 48-bit words.
      std::vector<uint8_t> key =
          seed == 0 ? std::vector<uint8_t>(key_bits / 8, 0xff) : TestBytes(key_bits / 8, seed);
      std::vector<uint8_t> block = seed == 0 ? std::vector<uint8_t>(block_bits / 8, 0xff)
                                             : TestBytes(block_bits / 8, seed + 1000);
      StatusOr<std::unique_ptr<BlockCipher>> cipher = New(block_bits, key_bits, key);
      ASSERT_THAT(cipher, IsOk());
      std::vector<uint8_t> ciphertext(block.size());
      std::vector<uint8_t> decrypted(block.size());
      ASSERT_THAT((*cipher)->EncryptBlock(block, ciphertext), IsOk());
      EXPECT_NE(ciphertext, block);
      ASSERT_THAT((*cipher)->DecryptBlock(ciphertext, decrypted), IsOk());
      EXPECT_EQ(decrypted, block);
    }
  }
}

TEST_P(SpeckSimonTest, ReportsBlockAndKeySizes) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    std::vector<uint8_t> key(key_bits / 8);
    StatusOr<std::unique_ptr<BlockCipher>> cipher = New(block_bits, key_bits, key);
    ASSERT_THAT(cipher, IsOk());
    EXPECT_EQ((*cipher)->block_size(), static_cast<std::size_t>(block_bits / 8));
    EXPECT_EQ((*cipher)->key_size(), static_cast<std::size_t>(key_bits / 8));
  }
}

TEST_P(SpeckSimonTest, RejectsUnknownSizes) {
  std::vector<uint8_t> key(16);
  EXPECT_THAT(New(64, 64, std::span<const uint8_t>(key).first(8)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(New(128, 96, std::span<const uint8_t>(key).first(12)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(New(256, 128, key), StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(New(0, 0, {}), StatusIs(StatusCode::kInvalidArgument, HasSubstr("size")));
  EXPECT_THAT(New(-32, 64, key), StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(SpeckSimonTest, RejectsWrongKeyLength) {
  for (const auto& [block_bits, key_bits] : kSizes) {
    for (int delta : {-1, 1}) {
      std::vector<uint8_t> key(key_bits / 8 + delta);
      EXPECT_THAT(New(block_bits, key_bits, key),
                  StatusIs(StatusCode::kInvalidArgument, HasSubstr("key must be")));
    }
  }
}

TEST_P(SpeckSimonTest, RejectsWrongBlockBuffers) {
  std::vector<uint8_t> key(16);
  StatusOr<std::unique_ptr<BlockCipher>> cipher = New(64, 128, key);
  ASSERT_THAT(cipher, IsOk());
  std::vector<uint8_t> block(8);
  std::vector<uint8_t> longer(9);
  EXPECT_THAT((*cipher)->EncryptBlock(longer, block), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*cipher)->EncryptBlock(block, longer), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*cipher)->DecryptBlock(longer, block), StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(SpeckSimonTest, DifferentKeysGiveDifferentCiphertexts) {
  std::vector<uint8_t> key_a(16, 0);
  std::vector<uint8_t> key_b(16, 0);
  key_b[15] = 0x80;  // last key byte: the top bit of SPECK's l[0], SIMON's k[1]
  std::vector<uint8_t> block(16, 0);
  StatusOr<std::unique_ptr<BlockCipher>> a = New(128, 128, key_a);
  StatusOr<std::unique_ptr<BlockCipher>> b = New(128, 128, key_b);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  std::vector<uint8_t> out_a(16);
  std::vector<uint8_t> out_b(16);
  ASSERT_THAT((*a)->EncryptBlock(block, out_a), IsOk());
  ASSERT_THAT((*b)->EncryptBlock(block, out_b), IsOk());
  EXPECT_NE(out_a, out_b);
}

// Names the instances "All/SpeckSimonTest.<test>/Speck" and ".../Simon".
std::string FamilyName(const ::testing::TestParamInfo<Family>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(All, SpeckSimonTest,
                         ::testing::Values(Family{"Speck", kSpeckKatFile, NewSpeck},
                                           Family{"Simon", kSimonKatFile, NewSimon}),
                         FamilyName);

}  // namespace
}  // namespace custos::lwc
