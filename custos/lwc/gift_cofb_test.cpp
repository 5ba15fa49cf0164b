// Tests of GIFT-COFB against every vector of the NIST LWC KAT file, in both
// directions, plus in-place operation, forgery rejection and argument checks.
#include "custos/lwc/gift_cofb.h"

#include <algorithm>
#include <cstdint>
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
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAreArray;
using ::testing::Eq;

constexpr char kKatPath[] = "kat/gift-cofb/LWC_AEAD_KAT_128_128.txt";
constexpr int kKatCount = 1089;
constexpr std::size_t kTagSize = 16;

struct AeadVector {
  int count = 0;
  std::vector<uint8_t> key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> pt;
  std::vector<uint8_t> ad;
  std::vector<uint8_t> ct;  // ciphertext || tag
};

// Reads every record of the KAT file; a malformed record fails the test.
std::vector<AeadVector> LoadVectors() {
  std::vector<AeadVector> vectors;
  for (const KatRecord& record : custos::testing::LoadKat(kKatPath, KatFormat::kKeyValue)) {
    AeadVector v;
    auto count = record.GetInt("Count");
    auto key = record.GetBytes("Key");
    auto nonce = record.GetBytes("Nonce");
    auto pt = record.GetBytes("PT");
    auto ad = record.GetBytes("AD");
    auto ct = record.GetBytes("CT");
    if (!count.ok() || !key.ok() || !nonce.ok() || !pt.ok() || !ad.ok() || !ct.ok()) {
      ADD_FAILURE() << "malformed record at line " << record.line();
      continue;
    }
    v.count = static_cast<int>(*count);
    v.key = *std::move(key);
    v.nonce = *std::move(nonce);
    v.pt = *std::move(pt);
    v.ad = *std::move(ad);
    v.ct = *std::move(ct);
    vectors.push_back(std::move(v));
  }
  return vectors;
}

TEST(GiftCofbTest, AlgorithmHasSpecifiedSizes) {
  const RawAeadAlgorithm& algorithm = GiftCofbAlgorithm();
  EXPECT_EQ(algorithm.key_size, 16u);
  EXPECT_EQ(algorithm.nonce_size, 16u);
  EXPECT_EQ(algorithm.tag_size, 16u);
  auto aead = NewGiftCofb(std::vector<uint8_t>(16));
  ASSERT_THAT(aead, IsOk());
  EXPECT_EQ((*aead)->key_size(), 16u);
  EXPECT_EQ((*aead)->nonce_size(), 16u);
  EXPECT_EQ((*aead)->tag_size(), 16u);
}

TEST(GiftCofbTest, SealMatchesEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadVectors()) {
    auto aead = NewGiftCofb(v.key);
    ASSERT_THAT(aead, IsOk());
    EXPECT_THAT((*aead)->Seal(v.nonce, v.ad, v.pt), IsOkAndHolds(ElementsAreArray(v.ct)))
        << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kKatCount);
}

TEST(GiftCofbTest, OpenRecoversEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadVectors()) {
    auto aead = NewGiftCofb(v.key);
    ASSERT_THAT(aead, IsOk());
    EXPECT_THAT((*aead)->Open(v.nonce, v.ad, v.ct), IsOkAndHolds(ElementsAreArray(v.pt)))
        << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kKatCount);
}

TEST(GiftCofbTest, SealAndOpenWorkInPlace) {
  int n = 0;
  for (const AeadVector& v : LoadVectors()) {
    auto aead = NewGiftCofb(v.key);
    ASSERT_THAT(aead, IsOk());
    std::vector<uint8_t> buffer(v.pt.size() + kTagSize);
    std::copy(v.pt.begin(), v.pt.end(), buffer.begin());
    std::span<uint8_t> whole(buffer);
    ASSERT_THAT((*aead)->SealInto(v.nonce, v.ad, whole.first(v.pt.size()), whole), IsOk());
    EXPECT_THAT(buffer, ElementsAreArray(v.ct)) << "Count = " << v.count;
    ASSERT_THAT((*aead)->OpenInto(v.nonce, v.ad, whole, whole.first(v.pt.size())), IsOk())
        << "Count = " << v.count;
    EXPECT_TRUE(std::equal(v.pt.begin(), v.pt.end(), buffer.begin())) << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kKatCount);
}

