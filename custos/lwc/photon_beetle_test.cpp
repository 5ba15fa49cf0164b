// Tests of PHOTON-Beetle-AEAD[128] and PHOTON-Beetle-Hash[32] against every
// vector of the NIST LWC KAT files, plus in-place operation, forgery
// rejection, argument checks, incremental hashing and Clone.
#include "custos/lwc/photon_beetle.h"

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

constexpr char kAeadKatPath[] = "kat/photon-beetle/LWC_AEAD_KAT_128_128.txt";
constexpr char kHashKatPath[] = "kat/photon-beetle/LWC_HASH_KAT_256.txt";
constexpr int kAeadKatCount = 1089;
constexpr int kHashKatCount = 1025;
constexpr std::size_t kTagSize = 16;

struct AeadVector {
  int count = 0;
  std::vector<uint8_t> key;
  std::vector<uint8_t> nonce;
  std::vector<uint8_t> pt;
  std::vector<uint8_t> ad;
  std::vector<uint8_t> ct;  // ciphertext || tag
};

struct HashVector {
  int count = 0;
  std::vector<uint8_t> msg;
  std::vector<uint8_t> md;
};

// Reads every record of the AEAD KAT file; a malformed record fails the test.
std::vector<AeadVector> LoadAeadVectors() {
  std::vector<AeadVector> vectors;
  for (const KatRecord& record : custos::testing::LoadKat(kAeadKatPath, KatFormat::kKeyValue)) {
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
  const RawAeadAlgorithm& algorithm = PhotonBeetleAead128Algorithm();
  EXPECT_EQ(algorithm.key_size, 16u);
  EXPECT_EQ(algorithm.nonce_size, 16u);
  EXPECT_EQ(algorithm.tag_size, 16u);
  auto aead = NewPhotonBeetleAead128(std::vector<uint8_t>(16));
  ASSERT_THAT(aead, IsOk());
  EXPECT_EQ((*aead)->key_size(), 16u);
  EXPECT_EQ((*aead)->nonce_size(), 16u);
  EXPECT_EQ((*aead)->tag_size(), 16u);
}

TEST(PhotonBeetleAeadTest, SealMatchesEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    auto aead = NewPhotonBeetleAead128(v.key);
    ASSERT_THAT(aead, IsOk());
    EXPECT_THAT((*aead)->Seal(v.nonce, v.ad, v.pt), IsOkAndHolds(ElementsAreArray(v.ct)))
        << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, OpenRecoversEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    auto aead = NewPhotonBeetleAead128(v.key);
    ASSERT_THAT(aead, IsOk());
    EXPECT_THAT((*aead)->Open(v.nonce, v.ad, v.ct), IsOkAndHolds(ElementsAreArray(v.pt)))
        << "Count = " << v.count;
    ++n;
  }
  EXPECT_EQ(n, kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, SealAndOpenWorkInPlace) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    auto aead = NewPhotonBeetleAead128(v.key);
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
  EXPECT_EQ(n, kAeadKatCount);
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

TEST(PhotonBeetleAeadTest, RejectsTamperedTagCiphertextAdAndNonce) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    auto aead = NewPhotonBeetleAead128(v.key);
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
    auto other = NewPhotonBeetleAead128(other_key);
    ASSERT_THAT(other, IsOk());
    ExpectRejectedAndWiped(**other, v.nonce, v.ad, v.ct, "key, " + where);
    ++n;
  }
  EXPECT_EQ(n, kAeadKatCount);
}

TEST(PhotonBeetleAeadTest, RejectsWrongKeySize) {
  for (std::size_t size : {0u, 15u, 17u, 32u}) {
    EXPECT_THAT(NewPhotonBeetleAead128(std::vector<uint8_t>(size)),
                StatusIs(StatusCode::kInvalidArgument))
        << size;
  }
}

TEST(PhotonBeetleAeadTest, RejectsWrongNonceAndBufferSizes) {
  auto aead = NewPhotonBeetleAead128(std::vector<uint8_t>(16, 0x42));
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
