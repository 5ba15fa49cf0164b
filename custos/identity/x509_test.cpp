#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "custos/core/hex.h"
#include "custos/identity/x509_certificate.h"
#include "custos/identity/x509_issue.h"
#include "custos/identity/x509_test_util.h"
#include "custos/keystore/soft_key_store.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kDay;
using testing::kNow;
using ::testing::SizeIs;
using testing::TestCa;
using testing::TestPki;

class X509Test : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = keystore::NewInMemorySoftKeyStore();
    pki_ = std::make_unique<TestPki>(store_.get());
    auto root = pki_->Root("Test Root");
    ASSERT_THAT(root, IsOk());
    root_ = std::make_unique<TestCa>(*std::move(root));
  }

  // A device template for a fresh P-256 key.
  CertificateTemplate DeviceTemplate(std::string_view device_id) {
    auto key = pki_->NewKey(keystore::KeyType::kEcdsaP256);
    EXPECT_THAT(key, IsOk());
    CertificateTemplate tmpl;
    tmpl.device_id = std::string(device_id);
    tmpl.organization = "acme";
    tmpl.subject_public_key = *store_->ExportPublicKey(key->label);
    tmpl.not_before = kNow;
    tmpl.not_after = kNow + kDefaultDeviceValiditySeconds;
    return tmpl;
  }

  std::unique_ptr<keystore::KeyStore> store_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<TestCa> root_;
};

TEST_F(X509Test, SelfSignedRootHasCaFields) {
  const Certificate& root = root_->cert;
  EXPECT_EQ(root.subject_common_name(), "Test Root");
  EXPECT_EQ(root.subject_organization(), "test fleet");
  EXPECT_EQ(root.subject_name(), "CN=Test Root,O=test fleet");
  EXPECT_EQ(root.issuer_name(), root.subject_name());
  EXPECT_TRUE(root.is_ca());
  EXPECT_EQ(root.path_length(), -1);
  EXPECT_EQ(root.device_id(), "");
  EXPECT_EQ(root.key_algorithm(), "ecdsa-p256");
  EXPECT_EQ(root.signature_algorithm(), "ecdsa-with-SHA256");
  EXPECT_EQ(root.not_before(), kNow - kDay);
  EXPECT_EQ(root.not_after(), kNow + 3650 * kDay);
  EXPECT_EQ(root.subject_key_id().size(), 40u);
  EXPECT_EQ(root.authority_key_id(), root.subject_key_id());
  EXPECT_EQ(root.public_key(), *store_->ExportPublicKey(root_->key.label));
}

TEST_F(X509Test, DeviceCertificateCarriesTheTemplate) {
  CertificateTemplate tmpl = DeviceTemplate("dev-0001");
  tmpl.san_dns_names = {"dev-0001.fleet.example"};
  tmpl.san_uris = {"https://fleet.example/devices/dev-0001"};
  tmpl.crl_distribution_point = "http://fleet.example/crl.der";
  tmpl.server_auth = true;
  auto cert = IssueCertificate(tmpl, &root_->cert, root_->key);
  ASSERT_THAT(cert, IsOk());
  EXPECT_EQ(cert->device_id(), "dev-0001");
  EXPECT_EQ(cert->subject_common_name(), "dev-0001");
  EXPECT_EQ(cert->subject_organization(), "acme");
  EXPECT_EQ(cert->issuer_name(), root_->cert.subject_name());
  EXPECT_THAT(cert->san_uris(),
              ElementsAre("urn:custos:device:dev-0001", "https://fleet.example/devices/dev-0001"));
  EXPECT_THAT(cert->san_dns_names(), ElementsAre("dev-0001.fleet.example"));
  EXPECT_FALSE(cert->is_ca());
  EXPECT_EQ(cert->not_before(), kNow);
  EXPECT_EQ(cert->not_after(), kNow + 30 * kDay);
  EXPECT_EQ(cert->public_key(), tmpl.subject_public_key);
  EXPECT_EQ(cert->authority_key_id(), root_->cert.subject_key_id());
  // A random 16-byte positive serial with the top bit clear, written without
  // leading zeros: at most 32 hex digits, and below 8 in the first of 32.
  const std::string& serial = cert->serial_hex();
  ASSERT_FALSE(serial.empty());
  EXPECT_LE(serial.size(), 32u);
  EXPECT_NE(serial[0], '0');
  if (serial.size() == 32) {
    EXPECT_LT(serial[0], '8');
  }
}

