// AES through EVP, and the CMAC vectors that need a standard cipher: AES-CMAC
// from NIST CAVS and RFC 4493, and 3DES-CMAC (the 64-bit-block path of
// lwc::NewCmac) over a test-only DES-EDE3 BlockCipher.
#include "custos/crypto/aes.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "custos/core/kat_reader.h"
#include "custos/lwc/cmac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_data.h"

namespace custos::crypto {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::LoadKat;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<uint8_t> TestBytes(std::size_t length, uint32_t seed) {
  std::vector<uint8_t> bytes(length);
  uint32_t state = seed * 2654435761u + 5;
  for (uint8_t& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::vector<uint8_t> Bytes(const KatRecord& record, std::string_view name) {
  StatusOr<std::vector<uint8_t>> bytes = record.GetBytes(name);
  EXPECT_THAT(bytes, IsOk()) << "record at line " << record.line() << " field " << name;
  return bytes.ok() ? *std::move(bytes) : std::vector<uint8_t>();
}

std::string Field(const KatRecord& record, std::string_view name) {
  return record.Get(name).value_or("");
}

std::unique_ptr<lwc::Mac> MakeCmac(std::unique_ptr<lwc::BlockCipher> cipher) {
  StatusOr<std::unique_ptr<lwc::Mac>> mac = lwc::NewCmac(std::move(cipher));
  EXPECT_THAT(mac, IsOk());
  return mac.ok() ? *std::move(mac) : nullptr;
}

std::unique_ptr<lwc::Mac> MakeAesCmac(const std::vector<uint8_t>& key) {
  StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(key);
  EXPECT_THAT(aes, IsOk());
  return aes.ok() ? MakeCmac(*std::move(aes)) : nullptr;
}

// One block through a different EVP path than NewAes (CBC with a zero IV,
// one-shot EVP_Cipher): a differential check of the wrapper.
std::vector<uint8_t> EvpCbcOneBlock(const std::vector<uint8_t>& key,
                                    const std::vector<uint8_t>& block, bool encrypt) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_cbc()
                             : key.size() == 24 ? EVP_aes_192_cbc()
                                                : EVP_aes_256_cbc();
  const uint8_t iv[16] = {};
  std::vector<uint8_t> out(16);
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  EXPECT_EQ(EVP_CipherInit_ex(context, cipher, nullptr, key.data(), iv, encrypt ? 1 : 0), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_set_padding(context, 0), 1);
  int written = 0;
  EXPECT_EQ(EVP_CipherUpdate(context, out.data(), &written, block.data(), 16), 1);
  EXPECT_EQ(written, 16);
  EVP_CIPHER_CTX_free(context);
  return out;
}

// Test-only DES-EDE3 (3DES, 64-bit block) over OpenSSL, to run the 3DES-CMAC
// vectors through the 64-bit path of lwc::NewCmac. Not thread-safe.
class TripleDes final : public lwc::BlockCipher {
 public:
  static std::unique_ptr<lwc::BlockCipher> Create(const std::vector<uint8_t>& key) {
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "DES-EDE3-ECB", nullptr);
    if (cipher == nullptr || key.size() != 24) {
      EVP_CIPHER_free(cipher);
      return nullptr;
    }
    auto des = std::unique_ptr<TripleDes>(new TripleDes());
    const bool ok = des->encrypt_ != nullptr && des->decrypt_ != nullptr &&
                    EVP_EncryptInit_ex2(des->encrypt_, cipher, key.data(), nullptr, nullptr) == 1 &&
                    EVP_DecryptInit_ex2(des->decrypt_, cipher, key.data(), nullptr, nullptr) == 1 &&
                    EVP_CIPHER_CTX_set_padding(des->encrypt_, 0) == 1 &&
                    EVP_CIPHER_CTX_set_padding(des->decrypt_, 0) == 1;
    EVP_CIPHER_free(cipher);
    if (!ok) return nullptr;
    return des;
  }
  ~TripleDes() override {
    EVP_CIPHER_CTX_free(encrypt_);
    EVP_CIPHER_CTX_free(decrypt_);
  }
  TripleDes(const TripleDes&) = delete;
  TripleDes& operator=(const TripleDes&) = delete;

  std::size_t block_size() const override { return 8; }
  std::size_t key_size() const override { return 24; }

 protected:
  void DoEncrypt(const uint8_t* in, uint8_t* out) const override {
    int written = 0;
    EXPECT_EQ(EVP_EncryptUpdate(encrypt_, out, &written, in, 8), 1);
    EXPECT_EQ(written, 8);
  }
  void DoDecrypt(const uint8_t* in, uint8_t* out) const override {
    int written = 0;
    EXPECT_EQ(EVP_DecryptUpdate(decrypt_, out, &written, in, 8), 1);
    EXPECT_EQ(written, 8);
  }

