// Tests of the fleet CA: enrollment by token and by birth certificate,
// rotation, revocation, expiry, CRLs, CA re-keying and a mixed-algorithm
// fleet. Keys live in the software store in memory here (fast); the same
// flows with the CA key in a SoftHSM2 token are in fleet_ca_softhsm_test.cpp.
#include "custos/identity/fleet_ca.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "custos/identity/chain.h"
#include "custos/identity/csr.h"
#include "custos/identity/device_client.h"
#include "custos/identity/manufacture.h"
#include "custos/keystore/soft_key_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using keystore::KeyType;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1764000000;  // 2025-11-24
constexpr int64_t kDay = 24 * 3600;

std::unique_ptr<FleetCa> NewCa(KeyType type = KeyType::kEcdsaP256,
                               const std::string& name = "Acme Fleet") {
  CaOptions options;
  options.name = name;
  options.key_type = type;
  options.store_uri = "soft:mem";
  auto ca = FleetCa::Create(NewInMemoryDeviceRegistry(), keystore::NewInMemorySoftKeyStore(),
                            options, kNow);
  EXPECT_THAT(ca, IsOk());
  return ca.ok() ? *std::move(ca) : nullptr;
}

// A simulated device: a software store holding its identity key.
struct Device {
  std::string id;
  std::unique_ptr<keystore::KeyStore> store = keystore::NewInMemorySoftKeyStore();
  std::string label = "identity";

  explicit Device(std::string device_id, KeyType type = KeyType::kEcdsaP256)
      : id(std::move(device_id)) {
    EXPECT_THAT(store->Generate(type, label), IsOk());
  }
  SigningKey key() const { return {store.get(), label}; }
  EnrollmentRequest TokenRequest(const SecretBytes& token) const {
    auto request = BuildEnrollmentRequest(key(), id, token, {}, kNow);
    EXPECT_THAT(request, IsOk());
    return *std::move(request);
  }
};

SecretBytes OneToken(FleetCa& ca, const std::string& device_id = "", int64_t lifetime = kDay) {
  auto tokens = ca.IssueTokens(1, device_id, lifetime, kNow);
  EXPECT_THAT(tokens, IsOk());
  return (*tokens)[0];
}

Certificate CertOf(const EnrollmentResponse& response) {
  auto cert = Certificate::FromDer(response.certificate_der);
  EXPECT_THAT(cert, IsOk());
  return *std::move(cert);
}

std::size_t RecordCount(FleetCa& ca, const std::string& device_id) {
  auto records = ca.registry().CertificatesOf(device_id);
  EXPECT_THAT(records, IsOk());
  return records->size();
}

TEST(FleetCaTest, CreatesARootAndAnIssuingCa) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(ca->root().is_ca());
  EXPECT_TRUE(ca->issuing().is_ca());
  EXPECT_EQ(ca->root().subject_name(), ca->root().issuer_name());
  EXPECT_EQ(ca->issuing().issuer_name(), ca->root().subject_name());
  EXPECT_EQ(ca->root().subject_common_name(), "Acme Fleet Root CA G1");
  EXPECT_EQ(ca->issuing().key_algorithm(), "ecdsa-p256");
  EXPECT_THAT(VerifyCertificateChain(ca->issuing(), {}, ca->Roots(), {}, kNow), IsOk());
  // The CA's document names the algorithm of each key.
  auto doc = ca->registry().ReadDocument(std::string(kCaDocument));
  ASSERT_THAT(doc, IsOk());
  EXPECT_THAT(**doc, HasSubstr("\"key_type\": \"ecdsa-p256\""));
}

