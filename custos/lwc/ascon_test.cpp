// Tests of Ascon-AEAD128, Ascon-Hash256, Ascon-XOF128 and Ascon-CXOF128
// against every vector of the SP 800-232 KAT files, plus the API promises.
#include "custos/lwc/ascon.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/lwc/internal/ascon_avx512.h"
#include "custos/lwc/internal/ascon_permutation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::lwc {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAreArray;
using ::testing::Eq;
using ::testing::Not;

constexpr char kAeadKat[] = "kat/ascon/LWC_AEAD_KAT_128_128.txt";
constexpr char kHashKat[] = "kat/ascon/LWC_HASH_KAT_128_256.txt";
constexpr char kXofKat[] = "kat/ascon/LWC_XOF_KAT_128_512.txt";
constexpr char kCxofKat[] = "kat/ascon/LWC_CXOF_KAT_128_512.txt";

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "line " << record.line() << " field " << name;
  return bytes.ok() ? *std::move(bytes) : std::vector<uint8_t>();
}

struct AeadVector {
  int line;
  std::vector<uint8_t> key, nonce, pt, ad, ct;  // ct = ciphertext || tag
};

std::vector<AeadVector> LoadAeadVectors() {
  std::vector<AeadVector> vectors;
  for (const KatRecord& r : LoadKat(kAeadKat, KatFormat::kKeyValue)) {
    vectors.push_back({r.line(), Bytes(r, "Key"), Bytes(r, "Nonce"), Bytes(r, "PT"), Bytes(r, "AD"),
                       Bytes(r, "CT")});
  }
  return vectors;
}

std::unique_ptr<NonceAead> MustNewAead(std::span<const uint8_t> key,
                                       const RawAeadAlgorithm& algorithm) {
  StatusOr<std::unique_ptr<NonceAead>> aead = NewRawAead(algorithm, key);
  EXPECT_THAT(aead, IsOk());
  return aead.ok() ? *std::move(aead) : nullptr;
}

// ---------------------------------------------------------------------------
// Ascon-AEAD128, run on the build AsconAead128Algorithm() selects for this
// CPU and on every build this CPU can run (portable, BMI2, AVX-512VL).

struct AeadBuild {
  const char* name;
  const RawAeadAlgorithm* algorithm;
};

std::vector<AeadBuild> AvailableBuilds() {
  std::vector<AeadBuild> builds = {{"Selected", &AsconAead128Algorithm()},
                                   {"Portable", &internal::AsconAead128PortableAlgorithm()}};
  if (const RawAeadAlgorithm* bmi2 = internal::AsconAead128Bmi2Algorithm()) {
    builds.push_back({"Bmi2", bmi2});
  }
  if (const RawAeadAlgorithm* avx512 = internal::AsconAead128Avx512Algorithm()) {
    builds.push_back({"Avx512", avx512});
  }
  return builds;
}

void PrintTo(const AeadBuild& build, std::ostream* os) { *os << build.name; }

class AsconAead128Test : public ::testing::TestWithParam<AeadBuild> {
 protected:
  std::unique_ptr<NonceAead> MustNewAead(std::span<const uint8_t> key) {
    return ::custos::lwc::MustNewAead(key, *GetParam().algorithm);
  }
};

