// Tests of PHOTON-Beetle-AEAD[128] and PHOTON-Beetle-Hash[32] against every
// vector of the NIST LWC KAT files, plus in-place operation, forgery
// rejection, argument checks (the shared AEAD checks of
// testing/aead_test_util.h), incremental hashing and Clone.
#include "custos/lwc/photon_beetle.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "custos/core/kat_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/aead_test_util.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

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
using ::custos::testing::IsOk;
using ::custos::testing::LoadLwcAeadKat;
using ::custos::testing::StatusIs;
using ::testing::ElementsAreArray;

constexpr char kAeadKatPath[] = "kat/photon-beetle/LWC_AEAD_KAT_128_128.txt";
constexpr char kHashKatPath[] = "kat/photon-beetle/LWC_HASH_KAT_256.txt";
constexpr int kAeadKatCount = 1089;
constexpr int kHashKatCount = 1025;

struct HashVector {
  int count = 0;
  std::vector<uint8_t> msg;
  std::vector<uint8_t> md;
};

// Reads every record of the hash KAT file; a malformed record fails the test.
std::vector<HashVector> LoadHashVectors() {
  std::vector<HashVector> vectors;
  for (const KatRecord& record : custos::testing::LoadKat(kHashKatPath, KatFormat::kKeyValue)) {
    HashVector v;
    auto count = record.GetInt("Count");
    auto msg = record.GetBytes("Msg");
    auto md = record.GetBytes("MD");
    if (!count.ok() || !msg.ok() || !md.ok()) {
      ADD_FAILURE() << "malformed record at line " << record.line();
      continue;
    }
    v.count = static_cast<int>(*count);
    v.msg = *std::move(msg);
    v.md = *std::move(md);
    vectors.push_back(std::move(v));
  }
  return vectors;
}

// ---------------------------------------------------------------------------
// PHOTON-Beetle-AEAD[128]

TEST(PhotonBeetleAeadTest, AlgorithmHasSpecifiedSizes) {
  ExpectSizes(PhotonBeetleAead128Algorithm(), NewPhotonBeetleAead128, 16, 16, 16);
}