TEST(FleetCaTest, IssuesServiceCertificatesThatChainToTheRootAndAreNotRecorded) {
  auto ca = NewCa();
  ASSERT_NE(ca, nullptr);
  Device service("unused");
  auto spki = service.store->ExportPublicKey(service.label);
  ASSERT_THAT(spki, IsOk());
  auto cert = ca->IssueServiceCertificate("custos api", {"localhost", "127.0.0.1"}, *spki, true,
                                          false, kDay, kNow);
  ASSERT_THAT(cert, IsOk());
  EXPECT_EQ(cert->subject_common_name(), "custos api");
  EXPECT_EQ(cert->san_dns_names(), (std::vector<std::string>{"localhost", "127.0.0.1"}));
  EXPECT_EQ(cert->device_id(), "");
  EXPECT_EQ(cert->not_after(), kNow + kDay);
  EXPECT_THAT(VerifyCertificateChain(*cert, ca->Chain(), ca->Roots(), {}, kNow), IsOk());
  EXPECT_EQ(RecordCount(*ca, "custos api"), 0u);
  EXPECT_THAT(ca->IssueServiceCertificate("", {}, *spki, true, false, kDay, kNow),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(ca->IssueServiceCertificate("x", {}, *spki, false, false, kDay, kNow),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(FleetCaTest, RefusesBadOptions) {
  CaOptions options;
  options.name = "";
  EXPECT_THAT(FleetCa::Create(NewInMemoryDeviceRegistry(), keystore::NewInMemorySoftKeyStore(),
                              options, kNow),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("name")));
  options.name = "x";
  options.key_type = KeyType::kX25519;
  EXPECT_THAT(FleetCa::Create(NewInMemoryDeviceRegistry(), keystore::NewInMemorySoftKeyStore(),
                              options, kNow),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("ecdsa-p256 or ed25519")));
}

TEST(FleetCaTest, EnrollsADeviceWithAToken) {
  auto ca = NewCa();
  Device device("dev-1");
  SecretBytes token = OneToken(*ca);
  auto response = ca->Enroll(device.TokenRequest(token), kNow);
  ASSERT_THAT(response, IsOk());
  Certificate cert = CertOf(*response);
  EXPECT_EQ(cert.device_id(), "dev-1");
  EXPECT_EQ(cert.subject_common_name(), "dev-1");
  EXPECT_THAT(cert.san_uris(), ::testing::Contains("urn:custos:device:dev-1"));
  EXPECT_FALSE(cert.is_ca());
  EXPECT_LE(cert.not_after() - kNow, kDefaultDeviceValiditySeconds);
  EXPECT_EQ(response->key_type, "ecdsa-p256");

  auto accepted = AcceptEnrollmentResponse(*response, device.key(), "dev-1", {}, kNow);
  ASSERT_THAT(accepted, IsOk());
  EXPECT_THAT(ca->VerifyDeviceCertificate(cert, ca->Chain(), kNow), IsOk());

  auto records = ca->registry().CertificatesOf("dev-1");
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].method, kIssuedByToken);
  EXPECT_EQ((*records)[0].key_type, "ecdsa-p256");
  EXPECT_EQ((*records)[0].issuer_key_type, "ecdsa-p256");
  // Only the token's hash is stored, and it is spent.
  auto tokens = ca->registry().Tokens();
  ASSERT_THAT(tokens, IsOk());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].hash, HashToken(token.span()));
  EXPECT_TRUE((*tokens)[0].consumed);
}

TEST(FleetCaTest, AReusedTokenIsRefusedAndNothingIsRecorded) {
  auto ca = NewCa();
  Device first("dev-1");
  Device second("dev-2");
  SecretBytes token = OneToken(*ca);
  ASSERT_THAT(ca->Enroll(first.TokenRequest(token), kNow), IsOk());
  EXPECT_THAT(ca->Enroll(second.TokenRequest(token), kNow + 5),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("already used")));
  EXPECT_EQ(RecordCount(*ca, "dev-2"), 0u);
}

TEST(FleetCaTest, AnExpiredTokenIsRefused) {
  auto ca = NewCa();
  Device device("dev-1");
  SecretBytes token = OneToken(*ca, "", 3600);
  EXPECT_THAT(ca->Enroll(device.TokenRequest(token), kNow + 3600),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("expired")));
  EXPECT_EQ(RecordCount(*ca, "dev-1"), 0u);
  // Still unused: it expired, it was not consumed.
  EXPECT_FALSE((*ca->registry().Tokens())[0].consumed);
}

