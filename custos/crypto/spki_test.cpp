// SubjectPublicKeyInfo encoded and parsed directly: the same bytes and keys
// as OpenSSL's i2d_PUBKEY / d2i_PUBKEY, off-curve points and malformed input
// refused, other keys through OpenSSL's encoders.
#include "custos/crypto/spki.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::crypto {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

EvpPkeyPtr Generate(const char* type) {
  if (std::string(type) == "P-256") return EvpPkeyPtr(EVP_EC_gen("P-256"));
  if (std::string(type) == "P-384") return EvpPkeyPtr(EVP_EC_gen("P-384"));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

std::vector<uint8_t> OpenSslSpki(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  EXPECT_GT(length, 0);
  std::vector<uint8_t> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

class SpkiTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SpkiTest, EncodesAsOpenSslAndParsesBackToTheSameKey) {
  const EvpPkeyPtr key = Generate(GetParam());
  ASSERT_NE(key, nullptr);
  const std::vector<uint8_t> expected = OpenSslSpki(key.get());
  StatusOr<std::vector<uint8_t>> spki = SpkiOf(key.get());
  ASSERT_THAT(spki, IsOk());
  EXPECT_EQ(*spki, expected);
  ASSERT_TRUE(SplitSpki(*spki).has_value());

  StatusOr<EvpPkeyPtr> parsed = ParseSpki(*spki);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
  EXPECT_EQ(OpenSslSpki(parsed->get()), expected);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SpkiTest, ::testing::Values("P-256", "ED25519", "X25519"));

TEST(SpkiTest, SplitsTheRawKey) {
  const EvpPkeyPtr key = Generate("ED25519");
  std::vector<uint8_t> raw(32);
  std::size_t size = raw.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &size), 1);
  StatusOr<std::vector<uint8_t>> spki = EncodeSpki(SpkiAlgorithm::kEd25519, raw);
  ASSERT_THAT(spki, IsOk());
  const auto split = SplitSpki(*spki);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->algorithm, SpkiAlgorithm::kEd25519);
  EXPECT_EQ(std::vector<uint8_t>(split->key.begin(), split->key.end()), raw);
}

TEST(SpkiTest, EncodeRefusesWrongSizesAndCompressedPoints) {
  EXPECT_THAT(EncodeSpki(SpkiAlgorithm::kEd25519, std::vector<uint8_t>(31)),
              StatusIs(StatusCode::kInvalidArgument));
  std::vector<uint8_t> compressed(65, 0);
  compressed[0] = 0x02;
  EXPECT_THAT(EncodeSpki(SpkiAlgorithm::kEcP256, compressed),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("uncompressed")));
}

TEST(SpkiTest, RefusesAPointOffTheCurve) {
  const EvpPkeyPtr key = Generate("P-256");
  StatusOr<std::vector<uint8_t>> spki = SpkiOf(key.get());
  ASSERT_THAT(spki, IsOk());
  spki->back() ^= 0x01;  // Y no longer matches X
  ASSERT_TRUE(SplitSpki(*spki).has_value());
  EXPECT_THAT(ParseSpki(*spki),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a point on the curve")));
  // OpenSSL's own decoder refuses it too.
  const unsigned char* in = spki->data();
  EvpPkeyPtr decoded(d2i_PUBKEY(nullptr, &in, static_cast<long>(spki->size())));
  EXPECT_EQ(decoded, nullptr);
}

TEST(SpkiTest, RefusesMalformedInputAndTrailingBytes) {
  EXPECT_THAT(ParseSpki({}), StatusIs(StatusCode::kInvalidArgument));
  const std::vector<uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x00};
  EXPECT_THAT(ParseSpki(junk),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a DER SubjectPublicKeyInfo")));
  const EvpPkeyPtr key = Generate("ED25519");
  StatusOr<std::vector<uint8_t>> spki = SpkiOf(key.get());
  ASSERT_THAT(spki, IsOk());
  spki->push_back(0x00);
  EXPECT_FALSE(SplitSpki(*spki).has_value());
  EXPECT_THAT(ParseSpki(*spki), StatusIs(StatusCode::kInvalidArgument, HasSubstr("trailing")));
  spki->pop_back();  // the byte added above
  spki->pop_back();  // and one of the key: truncated
  EXPECT_THAT(ParseSpki(*spki), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SpkiTest, OtherKeysAndFormsGoThroughOpenSsl) {
  // Another curve.
  const EvpPkeyPtr p384 = Generate("P-384");
  StatusOr<std::vector<uint8_t>> spki = SpkiOf(p384.get());
  ASSERT_THAT(spki, IsOk());
  EXPECT_EQ(*spki, OpenSslSpki(p384.get()));
  EXPECT_FALSE(SplitSpki(*spki).has_value());
  StatusOr<EvpPkeyPtr> parsed = ParseSpki(*spki);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), p384.get()), 1);

  // A P-256 key whose point is kept compressed.
  const EvpPkeyPtr p256 = Generate("P-256");
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(p256.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           "compressed"),
            1);
  spki = SpkiOf(p256.get());
  ASSERT_THAT(spki, IsOk());
  EXPECT_EQ(*spki, OpenSslSpki(p256.get()));
  EXPECT_FALSE(SplitSpki(*spki).has_value());
  parsed = ParseSpki(*spki);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), p256.get()), 1);
}

}  // namespace
}  // namespace custos::crypto