 private:
  TripleDes() : encrypt_(EVP_CIPHER_CTX_new()), decrypt_(EVP_CIPHER_CTX_new()) {}
  EVP_CIPHER_CTX* encrypt_;
  EVP_CIPHER_CTX* decrypt_;
};

// ---------------------------------------------------------------- AES itself

TEST(AesTest, AcceptsThe3KeySizes) {
  for (std::size_t key_size : {16, 24, 32}) {
    StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(TestBytes(key_size, 1));
    ASSERT_THAT(aes, IsOk());
    EXPECT_EQ((*aes)->block_size(), 16u);
    EXPECT_EQ((*aes)->key_size(), key_size);
  }
}

TEST(AesTest, RejectsOtherKeySizes) {
  for (std::size_t key_size : {0, 1, 8, 15, 17, 20, 23, 25, 31, 33, 64}) {
    EXPECT_THAT(NewAes(TestBytes(key_size, 2)),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("16, 24 or 32")))
        << key_size;
  }
}

TEST(AesTest, MatchesOneShotEvpForAllKeySizes) {
  int count = 0;
  for (std::size_t key_size : {16, 24, 32}) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
      const std::vector<uint8_t> key = TestBytes(key_size, seed + 10);
      const std::vector<uint8_t> block = TestBytes(16, seed + 100);
      StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(key);
      ASSERT_THAT(aes, IsOk());
      std::vector<uint8_t> ciphertext(16);
      ASSERT_THAT((*aes)->EncryptBlock(block, ciphertext), IsOk());
      EXPECT_EQ(ciphertext, EvpCbcOneBlock(key, block, true));
      std::vector<uint8_t> decrypted(16);
      ASSERT_THAT((*aes)->DecryptBlock(block, decrypted), IsOk());
      EXPECT_EQ(decrypted, EvpCbcOneBlock(key, block, false));
      ++count;
    }
  }
  EXPECT_EQ(count, 60);
}

TEST(AesTest, DecryptInvertsEncryptInPlace) {
  for (std::size_t key_size : {16, 24, 32}) {
    StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(TestBytes(key_size, 3));
    ASSERT_THAT(aes, IsOk());
    const std::vector<uint8_t> block = TestBytes(16, 4);
    std::vector<uint8_t> buffer = block;
    // Many blocks through the same contexts: no state may carry over.
    for (int i = 0; i < 100; ++i) ASSERT_THAT((*aes)->EncryptBlock(buffer, buffer), IsOk());
    EXPECT_NE(buffer, block);
    for (int i = 0; i < 100; ++i) ASSERT_THAT((*aes)->DecryptBlock(buffer, buffer), IsOk());
    EXPECT_EQ(buffer, block);
  }
}

TEST(AesTest, RejectsWrongBlockBuffers) {
  StatusOr<std::unique_ptr<lwc::BlockCipher>> aes = NewAes(TestBytes(16, 5));
  ASSERT_THAT(aes, IsOk());
  std::vector<uint8_t> block(16);
  std::vector<uint8_t> small(15);
  EXPECT_THAT((*aes)->EncryptBlock(small, block), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*aes)->DecryptBlock(block, small), StatusIs(StatusCode::kInvalidArgument));
}

TEST(AesTest, IsSafeToShareBetweenThreads) {
  const std::vector<uint8_t> key = TestBytes(32, 6);
  StatusOr<std::unique_ptr<lwc::BlockCipher>> shared = NewAes(key);
  ASSERT_THAT(shared, IsOk());
  const lwc::BlockCipher& aes = **shared;
  constexpr int kThreads = 4;
  constexpr int kBlocks = 2000;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&aes, &key, &mismatches, t] {
      for (int i = 0; i < kBlocks; ++i) {
        const std::vector<uint8_t> block = TestBytes(16, static_cast<uint32_t>(t * kBlocks + i));
        std::vector<uint8_t> ciphertext(16);
        std::vector<uint8_t> decrypted(16);
        if (!aes.EncryptBlock(block, ciphertext).ok() ||
            !aes.DecryptBlock(ciphertext, decrypted).ok() || decrypted != block ||
            (i % 100 == 0 && ciphertext != EvpCbcOneBlock(key, block, true))) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// --------------------------------------------------------------- AES-CMAC

TEST(AesCmacTest, MatchesEveryCavsVector) {
  int count = 0;
  int verified = 0;
  for (const KatRecord& record : LoadKat("kat/cmac/CMACGenAES128.fax", KatFormat::kKeyValue)) {
    SCOPED_TRACE("line " + std::to_string(record.line()));
    const std::vector<uint8_t> key = Bytes(record, "Key");
    const int64_t message_length = record.GetInt("Mlen").value_or(-1);
    const int64_t tag_length = record.GetInt("Tlen").value_or(-1);
    const std::vector<uint8_t> expected = Bytes(record, "Mac");
    // With Mlen = 0 the file still prints "Msg = 00": a placeholder.
    std::vector<uint8_t> message;
    if (message_length > 0) message = Bytes(record, "Msg");
    ASSERT_EQ(static_cast<int64_t>(message.size()), message_length);
    ASSERT_EQ(static_cast<int64_t>(expected.size()), tag_length);
    std::unique_ptr<lwc::Mac> mac = MakeAesCmac(key);
    ASSERT_NE(mac, nullptr);
    mac->Update(message);
    const std::vector<uint8_t> tag = mac->Final();
    ASSERT_EQ(tag.size(), 16u);
    EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.begin() + tag_length), expected);
    if (tag_length >= 4) {  // Verify takes 4 bytes or more
      mac->Update(message);
      EXPECT_THAT(mac->Verify(expected), IsOk());
      std::vector<uint8_t> wrong = expected;
      wrong.back() ^= 0x01;
      mac->Update(message);
      EXPECT_THAT(mac->Verify(wrong), StatusIs(StatusCode::kUnauthenticated));
      ++verified;
    }
    ++count;
  }
  EXPECT_EQ(count, 144);
  EXPECT_EQ(verified, 96);  // the Tlen = 8 and Tlen = 16 records
}

