#include "custos/identity/crl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "custos/core/hex.h"
#include "custos/identity/x509_test_util.h"
#include "custos/keystore/soft_key_store.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using testing::kDay;
using testing::kNow;
using ::testing::SizeIs;
using testing::TestCa;
using testing::TestPki;

class CrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = keystore::NewInMemorySoftKeyStore();
    pki_ = std::make_unique<TestPki>(store_.get());
    auto root = pki_->Root("CRL Root");
    ASSERT_THAT(root, IsOk());
    root_ = std::make_unique<TestCa>(*std::move(root));
  }

  std::unique_ptr<keystore::KeyStore> store_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<TestCa> root_;
};

TEST_F(CrlTest, IssueParseAndLookUp) {
  auto revoked = pki_->Device(*root_, "dev-bad");
  auto good = pki_->Device(*root_, "dev-good");
  ASSERT_THAT(revoked, IsOk());
  ASSERT_THAT(good, IsOk());
  const std::vector<RevokedEntry> entries = {
      {revoked->serial_hex(), kNow - 100, RevocationReason::kKeyCompromise},
      {"00ABCDEF", kNow - 50, RevocationReason::kUnspecified},
  };
  auto crl = IssueCrl(root_->cert, root_->key, entries, kNow, kNow + 7 * kDay, 42);
  ASSERT_THAT(crl, IsOk());
  EXPECT_EQ(crl->issuer_name(), root_->cert.subject_name());
  EXPECT_EQ(crl->this_update(), kNow);
  EXPECT_EQ(crl->next_update(), kNow + 7 * kDay);
  EXPECT_EQ(crl->crl_number(), 42);
  ASSERT_THAT(crl->entries(), SizeIs(2));
  EXPECT_EQ(crl->entries()[0].serial_hex, "abcdef");  // sorted, normalized
  EXPECT_EQ(crl->entries()[0].reason, RevocationReason::kUnspecified);
  EXPECT_EQ(crl->entries()[1].serial_hex, revoked->serial_hex());
  EXPECT_EQ(crl->entries()[1].revocation_time, kNow - 100);
  EXPECT_EQ(crl->entries()[1].reason, RevocationReason::kKeyCompromise);

  EXPECT_TRUE(crl->IsRevoked(*revoked));
  EXPECT_FALSE(crl->IsRevoked(*good));
  EXPECT_TRUE(crl->IsRevoked("ABCDEF"));
  EXPECT_TRUE(crl->IsRevoked("0000abcdef"));
  EXPECT_FALSE(crl->IsRevoked("abcdee"));
  EXPECT_FALSE(crl->IsRevoked("not hex"));
  EXPECT_THAT(crl->VerifySignature(root_->cert), IsOk());

  auto from_pem = Crl::FromPem(crl->ToPem());
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(from_pem->der(), crl->der());
  auto parsed = Crl::Parse(crl->der());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->IsRevoked(*revoked));
}