TEST(FleetCaTest, AnUnknownOrForeignTokenIsRefused) {
  auto ca = NewCa();
  Device device("dev-1");
  auto stranger = GenerateTokenText();
  ASSERT_THAT(stranger, IsOk());
  EXPECT_THAT(ca->Enroll(device.TokenRequest(*stranger), kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not recognised")));
  SecretBytes bound = OneToken(*ca, "dev-9");
  EXPECT_THAT(ca->Enroll(device.TokenRequest(bound), kNow),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("bound to device 'dev-9'")));
  Device nine("dev-9");
  EXPECT_THAT(ca->Enroll(nine.TokenRequest(bound), kNow), IsOk());
}

TEST(FleetCaTest, ATamperedCsrIsRefusedAndTheTokenKept) {
  auto ca = NewCa();
  Device device("dev-1");
  SecretBytes token = OneToken(*ca);
  EnrollmentRequest request = device.TokenRequest(token);
  EnrollmentRequest tampered = request;
  tampered.csr_der.back() ^= 0x01;  // inside the signature
  EXPECT_THAT(ca->Enroll(tampered, kNow), StatusIs(StatusCode::kUnauthenticated));
  tampered = request;
  tampered.csr_der.resize(tampered.csr_der.size() / 2);
  EXPECT_THAT(ca->Enroll(tampered, kNow), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(RecordCount(*ca, "dev-1"), 0u);
  EXPECT_THAT(ca->Enroll(request, kNow), IsOk());  // the token was not spent
}

TEST(FleetCaTest, ACsrForAnotherDeviceOrKeyTypeIsRefused) {
  auto ca = NewCa();
  Device device("dev-1");
  SecretBytes token = OneToken(*ca);
  EnrollmentRequest request = device.TokenRequest(token);
  request.device_id = "dev-2";
  EXPECT_THAT(ca->Enroll(request, kNow),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("CSR names device 'dev-1'")));
  request = device.TokenRequest(token);
  request.key_type = "ed25519";
  EXPECT_THAT(ca->Enroll(request, kNow),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("CSR key is ecdsa-p256")));
}

TEST(FleetCaTest, AMixedFleetMovesFromEcdsaToEd25519) {
  auto ca = NewCa(KeyType::kEcdsaP256);
  Device old_device("dev-ecdsa", KeyType::kEcdsaP256);
  Device new_device("dev-ed25519", KeyType::kEd25519);
  auto a = ca->Enroll(old_device.TokenRequest(OneToken(*ca)), kNow);
  auto b = ca->Enroll(new_device.TokenRequest(OneToken(*ca)), kNow);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(CertOf(*b).key_algorithm(), "ed25519");
  EXPECT_EQ(CertOf(*b).signature_algorithm(), "ecdsa-with-SHA256");

  // The CA itself moves to Ed25519 with the same tooling.
  ASSERT_THAT(ca->RotateRootCa(kNow + 10, KeyType::kEd25519), IsOk());
  EXPECT_EQ(ca->key_type(), KeyType::kEd25519);
  Device newest("dev-3", KeyType::kEd25519);
  auto c = ca->Enroll(newest.TokenRequest(OneToken(*ca)), kNow + 20);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(CertOf(*c).signature_algorithm(), "ED25519");
  // Every device, old and new algorithms, still verifies.
  for (const auto* response : {&*a, &*b, &*c}) {
    EXPECT_THAT(ca->VerifyDeviceCertificate(CertOf(*response), ca->Chain(), kNow + 30), IsOk());
  }
  auto records = ca->registry().CertificatesOf("dev-3");
  ASSERT_THAT(records, IsOk());
  EXPECT_EQ((*records)[0].issuer_key_type, "ed25519");
  EXPECT_EQ((*records)[0].key_type, "ed25519");
}

