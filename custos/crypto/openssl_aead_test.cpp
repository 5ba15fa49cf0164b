// AES-128-GCM and ChaCha20-Poly1305 through EVP. ChaCha20-Poly1305 runs the
// RFC 8439 and Botan vectors of the Crypto++ file; AES-128-GCM has no vector
// file here, so it is checked by round trips, by tampering, and its
// ciphertext against AES-CTR built from NewAes (GCM encrypts with CTR from
// counter block nonce || 00000002).
#include "custos/crypto/openssl_aead.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/crypto/aes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/aead_test_util.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::crypto {
namespace {

using ::custos::testing::AeadKatCase;
using ::custos::testing::ExpectInPlaceMatchesEveryVector;
using ::custos::testing::ExpectOpenRecoversEveryVector;
using ::custos::testing::ExpectRejectedAndWiped;
using ::custos::testing::ExpectSealMatchesEveryVector;
using ::custos::testing::ExpectTamperingRejected;
using ::custos::testing::ExpectTamperingRejectedForEveryVector;
using ::custos::testing::ExpectWrongBufferSizesRejected;
using ::custos::testing::ExpectWrongKeySizesRejected;
using ::custos::testing::ExpectWrongNonceSizesRejected;
using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;
using ::testing::Each;
using ::testing::Eq;

constexpr char kChaChaFile[] = "kat/chacha20-poly1305/chacha20poly1305.txt";

std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 11;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::vector<uint8_t> Concat(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  std::vector<uint8_t> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

struct AeadCase {
  const char* name;
  std::size_t key_size;
  std::function<StatusOr<std::unique_ptr<lwc::NonceAead>>(std::span<const uint8_t>)> make;
};

const AeadCase kAeads[] = {
    {"AES-128-GCM", 16, NewAes128Gcm},
    {"ChaCha20-Poly1305", 32, NewChaCha20Poly1305},
};

std::unique_ptr<lwc::NonceAead> Make(const AeadCase& aead, std::span<const uint8_t> key) {
  StatusOr<std::unique_ptr<lwc::NonceAead>> made = aead.make(key);
  EXPECT_THAT(made, IsOk()) << aead.name;
  return made.ok() ? *std::move(made) : nullptr;
}

// ------------------------------------------------------ ChaCha20-Poly1305 KAT

// KatRecord::line() of a kColon record is the line of its section's first
// field (fields carry over), so vectors are named by their index instead.
std::vector<AeadKatCase> LoadChaChaVectors() {
  std::vector<AeadKatCase> vectors;
  int index = 0;
  for (const KatRecord& record : LoadKat(kChaChaFile, KatFormat::kColon)) {
    // The file ends with XChaCha20-Poly1305 (24-byte nonces): not this cipher.
    if (record.Get("Name").value_or("") != "ChaCha20/Poly1305") continue;
    AeadKatCase v;
    v.label = "vector " + std::to_string(index++);
    EXPECT_EQ(record.Get("Test").value_or(""), "Encrypt") << v.label;
    std::vector<uint8_t> ciphertext, tag;
    bool ok = true;
    for (auto [field, target] : {std::pair{"Key", &v.key}, std::pair{"IV", &v.nonce},
                                 std::pair{"Header", &v.ad}, std::pair{"Plaintext", &v.pt},
                                 std::pair{"Ciphertext", &ciphertext}, std::pair{"MAC", &tag}}) {
      StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(field);
      EXPECT_THAT(bytes, IsOk()) << v.label << " field " << field;
      if (!bytes.ok()) {
        ok = false;
        break;
      }
      *target = *std::move(bytes);
    }
    v.ct_and_tag = Concat(ciphertext, tag);
    if (ok) vectors.push_back(std::move(v));
  }
  return vectors;
}

constexpr int kChaChaVectorCount = 578;

TEST(ChaCha20Poly1305Test, SealsEveryVector) {
  ExpectSealMatchesEveryVector(NewChaCha20Poly1305, LoadChaChaVectors(), kChaChaVectorCount);
}

TEST(ChaCha20Poly1305Test, OpensEveryVector) {
  ExpectOpenRecoversEveryVector(NewChaCha20Poly1305, LoadChaChaVectors(), kChaChaVectorCount);
}

TEST(ChaCha20Poly1305Test, SealsAndOpensEveryVectorInPlace) {
  ExpectInPlaceMatchesEveryVector(NewChaCha20Poly1305, LoadChaChaVectors(), kChaChaVectorCount);
}

TEST(ChaCha20Poly1305Test, RejectsEveryTamperedVector) {
  ExpectTamperingRejectedForEveryVector(NewChaCha20Poly1305, LoadChaChaVectors(),
                                        kChaChaVectorCount);
}

// ------------------------------------------------------------ both AEADs

TEST(OpensslAeadTest, ReportsSizes) {
  for (const AeadCase& c : kAeads) {
    std::unique_ptr<lwc::NonceAead> aead = Make(c, TestBytes(c.key_size, 1));
    ASSERT_NE(aead, nullptr);
    EXPECT_EQ(aead->key_size(), c.key_size) << c.name;
    EXPECT_EQ(aead->nonce_size(), 12u) << c.name;
    EXPECT_EQ(aead->tag_size(), 16u) << c.name;
  }
}

TEST(OpensslAeadTest, RoundTripsEveryLength) {
  for (const AeadCase& c : kAeads) {
    std::unique_ptr<lwc::NonceAead> aead = Make(c, TestBytes(c.key_size, 2));
    ASSERT_NE(aead, nullptr);
    for (std::size_t length : {0, 1, 15, 16, 17, 63, 64, 65, 255, 1000, 70000}) {
      for (std::size_t ad_length : {0, 1, 16, 33}) {
        const std::vector<uint8_t> nonce = TestBytes(12, static_cast<uint32_t>(length + 3));
        const std::vector<uint8_t> ad = TestBytes(ad_length, 4);
        const std::vector<uint8_t> plaintext = TestBytes(length, 5);
        StatusOr<std::vector<uint8_t>> sealed = aead->Seal(nonce, ad, plaintext);
        ASSERT_THAT(sealed, IsOk());
        ASSERT_EQ(sealed->size(), length + 16);
        if (length >= 16) {
          EXPECT_NE(std::vector<uint8_t>(sealed->begin(), sealed->begin() + length), plaintext);
        }
        EXPECT_THAT(aead->Open(nonce, ad, *sealed), IsOkAndHolds(plaintext))
            << c.name << " length " << length << " ad " << ad_length;
      }
    }
  }
}

TEST(OpensslAeadTest, TamperedMessagesFailAndWipeTheOutput) {
  for (const AeadCase& c : kAeads) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> key = TestBytes(c.key_size, 6);
    std::unique_ptr<lwc::NonceAead> aead = Make(c, key);
    ASSERT_NE(aead, nullptr);
    for (std::size_t length : {0, 1, 16, 100}) {
      AeadKatCase message;
      message.label = "length " + std::to_string(length);
      message.key = key;
      message.nonce = TestBytes(12, 7);
      message.ad = TestBytes(length % 3 == 0 ? 0 : 20, 8);
      message.pt = TestBytes(length, 9);
      StatusOr<std::vector<uint8_t>> sealed = aead->Seal(message.nonce, message.ad, message.pt);
      ASSERT_THAT(sealed, IsOk());
      message.ct_and_tag = *std::move(sealed);
      ExpectTamperingRejected(c.make, message);
    }
  }
}

TEST(OpensslAeadTest, WrongKeyFailsToOpen) {
  for (const AeadCase& c : kAeads) {
    std::unique_ptr<lwc::NonceAead> sealer = Make(c, TestBytes(c.key_size, 10));
    std::unique_ptr<lwc::NonceAead> opener = Make(c, TestBytes(c.key_size, 11));
    ASSERT_NE(sealer, nullptr);
    ASSERT_NE(opener, nullptr);
    const std::vector<uint8_t> nonce = TestBytes(12, 12);
    StatusOr<std::vector<uint8_t>> sealed = sealer->Seal(nonce, {}, TestBytes(40, 13));
    ASSERT_THAT(sealed, IsOk());
    ExpectRejectedAndWiped(*opener, nonce, {}, *sealed, c.name);
  }
}

TEST(OpensslAeadTest, SealsAndOpensInPlace) {
  for (const AeadCase& c : kAeads) {
    std::unique_ptr<lwc::NonceAead> aead = Make(c, TestBytes(c.key_size, 14));
    ASSERT_NE(aead, nullptr);
    const std::vector<uint8_t> nonce = TestBytes(12, 15);
    const std::vector<uint8_t> ad = TestBytes(9, 16);
    const std::vector<uint8_t> plaintext = TestBytes(77, 17);
    StatusOr<std::vector<uint8_t>> expected = aead->Seal(nonce, ad, plaintext);
    ASSERT_THAT(expected, IsOk());
    std::vector<uint8_t> buffer = plaintext;
    buffer.resize(plaintext.size() + 16);
    const std::span<uint8_t> all(buffer);
    ASSERT_THAT(aead->SealInto(nonce, ad, all.first(plaintext.size()), all), IsOk());
    EXPECT_EQ(buffer, *expected) << c.name;
    ASSERT_THAT(aead->OpenInto(nonce, ad, all, all.first(plaintext.size())), IsOk());
    EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + 77), plaintext) << c.name;
    // In place with a bad tag: the plaintext area ends up wiped.
    ASSERT_THAT(aead->SealInto(nonce, ad, all.first(plaintext.size()), all), IsOk());
    buffer.back() ^= 1;
    EXPECT_THAT(aead->OpenInto(nonce, ad, all, all.first(plaintext.size())),
                StatusIs(StatusCode::kUnauthenticated));
    EXPECT_THAT(std::vector<uint8_t>(buffer.begin(), buffer.begin() + 77), Each(Eq(0))) << c.name;
  }
}

