// The X.509 layer with CA keys on a real SoftHSM2 token (PKCS#11), device
// keys in the software store, and OpenSSL's command line as a third party.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "custos/identity/chain.h"
#include "custos/identity/crl.h"
#include "custos/identity/csr.h"
#include "custos/identity/x509_issue.h"
#include "custos/identity/x509_test_util.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;
using testing::kDay;
using testing::kNow;
using testing::TestCa;
using testing::TestPki;

class X509SoftHsmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = keystore::SoftHsmTestToken::Create("x509-ca");
    ASSERT_THAT(token, IsOk());
    token_.emplace(*std::move(token));
    auto hsm = keystore::OpenPkcs11KeyStore(token_->uri());
    ASSERT_THAT(hsm, IsOk());
    hsm_ = *std::move(hsm);
    devices_ = keystore::NewInMemorySoftKeyStore();
  }

  void TearDown() override {
    hsm_.reset();  // close the store before the token folder goes
    token_.reset();
  }

  std::optional<keystore::SoftHsmTestToken> token_;
  std::unique_ptr<keystore::KeyStore> hsm_;
  std::unique_ptr<keystore::KeyStore> devices_;
};

TEST_F(X509SoftHsmTest, CaOnTokenIssuesDeviceFromCsr) {
  TestPki ca_pki(hsm_.get());
  auto root = ca_pki.Root("HSM Root");
  ASSERT_THAT(root, IsOk());
  auto issuing = ca_pki.Intermediate(*root, "HSM Issuing CA");
  ASSERT_THAT(issuing, IsOk());

  // The device makes a CSR with its own (software) key; the CA checks it and
  // issues from its token key.
  ASSERT_THAT(devices_->Generate(keystore::KeyType::kEcdsaP256, "device").status(), IsOk());
  auto csr = CreateCsr({"dev-hsm-1", "acme", {}, {}}, {devices_.get(), "device"});
  ASSERT_THAT(csr, IsOk());
  auto request = ParseAndVerifyCsr(*csr);
  ASSERT_THAT(request, IsOk());
  CertificateTemplate tmpl;
  tmpl.device_id = request->device_id;
  tmpl.organization = request->organization;
  tmpl.subject_public_key = request->public_key;
  tmpl.not_before = kNow;
  tmpl.not_after = kNow + kDefaultDeviceValiditySeconds;
  auto device = IssueCertificate(tmpl, &issuing->cert, issuing->key);
  ASSERT_THAT(device, IsOk());
  EXPECT_EQ(device->device_id(), "dev-hsm-1");
  EXPECT_EQ(device->public_key(), *devices_->ExportPublicKey("device"));

  const std::vector<Certificate> intermediates = {issuing->cert};
  const std::vector<Certificate> anchors = {root->cert};
  EXPECT_THAT(VerifyCertificateChain(*device, intermediates, anchors, {}, kNow + kDay), IsOk());

  // Revocation with a CRL signed on the token.
  auto crl = IssueCrl(issuing->cert, issuing->key,
                      std::vector<RevokedEntry>{
                          {device->serial_hex(), kNow + kDay, RevocationReason::kKeyCompromise}},
                      kNow + kDay, kNow + 2 * kDay, 1);
  ASSERT_THAT(crl, IsOk());
  EXPECT_THAT(
      VerifyCertificateChain(*device, intermediates, anchors, std::vector{*crl}, kNow + kDay + 60),
      StatusIs(StatusCode::kUnauthenticated, HasSubstr("is revoked")));

  // The third-party check.
  testing::TempDir dir;
  const testing::CommandResult verify = testing::RunCommand(
      "openssl verify -x509_strict -purpose sslclient -attime " + std::to_string(kNow + kDay) +
      " -CAfile " + dir.Write("root.pem", root->cert.ToPem()) + " -untrusted " +
      dir.Write("issuing.pem", issuing->cert.ToPem()) + " " +
      dir.Write("device.pem", device->ToPem()));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  const testing::CommandResult crl_check =
      testing::RunCommand("openssl crl -noout -CAfile " + dir.path() + "/issuing.pem -in " +
                          dir.Write("crl.pem", crl->ToPem()));
  EXPECT_EQ(crl_check.exit_code, 0) << crl_check.output;
  EXPECT_THAT(crl_check.output, HasSubstr("verify OK"));
}

TEST_F(X509SoftHsmTest, Ed25519CaOnTokenWhenSupported) {
  const std::vector<keystore::KeyType> types = hsm_->SupportedKeyTypes();
  if (std::find(types.begin(), types.end(), keystore::KeyType::kEd25519) == types.end()) {
    GTEST_SKIP() << "this SoftHSM2 build has no Ed25519";
  }
  TestPki ca_pki(hsm_.get());
  auto root = ca_pki.Root("HSM Ed Root", keystore::KeyType::kEd25519);
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->cert.signature_algorithm(), "ED25519");
  TestPki device_pki(devices_.get());
  auto device = device_pki.Device(*root, "dev-ed-hsm");
  ASSERT_THAT(device, IsOk());
  EXPECT_THAT(VerifyCertificateChain(*device, {}, std::vector{root->cert}, {}, kNow), IsOk());
}

TEST_F(X509SoftHsmTest, MissingOrWrongTokenKey) {
  TestPki ca_pki(hsm_.get());
  auto root = ca_pki.Root("HSM Root");
  ASSERT_THAT(root, IsOk());
  TestPki device_pki(devices_.get());
  EXPECT_THAT(device_pki.Device({root->cert, {hsm_.get(), "no-such-key"}}, "dev-x").status(),
              StatusIs(StatusCode::kNotFound));
  ASSERT_THAT(hsm_->Generate(keystore::KeyType::kEcdsaP256, "other").status(), IsOk());
  EXPECT_THAT(device_pki.Device({root->cert, {hsm_.get(), "other"}}, "dev-x").status(),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("is key 'other' the issuer's")));
}

}  // namespace
}  // namespace custos::identity
