// SHA-256, SHA3-256 and SHA-512 through EVP_MD_CTX, and the HMAC vectors of
// RFC 4231 that need them (lwc::NewHmac over these hashes).
#include "custos/crypto/openssl_hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/lwc/hmac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::crypto {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;

// HMAC through OpenSSL's own EVP_MAC, for differential checks.
std::vector<uint8_t> OpensslHmac(const char* digest, const std::vector<uint8_t>& key,
                                 const std::vector<uint8_t>& message) {
  // A null key would mean "keep the previous key" to EVP_MAC_init.
  static const uint8_t kEmpty = 0;
  std::vector<uint8_t> tag(EVP_MAX_MD_SIZE);
  std::size_t length = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.empty() ? &kEmpty : key.data(),
                      key.size(), message.data(), message.size(), tag.data(), tag.size(), &length),
            nullptr);
  tag.resize(length);
  return tag;
}

std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 9;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

struct HashCase {
  const char* name;
  std::function<std::unique_ptr<lwc::Hash>()> make;
  const EVP_MD* (*legacy_md)();
  std::size_t digest_size;
  std::size_t block_size;
};

const HashCase kHashes[] = {
    {"SHA-256", NewSha256, EVP_sha256, 32, 64},
    {"SHA3-256", NewSha3_256, EVP_sha3_256, 32, 136},
    {"SHA-512", NewSha512, EVP_sha512, 64, 128},
};

// The one-shot EVP_Digest, through the legacy EVP_MD objects: a different
// code path from the fetched, incremental one under test.
std::vector<uint8_t> OneShot(const HashCase& hash, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), digest.data(), &length, hash.legacy_md(), nullptr),
            1);
  digest.resize(length);
  return digest;
}

TEST(OpensslHashTest, ReportsDigestAndBlockSizes) {
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> h = hash.make();
    ASSERT_NE(h, nullptr) << hash.name;
    EXPECT_EQ(h->digest_size(), hash.digest_size) << hash.name;
    EXPECT_EQ(h->block_size(), hash.block_size) << hash.name;
  }
}

TEST(OpensslHashTest, OneUpdateEqualsOneShotEvpDigest) {
  int count = 0;
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> h = hash.make();
    ASSERT_NE(h, nullptr);
    for (std::size_t length = 0; length <= 300; ++length) {
      const std::vector<uint8_t> data = TestBytes(length, static_cast<uint32_t>(length));
      h->Update(data);
      ASSERT_EQ(h->Final(), OneShot(hash, data)) << hash.name << " length " << length;
      ++count;
    }
  }
  EXPECT_EQ(count, 3 * 301);
}

TEST(OpensslHashTest, OddChunksEqualOneShot) {
  const std::vector<uint8_t> data = TestBytes(1000, 1);
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> h = hash.make();
    ASSERT_NE(h, nullptr);
    const std::vector<uint8_t> expected = OneShot(hash, data);
    for (std::size_t chunk : {1, 3, 7, 13, 63, 64, 65, 135, 137, 999}) {
      for (std::size_t i = 0; i < data.size(); i += chunk) {
        h->Update(std::span<const uint8_t>(data).subspan(i, std::min(chunk, data.size() - i)));
        h->Update({});
      }
      EXPECT_EQ(h->Final(), expected) << hash.name << " chunk " << chunk;
    }
  }
}

TEST(OpensslHashTest, CloneCopiesTheStateAndThenDiverges) {
  const std::vector<uint8_t> head = TestBytes(77, 2);
  const std::vector<uint8_t> tail_a = TestBytes(50, 3);
  const std::vector<uint8_t> tail_b = TestBytes(51, 4);
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> original = hash.make();
    ASSERT_NE(original, nullptr);
    original->Update(head);
    std::unique_ptr<lwc::Hash> copy = original->Clone();
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->digest_size(), hash.digest_size);
    EXPECT_EQ(copy->block_size(), hash.block_size);
    original->Update(tail_a);
    copy->Update(tail_b);
    std::vector<uint8_t> a = head;
    a.insert(a.end(), tail_a.begin(), tail_a.end());
    std::vector<uint8_t> b = head;
    b.insert(b.end(), tail_b.begin(), tail_b.end());
    EXPECT_EQ(original->Final(), OneShot(hash, a)) << hash.name;
    EXPECT_EQ(copy->Final(), OneShot(hash, b)) << hash.name;
    // The clone outlives nothing of the original: destroy it and use the copy.
    original.reset();
    copy->Update(head);
    EXPECT_EQ(copy->Final(), OneShot(hash, head)) << hash.name;
  }
}

TEST(OpensslHashTest, FinalResetsAndResetForgetsInput) {
  const std::vector<uint8_t> data = TestBytes(100, 5);
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> h = hash.make();
    ASSERT_NE(h, nullptr);
    h->Update(data);
    const std::vector<uint8_t> first = h->Final();
    h->Update(data);
    EXPECT_EQ(h->Final(), first) << hash.name;
    h->Update(TestBytes(10, 6));
    h->Reset();
    h->Update(data);
    EXPECT_EQ(h->Final(), first) << hash.name;
  }
}