INSTANTIATE_TEST_SUITE_P(Builds, AsconAead128Test, ::testing::ValuesIn(AvailableBuilds()),
                         [](const ::testing::TestParamInfo<AeadBuild>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(AsconAead128ApiTest, SelectsTheFastestBuildThisCpuRuns) {
  const RawAeadAlgorithm* expected = internal::AsconAead128Avx512Algorithm();
  if (expected == nullptr) expected = internal::AsconAead128Bmi2Algorithm();
  if (expected == nullptr) expected = &internal::AsconAead128PortableAlgorithm();
  EXPECT_EQ(&AsconAead128Algorithm(), expected);
}

TEST(AsconAead128ApiTest, NewAsconAead128UsesTheAlgorithm) {
  std::vector<uint8_t> key(16, 3), nonce(16, 4), pt(40, 5);
  StatusOr<std::unique_ptr<NonceAead>> aead = NewAsconAead128(key);
  ASSERT_THAT(aead, IsOk());
  std::unique_ptr<NonceAead> portable = MustNewAead(key, internal::AsconAead128PortableAlgorithm());
  ASSERT_NE(portable, nullptr);
  EXPECT_EQ((*aead)->Seal(nonce, pt, pt).value(), portable->Seal(nonce, pt, pt).value());
}

TEST_P(AsconAead128Test, AlgorithmHasSp800232Sizes) {
  const RawAeadAlgorithm& algorithm = *GetParam().algorithm;
  EXPECT_EQ(algorithm.key_size, 16u);
  EXPECT_EQ(algorithm.nonce_size, 16u);
  EXPECT_EQ(algorithm.tag_size, 16u);
  std::vector<uint8_t> key(16);
  std::unique_ptr<NonceAead> aead = MustNewAead(key);
  ASSERT_NE(aead, nullptr);
  EXPECT_EQ(aead->key_size(), 16u);
  EXPECT_EQ(aead->nonce_size(), 16u);
  EXPECT_EQ(aead->tag_size(), 16u);
}

TEST_P(AsconAead128Test, SealMatchesEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    StatusOr<std::vector<uint8_t>> sealed = aead->Seal(v.nonce, v.ad, v.pt);
    ASSERT_THAT(sealed, IsOk());
    EXPECT_THAT(*sealed, ElementsAreArray(v.ct)) << "vector at line " << v.line;
    ++n;
  }
  EXPECT_EQ(n, 1089);
}

TEST_P(AsconAead128Test, OpenMatchesEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    StatusOr<std::vector<uint8_t>> opened = aead->Open(v.nonce, v.ad, v.ct);
    ASSERT_THAT(opened, IsOk()) << "vector at line " << v.line;
    EXPECT_THAT(*opened, ElementsAreArray(v.pt)) << "vector at line " << v.line;
    ++n;
  }
  EXPECT_EQ(n, 1089);
}

TEST_P(AsconAead128Test, SealAndOpenWorkInPlaceOnEveryKatVector) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    std::vector<uint8_t> buffer(v.pt.size() + 16);
    std::copy(v.pt.begin(), v.pt.end(), buffer.begin());
    ASSERT_THAT(
        aead->SealInto(v.nonce, v.ad, std::span<const uint8_t>(buffer).first(v.pt.size()), buffer),
        IsOk());
    EXPECT_THAT(buffer, ElementsAreArray(v.ct)) << "vector at line " << v.line;
    ASSERT_THAT(
        aead->OpenInto(v.nonce, v.ad, buffer, std::span<uint8_t>(buffer).first(v.pt.size())),
        IsOk());
    EXPECT_THAT(std::span<const uint8_t>(buffer).first(v.pt.size()), ElementsAreArray(v.pt))
        << "vector at line " << v.line;
    ++n;
  }
  EXPECT_EQ(n, 1089);
}

// Opens `ct` into a buffer pre-filled with 0xAA and checks that it fails with
// Unauthenticated and leaves the buffer all zero.
void ExpectRejectedAndWiped(const NonceAead& aead, std::span<const uint8_t> nonce,
                            std::span<const uint8_t> ad, std::span<const uint8_t> ct, int line,
                            const char* what) {
  std::vector<uint8_t> out(ct.size() - 16, 0xAA);
  EXPECT_THAT(aead.OpenInto(nonce, ad, ct, out), StatusIs(StatusCode::kUnauthenticated))
      << what << ", vector at line " << line;
  EXPECT_THAT(out, Each(Eq(0))) << what << ", vector at line " << line;
}