TEST(FleetCaTest, ZeroTouchEnrollmentWithABirthCertificate) {
  auto maker = NewCa(KeyType::kEcdsaP256, "Acme Manufacturing");
  auto fleet = NewCa();
  auto device_store = keystore::NewInMemorySoftKeyStore();
  auto state =
      Manufacture(*maker, *device_store, "soft:mem", "dev-7", KeyType::kEd25519, "birth", kNow);
  ASSERT_THAT(state, IsOk());
  auto birth = ParseCertificatePemBundle(state->birth_certificate_pem + state->birth_chain_pem);
  ASSERT_THAT(birth, IsOk());
  EXPECT_EQ((*birth)[0].device_id(), "dev-7");
  EXPECT_EQ((*birth)[0].issuer_name(), maker->issuing().subject_name());

  SigningKey key{device_store.get(), "birth"};
  auto request = BuildEnrollmentRequest(key, "dev-7", SecretBytes(), *birth, kNow);
  ASSERT_THAT(request, IsOk());
  // Not yet trusted: an unknown manufacturer.
  EXPECT_THAT(fleet->Enroll(*request, kNow), StatusIs(StatusCode::kUnauthenticated));
  auto other_maker = NewCa(KeyType::kEcdsaP256, "Other Manufacturing");
  ASSERT_THAT(fleet->TrustManufacturerRoot(other_maker->root()), IsOk());
  EXPECT_THAT(fleet->Enroll(*request, kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not trusted")));

  ASSERT_THAT(fleet->TrustManufacturerRoot(maker->root()), IsOk());
  auto response = fleet->Enroll(*request, kNow);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(CertOf(*response).device_id(), "dev-7");
  EXPECT_EQ((*fleet->registry().CertificatesOf("dev-7"))[0].method, kIssuedByBirthCertificate);

  // Someone holding the birth certificate but not its key cannot enroll.
  Device impostor("dev-7", KeyType::kEd25519);
  auto forged = BuildEnrollmentRequest(impostor.key(), "dev-7", SecretBytes(), *birth, kNow);
  ASSERT_THAT(forged, IsOk());
  EXPECT_THAT(fleet->Enroll(*forged, kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("birth certificate's key")));
  // An expired birth certificate is refused.
  EXPECT_THAT(fleet->Enroll(*request, kNow + 40 * kDay),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("expired")));
}

TEST(FleetCaTest, RotationReplacesTheKeyAndRevokesTheOldCertificateAfterTheGrace) {
  auto ca = NewCa();
  Device device("dev-1", KeyType::kEcdsaP256);
  auto first = ca->Enroll(device.TokenRequest(OneToken(*ca)), kNow);
  ASSERT_THAT(first, IsOk());
  Certificate old_cert = CertOf(*first);
  ASSERT_THAT(device.store->Generate(KeyType::kEd25519, "identity-2"), IsOk());
  SigningKey new_key{device.store.get(), "identity-2"};
  const int64_t t = kNow + kDay;
  auto request = BuildRotationRequest(device.key(), old_cert, new_key, t);
  ASSERT_THAT(request, IsOk());
  // Through the JSON documents, as a server would.
  auto response_json = ca->HandleMessage(RotationRequestToJson(*request), t);
  ASSERT_THAT(response_json, IsOk());
  auto response = ParseEnrollmentResponse(*response_json);
  ASSERT_THAT(response, IsOk());
  ASSERT_THAT(AcceptEnrollmentResponse(*response, new_key, "dev-1", ca->Roots(), t), IsOk());
  Certificate new_cert = CertOf(*response);
  EXPECT_EQ(new_cert.key_algorithm(), "ed25519");

  // Replaying the same request is refused.
  EXPECT_THAT(ca->Rotate(*request, t + 1),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("already replaced")));
  // The old certificate works during the grace period, not after it.
  EXPECT_THAT(ca->VerifyDeviceCertificate(old_cert, ca->Chain(), t + 3600), IsOk());
  const int64_t after = t + kDay + 1;
  EXPECT_THAT(ca->VerifyDeviceCertificate(old_cert, ca->Chain(), after),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("revoked")));
  EXPECT_THAT(ca->VerifyDeviceCertificate(new_cert, ca->Chain(), after), IsOk());
  // The CRL lists it only once the revocation is effective.
  auto early = ca->IssueCrls(t + 3600);
  ASSERT_THAT(early, IsOk());
  EXPECT_FALSE((*early)[0].IsRevoked(old_cert));
  auto crls = ca->IssueCrls(after);
  ASSERT_THAT(crls, IsOk());
  ASSERT_EQ(crls->size(), 1u);
  EXPECT_TRUE((*crls)[0].IsRevoked(old_cert));
  EXPECT_GT((*crls)[0].crl_number(), (*early)[0].crl_number());
  EXPECT_THAT(VerifyCertificateChain(old_cert, ca->Chain(), ca->Roots(), *crls, after),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("revoked")));
  auto records = ca->registry().CertificatesOf("dev-1");
  ASSERT_THAT(records, IsOk());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].replaces, old_cert.serial_hex());
  EXPECT_EQ((*records)[0].revocation_reason, "superseded");
}