TEST(AesCmacTest, CavsVectorsHoldWhenFedInOddChunks) {
  int count = 0;
  for (const KatRecord& record : LoadKat("kat/cmac/CMACGenAES128.fax", KatFormat::kKeyValue)) {
    const int64_t message_length = record.GetInt("Mlen").value_or(-1);
    const int64_t tag_length = record.GetInt("Tlen").value_or(-1);
    if (message_length <= 0 || tag_length < 4) continue;
    const std::vector<uint8_t> message = Bytes(record, "Msg");
    std::unique_ptr<lwc::Mac> mac = MakeAesCmac(Bytes(record, "Key"));
    ASSERT_NE(mac, nullptr);
    for (std::size_t i = 0; i < message.size(); i += 7) {
      mac->Update(std::span<const uint8_t>(message).subspan(
          i, std::min<std::size_t>(7, message.size() - i)));
    }
    EXPECT_THAT(mac->Verify(Bytes(record, "Mac")), IsOk()) << "line " << record.line();
    ++count;
  }
  EXPECT_EQ(count, 80);  // Mlen > 0 and Tlen >= 4: 5 lengths x 16 records
}

TEST(AesCmacTest, MatchesRfc4493VectorsOfCryptoppFile) {
  int verify = 0;
  int not_verify = 0;
  for (const KatRecord& record : LoadKat("kat/cmac/cmac.txt", KatFormat::kColon)) {
    if (Field(record, "Name") != "CMAC(AES)") continue;
    // line() of a kColon record is its section's start; count instead.
    SCOPED_TRACE("CMAC(AES) vector " + std::to_string(verify + not_verify));
    const std::vector<uint8_t> message = Bytes(record, "Message");
    const std::vector<uint8_t> expected = Bytes(record, "MAC");
    std::unique_ptr<lwc::Mac> mac = MakeAesCmac(Bytes(record, "Key"));
    ASSERT_NE(mac, nullptr);
    const std::string test = Field(record, "Test");
    mac->Update(message);
    if (test == "Verify") {
      EXPECT_EQ(mac->Final(), expected);
      mac->Update(message);
      EXPECT_THAT(mac->Verify(expected), IsOk());
      ++verify;
    } else if (test == "NotVerify") {
      EXPECT_NE(mac->Final(), expected);
      mac->Update(message);
      EXPECT_THAT(mac->Verify(expected), StatusIs(StatusCode::kUnauthenticated));
      ++not_verify;
    } else {
      ADD_FAILURE() << "unexpected Test: " << test;
    }
  }
  EXPECT_EQ(verify, 4);
  EXPECT_EQ(not_verify, 1);
}

TEST(TripleDesCmacTest, MatchesVectorsOfCryptoppFile) {
  if (TripleDes::Create(std::vector<uint8_t>(24, 1)) == nullptr) {
    GTEST_SKIP() << "OpenSSL offers no DES-EDE3-ECB";
  }
  int count = 0;
  for (const KatRecord& record : LoadKat("kat/cmac/cmac.txt", KatFormat::kColon)) {
    if (Field(record, "Name") != "CMAC(DES-EDE3)") continue;
    SCOPED_TRACE("CMAC(DES-EDE3) vector " + std::to_string(count));
    const std::vector<uint8_t> key = Bytes(record, "Key");
    const std::vector<uint8_t> message = Bytes(record, "Message");
    const std::vector<uint8_t> expected = Bytes(record, "MAC");
    const std::string test = Field(record, "Test");
    ASSERT_TRUE(test == "Verify" || test == "VerifyTruncated") << test;
    std::unique_ptr<lwc::Mac> mac = MakeCmac(TripleDes::Create(key));
    ASSERT_NE(mac, nullptr);
    ASSERT_EQ(mac->tag_size(), 8u);
    mac->Update(message);
    const std::vector<uint8_t> tag = mac->Final();
    ASSERT_LE(expected.size(), tag.size());
    EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.begin() + expected.size()), expected);
    if (test == "Verify") {
      EXPECT_EQ(expected.size(), tag.size());
    }
    mac->Update(message);
    EXPECT_THAT(mac->Verify(expected), IsOk());
    ++count;
  }
  EXPECT_EQ(count, 4);
}

}  // namespace
}  // namespace custos::crypto
