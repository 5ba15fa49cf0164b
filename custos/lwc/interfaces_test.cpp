// Tests of the non-virtual parts of the lwc interfaces, over a toy raw AEAD
// (XOR with the key, tag = XOR of the data) that exists only here: it makes
// the wrapper's promises visible independently of any real cipher.
#include <algorithm>
#include <numeric>

#include "custos/lwc/aead.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::Each;
using ::testing::HasSubstr;

void ToyCrypt(const AeadIo& io, bool encrypt) {
  std::fill(io.tag.begin(), io.tag.end(), 0);
  for (std::size_t i = 0; i < io.in.size(); ++i) {
    uint8_t plain = encrypt ? io.in[i] : static_cast<uint8_t>(io.in[i] ^ io.key[i % io.key.size()]);
    io.out[i] = static_cast<uint8_t>(io.in[i] ^ io.key[i % io.key.size()]);
    io.tag[i % io.tag.size()] ^= plain;
  }
  for (std::size_t i = 0; i < io.ad.size(); ++i) io.tag[i % io.tag.size()] ^= io.ad[i];
  for (std::size_t i = 0; i < io.nonce.size(); ++i) io.tag[i % io.tag.size()] ^= io.nonce[i] + 1;
}
void ToyEncrypt(const AeadIo& io) { ToyCrypt(io, true); }
void ToyDecrypt(const AeadIo& io) { ToyCrypt(io, false); }

constexpr RawAeadAlgorithm kToy = {4, 2, 3, ToyEncrypt, ToyDecrypt};

std::unique_ptr<NonceAead> Toy() {
  const uint8_t key[4] = {1, 2, 3, 4};
  auto aead = NewRawAead(kToy, key);
  EXPECT_THAT(aead, IsOk());
  return *std::move(aead);
}

TEST(RawAeadTest, RejectsWrongKeySize) {
  const uint8_t key[3] = {};
  EXPECT_THAT(NewRawAead(kToy, key), StatusIs(StatusCode::kInvalidArgument, HasSubstr("key")));
}

TEST(RawAeadTest, RoundTripsAndChecksSizes) {
  auto aead = Toy();
  const uint8_t nonce[2] = {9, 9};
  std::vector<uint8_t> msg = {10, 20, 30, 40, 50};
  auto sealed = aead->Seal(nonce, {}, msg);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->size(), msg.size() + 3);
  auto opened = aead->Open(nonce, {}, *sealed);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, msg);
  const uint8_t bad_nonce[3] = {};
  EXPECT_THAT(aead->Seal(bad_nonce, {}, msg),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nonce")));
  std::vector<uint8_t> small(2);
  EXPECT_THAT(aead->SealInto(nonce, {}, msg, small), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(aead->Open(nonce, {}, std::vector<uint8_t>(2)),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(RawAeadTest, FailedOpenWipesOutputAndSaysNothingMore) {
  auto aead = Toy();
  const uint8_t nonce[2] = {1, 2};
  std::vector<uint8_t> msg(10, 0x77);
  auto sealed = aead->Seal(nonce, {}, msg);
  ASSERT_THAT(sealed, IsOk());
  (*sealed)[sealed->size() - 1] ^= 0x80;
  std::vector<uint8_t> out(msg.size(), 0xee);
  EXPECT_THAT(aead->OpenInto(nonce, {}, *sealed, out),
              StatusIs(StatusCode::kUnauthenticated, "authentication failed"));
  EXPECT_THAT(out, Each(0));
}

TEST(RawAeadTest, WorksInPlace) {
  auto aead = Toy();
  const uint8_t nonce[2] = {5, 6};
  std::vector<uint8_t> buffer = {1, 2, 3, 4, 5, 6, 0, 0, 0};
  std::vector<uint8_t> msg(buffer.begin(), buffer.begin() + 6);
  ASSERT_THAT(aead->SealInto(nonce, {}, std::span<const uint8_t>(buffer).first(6), buffer), IsOk());
  ASSERT_THAT(aead->OpenInto(nonce, {}, buffer, std::span<uint8_t>(buffer).first(6)), IsOk());
  EXPECT_TRUE(std::equal(msg.begin(), msg.end(), buffer.begin()));
}

}  // namespace
}  // namespace custos::lwc
