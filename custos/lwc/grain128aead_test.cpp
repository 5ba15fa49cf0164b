#include "custos/lwc/grain128aead.h"

#include <algorithm>
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
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;

constexpr std::size_t kTagSize = 8;

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "line " << record.line() << " field " << name;
  return bytes.ok() ? *bytes : std::vector<uint8_t>();
}

std::unique_ptr<NonceAead> MustNewAead(std::span<const uint8_t> key) {
  StatusOr<std::unique_ptr<NonceAead>> aead = NewGrain128AeadV2(key);
  EXPECT_THAT(aead, IsOk());
  return aead.ok() ? std::move(*aead) : nullptr;
}

struct Vector {
  int line;
  std::vector<uint8_t> key, nonce, pt, ad, ct;
};

std::vector<Vector> LoadVectors() {
  std::vector<Vector> vectors;
  for (const KatRecord& record :
       LoadKat("kat/grain-128aeadv2/LWC_AEAD_KAT_128_96.txt", KatFormat::kKeyValue)) {
    vectors.push_back({record.line(), Bytes(record, "Key"), Bytes(record, "Nonce"),
                       Bytes(record, "PT"), Bytes(record, "AD"), Bytes(record, "CT")});
  }
  return vectors;
}

// Opens with OpenInto into a buffer pre-filled with 0xAA; expects
// Unauthenticated and the buffer wiped to zero.
void ExpectRejectedAndWiped(const NonceAead& aead, std::span<const uint8_t> nonce,
                            std::span<const uint8_t> ad, std::span<const uint8_t> ct,
                            const std::string& what) {
  std::vector<uint8_t> out(ct.size() - kTagSize, 0xAA);
  EXPECT_THAT(aead.OpenInto(nonce, ad, ct, out), StatusIs(StatusCode::kUnauthenticated)) << what;
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; })) << what;
}

TEST(Grain128AeadV2Test, AlgorithmDescribesSizes) {
  const RawAeadAlgorithm& algorithm = Grain128AeadV2Algorithm();
  EXPECT_EQ(algorithm.key_size, 16u);
  EXPECT_EQ(algorithm.nonce_size, 12u);
  EXPECT_EQ(algorithm.tag_size, kTagSize);
  std::unique_ptr<NonceAead> aead = MustNewAead(std::vector<uint8_t>(16));
  ASSERT_NE(aead, nullptr);
  EXPECT_EQ(aead->key_size(), 16u);
  EXPECT_EQ(aead->nonce_size(), 12u);
  EXPECT_EQ(aead->tag_size(), kTagSize);
}

// Every NIST KAT vector, sealed and opened.
TEST(Grain128AeadV2Test, MatchesNistKatBothDirections) {
  const std::vector<Vector> vectors = LoadVectors();
  int count = 0;
  for (const Vector& v : vectors) {
    const std::string where = "line " + std::to_string(v.line);
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    EXPECT_THAT(aead->Seal(v.nonce, v.ad, v.pt), IsOkAndHolds(v.ct)) << where;
    EXPECT_THAT(aead->Open(v.nonce, v.ad, v.ct), IsOkAndHolds(v.pt)) << where;
    ++count;
  }
  EXPECT_EQ(count, 1089);
}

// Sealing and opening with out == in give the KAT results.
TEST(Grain128AeadV2Test, SealsAndOpensInPlace) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    const std::string where = "line " + std::to_string(v.line);
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    std::vector<uint8_t> buffer(v.pt.size() + kTagSize);
    std::copy(v.pt.begin(), v.pt.end(), buffer.begin());
    ASSERT_THAT(
        aead->SealInto(v.nonce, v.ad, std::span<const uint8_t>(buffer).first(v.pt.size()), buffer),
        IsOk())
        << where;
    EXPECT_EQ(buffer, v.ct) << where;
    ASSERT_THAT(
        aead->OpenInto(v.nonce, v.ad, buffer, std::span<uint8_t>(buffer).first(v.pt.size())),
        IsOk())
        << where;
    EXPECT_TRUE(std::equal(v.pt.begin(), v.pt.end(), buffer.begin())) << where;
    ++count;
  }
  EXPECT_EQ(count, 1089);
}

