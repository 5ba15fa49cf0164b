// The behaviour every DeviceRegistry promises (device_registry.h), checked
// against the identity module's file registry and the SQLite registry alike
// (one parameterised suite), then what only the SQLite registry does, and a
// fleet CA whose state lives in SQLite.
#include "custos/store/sqlite_device_registry.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "custos/identity/device_client.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/registry_test_records.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/store/fleet_state.h"
#include "custos/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::store {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using identity::DeviceRegistry;
using identity::IssuedCertificateRecord;
using identity::RegistryUpdate;
using identity::Revocation;
using identity::TokenRecord;
using identity::TokenUse;
using ::testing::HasSubstr;

using identity::testing::Cert;
using identity::testing::Token;

// An implementation under test: opens an instance on the storage kept in
// `dir`; every call opens a new instance on the same storage.
struct Backend {
  std::string name;
  std::function<StatusOr<std::unique_ptr<DeviceRegistry>>(const std::string& dir)> open;
};

// Names the backend in gtest's output.
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

std::string PrintBackend(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

class RegistryContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  std::unique_ptr<DeviceRegistry> Open() {
    auto registry = GetParam().open(dir_.path());
    EXPECT_THAT(registry, IsOk());
    return registry.ok() ? *std::move(registry) : nullptr;
  }
  TempDir dir_;
};

TEST_P(RegistryContractTest, ConsumesATokenOnceTogetherWithTheIssuance) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500), Token("bb", 500, "dev-2")};
  ASSERT_THAT(registry->Apply(add), IsOk());

  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 200};
  use.issued = Cert("01", "dev-1");
  ASSERT_THAT(registry->Apply(use), IsOk());

  // The same token again, with another certificate: refused, and the second
  // certificate is not recorded either.
  use.issued = Cert("02", "dev-1");
  EXPECT_THAT(registry->Apply(use),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("already used (at 200 by device "
                                                                "'dev-1')")));
  EXPECT_THAT(registry->FindCertificate("02"), IsOkAndHolds(::testing::Eq(std::nullopt)));

  // A fresh instance sees the same state, every field intact.
  auto again = Open();
  ASSERT_NE(again, nullptr);
  auto token = again->FindToken("aa");
  ASSERT_THAT(token, IsOk());
  ASSERT_TRUE(token->has_value());
  EXPECT_TRUE((*token)->consumed);
  EXPECT_EQ((*token)->consumed_by, "dev-1");
  EXPECT_EQ((*token)->consumed_at, 200);
  EXPECT_EQ((*token)->expires_at, 500);
  EXPECT_EQ((*token)->hash_algorithm, "sha-256");
  auto certs = again->CertificatesOf("dev-1");
  ASSERT_THAT(certs, IsOk());
  ASSERT_EQ(certs->size(), 1u);
  const IssuedCertificateRecord& c = (*certs)[0];
  const IssuedCertificateRecord want = Cert("01", "dev-1");
  EXPECT_EQ(c.serial, want.serial);
  EXPECT_EQ(c.key_type, want.key_type);
  EXPECT_EQ(c.issuer_key_type, want.issuer_key_type);
  EXPECT_EQ(c.issuer_generation, want.issuer_generation);
  EXPECT_EQ(c.fingerprint, want.fingerprint);
  EXPECT_EQ(c.issued_at, want.issued_at);
  EXPECT_EQ(c.not_before, want.not_before);
  EXPECT_EQ(c.not_after, want.not_after);
  EXPECT_EQ(c.method, want.method);
  EXPECT_EQ(c.certificate_der_base64, want.certificate_der_base64);
  EXPECT_FALSE(c.revoked);
  auto unused = again->FindToken("bb");
  ASSERT_THAT(unused, IsOk());
  ASSERT_TRUE(unused->has_value());
  EXPECT_FALSE((*unused)->consumed);
  EXPECT_EQ((*unused)->device_id, "dev-2");
}