TEST_F(CrlTest, EmptyCrlWithEd25519Issuer) {
  auto root = pki_->Root("Ed CRL Root", keystore::KeyType::kEd25519);
  ASSERT_THAT(root, IsOk());
  auto crl = IssueCrl(root->cert, root->key, {}, kNow, kNow + kDay, 1);
  ASSERT_THAT(crl, IsOk());
  EXPECT_TRUE(crl->entries().empty());
  EXPECT_THAT(crl->VerifySignature(root->cert), IsOk());
  EXPECT_THAT(crl->VerifySignature(root_->cert), StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(CrlTest, OpensslCommandLineVerifiesIt) {
  auto device = pki_->Device(*root_, "dev-crl");
  ASSERT_THAT(device, IsOk());
  auto crl = IssueCrl(
      root_->cert, root_->key,
      std::vector<RevokedEntry>{{device->serial_hex(), kNow - 10, RevocationReason::kSuperseded}},
      kNow - 60, kNow + kDay, 7);
  ASSERT_THAT(crl, IsOk());
  testing::TempDir dir;
  const std::string root_pem = dir.Write("root.pem", root_->cert.ToPem());
  const std::string crl_pem = dir.Write("crl.pem", crl->ToPem());
  const testing::CommandResult text =
      testing::RunCommand("openssl crl -noout -text -CAfile " + root_pem + " -in " + crl_pem);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("verify OK"));
  EXPECT_THAT(text.output, HasSubstr("X509v3 CRL Number: \n                7"));
  EXPECT_THAT(text.output, HasSubstr("Superseded"));
  std::string upper_serial = device->serial_hex();
  for (char& c : upper_serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_THAT(text.output, HasSubstr(upper_serial));
  // openssl verify with the CRL refuses the revoked device.
  const testing::CommandResult verify = testing::RunCommand(
      "openssl verify -crl_check -attime " + std::to_string(kNow) + " -CAfile " + root_pem +
      " -CRLfile " + crl_pem + " " + dir.Write("dev.pem", device->ToPem()));
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.output, HasSubstr("certificate revoked"));
}

TEST_F(CrlTest, RefusesBadInput) {
  EXPECT_THAT(IssueCrl(root_->cert, root_->key, {}, kNow, kNow, 1).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not before")));
  const std::vector<RevokedEntry> bad_serial = {{"xyz", kNow, RevocationReason::kUnspecified}};
  EXPECT_THAT(IssueCrl(root_->cert, root_->key, bad_serial, kNow, kNow + 1, 1).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not hex")));
  const std::vector<RevokedEntry> bad_reason = {{"01", kNow, static_cast<RevocationReason>(7)}};
  EXPECT_THAT(IssueCrl(root_->cert, root_->key, bad_reason, kNow, kNow + 1, 1).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("CRLReason")));
  auto device = pki_->Device(*root_, "dev-not-ca");
  ASSERT_THAT(device, IsOk());
  EXPECT_THAT(IssueCrl(*device, root_->key, {}, kNow, kNow + 1, 1).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("not a CA")));
  auto other = pki_->NewKey(keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(IssueCrl(root_->cert, *other, {}, kNow, kNow + 1, 1).status(),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("does not verify")));
}

TEST_F(CrlTest, ParserRefusesMalformedAndTamperedCrls) {
  EXPECT_THAT(Crl::FromDer({}), StatusIs(StatusCode::kInvalidArgument));
  const std::vector<uint8_t> junk = {0x30, 0x00};
  EXPECT_THAT(Crl::FromDer(junk),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a DER X.509 CRL")));
  auto crl = IssueCrl(root_->cert, root_->key,
                      std::vector<RevokedEntry>{{"0a", kNow, RevocationReason::kKeyCompromise}},
                      kNow, kNow + kDay, 3);
  ASSERT_THAT(crl, IsOk());
  std::vector<uint8_t> der = crl->der();
  der.push_back(0);
  EXPECT_THAT(Crl::FromDer(der),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("trailing bytes")));
  // Change the revoked serial 0x0a to 0x0b: still parses, no longer verifies.
  der = crl->der();
  const std::vector<uint8_t> serial = {0x02, 0x01, 0x0a};
  const auto at = std::search(der.begin(), der.end(), serial.begin(), serial.end());
  ASSERT_NE(at, der.end());
  *(at + 2) = 0x0b;
  auto tampered = Crl::FromDer(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_TRUE(tampered->IsRevoked("0b"));
  EXPECT_THAT(tampered->VerifySignature(root_->cert),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("does not verify")));
}

TEST(SerialHexTest, Normalize) {
  EXPECT_THAT(NormalizeSerialHex("00AbC"), ::custos::testing::IsOkAndHolds(std::string("abc")));
  EXPECT_THAT(NormalizeSerialHex("000"), ::custos::testing::IsOkAndHolds(std::string("0")));
  EXPECT_THAT(NormalizeSerialHex(""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeSerialHex("12g"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeSerialHex(std::string(41, 'f')), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(RevocationReasonName(RevocationReason::kKeyCompromise), "keyCompromise");
}

}  // namespace
}  // namespace custos::identity
