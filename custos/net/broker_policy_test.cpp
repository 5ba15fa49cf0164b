// File: custos/net/broker_policy_test.cpp
#include "custos/net/broker_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "custos/identity/x509_certificate.h"
#include "custos/net/mqtt_test_util.h"
#include "testing/status_matchers.h"

namespace custos::net {
namespace {

using ::custos::net::testing::Credential;
using ::custos::net::testing::TempFolder;
using ::custos::net::testing::TestFleetPki;
using ::custos::testing::IsOk;

TEST(BrokerPolicyTest, DeviceIdentityAgreesWithValidateDeviceId) {
  for (const std::string& name :
       {std::string("sensor-0001"), std::string("a"), std::string("A.b_c-9"), std::string(""),
        std::string(".hidden"), std::string("-dash"), std::string("has/slash"),
        std::string("plus+"), std::string("hash#"), std::string("custosd:control-plane"),
        std::string("space x"), std::string(64, 'x'), std::string(65, 'x')}) {
    EXPECT_EQ(IsDeviceIdentity(name), identity::ValidateDeviceId(name).ok()) << name;
  }
}

TEST(BrokerPolicyTest, DeviceMayUseOnlyItsOwnTopics) {
  EXPECT_EQ(DeviceTelemetryTopic("d1"), "devices/d1/telemetry");
  EXPECT_EQ(DeviceCommandsTopic("d1"), "devices/d1/commands");
  EXPECT_TRUE(DeviceMayAccess("d1", "devices/d1/telemetry", TopicAccess::kWrite));
  EXPECT_TRUE(DeviceMayAccess("d1", "devices/d1/commands", TopicAccess::kSubscribe));
  EXPECT_TRUE(DeviceMayAccess("d1", "devices/d1/commands", TopicAccess::kRead));
  EXPECT_TRUE(DeviceMayAccess("d1", "anything", TopicAccess::kUnsubscribe));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/d2/telemetry", TopicAccess::kWrite));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/d1/commands", TopicAccess::kWrite));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/d1/telemetry", TopicAccess::kSubscribe));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/d2/commands", TopicAccess::kSubscribe));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/+/commands", TopicAccess::kSubscribe));
  EXPECT_FALSE(DeviceMayAccess("d1", "devices/#", TopicAccess::kSubscribe));
  EXPECT_FALSE(DeviceMayAccess("d1", "#", TopicAccess::kSubscribe));
  EXPECT_FALSE(DeviceMayAccess("+", "devices/+/telemetry", TopicAccess::kWrite));
  EXPECT_FALSE(DeviceMayAccess("", "devices//telemetry", TopicAccess::kWrite));
}

class RevocationListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto pki = TestFleetPki::Create();
    ASSERT_THAT(pki, IsOk());
    pki_ = std::move(*pki);
    ca_path_ = Write("ca.pem", pki_->ca().ToPem());
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  TempFolder dir_;
  std::unique_ptr<TestFleetPki> pki_;
  std::string ca_path_;
};

TEST_F(RevocationListTest, ListsTheRevokedCertificates) {
  auto revoked = pki_->Device("d1");
  auto kept = pki_->Device("d2");
  ASSERT_THAT(revoked, IsOk());
  ASSERT_THAT(kept, IsOk());
  auto crl = pki_->CrlPem({&revoked->cert});
  ASSERT_THAT(crl, IsOk());
  std::string error;
  auto list = RevocationList::Load(Write("crl.pem", *crl), ca_path_, &error);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_EQ(list->size(), 1u);
  EXPECT_TRUE(list->IsRevoked(revoked->cert.native()));
  EXPECT_FALSE(list->IsRevoked(kept->cert.native()));
}

TEST_F(RevocationListTest, RefusesACrlOfAnotherCa) {
  auto other = TestFleetPki::Create("Other CA");
  ASSERT_THAT(other, IsOk());
  auto crl = (*other)->CrlPem({});
  ASSERT_THAT(crl, IsOk());
  std::string error;
  EXPECT_FALSE(RevocationList::Load(Write("crl.pem", *crl), ca_path_, &error).has_value());
  EXPECT_THAT(error, ::testing::HasSubstr("is not signed by a CA"));
}

TEST_F(RevocationListTest, RefusesATamperedCrl) {
  auto device = pki_->Device("d1");
  ASSERT_THAT(device, IsOk());
  auto crl = pki_->CrlPem({&device->cert});
  ASSERT_THAT(crl, IsOk());
  // Flip a character inside the base64 body (the signature or the TBS).
  std::string tampered = *crl;
  const std::size_t pos = tampered.size() / 2;
  tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
  std::string error;
  EXPECT_FALSE(RevocationList::Load(Write("crl.pem", tampered), ca_path_, &error).has_value());
  EXPECT_FALSE(error.empty());
}

TEST_F(RevocationListTest, RefusesMissingEmptyAndGarbageFiles) {
  std::string error;
  EXPECT_FALSE(RevocationList::Load(dir_.path() + "/missing.pem", ca_path_, &error).has_value());
  EXPECT_THAT(error, ::testing::HasSubstr("cannot open"));
  EXPECT_FALSE(RevocationList::Load(Write("empty.pem", ""), ca_path_, &error).has_value());
  EXPECT_THAT(error, ::testing::HasSubstr("no CRL"));
  EXPECT_FALSE(RevocationList::Load(Write("junk.pem",
                                          "-----BEGIN X509 CRL-----\nnot base64!\n"
                                          "-----END X509 CRL-----\n"),
                                    ca_path_, &error)
                   .has_value());
  EXPECT_FALSE(error.empty());
  auto crl = pki_->CrlPem({});
  ASSERT_THAT(crl, IsOk());
  EXPECT_FALSE(RevocationList::Load(Write("crl.pem", *crl), Write("noca.pem", "nothing"), &error)
                   .has_value());
  EXPECT_THAT(error, ::testing::HasSubstr("no CA certificate"));
}

}  // namespace
}  // namespace custos::net
