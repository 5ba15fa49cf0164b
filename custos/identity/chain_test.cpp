#include "custos/identity/chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "custos/identity/x509_issue.h"
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
using testing::TestCa;
using testing::TestPki;

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = keystore::NewInMemorySoftKeyStore();
    pki_ = std::make_unique<TestPki>(store_.get());
    auto root = pki_->Root("Fleet Root");
    ASSERT_THAT(root, IsOk());
    root_ = std::make_unique<TestCa>(*std::move(root));
    auto issuing = pki_->Intermediate(*root_, "Fleet Issuing CA");
    ASSERT_THAT(issuing, IsOk());
    issuing_ = std::make_unique<TestCa>(*std::move(issuing));
    auto device = pki_->Device(*issuing_, "dev-1", kNow - kDay, kNow + 30 * kDay);
    ASSERT_THAT(device, IsOk());
    device_ = std::make_unique<Certificate>(*std::move(device));
  }

  Status Verify(const Certificate& leaf, std::vector<Crl> crls = {}, int64_t at = kNow,
                ChainOptions options = {}) {
    const std::vector<Certificate> intermediates = {issuing_->cert};
    const std::vector<Certificate> anchors = {root_->cert};
    return VerifyCertificateChain(leaf, intermediates, anchors, crls, at, options);
  }

  Crl MakeCrl(const TestCa& ca, std::vector<RevokedEntry> revoked,
              int64_t this_update = kNow - kDay, int64_t next_update = kNow + kDay) {
    auto crl = IssueCrl(ca.cert, ca.key, revoked, this_update, next_update, 1);
    EXPECT_THAT(crl, IsOk());
    return *std::move(crl);
  }

  std::unique_ptr<keystore::KeyStore> store_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<TestCa> root_;
  std::unique_ptr<TestCa> issuing_;
  std::unique_ptr<Certificate> device_;
};

TEST_F(ChainTest, AcceptsAValidChain) {
  EXPECT_THAT(Verify(*device_), IsOk());
  ChainOptions client;
  client.purpose = CertificatePurpose::kClientAuth;
  EXPECT_THAT(Verify(*device_, {}, kNow, client), IsOk());
  // The issuing CA alone, and the root itself.
  EXPECT_THAT(VerifyCertificateChain(issuing_->cert, {}, std::vector{root_->cert}, {}, kNow),
              IsOk());
}

TEST_F(ChainTest, ExpiredAndNotYetValid) {
  EXPECT_THAT(Verify(*device_, {}, kNow + 31 * kDay),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("certificate for device 'dev-1' expired at 2025-07-15T")));
  auto future = pki_->Device(*issuing_, "dev-future", kNow + kDay, kNow + 2 * kDay);
  ASSERT_THAT(future, IsOk());
  EXPECT_THAT(Verify(*future),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("certificate for device 'dev-future' is not valid before "
                                 "2025-06-16T15:06:40Z")));
  // Before the root's own validity, the root is the first thing refused.
  EXPECT_THAT(Verify(*device_, {}, kNow - 2 * kDay),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("certificate 'CN=Fleet Root,O=test fleet' is not valid before")));
}

TEST_F(ChainTest, RevokedByCrl) {
  const Crl crl =
      MakeCrl(*issuing_, {{device_->serial_hex(), kNow - 10, RevocationReason::kKeyCompromise}});
  EXPECT_THAT(
      Verify(*device_, {crl}),
      StatusIs(StatusCode::kUnauthenticated, HasSubstr("certificate for device 'dev-1' (serial " +
                                                       device_->serial_hex() + ") is revoked")));
  // Another device under the same CA is fine with the same CRL.
  auto other = pki_->Device(*issuing_, "dev-2");
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(Verify(*other, {crl}), IsOk());
}

TEST_F(ChainTest, RevokedIntermediate) {
  const Crl root_crl =
      MakeCrl(*root_, {{issuing_->cert.serial_hex(), kNow - 10, RevocationReason::kCaCompromise}});
  EXPECT_THAT(Verify(*device_, {root_crl}),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("certificate 'CN=Fleet Issuing CA,O=test fleet' (serial")));
}

TEST_F(ChainTest, RequiredCrls) {
  ChainOptions required;
  required.require_crl_for_each_ca = true;
  const Crl issuing_crl = MakeCrl(*issuing_, {});
  const Crl root_crl = MakeCrl(*root_, {});
  EXPECT_THAT(Verify(*device_, {issuing_crl, root_crl}, kNow, required), IsOk());
  EXPECT_THAT(Verify(*device_, {root_crl}, kNow, required),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("no CRL for certificate for device 'dev-1'")));
  EXPECT_THAT(Verify(*device_, {issuing_crl}, kNow, required),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("no CRL for certificate 'CN=Fleet "
                                                               "Issuing CA")));
  // Not required: a missing CRL is accepted.
  EXPECT_THAT(Verify(*device_, {root_crl}), IsOk());
}