TEST_P(RegistryContractTest, RefusesExpiredUnknownAndForeignTokens) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500), Token("bb", 500, "dev-2")};
  ASSERT_THAT(registry->Apply(add), IsOk());
  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 500};
  EXPECT_THAT(registry->Apply(use), StatusIs(StatusCode::kPermissionDenied, HasSubstr("expired")));
  use.consume_token = TokenUse{"cc", "dev-1", 200};
  EXPECT_THAT(registry->Apply(use),
              StatusIs(StatusCode::kUnauthenticated, HasSubstr("not recognised")));
  use.consume_token = TokenUse{"bb", "dev-1", 200};
  EXPECT_THAT(registry->Apply(use),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("bound to device 'dev-2'")));
  EXPECT_THAT(registry->Apply(add), StatusIs(StatusCode::kAlreadyExists));
  // Two equal hashes in one update are refused too.
  RegistryUpdate twice;
  twice.new_tokens = {Token("dd", 500), Token("dd", 600)};
  EXPECT_THAT(registry->Apply(twice), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(registry->FindToken("dd"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  use.consume_token = TokenUse{"bb", "dev-2", 200};
  EXPECT_THAT(registry->Apply(use), IsOk());
}

TEST_P(RegistryContractTest, AFailingUpdateAppliesNothing) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  RegistryUpdate first;
  first.issued = Cert("0a", "dev-1");
  ASSERT_THAT(registry->Apply(first), IsOk());
  // New tokens, an issuance and a CRL number, but one revocation names an
  // unknown serial: none of it happens.
  RegistryUpdate mixed;
  mixed.new_tokens = {Token("ee", 900)};
  mixed.issued = Cert("0b", "dev-2");
  mixed.revocations = {Revocation{"0a", 10, 10, "superseded"}, Revocation{"99", 10, 10, "x"}};
  mixed.crl_number = 1;
  EXPECT_THAT(registry->Apply(mixed), StatusIs(StatusCode::kNotFound, HasSubstr("serial 99")));
  EXPECT_THAT(registry->FindToken("ee"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(registry->FindCertificate("0b"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(registry->LastCrlNumber(), IsOkAndHolds(0u));
  auto revoked = registry->RevokedCertificates();
  ASSERT_THAT(revoked, IsOk());
  EXPECT_TRUE(revoked->empty());
  // A serial issued twice is refused.
  EXPECT_THAT(registry->Apply(first),
              StatusIs(StatusCode::kAlreadyExists, HasSubstr("serial 0a is already recorded")));
}

TEST_P(RegistryContractTest, RevocationsAndCrlNumbers) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  RegistryUpdate issue;
  issue.issued = Cert("0a", "dev-1");
  ASSERT_THAT(registry->Apply(issue), IsOk());
  RegistryUpdate revoke;
  revoke.revocations = {Revocation{"0a", 10, 50, "superseded"}};
  ASSERT_THAT(registry->Apply(revoke), IsOk());
  // An immediate revocation brings the effective time forward...
  revoke.revocations = {Revocation{"0a", 20, 20, "keyCompromise"}};
  ASSERT_THAT(registry->Apply(revoke), IsOk());
  // ...a later one does not push it back.
  revoke.revocations = {Revocation{"0a", 30, 90, "superseded"}};
  ASSERT_THAT(registry->Apply(revoke), IsOk());
  auto revoked = registry->RevokedCertificates();
  ASSERT_THAT(revoked, IsOk());
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].revocation_effective_at, 20);
  EXPECT_EQ((*revoked)[0].revoked_at, 20);
  EXPECT_EQ((*revoked)[0].revocation_reason, "keyCompromise");

  revoke.revocations = {Revocation{"ff", 30, 30, "unspecified"}};
  EXPECT_THAT(registry->Apply(revoke), StatusIs(StatusCode::kNotFound));

  // A certificate may be revoked in the update that records it.
  RegistryUpdate both;
  both.issued = Cert("0c", "dev-3");
  both.revocations = {Revocation{"0c", 40, 40, "unspecified"}};
  ASSERT_THAT(registry->Apply(both), IsOk());
  revoked = registry->RevokedCertificates();
  ASSERT_THAT(revoked, IsOk());
  ASSERT_EQ(revoked->size(), 2u);
  EXPECT_EQ((*revoked)[1].serial, "0c");

  RegistryUpdate crl;
  crl.crl_number = 3;
  ASSERT_THAT(registry->Apply(crl), IsOk());
  EXPECT_THAT(registry->Apply(crl),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("not above the last one (3)")));
  EXPECT_THAT(registry->LastCrlNumber(), IsOkAndHolds(3u));
  auto again = Open();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(again->LastCrlNumber(), IsOkAndHolds(3u));
}

TEST_P(RegistryContractTest, ListsCertificatesOldestFirstAndTokensByHash) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  for (const char* serial : {"ff", "01", "7a"}) {
    RegistryUpdate issue;
    issue.issued = Cert(serial, "dev-1");
    ASSERT_THAT(registry->Apply(issue), IsOk());
  }
  RegistryUpdate other;
  other.issued = Cert("02", "dev-2");
  other.new_tokens = {Token("zz", 900), Token("aa", 900), Token("mm", 900)};
  ASSERT_THAT(registry->Apply(other), IsOk());
  auto certs = registry->CertificatesOf("dev-1");
  ASSERT_THAT(certs, IsOk());
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ((*certs)[0].serial, "ff");
  EXPECT_EQ((*certs)[1].serial, "01");
  EXPECT_EQ((*certs)[2].serial, "7a");
  auto none = registry->CertificatesOf("dev-9");
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  auto tokens = registry->Tokens();
  ASSERT_THAT(tokens, IsOk());
  ASSERT_EQ(tokens->size(), 3u);
  EXPECT_EQ((*tokens)[0].hash, "aa");
  EXPECT_EQ((*tokens)[2].hash, "zz");
}