TEST_F(X509Test, SerialsAreFreshAndCallerSerialsAreKept) {
  auto a = IssueCertificate(DeviceTemplate("dev-a"), &root_->cert, root_->key);
  auto b = IssueCertificate(DeviceTemplate("dev-b"), &root_->cert, root_->key);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->serial_hex(), b->serial_hex());
  CertificateTemplate tmpl = DeviceTemplate("dev-c");
  tmpl.serial = {0x00, 0x01, 0x02};
  auto c = IssueCertificate(tmpl, &root_->cert, root_->key);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->serial_hex(), "102");
}

TEST_F(X509Test, Ed25519CaAndDevice) {
  auto root = pki_->Root("Ed Root", keystore::KeyType::kEd25519);
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->cert.key_algorithm(), "ed25519");
  EXPECT_EQ(root->cert.signature_algorithm(), "ED25519");
  auto device = pki_->Device(*root, "ed-dev", kNow, kNow + kDay, keystore::KeyType::kEd25519);
  ASSERT_THAT(device, IsOk());
  EXPECT_EQ(device->signature_algorithm(), "ED25519");
  EXPECT_EQ(device->key_algorithm(), "ed25519");
  // A P-256 device under an Ed25519 CA: the algorithm follows the CA key.
  auto mixed = pki_->Device(*root, "mixed", kNow, kNow + kDay, keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(mixed, IsOk());
  EXPECT_EQ(mixed->signature_algorithm(), "ED25519");
  EXPECT_EQ(mixed->key_algorithm(), "ecdsa-p256");
}

TEST_F(X509Test, DerAndPemRoundTrip) {
  auto cert = IssueCertificate(DeviceTemplate("dev-pem"), &root_->cert, root_->key);
  ASSERT_THAT(cert, IsOk());
  const std::string pem = cert->ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE-----\n"));
  auto from_pem = Certificate::FromPem("some text before\n" + pem + "trailer\n");
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(from_pem->der(), cert->der());
  EXPECT_EQ(from_pem->fingerprint_sha256(), cert->fingerprint_sha256());
  auto parsed = Certificate::Parse(AsBytes(pem));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->der(), cert->der());
  auto from_der = Certificate::Parse(cert->der());
  ASSERT_THAT(from_der, IsOk());
  EXPECT_EQ(from_der->serial_hex(), cert->serial_hex());

  auto bundle = ParseCertificatePemBundle(pem + root_->cert.ToPem());
  ASSERT_THAT(bundle, IsOk());
  ASSERT_THAT(*bundle, SizeIs(2));
  EXPECT_EQ((*bundle)[1].der(), root_->cert.der());
}

TEST_F(X509Test, FingerprintIsSha256OfDer) {
  auto cert = IssueCertificate(DeviceTemplate("dev-fp"), &root_->cert, root_->key);
  ASSERT_THAT(cert, IsOk());
  testing::TempDir dir;
  const std::string path = dir.Write("c.pem", cert->ToPem());
  const testing::CommandResult result =
      testing::RunCommand("openssl x509 -noout -fingerprint -sha256 -in " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::string hex;
  for (const char c : result.output.substr(result.output.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c)))
      hex.push_back(static_cast<char>(std::tolower(c)));
  }
  EXPECT_EQ(hex, HexEncode(cert->fingerprint_sha256()));
}

// An issued certificate is not parsed back; its OpenSSL object is parsed on
// first use, once, and matches what FromDer gives.
TEST_F(X509Test, IssuedCertificateHasTheFieldsAndNativeObjectOfItsDer) {
  auto cert = IssueCertificate(DeviceTemplate("dev-native"), &root_->cert, root_->key);
  ASSERT_THAT(cert, IsOk());
  auto parsed = Certificate::FromDer(cert->der());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(cert->subject_name(), parsed->subject_name());
  EXPECT_EQ(cert->issuer_name(), parsed->issuer_name());
  EXPECT_EQ(cert->device_id(), parsed->device_id());
  EXPECT_EQ(cert->san_uris(), parsed->san_uris());
  EXPECT_EQ(cert->serial_hex(), parsed->serial_hex());
  EXPECT_EQ(cert->not_before(), parsed->not_before());
  EXPECT_EQ(cert->not_after(), parsed->not_after());
  EXPECT_EQ(cert->is_ca(), parsed->is_ca());
  EXPECT_EQ(cert->public_key(), parsed->public_key());
  EXPECT_EQ(cert->key_algorithm(), parsed->key_algorithm());
  EXPECT_EQ(cert->signature_algorithm(), parsed->signature_algorithm());
  EXPECT_EQ(cert->subject_key_id(), parsed->subject_key_id());
  EXPECT_EQ(cert->authority_key_id(), parsed->authority_key_id());
  EXPECT_EQ(cert->fingerprint_sha256(), parsed->fingerprint_sha256());

  const Certificate copy = *cert;
  X509* from_thread = nullptr;
  std::thread other([&] { from_thread = copy.native(); });
  X509* here = cert->native();
  other.join();
  ASSERT_NE(here, nullptr);
  EXPECT_EQ(here, from_thread);  // one object, shared by copies
  EXPECT_NE(X509_get0_pubkey(here), nullptr);
  EXPECT_EQ(X509_cmp(here, parsed->native()), 0);
  EXPECT_EQ(X509_verify(here, X509_get0_pubkey(root_->cert.native())), 1);
}

