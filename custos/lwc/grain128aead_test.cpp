// Tests of Grain-128AEADv2 against every vector of the NIST LWC KAT file, in
// both directions, plus in-place operation, forgery rejection and argument
// checks (the shared AEAD checks of testing/aead_test_util.h), and the long
// associated-data lengths the file does not reach.
#include "custos/lwc/grain128aead.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/aead_test_util.h"
#include "testing/status_matchers.h"

namespace custos::lwc {
namespace {

using ::custos::testing::ExpectInPlaceMatchesEveryVector;
using ::custos::testing::ExpectOpenRecoversEveryVector;
using ::custos::testing::ExpectRejectedAndWiped;
using ::custos::testing::ExpectSealMatchesEveryVector;
using ::custos::testing::ExpectSizes;
using ::custos::testing::ExpectTamperingRejectedForEveryVector;
using ::custos::testing::ExpectWrongBufferSizesRejected;
using ::custos::testing::ExpectWrongKeySizesRejected;
using ::custos::testing::ExpectWrongNonceSizesRejected;
using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::LoadLwcAeadKat;

constexpr char kKatPath[] = "kat/grain-128aeadv2/LWC_AEAD_KAT_128_96.txt";
constexpr int kKatCount = 1089;

std::unique_ptr<NonceAead> MustNewAead(std::span<const uint8_t> key) {
  StatusOr<std::unique_ptr<NonceAead>> aead = NewGrain128AeadV2(key);
  EXPECT_THAT(aead, IsOk());
  return aead.ok() ? std::move(*aead) : nullptr;
}

TEST(Grain128AeadV2Test, AlgorithmDescribesSizes) {
  ExpectSizes(Grain128AeadV2Algorithm(), NewGrain128AeadV2, 16, 12, 8);
}

// Every NIST KAT vector, sealed and opened.
TEST(Grain128AeadV2Test, MatchesNistKatBothDirections) {
  const std::vector<custos::testing::AeadKatCase> vectors = LoadLwcAeadKat(kKatPath);
  ExpectSealMatchesEveryVector(NewGrain128AeadV2, vectors, kKatCount);
  ExpectOpenRecoversEveryVector(NewGrain128AeadV2, vectors, kKatCount);
}

// Sealing and opening with out == in give the KAT results.
TEST(Grain128AeadV2Test, SealsAndOpensInPlace) {
  ExpectInPlaceMatchesEveryVector(NewGrain128AeadV2, LoadLwcAeadKat(kKatPath), kKatCount);
}

// Any change to tag, ciphertext, associated data, nonce or key is rejected
// and the output is wiped.
TEST(Grain128AeadV2Test, RejectsTamperingAndWipesOutput) {
  ExpectTamperingRejectedForEveryVector(NewGrain128AeadV2, LoadLwcAeadKat(kKatPath), kKatCount);
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
  ExpectWrongKeySizesRejected(NewGrain128AeadV2, 16);
  ExpectWrongNonceSizesRejected(NewGrain128AeadV2, 16);
  // Among them: ciphertexts shorter than the tag are malformed, not forgeries.
  ExpectWrongBufferSizesRejected(NewGrain128AeadV2, 16);
}

}  // namespace
}  // namespace custos::lwc