TEST_P(RegistryContractTest, TwoInstancesShareOneStore) {
  auto first = Open();
  auto second = Open();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500)};
  ASSERT_THAT(first->Apply(add), IsOk());
  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 200};
  ASSERT_THAT(second->Apply(use), IsOk());  // sees the first's token
  EXPECT_THAT(first->Apply(use), StatusIs(StatusCode::kPermissionDenied));
}

TEST_P(RegistryContractTest, DocumentsAreReplacedWhole) {
  auto registry = Open();
  ASSERT_NE(registry, nullptr);
  EXPECT_THAT(registry->ReadDocument("ca.json"), IsOkAndHolds(::testing::Eq(std::nullopt)));
  ASSERT_THAT(registry->WriteDocument("ca.json", "one"), IsOk());
  ASSERT_THAT(registry->WriteDocument("ca.json", std::string("t\0wo", 4)), IsOk());
  EXPECT_THAT(registry->ReadDocument("ca.json"),
              IsOkAndHolds(std::optional<std::string>(std::string("t\0wo", 4))));
  EXPECT_THAT(registry->WriteDocument("../escape", "x"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry->ReadDocument("Bad Name"), StatusIs(StatusCode::kInvalidArgument));
  auto again = Open();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(again->ReadDocument("ca.json"),
              IsOkAndHolds(std::optional<std::string>(std::string("t\0wo", 4))));
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryContractTest,
                         ::testing::Values(Backend{"File",
                                                   [](const std::string& dir) {
                                                     return identity::OpenFileDeviceRegistry(dir);
                                                   }},
                                           Backend{"Sqlite",
                                                   [](const std::string& dir) {
                                                     return OpenSqliteDeviceRegistry(dir +
                                                                                     "/ca.db");
                                                   }}),
                         PrintBackend);

// --- SQLite only ---------------------------------------------------------------

TEST(SqliteDeviceRegistryTest, CreatesItsSchemaAtTheLatestVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  ASSERT_THAT(OpenSqliteDeviceRegistry(path), IsOk());
  auto db = Database::Open(path);
  ASSERT_THAT(db, IsOk());
  EXPECT_THAT(SchemaVersion(**db, "registry"),
              IsOkAndHolds(static_cast<int>(RegistryMigrations().size())));
  EXPECT_THAT(CheckIntegrity(**db), IsOk());
}

TEST(SqliteDeviceRegistryTest, RefusesADatabaseWrittenByANewerBuild) {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  ASSERT_THAT(OpenSqliteDeviceRegistry(path), IsOk());
  {
    auto db = Database::Open(path);
    ASSERT_THAT(db, IsOk());
    auto bump = (*db)->Prepare("UPDATE custos_schema SET version = ? WHERE name = 'registry'");
    ASSERT_THAT(bump, IsOk());
    ASSERT_THAT(bump->Bind(1, int64_t{99}), IsOk());
    ASSERT_THAT(bump->Run(), IsOk());
  }
  EXPECT_THAT(OpenSqliteDeviceRegistry(path),
              StatusIs(StatusCode::kFailedPrecondition,
                       HasSubstr("schema 'registry' version 99, newer than this build knows")));
}

TEST(SqliteDeviceRegistryTest, SharesADatabaseWithTheFleetState) {
  auto db = Database::Open(":memory:");
  ASSERT_THAT(db, IsOk());
  std::shared_ptr<Database> shared = *std::move(db);
  auto registry = NewSqliteDeviceRegistry(shared);
  auto fleet = NewSqliteFleetState(shared);
  ASSERT_THAT(registry, IsOk());
  ASSERT_THAT(fleet, IsOk());
  RegistryUpdate issue;
  issue.issued = Cert("0a", "dev-1");
  ASSERT_THAT((*registry)->Apply(issue), IsOk());
  ASSERT_THAT((*fleet)->RecordEnrollment("dev-1", "0a", 1000), IsOk());
  EXPECT_THAT(SchemaVersion(*shared, "registry"), IsOkAndHolds(1));
  EXPECT_THAT(SchemaVersion(*shared, "fleet"),
              IsOkAndHolds(static_cast<int>(FleetMigrations().size())));
  EXPECT_THAT(NewSqliteDeviceRegistry(nullptr), StatusIs(StatusCode::kInvalidArgument));
}

TEST(SqliteDeviceRegistryTest, RefusesOversizedDocumentsAndCrlNumbers) {
  auto registry = OpenSqliteDeviceRegistry(":memory:");
  ASSERT_THAT(registry, IsOk());
  EXPECT_THAT((*registry)->WriteDocument("big", std::string(4 * 1024 * 1024 + 1, 'x')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("larger than")));
  RegistryUpdate crl;
  crl.crl_number = ~uint64_t{0};
  EXPECT_THAT((*registry)->Apply(crl), StatusIs(StatusCode::kInvalidArgument));
}

// --- a fleet CA on the SQLite registry ------------------------------------------

constexpr int64_t kNow = 1764000000;

struct Device {
  std::string id;
  std::unique_ptr<keystore::KeyStore> store = keystore::NewInMemorySoftKeyStore();
  std::string label = "identity";
  explicit Device(std::string device_id) : id(std::move(device_id)) {
    EXPECT_THAT(store->Generate(keystore::KeyType::kEd25519, label), IsOk());
  }
  identity::EnrollmentRequest TokenRequest(const SecretBytes& token) const {
    auto request = identity::BuildEnrollmentRequest({store.get(), label}, id, token, {}, kNow);
    EXPECT_THAT(request, IsOk());
    return *std::move(request);
  }
};

TEST(SqliteFleetCaTest, EnrollsRevokesAndReopensFromTheDatabase) {
  TempDir dir;
  const std::string path = dir.path() + "/custos.db";
  const std::string store_uri = "soft:" + dir.path() + "/keys";
  keystore::SoftKeyStoreOptions cheap;
  cheap.scrypt_n = 1 << 10;
  std::string serial;
  {
    auto registry = OpenSqliteDeviceRegistry(path);
    ASSERT_THAT(registry, IsOk());
    auto store = keystore::OpenSoftKeyStoreUri(store_uri, cheap);
    ASSERT_THAT(store, IsOk());
    identity::CaOptions options;
    options.name = "Acme Fleet";
    options.store_uri = store_uri;
    auto ca = identity::FleetCa::Create(*std::move(registry), *std::move(store), options, kNow);
    ASSERT_THAT(ca, IsOk());
    auto tokens = (*ca)->IssueTokens(2, "", 3600, kNow);
    ASSERT_THAT(tokens, IsOk());
    Device first("dev-1");
    auto response = (*ca)->Enroll(first.TokenRequest((*tokens)[0]), kNow);
    ASSERT_THAT(response, IsOk());
    serial = response->serial;
    // The token is spent: a second device cannot use it, and nothing is
    // recorded for it.
    Device second("dev-2");
    EXPECT_THAT((*ca)->Enroll(second.TokenRequest((*tokens)[0]), kNow + 1),
                StatusIs(StatusCode::kPermissionDenied, HasSubstr("already used")));
    EXPECT_THAT((*ca)->registry().CertificatesOf("dev-2"), IsOkAndHolds(::testing::IsEmpty()));
    ASSERT_THAT((*ca)->Enroll(second.TokenRequest((*tokens)[1]), kNow + 2), IsOk());
    ASSERT_THAT((*ca)->RevokeDevice("dev-2", identity::RevocationReason::kKeyCompromise, kNow + 3),
                IsOkAndHolds(1u));
    auto crls = (*ca)->IssueCrls(kNow + 4);
    ASSERT_THAT(crls, IsOk());
  }
  auto registry = OpenSqliteDeviceRegistry(path);
  ASSERT_THAT(registry, IsOk());
  EXPECT_THAT(identity::FleetCa::StoreUriOf(**registry), IsOkAndHolds(store_uri));
  auto store = keystore::OpenSoftKeyStoreUri(store_uri, cheap);
  ASSERT_THAT(store, IsOk());
  auto ca = identity::FleetCa::Open(*std::move(registry), *std::move(store));
  ASSERT_THAT(ca, IsOk());
  auto status = (*ca)->ShowDevice("dev-1", kNow + 5);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->active_serial, serial);
  auto revoked = (*ca)->ShowDevice("dev-2", kNow + 5);
  ASSERT_THAT(revoked, IsOk());
  EXPECT_EQ(revoked->active_serial, "");
  EXPECT_THAT((*ca)->registry().LastCrlNumber(), IsOkAndHolds(::testing::Ge(1u)));
}

}  // namespace
}  // namespace custos::store