TEST_F(ChainTest, ExpiredOrForgedCrl) {
  const Crl stale = MakeCrl(*issuing_, {}, kNow - 3 * kDay, kNow - 2 * kDay);
  EXPECT_THAT(Verify(*device_, {stale}),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("CRL of 'CN=Fleet Issuing CA,O=test fleet' expired at")));
  // A CRL whose signature was tampered with.
  std::vector<uint8_t> der = MakeCrl(*issuing_, {}).der();
  der.back() ^= 0x01;
  auto tampered = Crl::FromDer(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(Verify(*device_, {*tampered}),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("signature invalid on the CRL of 'CN=Fleet Issuing CA")));
  // A CRL naming the issuing CA but made by an impostor with the same name
  // and another key: its authorityKeyIdentifier does not match, so OpenSSL
  // does not count it as the issuing CA's CRL. It cannot un-revoke anything,
  // and when CRLs are required the chain fails for want of a real one.
  auto impostor = pki_->Root("Fleet Issuing CA");
  ASSERT_THAT(impostor, IsOk());
  const Crl forged = MakeCrl(*impostor, {});
  ChainOptions required;
  required.require_crl_for_each_ca = true;
  EXPECT_THAT(Verify(*device_, {forged, MakeCrl(*root_, {})}, kNow, required),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("no CRL for certificate for device 'dev-1'")));
  const Crl revoking =
      MakeCrl(*issuing_, {{device_->serial_hex(), kNow - 1, RevocationReason::kKeyCompromise}});
  EXPECT_THAT(Verify(*device_, {forged, revoking}),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("is revoked")));
}

TEST_F(ChainTest, UnknownCa) {
  auto other_root = pki_->Root("Other Root");
  ASSERT_THAT(other_root, IsOk());
  auto stranger = pki_->Device(*other_root, "dev-x");
  ASSERT_THAT(stranger, IsOk());
  EXPECT_THAT(Verify(*stranger),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("issuer not trusted (unknown CA 'CN=Other Root,O=test fleet')")));
  // Presenting the unknown root as an intermediate does not help.
  EXPECT_THAT(VerifyCertificateChain(*stranger, std::vector{other_root->cert},
                                     std::vector{root_->cert}, {}, kNow),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("issuer not trusted (unknown CA 'CN=Other Root")));
  // Without the intermediate the chain is incomplete.
  EXPECT_THAT(VerifyCertificateChain(*device_, {}, std::vector{root_->cert}, {}, kNow),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("unknown CA 'CN=Fleet Issuing CA,O=test fleet'")));
}