TEST_P(AsconAead128Test, OpenRejectsTamperingOnEveryKatVectorAndWipesOutput) {
  int n = 0;
  for (const AeadVector& v : LoadAeadVectors()) {
    std::unique_ptr<NonceAead> aead = MustNewAead(v.key);
    ASSERT_NE(aead, nullptr);
    std::vector<uint8_t> ct = v.ct;
    ct[ct.size() - 1 - (n % 16)] ^= 0x01;  // a tag byte, varying position
    ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, v.line, "tag");
    if (!v.pt.empty()) {
      ct = v.ct;
      ct[n % v.pt.size()] ^= 0x80;
      ExpectRejectedAndWiped(*aead, v.nonce, v.ad, ct, v.line, "ciphertext");
    }
    if (!v.ad.empty()) {
      std::vector<uint8_t> ad = v.ad;
      ad[n % ad.size()] ^= 0x04;
      ExpectRejectedAndWiped(*aead, v.nonce, ad, v.ct, v.line, "associated data");
    }
    // Appending one byte of AD changes the padding: must be rejected too.
    std::vector<uint8_t> longer_ad = v.ad;
    longer_ad.push_back(0);
    ExpectRejectedAndWiped(*aead, v.nonce, longer_ad, v.ct, v.line, "longer associated data");
    std::vector<uint8_t> nonce = v.nonce;
    nonce[n % 16] ^= 0x10;
    ExpectRejectedAndWiped(*aead, nonce, v.ad, v.ct, v.line, "nonce");
    std::vector<uint8_t> key = v.key;
    key[n % 16] ^= 0x02;
    std::unique_ptr<NonceAead> other = MustNewAead(key);
    ASSERT_NE(other, nullptr);
    ExpectRejectedAndWiped(*other, v.nonce, v.ad, v.ct, v.line, "key");
    ++n;
  }
  EXPECT_EQ(n, 1089);
}

TEST(AsconAead128ApiTest, RejectsWrongKeySize) {
  for (std::size_t size : {0, 15, 17, 32}) {
    std::vector<uint8_t> key(size);
    EXPECT_THAT(NewAsconAead128(key), StatusIs(StatusCode::kInvalidArgument)) << size;
  }
}

