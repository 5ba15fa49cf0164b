#include "custos/identity/csr.h"

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
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class CsrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = keystore::NewInMemorySoftKeyStore();
    ASSERT_THAT(store_->Generate(keystore::KeyType::kEcdsaP256, "device").status(), IsOk());
    ASSERT_THAT(store_->Generate(keystore::KeyType::kEd25519, "device-ed").status(), IsOk());
  }

  SigningKey Key(std::string label = "device") { return {store_.get(), std::move(label)}; }

  std::vector<uint8_t> MakeCsr(const CsrSubject& subject, const SigningKey& key) {
    auto csr = CreateCsr(subject, key);
    EXPECT_THAT(csr, IsOk());
    return csr.ok() ? *csr : std::vector<uint8_t>{};
  }

  std::unique_ptr<keystore::KeyStore> store_;
};

TEST_F(CsrTest, RoundTripEcdsa) {
  CsrSubject subject{"dev-0042", "acme", {"https://acme.example/d/42"}, {"d42.acme.example"}};
  const std::vector<uint8_t> der = MakeCsr(subject, Key());
  auto request = ParseAndVerifyCsr(der);
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->device_id, "dev-0042");
  EXPECT_EQ(request->organization, "acme");
  EXPECT_EQ(request->subject_name, "CN=dev-0042,O=acme");
  EXPECT_THAT(request->san_uris, ElementsAre("https://acme.example/d/42"));
  EXPECT_THAT(request->san_dns_names, ElementsAre("d42.acme.example"));
  EXPECT_EQ(request->public_key, *store_->ExportPublicKey("device"));
  EXPECT_EQ(request->key_algorithm, "ecdsa-p256");
  EXPECT_EQ(request->signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_EQ(request->der, der);
}

TEST_F(CsrTest, RoundTripEd25519AndPem) {
  const std::vector<uint8_t> der = MakeCsr({"dev-ed", "", {}, {}}, Key("device-ed"));
  const std::string pem = CsrDerToPem(der);
  EXPECT_THAT(pem, HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
  auto request = ParseAndVerifyCsr(AsBytes(pem));
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->device_id, "dev-ed");
  EXPECT_EQ(request->organization, "");
  EXPECT_THAT(request->san_uris, IsEmpty());
  EXPECT_EQ(request->key_algorithm, "ed25519");
  EXPECT_EQ(request->signature_algorithm, "ED25519");
  EXPECT_EQ(request->der, der);
}

TEST_F(CsrTest, OpensslCommandLineVerifiesIt) {
  testing::TempDir dir;
  const std::string path =
      dir.Write("req.pem", CsrDerToPem(MakeCsr({"dev-cli", "acme", {}, {"x.example"}}, Key())));
  const testing::CommandResult result =
      testing::RunCommand("openssl req -noout -verify -text -in " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("verify OK"));
  EXPECT_THAT(result.output, HasSubstr("Subject: O = acme, CN = dev-cli"));
  EXPECT_THAT(result.output, HasSubstr("URI:urn:custos:device:dev-cli, DNS:x.example"));
}

TEST_F(CsrTest, AcceptsAnOpensslMadeCsr) {
  testing::TempDir dir;
  const std::string out = dir.path() + "/req.pem";
  const testing::CommandResult made = testing::RunCommand(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + dir.path() +
      "/k.pem -subj /O=acme/CN=dev-ossl -addext "
      "subjectAltName=URI:urn:custos:device:dev-ossl -out " +
      out);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string pem = testing::RunCommand("cat " + out).output;
  auto request = ParseAndVerifyCsr(AsBytes(pem));
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->device_id, "dev-ossl");
  EXPECT_EQ(request->organization, "acme");
}