TEST(FleetCaTest, RotationProofsAreChecked) {
  auto ca = NewCa();
  Device device("dev-1");
  Device other("dev-1");  // same id, a different key
  auto first = ca->Enroll(device.TokenRequest(OneToken(*ca)), kNow);
  ASSERT_THAT(first, IsOk());
  Certificate old_cert = CertOf(*first);
  ASSERT_THAT(device.store->Generate(KeyType::kEcdsaP256, "next"), IsOk());
  SigningKey new_key{device.store.get(), "next"};
  auto request = BuildRotationRequest(device.key(), old_cert, new_key, kNow);
  ASSERT_THAT(request, IsOk());

  RotationRequest bad = *request;
  bad.old_key_signature[5] ^= 1;
  EXPECT_THAT(ca->Rotate(bad, kNow), StatusIs(StatusCode::kUnauthenticated));
  bad = *request;
  bad.challenge[0] ^= 1;  // the signature covers the challenge
  EXPECT_THAT(ca->Rotate(bad, kNow), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(ca->Rotate(*request, kNow + kRotationTimeWindowSeconds + 1),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not fresh")));
  // Without the old key: someone else's key signs.
  EXPECT_THAT(BuildRotationRequest(other.key(), old_cert, new_key, kNow),
              StatusIs(StatusCode::kInvalidArgument));
  // A CSR by the old key again is not a rotation.
  auto same = BuildRotationRequest(device.key(), old_cert, device.key(), kNow);
  ASSERT_THAT(same, IsOk());
  EXPECT_THAT(ca->Rotate(*same, kNow), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(RecordCount(*ca, "dev-1"), 1u);
  EXPECT_THAT(ca->Rotate(*request, kNow), IsOk());
}

TEST(FleetCaTest, RevokedAndExpiredCertificatesAreRefusedEverywhere) {
  auto ca = NewCa();
  Device device("dev-1");
  auto first = ca->Enroll(device.TokenRequest(OneToken(*ca)), kNow);
  ASSERT_THAT(first, IsOk());
  Certificate cert = CertOf(*first);
  ASSERT_THAT(device.store->Generate(KeyType::kEcdsaP256, "next"), IsOk());
  SigningKey new_key{device.store.get(), "next"};

  // Expired: chain validation and rotation refuse it.
  const int64_t late = cert.not_after() + 1;
  EXPECT_THAT(ca->VerifyDeviceCertificate(cert, ca->Chain(), late),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("expired")));
  auto late_request = BuildRotationRequest(device.key(), cert, new_key, late);
  ASSERT_THAT(late_request, IsOk());
  EXPECT_THAT(ca->Rotate(*late_request, late),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("expired")));

  // Revoked: refused by the CA, by rotation and by CRL-checked chains.
  EXPECT_THAT(ca->RevokeDevice("dev-1", RevocationReason::kKeyCompromise, kNow + 10),
              IsOkAndHolds(1u));
  EXPECT_THAT(ca->RevokeDevice("dev-1", RevocationReason::kKeyCompromise, kNow + 11),
              IsOkAndHolds(0u));
  EXPECT_THAT(ca->RevokeDevice("dev-404", RevocationReason::kKeyCompromise, kNow),
              StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ca->VerifyDeviceCertificate(cert, ca->Chain(), kNow + 20),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("revoked")));
  auto request = BuildRotationRequest(device.key(), cert, new_key, kNow + 20);
  ASSERT_THAT(request, IsOk());
  EXPECT_THAT(ca->Rotate(*request, kNow + 20), StatusIs(StatusCode::kUnauthenticated));
  auto crls = ca->IssueCrls(kNow + 20);
  ASSERT_THAT(crls, IsOk());
  EXPECT_TRUE((*crls)[0].IsRevoked(cert));
  EXPECT_THAT(VerifyCertificateChain(cert, ca->Chain(), ca->Roots(), *crls, kNow + 20),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("revoked")));
  auto status = ca->ShowDevice("dev-1", kNow + 20);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->active_serial, "");
  EXPECT_TRUE(status->certificates[0].revoked);
}

