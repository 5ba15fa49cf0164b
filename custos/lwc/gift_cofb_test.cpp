// Tests of GIFT-COFB against every vector of the NIST LWC KAT file, in both
// directions, plus in-place operation, forgery rejection and argument checks
// (the shared AEAD checks of testing/aead_test_util.h).
#include "custos/lwc/gift_cofb.h"

#include "gtest/gtest.h"
#include "testing/aead_test_util.h"

namespace custos::lwc {
namespace {

using ::custos::testing::ExpectInPlaceMatchesEveryVector;
using ::custos::testing::ExpectOpenRecoversEveryVector;
using ::custos::testing::ExpectSealMatchesEveryVector;
using ::custos::testing::ExpectSizes;
using ::custos::testing::ExpectTamperingRejectedForEveryVector;
using ::custos::testing::ExpectWrongBufferSizesRejected;
using ::custos::testing::ExpectWrongKeySizesRejected;
using ::custos::testing::ExpectWrongNonceSizesRejected;
using ::custos::testing::LoadLwcAeadKat;

constexpr char kKatPath[] = "kat/gift-cofb/LWC_AEAD_KAT_128_128.txt";
constexpr int kKatCount = 1089;

TEST(GiftCofbTest, AlgorithmHasSpecifiedSizes) {
  ExpectSizes(GiftCofbAlgorithm(), NewGiftCofb, 16, 16, 16);
}

TEST(GiftCofbTest, SealMatchesEveryKatVector) {
  ExpectSealMatchesEveryVector(NewGiftCofb, LoadLwcAeadKat(kKatPath), kKatCount);
}

TEST(GiftCofbTest, OpenRecoversEveryKatVector) {
  ExpectOpenRecoversEveryVector(NewGiftCofb, LoadLwcAeadKat(kKatPath), kKatCount);
}

TEST(GiftCofbTest, SealAndOpenWorkInPlace) {
  ExpectInPlaceMatchesEveryVector(NewGiftCofb, LoadLwcAeadKat(kKatPath), kKatCount);
}

TEST(GiftCofbTest, RejectsTamperedTagCiphertextAdAndNonce) {
  ExpectTamperingRejectedForEveryVector(NewGiftCofb, LoadLwcAeadKat(kKatPath), kKatCount);
}

TEST(GiftCofbTest, RejectsWrongKeySize) { ExpectWrongKeySizesRejected(NewGiftCofb, 16); }

TEST(GiftCofbTest, RejectsWrongNonceAndBufferSizes) {
  ExpectWrongNonceSizesRejected(NewGiftCofb, 16);
  ExpectWrongBufferSizesRejected(NewGiftCofb, 16);
}

}  // namespace
}  // namespace custos::lwc