TEST(OpensslAeadTest, RejectsWrongKeySizes) {
  for (const AeadCase& c : kAeads) {
    SCOPED_TRACE(c.name);
    ExpectWrongKeySizesRejected(c.make, c.key_size);
  }
}

TEST(OpensslAeadTest, RejectsWrongNonceSizes) {
  for (const AeadCase& c : kAeads) {
    SCOPED_TRACE(c.name);
    ExpectWrongNonceSizesRejected(c.make, c.key_size);
  }
}

TEST(OpensslAeadTest, RejectsWrongBufferSizes) {
  for (const AeadCase& c : kAeads) {
    SCOPED_TRACE(c.name);
    ExpectWrongBufferSizesRejected(c.make, c.key_size);
  }
}

TEST(OpensslAeadTest, IsSafeToShareBetweenThreads) {
  for (const AeadCase& c : kAeads) {
    std::unique_ptr<lwc::NonceAead> aead = Make(c, TestBytes(c.key_size, 25));
    ASSERT_NE(aead, nullptr);
    constexpr int kThreads = 4;
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&aead, &failures, t] {
        for (int i = 0; i < 300; ++i) {
          const auto seed = static_cast<uint32_t>(t * 1000 + i);
          const std::vector<uint8_t> nonce = TestBytes(12, seed);
          const std::vector<uint8_t> plaintext = TestBytes(static_cast<std::size_t>(i), seed);
          StatusOr<std::vector<uint8_t>> sealed = aead->Seal(nonce, {}, plaintext);
          StatusOr<std::vector<uint8_t>> opened =
              sealed.ok() ? aead->Open(nonce, {}, *sealed) : sealed;
          if (!opened.ok() || *opened != plaintext) ++failures[t];
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << c.name << " thread " << t;
  }
}

// ------------------------------------------------------------ AES-128-GCM

TEST(Aes128GcmTest, CiphertextIsAesCtrFromCounterTwo) {
  // SP 800-38D with a 96-bit IV: J0 = IV || 00000001, and the plaintext is
  // encrypted with GCTR starting at inc32(J0). This ties the GCM object's
  // key and nonce handling to NewAes, independently of OpenSSL's GCM code.
  const std::vector<uint8_t> key = TestBytes(16, 26);
  const std::vector<uint8_t> nonce = TestBytes(12, 27);
  const std::vector<uint8_t> plaintext = TestBytes(100, 28);
  std::unique_ptr<lwc::NonceAead> gcm = Make(kAeads[0], key);
  StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(key);
  ASSERT_NE(gcm, nullptr);
  ASSERT_THAT(aes, IsOk());
  StatusOr<std::vector<uint8_t>> sealed = gcm->Seal(nonce, TestBytes(5, 29), plaintext);
  ASSERT_THAT(sealed, IsOk());
  std::vector<uint8_t> expected = plaintext;
  for (std::size_t block = 0; block * 16 < plaintext.size(); ++block) {
    std::vector<uint8_t> counter = nonce;
    const auto value = static_cast<uint32_t>(block + 2);
    for (int shift : {24, 16, 8, 0}) counter.push_back(static_cast<uint8_t>(value >> shift));
    std::vector<uint8_t> keystream(16);
    ASSERT_THAT((*aes)->EncryptBlock(counter, keystream), IsOk());
    for (std::size_t i = 0; i < 16 && block * 16 + i < plaintext.size(); ++i) {
      expected[block * 16 + i] ^= keystream[i];
    }
  }
  EXPECT_EQ(std::vector<uint8_t>(sealed->begin(), sealed->begin() + 100), expected);
}

TEST(Aes128GcmTest, EmptyMessageStillAuthenticatesTheAssociatedData) {
  std::unique_ptr<lwc::NonceAead> gcm = Make(kAeads[0], TestBytes(16, 30));
  ASSERT_NE(gcm, nullptr);
  const std::vector<uint8_t> nonce = TestBytes(12, 31);
  StatusOr<std::vector<uint8_t>> a = gcm->Seal(nonce, TestBytes(20, 32), {});
  StatusOr<std::vector<uint8_t>> b = gcm->Seal(nonce, TestBytes(20, 33), {});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_NE(*a, *b);
  EXPECT_THAT(gcm->Open(nonce, TestBytes(20, 32), *a), IsOkAndHolds(std::vector<uint8_t>()));
  EXPECT_THAT(gcm->Open(nonce, TestBytes(20, 33), *a), StatusIs(StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace custos::crypto