// Opens `ct` into a buffer pre-filled with 0xAA and expects Unauthenticated
// with the buffer wiped to zero.
void ExpectRejectedAndWiped(const NonceAead& aead, const std::vector<uint8_t>& nonce,
                            const std::vector<uint8_t>& ad, const std::vector<uint8_t>& ct,
                            const std::string& what) {
  std::vector<uint8_t> out(ct.size() - kTagSize, 0xAA);
  EXPECT_THAT(aead.OpenInto(nonce, ad, ct, out), StatusIs(StatusCode::kUnauthenticated)) << what;
  EXPECT_THAT(out, Each(Eq(0))) << what;
}

TEST(GiftCofbTest, RejectsTamperedTagCiphertextAdAndNonce) {
  int n = 0;
  for (const AeadVector& v : LoadVectors()) {
    auto aead = NewGiftCofb(v.key);
    ASSERT_THAT(aead, IsOk());
    const std::string where = "Count = " + std::to_string(v.count);

    std::vector<uint8_t> bad_tag = v.ct;
    bad_tag[bad_tag.size() - 1 - (v.count % kTagSize)] ^= static_cast<uint8_t>(1 << (v.count % 8));
    ExpectRejectedAndWiped(**aead, v.nonce, v.ad, bad_tag, "tag, " + where);

    if (!v.pt.empty()) {
      std::vector<uint8_t> bad_ct = v.ct;
      bad_ct[v.count % v.pt.size()] ^= 0x01;
      ExpectRejectedAndWiped(**aead, v.nonce, v.ad, bad_ct, "ciphertext, " + where);
    }

    std::vector<uint8_t> bad_ad = v.ad;
    if (bad_ad.empty()) {
      bad_ad.push_back(0x00);
    } else {
      bad_ad[v.count % bad_ad.size()] ^= 0x80;
    }
    ExpectRejectedAndWiped(**aead, v.nonce, bad_ad, v.ct, "AD, " + where);

    std::vector<uint8_t> bad_nonce = v.nonce;
    bad_nonce[v.count % bad_nonce.size()] ^= 0x10;
    ExpectRejectedAndWiped(**aead, bad_nonce, v.ad, v.ct, "nonce, " + where);

    std::vector<uint8_t> other_key = v.key;
    other_key[0] ^= 0x01;
    auto other = NewGiftCofb(other_key);
    ASSERT_THAT(other, IsOk());
    ExpectRejectedAndWiped(**other, v.nonce, v.ad, v.ct, "key, " + where);
    ++n;
  }
  EXPECT_EQ(n, kKatCount);
}

TEST(GiftCofbTest, RejectsWrongKeySize) {
  for (std::size_t size : {0u, 15u, 17u, 32u}) {
    EXPECT_THAT(NewGiftCofb(std::vector<uint8_t>(size)), StatusIs(StatusCode::kInvalidArgument))
        << size;
  }
}

TEST(GiftCofbTest, RejectsWrongNonceAndBufferSizes) {
  auto aead = NewGiftCofb(std::vector<uint8_t>(16, 0x42));
  ASSERT_THAT(aead, IsOk());
  const std::vector<uint8_t> plaintext(5, 0x01);
  for (std::size_t size : {0u, 12u, 15u, 17u}) {
    EXPECT_THAT((*aead)->Seal(std::vector<uint8_t>(size), {}, plaintext),
                StatusIs(StatusCode::kInvalidArgument))
        << size;
    EXPECT_THAT((*aead)->Open(std::vector<uint8_t>(size), {}, std::vector<uint8_t>(21)),
                StatusIs(StatusCode::kInvalidArgument))
        << size;
  }
  const std::vector<uint8_t> nonce(16);
  std::vector<uint8_t> short_out(plaintext.size() + kTagSize - 1);
  EXPECT_THAT((*aead)->SealInto(nonce, {}, plaintext, short_out),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*aead)->Open(nonce, {}, std::vector<uint8_t>(kTagSize - 1)),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::lwc