TEST(PhotonBeetleAeadTest, SealMatchesEveryKatVector) {
  ExpectSealMatchesEveryVector(NewPhotonBeetleAead128, LoadLwcAeadKat(kAeadKatPath), kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, OpenRecoversEveryKatVector) {
  ExpectOpenRecoversEveryVector(NewPhotonBeetleAead128, LoadLwcAeadKat(kAeadKatPath),
                                kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, SealAndOpenWorkInPlace) {
  ExpectInPlaceMatchesEveryVector(NewPhotonBeetleAead128, LoadLwcAeadKat(kAeadKatPath),
                                  kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, RejectsTamperedTagCiphertextAdAndNonce) {
  ExpectTamperingRejectedForEveryVector(NewPhotonBeetleAead128, LoadLwcAeadKat(kAeadKatPath),
                                        kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, RejectsWrongKeySize) {
  ExpectWrongKeySizesRejected(NewPhotonBeetleAead128, 16);
}

TEST(PhotonBeetleAeadTest, RejectsWrongNonceAndBufferSizes) {
  ExpectWrongNonceSizesRejected(NewPhotonBeetleAead128, 16);
  ExpectWrongBufferSizesRejected(NewPhotonBeetleAead128, 16);
}

// ---------------------------------------------------------------------------
// PHOTON-Beetle-Hash[32]

TEST(PhotonBeetleHashTest, HasSpecifiedSizes) {
  std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
  EXPECT_EQ(hash->digest_size(), 32u);
  EXPECT_EQ(hash->block_size(), 4u);
}

TEST(PhotonBeetleHashTest, OneShotMatchesEveryKatVector) {
  int n = 0;
  std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
  for (const HashVector& v : LoadHashVectors()) {
    hash->Update(v.msg);
    EXPECT_THAT(hash->Final(), ElementsAreArray(v.md)) << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kHashKatCount);
}

TEST(PhotonBeetleHashTest, IncrementalUpdatesInOddChunksMatchEveryKatVector) {
  int n = 0;
  std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
  for (const HashVector& v : LoadHashVectors()) {
    for (std::size_t chunk : {1u, 5u, 13u, 31u}) {
      std::span<const uint8_t> rest(v.msg);
      // Start with an empty update, then vary the chunk sizes a little so
      // that the rate-4 boundaries fall at every offset.
      hash->Update({});
      for (std::size_t k = 0; !rest.empty(); ++k) {
        const std::size_t take = std::min(rest.size(), chunk + k % 3);
        hash->Update(rest.first(take));
        rest = rest.subspan(take);
      }
      std::vector<uint8_t> digest(32);
      ASSERT_THAT(hash->FinalInto(digest), IsOk());
      EXPECT_THAT(digest, ElementsAreArray(v.md)) << "Count = " << v.count << ", chunk " << chunk;
    }
    ++n;
  }
  EXPECT_EQ(n, kHashKatCount);
}

TEST(PhotonBeetleHashTest, CloneContinuesIndependently) {
  const std::vector<HashVector> vectors = LoadHashVectors();
  ASSERT_EQ(vectors.size(), static_cast<std::size_t>(kHashKatCount));
  int n = 0;
  for (const HashVector& v : vectors) {
    // Clone at several split points (inside the first 16 bytes, at the
    // boundary, inside a 4-byte block) and finish original and clone alike.
    for (std::size_t split : {std::size_t{0}, v.msg.size() / 3, std::size_t{16}, v.msg.size()}) {
      if (split > v.msg.size()) continue;
      std::unique_ptr<Hash> original = NewPhotonBeetleHash256();
      original->Update(std::span<const uint8_t>(v.msg).first(split));
      std::unique_ptr<Hash> clone = original->Clone();
      // Diverge the original first: the clone must not see it.
      original->Update(std::vector<uint8_t>{0x5a});
      original->Reset();
      clone->Update(std::span<const uint8_t>(v.msg).subspan(split));
      EXPECT_THAT(clone->Final(), ElementsAreArray(v.md)) << "Count = " << v.count;
      original->Update(v.msg);
      EXPECT_THAT(original->Final(), ElementsAreArray(v.md)) << "Count = " << v.count;
    }
    ++n;
  }
  EXPECT_EQ(n, kHashKatCount);
}

TEST(PhotonBeetleHashTest, FinalResetsAndResetForgetsInput) {
  const std::vector<HashVector> vectors = LoadHashVectors();
  ASSERT_GE(vectors.size(), 2u);
  const HashVector& empty = vectors[0];
  ASSERT_TRUE(empty.msg.empty());
  std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
  hash->Update(vectors[100].msg);
  EXPECT_THAT(hash->Final(), ElementsAreArray(vectors[100].md));
  EXPECT_THAT(hash->Final(), ElementsAreArray(empty.md));  // Final left it reset
  hash->Update(vectors[500].msg);
  hash->Reset();
  EXPECT_THAT(hash->Final(), ElementsAreArray(empty.md));
}

TEST(PhotonBeetleHashTest, FinalIntoRejectsWrongDigestSize) {
  const std::vector<HashVector> vectors = LoadHashVectors();
  ASSERT_GE(vectors.size(), 40u);
  std::unique_ptr<Hash> hash = NewPhotonBeetleHash256();
  hash->Update(vectors[37].msg);
  std::vector<uint8_t> too_short(31);
  std::vector<uint8_t> too_long(33);
  EXPECT_THAT(hash->FinalInto(too_short), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(hash->FinalInto(too_long), StatusIs(StatusCode::kInvalidArgument));
  // The failed calls left the state alone.
  EXPECT_THAT(hash->Final(), ElementsAreArray(vectors[37].md));
}

}  // namespace
}  // namespace custos::lwc