TEST(FleetCaTest, ACertificateFromAnUnknownCaIsRefused) {
  auto ca = NewCa();
  auto other = NewCa(KeyType::kEcdsaP256, "Other Fleet");
  Device device("dev-1");
  auto response = other->Enroll(device.TokenRequest(OneToken(*other)), kNow);
  ASSERT_THAT(response, IsOk());
  Certificate foreign = CertOf(*response);
  EXPECT_THAT(ca->VerifyDeviceCertificate(foreign, other->Chain(), kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not trusted")));
  ASSERT_THAT(device.store->Generate(KeyType::kEcdsaP256, "next"), IsOk());
  auto request = BuildRotationRequest(device.key(), foreign, {device.store.get(), "next"}, kNow);
  ASSERT_THAT(request, IsOk());
  EXPECT_THAT(ca->Rotate(*request, kNow),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not trusted")));
}

TEST(FleetCaTest, ADeviceTrustingTheOldRootAcceptsTheReKeyedCa) {
  auto ca = NewCa();
  const Certificate old_root = ca->root();
  const Certificate old_issuing = ca->issuing();
  ASSERT_THAT(ca->RotateIssuingCa(kNow + 10), IsOk());
  EXPECT_NE(ca->issuing().public_key(), old_issuing.public_key());
  ASSERT_THAT(ca->RotateRootCa(kNow + 20), IsOk());
  EXPECT_NE(ca->root().public_key(), old_root.public_key());
  EXPECT_EQ(ca->Roots().size(), 2u);

  Device device("dev-1");
  auto response = ca->Enroll(device.TokenRequest(OneToken(*ca)), kNow + 30);
  ASSERT_THAT(response, IsOk());
  const Certificate old_roots[] = {old_root};
  // Trusting only the old root, the device accepts the new chain through the
  // cross-certificate the old root key signed...
  EXPECT_THAT(AcceptEnrollmentResponse(*response, device.key(), "dev-1", old_roots, kNow + 30),
              IsOk());
  // ...and not without it.
  EnrollmentResponse stripped = *response;
  stripped.chain_der.resize(1);  // the issuing certificate only
  EXPECT_THAT(AcceptEnrollmentResponse(stripped, device.key(), "dev-1", old_roots, kNow + 30),
              StatusIs(StatusCode::kUnauthenticated));
  // The issuing cross-certificate is signed by the old issuing key.
  bool found_issuing_cross = false;
  for (const Certificate& c : ca->Chain()) {
    if (c.issuer_name() == old_issuing.subject_name()) found_issuing_cross = true;
  }
  EXPECT_TRUE(found_issuing_cross);
  // One CRL per issuing generation.
  auto crls = ca->IssueCrls(kNow + 40);
  ASSERT_THAT(crls, IsOk());
  EXPECT_EQ(crls->size(), 3u);
}

TEST(FleetCaTest, ReopensFromItsFolder) {
  char pattern[] = "/tmp/custos-ca-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const std::string store_uri = "soft:" + dir + "/keys";
  std::string serial;
  {
    auto registry = OpenFileDeviceRegistry(dir);
    ASSERT_THAT(registry, IsOk());
    keystore::SoftKeyStoreOptions cheap;
    cheap.scrypt_n = 1 << 10;
    auto store = keystore::OpenSoftKeyStoreUri(store_uri, cheap);
    ASSERT_THAT(store, IsOk());
    CaOptions options;
    options.name = "Acme Fleet";
    options.store_uri = store_uri;
    auto ca = FleetCa::Create(*std::move(registry), *std::move(store), options, kNow);
    ASSERT_THAT(ca, IsOk());
    Device device("dev-1");
    auto response = (*ca)->Enroll(device.TokenRequest(OneToken(**ca)), kNow);
    ASSERT_THAT(response, IsOk());
    serial = response->serial;
  }
  auto registry = OpenFileDeviceRegistry(dir);
  ASSERT_THAT(registry, IsOk());
  EXPECT_THAT(FleetCa::StoreUriOf(**registry), IsOkAndHolds(store_uri));
  auto store = keystore::OpenSoftKeyStoreUri(store_uri);
  ASSERT_THAT(store, IsOk());
  auto ca = FleetCa::Open(*std::move(registry), *std::move(store));
  ASSERT_THAT(ca, IsOk());
  auto status = (*ca)->ShowDevice("dev-1", kNow);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->active_serial, serial);
  // A store without the CA keys is refused with the label named.
  auto empty = FleetCa::Open(NewInMemoryDeviceRegistry(), keystore::NewInMemorySoftKeyStore());
  EXPECT_THAT(empty, StatusIs(StatusCode::kNotFound));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace custos::identity