TEST_F(X509Test, OpensslCommandLineAcceptsTheChain) {
  auto issuing = pki_->Intermediate(*root_, "Issuing CA");
  ASSERT_THAT(issuing, IsOk());
  auto device = pki_->Device(*issuing, "dev-cli");
  ASSERT_THAT(device, IsOk());
  testing::TempDir dir;
  const std::string root_pem = dir.Write("root.pem", root_->cert.ToPem());
  const std::string issuing_pem = dir.Write("issuing.pem", issuing->cert.ToPem());
  const std::string device_pem = dir.Write("device.pem", device->ToPem());
  const testing::CommandResult verify = testing::RunCommand(
      "openssl verify -x509_strict -purpose sslclient -attime " + std::to_string(kNow) +
      " -CAfile " + root_pem + " -untrusted " + issuing_pem + " " + device_pem);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr(": OK"));

  const testing::CommandResult text =
      testing::RunCommand("openssl x509 -noout -text -in " + device_pem);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("Subject: O = test fleet, CN = dev-cli"));
  EXPECT_THAT(text.output, HasSubstr("URI:urn:custos:device:dev-cli"));
  EXPECT_THAT(text.output,
              HasSubstr("X509v3 Basic Constraints: critical\n                CA:FALSE"));
  EXPECT_THAT(text.output, HasSubstr("TLS Web Client Authentication"));
  EXPECT_THAT(text.output, HasSubstr("Digital Signature"));
  EXPECT_THAT(text.output, HasSubstr("Signature Algorithm: ecdsa-with-SHA256"));

  // A device certificate cannot act as a CA for openssl either.
  auto rogue_key = pki_->NewKey(keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(rogue_key, IsOk());
  const std::string issuing_text =
      testing::RunCommand("openssl x509 -noout -text -in " + issuing_pem).output;
  EXPECT_THAT(issuing_text, HasSubstr("CA:TRUE, pathlen:0"));
  EXPECT_THAT(issuing_text, HasSubstr("Certificate Sign, CRL Sign"));
}

TEST_F(X509Test, OpensslCommandLineAcceptsEd25519) {
  auto root = pki_->Root("Ed Root", keystore::KeyType::kEd25519);
  ASSERT_THAT(root, IsOk());
  auto device = pki_->Device(*root, "ed-cli", kNow, kNow + kDay, keystore::KeyType::kEd25519);
  ASSERT_THAT(device, IsOk());
  testing::TempDir dir;
  const testing::CommandResult verify = testing::RunCommand(
      "openssl verify -x509_strict -attime " + std::to_string(kNow) + " -CAfile " +
      dir.Write("root.pem", root->cert.ToPem()) + " " + dir.Write("dev.pem", device->ToPem()));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(X509Test, RefusesAWrongIssuerKey) {
  auto other = pki_->NewKey(keystore::KeyType::kEcdsaP256);
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(IssueCertificate(DeviceTemplate("dev-x"), &root_->cert, *other),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("does not verify")));
}

TEST_F(X509Test, RefusesANonCaIssuer) {
  auto device = pki_->Device(*root_, "dev-issuer");
  ASSERT_THAT(device, IsOk());
  EXPECT_THAT(IssueCertificate(DeviceTemplate("dev-y"), &*device, root_->key),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("is not a CA")));
}