// Any change to tag, ciphertext, associated data or nonce is rejected and
// the output is wiped.
TEST(Grain128AeadV2Test, RejectsTamperingAndWipesOutput) {
  int count = 0;
  for (const Vector& v : LoadVectors()) {
    const std::string where = "line " + std::to_string(v.line);
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    // Every bit of the tag.
    for (std::size_t bit = 0; bit < 8 * kTagSize; ++bit) {
      std::vector<uint8_t> ct = v.ct;
      ct[v.pt.size() + bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, where + " tag bit " + std::to_string(bit));
    }
    // First and last bit of the ciphertext body.
    if (!v.pt.empty()) {
      std::vector<uint8_t> ct = v.ct;
      ct[0] ^= 0x01;
      ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, where + " ciphertext first bit");
      ct = v.ct;
      ct[v.pt.size() - 1] ^= 0x80;
      ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, where + " ciphertext last bit");
    }
    // Associated data: a flipped bit, and one byte more.
    if (!v.ad.empty()) {
      std::vector<uint8_t> ad = v.ad;
      ad[ad.size() / 2] ^= 0x10;
      ExpectRejectedAndWiped(*aead, v.nonce, ad, v.ct, where + " ad bit");
    }
    std::vector<uint8_t> longer_ad = v.ad;
    longer_ad.push_back(0);
    ExpectRejectedAndWiped(*aead, v.nonce, longer_ad, v.ct, where + " ad extended");
    // Nonce.
    std::vector<uint8_t> nonce = v.nonce;
    nonce[11] ^= 0x80;
    ExpectRejectedAndWiped(*aead, nonce, v.ad, v.ct, where + " nonce");
    // Truncated ciphertext (one byte less, tag shifted).
    if (!v.pt.empty()) {
      std::vector<uint8_t> ct(v.ct.begin() + 1, v.ct.end());
      ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, where + " truncated");
    }
    ++count;
  }
  EXPECT_EQ(count, 1089);
}

// Associated data of 128 bytes and more takes the DER long form of its
// length; those lengths round-trip and are bound to the tag. (The KAT file
// stops at 32 bytes of AD.)
TEST(Grain128AeadV2Test, LongAssociatedDataAndMessagesRoundTrip) {
  std::vector<uint8_t> key(16), nonce(12);
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i * 29 + 1);
  for (int i = 0; i < 12; ++i) nonce[i] = static_cast<uint8_t>(i * 13 + 5);
  std::unique_ptr<NonceAead> aead = MustNewAead(key);
  ASSERT_NE(aead, nullptr);
  for (std::size_t ad_size : {127, 128, 255, 256, 1000, 70000}) {
    std::vector<uint8_t> ad(ad_size);
    for (std::size_t i = 0; i < ad_size; ++i) ad[i] = static_cast<uint8_t>(i);
    std::vector<uint8_t> message(ad_size / 3 + 1);
    for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 3);
    StatusOr<std::vector<uint8_t>> sealed = aead->Seal(nonce, ad, message);
    ASSERT_THAT(sealed, IsOk());
    EXPECT_THAT(aead->Open(nonce, ad, *sealed), IsOkAndHolds(message)) << ad_size;
    std::vector<uint8_t> shorter_ad(ad.begin(), ad.end() - 1);
    ExpectRejectedAndWiped(*aead, nonce, shorter_ad, *sealed,
                           "ad shortened from " + std::to_string(ad_size));
  }
}

TEST(Grain128AeadV2Test, RejectsWrongKeyAndNonceSizes) {
  for (std::size_t size : {0, 10, 15, 17, 32}) {
    EXPECT_THAT(NewGrain128AeadV2(std::vector<uint8_t>(size)),
                StatusIs(StatusCode::kInvalidArgument))
        << size;
  }
  std::unique_ptr<NonceAead> aead = MustNewAead(std::vector<uint8_t>(16));
  ASSERT_NE(aead, nullptr);
  const std::vector<uint8_t> plaintext(5);
  for (std::size_t size : {0, 8, 11, 13, 16}) {
    const std::vector<uint8_t> nonce(size);
    EXPECT_THAT(aead->Seal(nonce, {}, plaintext), StatusIs(StatusCode::kInvalidArgument)) << size;
    EXPECT_THAT(aead->Open(nonce, {}, std::vector<uint8_t>(13)),
                StatusIs(StatusCode::kInvalidArgument))
        << size;
  }
  // Ciphertexts shorter than the tag are malformed, not forgeries.
  EXPECT_THAT(aead->Open(std::vector<uint8_t>(12), {}, std::vector<uint8_t>(7)),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos::lwc
