// The fleet CA with its keys in a real SoftHSM2 token (PKCS#11): creation,
// enrollment of a mixed fleet, re-keying, CRLs and reopening. SoftHSM2's
// configuration is process-wide, so the suite shares one token; each CA has
// its own key labels in it.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "custos/identity/chain.h"
#include "custos/identity/device_client.h"
#include "custos/identity/fleet_ca.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using keystore::KeyType;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1764000000;

class FleetCaSoftHsmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto token = keystore::SoftHsmTestToken::Create("fleet-ca-test");
    ASSERT_THAT(token, IsOk());
    token_ = new keystore::SoftHsmTestToken(*std::move(token));
  }
  static void TearDownTestSuite() {
    delete token_;
    token_ = nullptr;
  }
  void SetUp() override {
    char pattern[] = "/tmp/custos-ca-hsm-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<keystore::KeyStore> Hsm() {
    auto store = keystore::OpenPkcs11KeyStore(token_->uri());
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<FleetCa> NewCa() {
    auto registry = OpenFileDeviceRegistry(dir_);
    EXPECT_THAT(registry, IsOk());
    CaOptions options;
    options.name = "HSM Fleet";
    options.store_uri = token_->uri();
    auto ca = FleetCa::Create(*std::move(registry), Hsm(), options, kNow);
    EXPECT_THAT(ca, IsOk());
    return ca.ok() ? *std::move(ca) : nullptr;
  }

  static keystore::SoftHsmTestToken* token_;
  std::string dir_;
};

keystore::SoftHsmTestToken* FleetCaSoftHsmTest::token_ = nullptr;

StatusOr<EnrollmentResponse> EnrollDevice(FleetCa& ca, const std::string& id, KeyType type,
                                          keystore::KeyStore& device_store) {
  CUSTOS_RETURN_IF_ERROR(device_store.Generate(type, id).status());
  CUSTOS_ASSIGN_OR_RETURN(auto tokens, ca.IssueTokens(1, id, 3600, kNow));
  CUSTOS_ASSIGN_OR_RETURN(EnrollmentRequest request,
                          BuildEnrollmentRequest({&device_store, id}, id, tokens[0], {}, kNow));
  return ca.Enroll(request, kNow);
}

TEST_F(FleetCaSoftHsmTest, CaKeysStayInTheTokenAndSignAMixedFleet) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  // The CA keys are non-extractable token objects.
  auto hsm = Hsm();
  auto keys = hsm->List();
  ASSERT_THAT(keys, IsOk());
  int ca_keys = 0;
  for (const keystore::KeyInfo& key : *keys) {
    if (key.label.rfind("custos-ca-", 0) == 0) {
      ++ca_keys;
      EXPECT_FALSE(key.extractable);
    }
  }
  EXPECT_GE(ca_keys, 2);

  auto devices = keystore::NewInMemorySoftKeyStore();
  auto a = EnrollDevice(*ca, "dev-a", KeyType::kEcdsaP256, *devices);
  auto b = EnrollDevice(*ca, "dev-b", KeyType::kEd25519, *devices);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto cert_b = Certificate::FromDer(b->certificate_der);
  ASSERT_THAT(cert_b, IsOk());
  EXPECT_EQ(cert_b->key_algorithm(), "ed25519");
  EXPECT_THAT(ca->VerifyDeviceCertificate(*cert_b, ca->Chain(), kNow), IsOk());

  // Re-keyed in the token; the old root still anchors the new chain.
  const Certificate old_root = ca->root();
  ASSERT_THAT(ca->RotateRootCa(kNow + 5), IsOk());
  auto c = EnrollDevice(*ca, "dev-c", KeyType::kEcdsaP256, *devices);
  ASSERT_THAT(c, IsOk());
  const Certificate anchors[] = {old_root};
  EXPECT_THAT(AcceptEnrollmentResponse(*c, {devices.get(), "dev-c"}, "dev-c", anchors, kNow + 5),
              IsOk());

  ASSERT_THAT(ca->RevokeDevice("dev-a", RevocationReason::kKeyCompromise, kNow + 6), IsOk());
  auto crls = ca->IssueCrls(kNow + 7);
  ASSERT_THAT(crls, IsOk());
  auto cert_a = Certificate::FromDer(a->certificate_der);
  ASSERT_THAT(cert_a, IsOk());
  EXPECT_THAT(VerifyCertificateChain(*cert_a, ca->Chain(), ca->Roots(), *crls, kNow + 7),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("revoked")));
}

TEST_F(FleetCaSoftHsmTest, ReopensWithAFreshSession) {
  std::string serial;
  {
    auto ca = NewCa();
    ASSERT_NE(ca, nullptr);
    auto devices = keystore::NewInMemorySoftKeyStore();
    auto response = EnrollDevice(*ca, "dev-1", KeyType::kEcdsaP256, *devices);
    ASSERT_THAT(response, IsOk());
    serial = response->serial;
  }
  auto registry = OpenFileDeviceRegistry(dir_);
  ASSERT_THAT(registry, IsOk());
  auto ca = FleetCa::Open(*std::move(registry), Hsm());
  ASSERT_THAT(ca, IsOk());
  auto status = (*ca)->ShowDevice("dev-1", kNow);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->active_serial, serial);
  auto devices = keystore::NewInMemorySoftKeyStore();
  EXPECT_THAT(EnrollDevice(**ca, "dev-2", KeyType::kEd25519, *devices), IsOk());
}

}  // namespace
}  // namespace custos::identity