TEST(OpensslHashTest, FinalIntoChecksTheBufferSize) {
  for (const HashCase& hash : kHashes) {
    std::unique_ptr<lwc::Hash> h = hash.make();
    ASSERT_NE(h, nullptr);
    std::vector<uint8_t> wrong(hash.digest_size - 1);
    EXPECT_THAT(h->FinalInto(wrong), StatusIs(StatusCode::kInvalidArgument));
    std::vector<uint8_t> digest(hash.digest_size);
    h->Update(TestBytes(3, 7));
    EXPECT_THAT(h->FinalInto(digest), IsOk());
    EXPECT_EQ(digest, OneShot(hash, TestBytes(3, 7))) << hash.name;
  }
}

// ---------------------------------------------------------- HMAC, RFC 4231

struct HmacCounts {
  int full = 0;
  int truncated = 0;
};

HmacCounts CheckHmacSection(std::string_view name,
                            const std::function<std::unique_ptr<lwc::Hash>()>& make) {
  HmacCounts counts;
  for (const KatRecord& record : LoadKat("kat/hmac/hmac.txt", KatFormat::kColon)) {
    if (record.Get("Name").value_or("") != name) continue;
    SCOPED_TRACE(std::string(name) + " vector at line " + std::to_string(record.line()));
    StatusOr<std::vector<uint8_t>> key = record.GetBytes("Key");
    StatusOr<std::vector<uint8_t>> message = record.GetBytes("Message");
    StatusOr<std::vector<uint8_t>> expected = record.GetBytes("MAC");
    EXPECT_THAT(key, IsOk());
    EXPECT_THAT(message, IsOk());
    EXPECT_THAT(expected, IsOk());
    if (!key.ok() || !message.ok() || !expected.ok()) continue;
    StatusOr<std::unique_ptr<lwc::Mac>> mac = lwc::NewHmac(make(), *key);
    EXPECT_THAT(mac, IsOk());
    if (!mac.ok()) continue;
    (*mac)->Update(*message);
    const std::vector<uint8_t> tag = (*mac)->Final();
    const std::string test = record.Get("Test").value_or("");
    if (test == "Verify") {
      EXPECT_EQ(tag, *expected);
      ++counts.full;
    } else if (test == "VerifyTruncated") {
      EXPECT_LT(expected->size(), tag.size());
      EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.begin() + expected->size()), *expected);
      ++counts.truncated;
    } else {
      ADD_FAILURE() << "unexpected Test: " << test;
      continue;
    }
    (*mac)->Update(*message);
    EXPECT_THAT((*mac)->Verify(*expected), IsOk());
    std::vector<uint8_t> wrong = *expected;
    wrong[0] ^= 0x40;
    (*mac)->Update(*message);
    EXPECT_THAT((*mac)->Verify(wrong), StatusIs(StatusCode::kUnauthenticated));
  }
  return counts;
}

TEST(HmacSha256Test, MatchesRfc4231Vectors) {
  const HmacCounts counts = CheckHmacSection("HMAC(SHA-256)", NewSha256);
  EXPECT_EQ(counts.full, 6);
  EXPECT_EQ(counts.truncated, 1);
}

TEST(HmacSha512Test, MatchesRfc4231Vectors) {
  const HmacCounts counts = CheckHmacSection("HMAC(SHA-512)", NewSha512);
  EXPECT_EQ(counts.full, 6);
  EXPECT_EQ(counts.truncated, 1);
}

TEST(HmacSha256Test, MatchesOpensslHmacForManyKeyLengths) {
  // Keys around the 64-byte block (short, exact, hashed), against EVP's HMAC.
  const std::vector<uint8_t> message = TestBytes(100, 8);
  for (std::size_t key_length : {0, 1, 32, 63, 64, 65, 200}) {
    const std::vector<uint8_t> key = TestBytes(key_length, 9);
    StatusOr<std::unique_ptr<lwc::Mac>> mac = lwc::NewHmac(NewSha256(), key);
    ASSERT_THAT(mac, IsOk());
    (*mac)->Update(message);
    const std::vector<uint8_t> expected = OpensslHmac("SHA256", key, message);
    EXPECT_EQ((*mac)->Final(), expected) << key_length;
  }
}

TEST(HmacSha3Test, MatchesOpensslHmacWith136ByteBlock) {
  const std::vector<uint8_t> message = TestBytes(300, 10);
  for (std::size_t key_length : {0, 135, 136, 137, 300}) {
    const std::vector<uint8_t> key = TestBytes(key_length, 11);
    StatusOr<std::unique_ptr<lwc::Mac>> mac = lwc::NewHmac(NewSha3_256(), key);
    ASSERT_THAT(mac, IsOk());
    (*mac)->Update(message);
    const std::vector<uint8_t> expected = OpensslHmac("SHA3-256", key, message);
    EXPECT_EQ((*mac)->Final(), expected) << key_length;
  }
}

}  // namespace
}  // namespace custos::crypto