TEST_F(ChainTest, ForgedSignature) {
  // An impostor CA with the issuing CA's name (and key id) signs a leaf.
  auto impostor_key = pki_->NewKey(keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(impostor_key, IsOk());
  TestCa impostor{issuing_->cert, *impostor_key};
  // IssueCertificate refuses to make it (it checks its own output) ...
  EXPECT_THAT(pki_->Device(impostor, "dev-evil").status(), StatusIs(StatusCode::kUnauthenticated));
  // ... so tamper with a real leaf instead: change one byte of the subject.
  std::vector<uint8_t> der = device_->der();
  const std::string id = "dev-1";
  auto at = std::search(der.begin(), der.end(), id.begin(), id.end());
  ASSERT_NE(at, der.end());
  *(at + 4) = '7';  // dev-7, in CN (the SAN still says dev-1: refused at parse)
  EXPECT_THAT(Certificate::FromDer(der), StatusIs(StatusCode::kInvalidArgument));
  // Flip a bit of the signature value (the last byte of the DER is the end
  // of s in the ECDSA-Sig-Value): still well-formed, no longer valid.
  der = device_->der();
  der.back() ^= 0x01;
  auto tampered = Certificate::FromDer(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(Verify(*tampered),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("signature invalid on certificate 'CN=dev-1,O=test fleet'")));
}

TEST_F(ChainTest, PurposeIsEnforced) {
  ChainOptions server;
  server.purpose = CertificatePurpose::kServerAuth;
  EXPECT_THAT(Verify(*device_, {}, kNow, server),
              StatusIs(StatusCode::kUnauthenticated,
                       HasSubstr("certificate for device 'dev-1' is not allowed for server "
                                 "authentication")));
}

TEST_F(ChainTest, EndEntityCannotIssue) {
  // A leaf that claims to be issued by a device: build one with a device key
  // that is in the store, through a fake "CA" certificate that is not a CA.
  auto device_key = pki_->NewKey(keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(device_key, IsOk());
  CertificateTemplate tmpl;
  tmpl.common_name = "Not A CA";
  tmpl.subject_public_key = *store_->ExportPublicKey(device_key->label);
  tmpl.not_before = kNow - kDay;
  tmpl.not_after = kNow + kDay;
  auto not_ca = IssueCertificate(tmpl, &issuing_->cert, issuing_->key);
  ASSERT_THAT(not_ca, IsOk());
  EXPECT_THAT(pki_->Device({*not_ca, *device_key}, "dev-sub").status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("is not a CA")));
}

TEST_F(ChainTest, DeepChainsAndTheDepthLimit) {
  // (pathLen itself is enforced when issuing: see
  // X509Test.PathLengthZeroIssuerCannotIssueCas.)
  auto sub = pki_->Intermediate(*root_, "Sub CA", keystore::KeyType::kEcdsaP256, 1);
  ASSERT_THAT(sub, IsOk());
  auto subsub = pki_->Intermediate(*sub, "SubSub CA", keystore::KeyType::kEcdsaP256, 0);
  ASSERT_THAT(subsub, IsOk());
  auto leaf = pki_->Device(*subsub, "dev-deep");
  ASSERT_THAT(leaf, IsOk());
  EXPECT_THAT(VerifyCertificateChain(*leaf, std::vector{subsub->cert, sub->cert},
                                     std::vector{root_->cert}, {}, kNow),
              IsOk());
  ChainOptions shallow;
  shallow.max_depth = 3;
  EXPECT_THAT(VerifyCertificateChain(*leaf, std::vector{subsub->cert, sub->cert},
                                     std::vector{root_->cert}, {}, kNow, shallow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("longer than 3")));
}

TEST_F(ChainTest, CrossSignedNewCaIsTrustedThroughTheOldRoot) {
  // CA re-keying: a new root with a new key; the old root cross-signs it.
  auto new_root = pki_->Root("Fleet Root 2", keystore::KeyType::kEd25519);
  ASSERT_THAT(new_root, IsOk());
  CertificateTemplate cross;
  cross.common_name = "Fleet Root 2";
  cross.organization = "test fleet";
  cross.subject_public_key = new_root->cert.public_key();
  cross.not_before = kNow - kDay;
  cross.not_after = kNow + 365 * kDay;
  cross.is_ca = true;
  auto cross_cert = IssueCertificate(cross, &root_->cert, root_->key);
  ASSERT_THAT(cross_cert, IsOk());
  EXPECT_EQ(cross_cert->subject_key_id(), new_root->cert.subject_key_id());

  auto new_issuing = pki_->Intermediate(*new_root, "Fleet Issuing CA 2");
  ASSERT_THAT(new_issuing, IsOk());
  auto new_device = pki_->Device(*new_issuing, "dev-new");
  ASSERT_THAT(new_device, IsOk());

  // A device that trusts only the old root accepts the new chain via the
  // cross certificate ...
  EXPECT_THAT(VerifyCertificateChain(*new_device, std::vector{new_issuing->cert, *cross_cert},
                                     std::vector{root_->cert}, {}, kNow),
              IsOk());
  // ... even when the new self-signed root is also offered ...
  EXPECT_THAT(VerifyCertificateChain(*new_device,
                                     std::vector{new_issuing->cert, new_root->cert, *cross_cert},
                                     std::vector{root_->cert}, {}, kNow),
              IsOk());
  // ... but not without it.
  EXPECT_THAT(VerifyCertificateChain(*new_device, std::vector{new_issuing->cert},
                                     std::vector{root_->cert}, {}, kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("issuer not trusted")));
  // Devices that already trust the new root need no cross certificate.
  EXPECT_THAT(VerifyCertificateChain(*new_device, std::vector{new_issuing->cert},
                                     std::vector{new_root->cert}, {}, kNow),
              IsOk());
  // Old devices stay valid for relying parties that trust both roots.
  EXPECT_THAT(VerifyCertificateChain(*device_, std::vector{issuing_->cert},
                                     std::vector{root_->cert, new_root->cert}, {}, kNow),
              IsOk());
  // Revoking the cross certificate at the old root cuts the new chain off
  // for old-root relying parties.
  const Crl old_root_crl =
      MakeCrl(*root_, {{cross_cert->serial_hex(), kNow - 5, RevocationReason::kSuperseded}});
  EXPECT_THAT(VerifyCertificateChain(*new_device, std::vector{new_issuing->cert, *cross_cert},
                                     std::vector{root_->cert}, std::vector{old_root_crl}, kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("is revoked")));
}

TEST_F(ChainTest, NeedsTrustAnchors) {
  EXPECT_THAT(VerifyCertificateChain(*device_, {}, {}, {}, kNow),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no trust anchors")));
}

}  // namespace
}  // namespace custos::identity