TEST_F(CsrTest, TamperedCsrFailsProofOfPossession) {
  const std::vector<uint8_t> der = MakeCsr({"dev-tamper", "acme", {}, {}}, Key());
  // Flip the last byte of the device id inside the signed subject.
  std::vector<uint8_t> tampered = der;
  const std::string id = "dev-tamper";
  const auto at = std::search(tampered.begin(), tampered.end(), id.begin(), id.end());
  ASSERT_NE(at, tampered.end());
  *(at + static_cast<std::ptrdiff_t>(id.size()) - 1) = 'X';
  EXPECT_THAT(ParseAndVerifyCsr(tampered),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("no proof of possession")));
  // A flipped signature bit.
  tampered = der;
  tampered.back() ^= 0x01;
  EXPECT_THAT(ParseAndVerifyCsr(tampered), StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(CsrTest, SignatureByAnotherKeyFails) {
  // Same subject and public key as a CSR from "device", but signed by the
  // attacker's own key: splice the other CSR's signature in.
  ASSERT_THAT(store_->Generate(keystore::KeyType::kEcdsaP256, "attacker").status(), IsOk());
  auto victim_request = ParseAndVerifyCsr(MakeCsr({"dev-v", "", {}, {}}, Key()));
  auto attacker_request = ParseAndVerifyCsr(MakeCsr({"dev-v", "", {}, {}}, Key("attacker")));
  ASSERT_THAT(victim_request, IsOk());
  ASSERT_THAT(attacker_request, IsOk());
  // The two differ only in the key and the signature; swap the public key.
  std::vector<uint8_t> forged = attacker_request->der;
  const std::vector<uint8_t>& attacker_key = attacker_request->public_key;
  const std::vector<uint8_t>& victim_key = victim_request->public_key;
  const auto at =
      std::search(forged.begin(), forged.end(), attacker_key.begin(), attacker_key.end());
  ASSERT_NE(at, forged.end());
  std::copy(victim_key.begin(), victim_key.end(), at);
  EXPECT_THAT(ParseAndVerifyCsr(forged), StatusIs(StatusCode::kUnauthenticated));
}

TEST_F(CsrTest, RefusesMalformedAndOversizedInput) {
  EXPECT_THAT(ParseAndVerifyCsr({}), StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty")));
  const std::vector<uint8_t> junk = {0x30, 0x02, 0x05, 0x00};
  EXPECT_THAT(ParseAndVerifyCsr(junk),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a DER PKCS#10 CSR")));
  std::vector<uint8_t> der = MakeCsr({"dev-1", "", {}, {}}, Key());
  CsrLimits small;
  small.max_bytes = der.size() - 1;
  EXPECT_THAT(ParseAndVerifyCsr(der, small),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("larger than")));
  der.push_back(0);
  EXPECT_THAT(ParseAndVerifyCsr(der),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("trailing bytes")));
  der.resize(der.size() - 20);
  EXPECT_THAT(ParseAndVerifyCsr(der), StatusIs(StatusCode::kInvalidArgument));
  const std::string bad_pem =
      "-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n";
  EXPECT_THAT(ParseAndVerifyCsr(AsBytes(bad_pem)),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("CSR: PEM block")));
}

TEST_F(CsrTest, EnforcesSanLimits) {
  CsrSubject subject{"dev-san", "", {}, {"a.example", "b.example", "c.example"}};
  const std::vector<uint8_t> der = MakeCsr(subject, Key());
  CsrLimits limits;
  limits.max_san_entries = 3;  // the device URI makes 4
  EXPECT_THAT(ParseAndVerifyCsr(der, limits),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("more than 3 SAN entries")));
  limits = {};
  limits.max_string_length = 8;
  EXPECT_THAT(ParseAndVerifyCsr(der, limits), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(CsrTest, RefusesCsrsNamingTwoDevices) {
  testing::TempDir dir;
  const std::string out = dir.path() + "/req.der";
  const testing::CommandResult made = testing::RunCommand(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + dir.path() +
      "/k.pem -subj /CN=dev-a -addext "
      "subjectAltName=URI:urn:custos:device:dev-b -outform DER -out " +
      out);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto der = Base64Decode(testing::RunCommand("base64 -w0 " + out).output);
  ASSERT_THAT(der, IsOk());
  EXPECT_THAT(ParseAndVerifyCsr(*der),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("CSR: SAN device URI names device 'dev-b' but the subject CN is "
                                 "'dev-a'")));
}

TEST_F(CsrTest, RefusesUnsupportedKeys) {
  testing::TempDir dir;
  const std::string out = dir.path() + "/req.der";
  const testing::CommandResult made =
      testing::RunCommand("openssl req -new -newkey rsa:1024 -nodes -keyout " + dir.path() +
                          "/k.pem -subj /CN=dev-rsa -outform DER -out " + out);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto der = Base64Decode(testing::RunCommand("base64 -w0 " + out).output);
  ASSERT_THAT(der, IsOk());
  EXPECT_THAT(ParseAndVerifyCsr(*der),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("RSA is not supported")));
}

TEST_F(CsrTest, CreateRefusesBadInput) {
  EXPECT_THAT(CreateCsr({"bad id", "", {}, {}}, Key()).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("device id")));
  EXPECT_THAT(CreateCsr({"dev", "", {"urn:custos:device:other"}, {}}, Key()).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("device URI")));
  EXPECT_THAT(CreateCsr({"dev", "", {}, {}}, Key("missing")).status(),
              StatusIs(StatusCode::kNotFound));
  ASSERT_THAT(store_->Generate(keystore::KeyType::kAes128, "secret").status(), IsOk());
  EXPECT_THAT(CreateCsr({"dev", "", {}, {}}, Key("secret")).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("cannot sign X.509")));
}

}  // namespace
}  // namespace custos::identity