TEST_F(X509Test, RefusesKeysThatCannotSign) {
  ASSERT_THAT(store_->Generate(keystore::KeyType::kEcdhP256, "agree").status(), IsOk());
  EXPECT_THAT(IssueCertificate(DeviceTemplate("dev-z"), &root_->cert, {store_.get(), "agree"}),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("cannot sign X.509")));
  EXPECT_THAT(IssueCertificate(DeviceTemplate("dev-z"), &root_->cert, {store_.get(), "missing"}),
              StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(IssueCertificate(DeviceTemplate("dev-z"), &root_->cert, {nullptr, "x"}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no key store")));
}

TEST_F(X509Test, RefusesBadTemplates) {
  const auto issue = [&](const CertificateTemplate& tmpl) {
    return IssueCertificate(tmpl, &root_->cert, root_->key).status();
  };
  CertificateTemplate tmpl = DeviceTemplate("dev-ok");
  ASSERT_THAT(issue(tmpl), IsOk());

  CertificateTemplate bad = tmpl;
  bad.device_id = "bad id!";
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("device id")));
  bad = tmpl;
  bad.device_id.clear();
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("common name")));
  bad = tmpl;
  bad.common_name = "other";
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("differs")));
  bad = tmpl;
  bad.not_after = bad.not_before;
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("validity is empty")));
  bad = tmpl;
  bad.not_after = root_->cert.not_after() + 1;
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("issuer's")));
  bad = tmpl;
  bad.subject_public_key.pop_back();
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("public key")));
  bad = tmpl;
  bad.san_uris = {"urn:custos:device:someone-else"};
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("device URI")));
  bad = tmpl;
  bad.san_dns_names = {"bad\nname"};
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("SAN DNS name")));
  bad = tmpl;
  bad.client_auth = false;
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("client_auth")));
  bad = tmpl;
  bad.serial = std::vector<uint8_t>(21, 1);
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("serial")));
  bad = tmpl;
  bad.is_ca = true;
  EXPECT_THAT(issue(bad), StatusIs(StatusCode::kInvalidArgument, HasSubstr("CA certificate")));
}

TEST_F(X509Test, SelfSignedNeedsTheSigningKeysPublicKey) {
  CertificateTemplate tmpl = DeviceTemplate("self");
  tmpl.device_id.clear();
  tmpl.common_name = "Self";
  tmpl.is_ca = true;
  EXPECT_THAT(IssueCertificate(tmpl, nullptr, root_->key),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not the public key")));
}

TEST_F(X509Test, PathLengthZeroIssuerCannotIssueCas) {
  auto issuing = pki_->Intermediate(*root_, "Issuing", keystore::KeyType::kEcdsaP256, 0);
  ASSERT_THAT(issuing, IsOk());
  EXPECT_EQ(issuing->cert.path_length(), 0);
  EXPECT_THAT(pki_->Intermediate(*issuing, "Sub").status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("pathLen 0")));
}

TEST(CertificateParseTest, RefusesMalformedInput) {
  EXPECT_THAT(Certificate::FromDer({}), StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty")));
  const std::vector<uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x01};
  EXPECT_THAT(Certificate::FromDer(junk),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a DER X.509 certificate")));
  EXPECT_THAT(Certificate::FromDer(std::vector<uint8_t>(kMaxCertificateBytes + 1, 0x30)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("larger than")));
  EXPECT_THAT(Certificate::FromPem("no pem here"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no PEM block")));
  EXPECT_THAT(
      Certificate::FromPem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("base64")));
  EXPECT_THAT(ParseCertificatePemBundle(""), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(X509Test, RefusesTrailingBytesAndTruncation) {
  std::vector<uint8_t> der = root_->cert.der();
  der.push_back(0);
  EXPECT_THAT(Certificate::FromDer(der),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("trailing bytes")));
  der.resize(der.size() - 10);
  EXPECT_THAT(Certificate::FromDer(der), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Certificate::FromPem(root_->cert.ToPem() + root_->cert.ToPem()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("more than one")));
}

TEST_F(X509Test, RefusesACertificateWhoseSanAndCnDisagree) {
  // Build such a certificate with the openssl command line (custos never
  // issues one) and check that parsing refuses it.
  testing::TempDir dir;
  const std::string key = dir.path() + "/k.pem";
  const std::string cert = dir.path() + "/c.der";
  const testing::CommandResult made = testing::RunCommand(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key +
      " -subj /CN=dev-a -addext subjectAltName=URI:urn:custos:device:dev-b -days 1 -outform DER "
      "-out " +
      cert);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const testing::CommandResult read = testing::RunCommand("base64 -w0 " + cert);
  auto der = Base64Decode(read.output);
  ASSERT_THAT(der, IsOk());
  EXPECT_THAT(Certificate::FromDer(*der),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("SAN device URI names device 'dev-b' but the subject CN is "
                                 "'dev-a'")));
}

TEST(DeviceIdTest, Validation) {
  EXPECT_THAT(ValidateDeviceId("dev-01.a_b"), IsOk());
  EXPECT_THAT(ValidateDeviceId(""), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateDeviceId(std::string(65, 'a')), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateDeviceId("-dev"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateDeviceId("dev/1"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(DeviceUri("d1"), "urn:custos:device:d1");
}

}  // namespace
}  // namespace custos::identity