TEST_P(AsconAead128Test, RejectsWrongNonceAndBufferSizes) {
  std::vector<uint8_t> key(16, 7);
  std::unique_ptr<NonceAead> aead = MustNewAead(key);
  ASSERT_NE(aead, nullptr);
  std::vector<uint8_t> pt(20, 1);
  std::vector<uint8_t> out(36);
  for (std::size_t size : {0, 12, 15, 17}) {
    std::vector<uint8_t> nonce(size);
    EXPECT_THAT(aead->SealInto(nonce, {}, pt, out), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(aead->OpenInto(nonce, {}, out, pt), StatusIs(StatusCode::kInvalidArgument));
  }
  std::vector<uint8_t> nonce(16);
  std::vector<uint8_t> short_out(35);
  EXPECT_THAT(aead->SealInto(nonce, {}, pt, short_out), StatusIs(StatusCode::kInvalidArgument));
  std::vector<uint8_t> short_ct(15);
  EXPECT_THAT(aead->Open(nonce, {}, short_ct), StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(AsconAead128Test, LongMessagesRoundTripAndDependOnEveryBlock) {
  // The KAT stops at 32 bytes; check multi-block messages round trip, in
  // place too, and that changing a late block changes the tag.
  std::vector<uint8_t> key(16), nonce(16);
  for (int i = 0; i < 16; ++i) {
    key[i] = static_cast<uint8_t>(i * 7 + 1);
    nonce[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  std::unique_ptr<NonceAead> aead = MustNewAead(key);
  ASSERT_NE(aead, nullptr);
  for (std::size_t length : {33, 47, 48, 63, 64, 65, 1000, 4096, 16385}) {
    std::vector<uint8_t> pt(length), ad(length / 3);
    for (std::size_t i = 0; i < length; ++i) pt[i] = static_cast<uint8_t>(i * 31 + length);
    for (std::size_t i = 0; i < ad.size(); ++i) ad[i] = static_cast<uint8_t>(i * 17);
    StatusOr<std::vector<uint8_t>> sealed = aead->Seal(nonce, ad, pt);
    ASSERT_THAT(sealed, IsOk());
    StatusOr<std::vector<uint8_t>> opened = aead->Open(nonce, ad, *sealed);
    ASSERT_THAT(opened, IsOk());
    EXPECT_EQ(*opened, pt);
    std::vector<uint8_t> changed = pt;
    changed[length - 1] ^= 1;
    StatusOr<std::vector<uint8_t>> sealed2 = aead->Seal(nonce, ad, changed);
    ASSERT_THAT(sealed2, IsOk());
    EXPECT_FALSE(std::equal(sealed->end() - 16, sealed->end(), sealed2->end() - 16)) << length;
    std::vector<uint8_t> tampered = *sealed;
    tampered[length / 2] ^= 0x20;
    EXPECT_THAT(aead->Open(nonce, ad, tampered), StatusIs(StatusCode::kUnauthenticated));
  }
}

TEST_P(AsconAead128Test, MatchesThePortableBuildBeyondTheKatLengths) {
  // The KAT stops at 32 bytes of plaintext and of associated data; compare
  // every build with the portable one over many block counts and tails, in
  // both directions.
  std::vector<uint8_t> key(16), nonce(16);
  for (int i = 0; i < 16; ++i) {
    key[i] = static_cast<uint8_t>(i * 11 + 3);
    nonce[i] = static_cast<uint8_t>(i * 5 + 9);
  }
  std::unique_ptr<NonceAead> aead = MustNewAead(key);
  std::unique_ptr<NonceAead> portable =
      ::custos::lwc::MustNewAead(key, internal::AsconAead128PortableAlgorithm());
  ASSERT_NE(aead, nullptr);
  ASSERT_NE(portable, nullptr);
  int n = 0;
  for (std::size_t length : {33, 40, 47, 48, 49, 55, 56, 63, 64, 100, 255, 1536, 4099}) {
    for (std::size_t ad_length : {0, 7, 8, 15, 16, 17, 33, 100}) {
      std::vector<uint8_t> pt(length), ad(ad_length);
      for (std::size_t i = 0; i < length; ++i) pt[i] = static_cast<uint8_t>(i * 29 + length);
      for (std::size_t i = 0; i < ad_length; ++i) ad[i] = static_cast<uint8_t>(i * 13 + 1);
      StatusOr<std::vector<uint8_t>> sealed = aead->Seal(nonce, ad, pt);
      StatusOr<std::vector<uint8_t>> expected = portable->Seal(nonce, ad, pt);
      ASSERT_THAT(sealed, IsOk());
      ASSERT_THAT(expected, IsOk());
      EXPECT_EQ(*sealed, *expected) << length << " " << ad_length;
      StatusOr<std::vector<uint8_t>> opened = aead->Open(nonce, ad, *expected);
      ASSERT_THAT(opened, IsOk()) << length << " " << ad_length;
      EXPECT_EQ(*opened, pt) << length << " " << ad_length;
      ++n;
    }
  }
  EXPECT_EQ(n, 13 * 8);
}

// ---------------------------------------------------------------------------
// Ascon-Hash256

std::vector<uint8_t> HashOneShot(std::span<const uint8_t> message) {
  std::unique_ptr<Hash> hash = NewAsconHash256();
  hash->Update(message);
  return hash->Final();
}

TEST(AsconHash256Test, Sizes) {
  std::unique_ptr<Hash> hash = NewAsconHash256();
  EXPECT_EQ(hash->digest_size(), 32u);
  EXPECT_EQ(hash->block_size(), 8u);
}

TEST(AsconHash256Test, MatchesEveryKatVector) {
  int n = 0;
  for (const KatRecord& r : LoadKat(kHashKat, KatFormat::kKeyValue)) {
    EXPECT_THAT(HashOneShot(Bytes(r, "Msg")), ElementsAreArray(Bytes(r, "MD")))
        << "line " << r.line();
    ++n;
  }
  EXPECT_EQ(n, 1025);
}

TEST(AsconHash256Test, IncrementalUpdatesInOddChunksMatchEveryKatVector) {
  int n = 0;
  for (const KatRecord& r : LoadKat(kHashKat, KatFormat::kKeyValue)) {
    const std::vector<uint8_t> msg = Bytes(r, "Msg");
    const std::vector<uint8_t> md = Bytes(r, "MD");
    for (std::size_t chunk : {1, 3, 5, 7, 9, 13, 31}) {
      std::unique_ptr<Hash> hash = NewAsconHash256();
      for (std::size_t i = 0; i < msg.size(); i += chunk) {
        hash->Update(std::span<const uint8_t>(msg).subspan(i, std::min(chunk, msg.size() - i)));
      }
      EXPECT_THAT(hash->Final(), ElementsAreArray(md)) << "line " << r.line() << " chunk " << chunk;
    }
    ++n;
  }
  EXPECT_EQ(n, 1025);
}

TEST(AsconHash256Test, FinalResetsAndFinalIntoChecksSize) {
  std::vector<uint8_t> msg(100, 0x5c);
  std::unique_ptr<Hash> hash = NewAsconHash256();
  hash->Update(msg);
  std::vector<uint8_t> first = hash->Final();
  hash->Update(msg);
  std::vector<uint8_t> digest(32);
  ASSERT_THAT(hash->FinalInto(digest), IsOk());
  EXPECT_EQ(digest, first);
  std::vector<uint8_t> wrong(31);
  EXPECT_THAT(hash->FinalInto(wrong), StatusIs(StatusCode::kInvalidArgument));
  hash->Update(msg);
  hash->Reset();
  EXPECT_EQ(hash->Final(), HashOneShot({}));
}

TEST(AsconHash256Test, CloneCopiesMidStreamState) {
  std::vector<uint8_t> msg(77);
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i);
  for (std::size_t split : {0, 3, 8, 13, 77}) {
    std::unique_ptr<Hash> hash = NewAsconHash256();
    hash->Update(std::span<const uint8_t>(msg).first(split));
    std::unique_ptr<Hash> clone = hash->Clone();
    hash->Update(std::span<const uint8_t>(msg).subspan(split));
    clone->Update(std::span<const uint8_t>(msg).subspan(split));
    std::vector<uint8_t> expected = HashOneShot(msg);
    EXPECT_EQ(hash->Final(), expected) << split;
    EXPECT_EQ(clone->Final(), expected) << split;
  }
}

// ---------------------------------------------------------------------------
// Ascon-XOF128 and Ascon-CXOF128

TEST(AsconXof128Test, MatchesEveryKatVector) {
  int n = 0;
  for (const KatRecord& r : LoadKat(kXofKat, KatFormat::kKeyValue)) {
    const std::vector<uint8_t> md = Bytes(r, "MD");
    ASSERT_EQ(md.size(), 64u);
    std::unique_ptr<Xof> xof = NewAsconXof128();
    ASSERT_THAT(xof->Update(Bytes(r, "Msg")), IsOk());
    EXPECT_THAT(xof->Squeeze(64), ElementsAreArray(md)) << "line " << r.line();
    ++n;
  }
  EXPECT_EQ(n, 1025);
}

TEST(AsconXof128Test, IncrementalUpdatesAndPiecewiseSqueezesMatchEveryKatVector) {
  int n = 0;
  for (const KatRecord& r : LoadKat(kXofKat, KatFormat::kKeyValue)) {
    const std::vector<uint8_t> msg = Bytes(r, "Msg");
    const std::vector<uint8_t> md = Bytes(r, "MD");
    for (std::size_t chunk : {1, 3, 7, 8, 11}) {
      std::unique_ptr<Xof> xof = NewAsconXof128();
      for (std::size_t i = 0; i < msg.size(); i += chunk) {
        ASSERT_THAT(
            xof->Update(std::span<const uint8_t>(msg).subspan(i, std::min(chunk, msg.size() - i))),
            IsOk());
      }
      std::vector<uint8_t> out;
      while (out.size() < md.size()) {
        std::vector<uint8_t> piece = xof->Squeeze(std::min(chunk, md.size() - out.size()));
        out.insert(out.end(), piece.begin(), piece.end());
      }
      EXPECT_THAT(out, ElementsAreArray(md)) << "line " << r.line() << " chunk " << chunk;
    }
    ++n;
  }
  EXPECT_EQ(n, 1025);
}

TEST(AsconXof128Test, SqueezingInPiecesEqualsOneSqueeze) {
  std::vector<uint8_t> msg(41, 0x3a);
  std::unique_ptr<Xof> one = NewAsconXof128();
  ASSERT_THAT(one->Update(msg), IsOk());
  const std::vector<uint8_t> expected = one->Squeeze(1000);
  for (std::size_t piece : {1, 2, 5, 7, 8, 9, 16, 33, 999}) {
    std::unique_ptr<Xof> xof = NewAsconXof128();
    ASSERT_THAT(xof->Update(msg), IsOk());
    std::vector<uint8_t> out(expected.size());
    for (std::size_t i = 0; i < out.size(); i += piece) {
      xof->Squeeze(std::span<uint8_t>(out).subspan(i, std::min(piece, out.size() - i)));
    }
    EXPECT_EQ(out, expected) << piece;
  }
}

TEST(AsconXof128Test, UpdateAfterSqueezeFailsUntilReset) {
  std::unique_ptr<Xof> xof = NewAsconXof128();
  std::vector<uint8_t> msg(5, 1);
  ASSERT_THAT(xof->Update(msg), IsOk());
  std::vector<uint8_t> first = xof->Squeeze(10);
  EXPECT_THAT(xof->Update(msg), StatusIs(StatusCode::kFailedPrecondition));
  xof->Reset();
  ASSERT_THAT(xof->Update(msg), IsOk());
  EXPECT_EQ(xof->Squeeze(10), first);
}

TEST(AsconXof128Test, CloneCopiesStateWhileAbsorbingAndSqueezing) {
  std::vector<uint8_t> msg(19, 9);
  std::unique_ptr<Xof> xof = NewAsconXof128();
  ASSERT_THAT(xof->Update(msg), IsOk());
  std::unique_ptr<Xof> absorbing = xof->Clone();
  std::vector<uint8_t> a = xof->Squeeze(5);
  std::unique_ptr<Xof> squeezing = xof->Clone();
  std::vector<uint8_t> b = xof->Squeeze(20);
  EXPECT_EQ(squeezing->Squeeze(20), b);
  EXPECT_THAT(squeezing->Update(msg), StatusIs(StatusCode::kFailedPrecondition));
  std::vector<uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(absorbing->Squeeze(25), ab);
}

TEST(AsconCxof128Test, MatchesEveryKatVector) {
  int n = 0;
  for (const KatRecord& r : LoadKat(kCxofKat, KatFormat::kKeyValue)) {
    const std::vector<uint8_t> md = Bytes(r, "MD");
    ASSERT_EQ(md.size(), 64u);
    StatusOr<std::unique_ptr<Xof>> cxof = NewAsconCxof128(Bytes(r, "Z"));
    ASSERT_THAT(cxof, IsOk());
    ASSERT_THAT((*cxof)->Update(Bytes(r, "Msg")), IsOk());
    EXPECT_THAT((*cxof)->Squeeze(64), ElementsAreArray(md)) << "line " << r.line();
    // Reset keeps the customization string.
    (*cxof)->Reset();
    ASSERT_THAT((*cxof)->Update(Bytes(r, "Msg")), IsOk());
    EXPECT_THAT((*cxof)->Squeeze(64), ElementsAreArray(md)) << "after reset, line " << r.line();
    ++n;
  }
  EXPECT_EQ(n, 1089);
}

TEST(AsconCxof128Test, PiecewiseSqueezeAndCloneMatchOneShot) {
  std::vector<uint8_t> z(13, 0x42), msg(50, 0x17);
  StatusOr<std::unique_ptr<Xof>> cxof = NewAsconCxof128(z);
  ASSERT_THAT(cxof, IsOk());
  ASSERT_THAT((*cxof)->Update(msg), IsOk());
  std::unique_ptr<Xof> clone = (*cxof)->Clone();
  std::vector<uint8_t> expected = (*cxof)->Squeeze(100);
  std::vector<uint8_t> out(100);
  for (std::size_t i = 0; i < out.size(); i += 7) {
    clone->Squeeze(std::span<uint8_t>(out).subspan(i, std::min<std::size_t>(7, out.size() - i)));
  }
  EXPECT_EQ(out, expected);
  EXPECT_THAT(clone->Update(msg), StatusIs(StatusCode::kFailedPrecondition));
}

TEST(AsconCxof128Test, CustomizationLimitIs256Bytes) {
  std::vector<uint8_t> z256(256, 1), z257(257, 1);
  EXPECT_THAT(NewAsconCxof128(z256), IsOk());
  EXPECT_THAT(NewAsconCxof128(z257), StatusIs(StatusCode::kInvalidArgument));
}

TEST(AsconCxof128Test, EmptyCustomizationDiffersFromXof) {
  StatusOr<std::unique_ptr<Xof>> cxof = NewAsconCxof128({});
  ASSERT_THAT(cxof, IsOk());
  std::unique_ptr<Xof> xof = NewAsconXof128();
  EXPECT_THAT((*cxof)->Squeeze(32), Not(ElementsAreArray(xof->Squeeze(32))));
}

}  // namespace
}  // namespace custos::lwc
