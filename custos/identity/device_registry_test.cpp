// Tests of the registry persistence: atomic updates, token consumption,
// crash safety of the journal and sharing between instances.
#include "custos/identity/device_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "custos/identity/registry_test_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::identity {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "custos-reg-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using identity::testing::Cert;
using identity::testing::Token;

std::string JournalOf(const TempDir& dir) { return dir.path() + "/registry.jsonl"; }

TEST(DeviceRegistryTest, ConsumesATokenOnceTogetherWithTheIssuance) {
  TempDir dir;
  auto registry = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(registry, IsOk());
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500), Token("bb", 500, "dev-2")};
  ASSERT_THAT((*registry)->Apply(add), IsOk());

  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 200};
  use.issued = Cert("01", "dev-1");
  ASSERT_THAT((*registry)->Apply(use), IsOk());

  // The same token again, with another certificate: refused, and the second
  // certificate is not recorded either.
  use.issued = Cert("02", "dev-1");
  EXPECT_THAT((*registry)->Apply(use),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("already used")));
  EXPECT_THAT((*registry)->FindCertificate("02"), IsOk());
  EXPECT_FALSE((*(*registry)->FindCertificate("02")).has_value());

  // A fresh instance replays the journal to the same state.
  auto again = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(again, IsOk());
  auto token = (*again)->FindToken("aa");
  ASSERT_THAT(token, IsOk());
  ASSERT_TRUE(token->has_value());
  EXPECT_TRUE((*token)->consumed);
  EXPECT_EQ((*token)->consumed_by, "dev-1");
  auto certs = (*again)->CertificatesOf("dev-1");
  ASSERT_THAT(certs, IsOk());
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ((*certs)[0].serial, "01");
  EXPECT_EQ((*certs)[0].key_type, "ed25519");
}

TEST(DeviceRegistryTest, RefusesExpiredUnknownAndForeignTokens) {
  auto registry = NewInMemoryDeviceRegistry();
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500), Token("bb", 500, "dev-2")};
  ASSERT_THAT(registry->Apply(add), IsOk());
  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 500};
  EXPECT_THAT(registry->Apply(use), StatusIs(StatusCode::kPermissionDenied, HasSubstr("expired")));
  use.consume_token = TokenUse{"cc", "dev-1", 200};
  EXPECT_THAT(registry->Apply(use), StatusIs(StatusCode::kUnauthenticated));
  use.consume_token = TokenUse{"bb", "dev-1", 200};
  EXPECT_THAT(registry->Apply(use),
              StatusIs(StatusCode::kPermissionDenied, HasSubstr("bound to device 'dev-2'")));
  EXPECT_THAT(registry->Apply(add), StatusIs(StatusCode::kAlreadyExists));
}

TEST(DeviceRegistryTest, RevocationsAndCrlNumbers) {
  auto registry = NewInMemoryDeviceRegistry();
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
  EXPECT_EQ((*revoked)[0].revocation_reason, "keyCompromise");

  revoke.revocations = {Revocation{"ff", 30, 30, "unspecified"}};
  EXPECT_THAT(registry->Apply(revoke), StatusIs(StatusCode::kNotFound));

  RegistryUpdate crl;
  crl.crl_number = 3;
  ASSERT_THAT(registry->Apply(crl), IsOk());
  EXPECT_THAT(registry->Apply(crl), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(*registry->LastCrlNumber(), 3u);
}

TEST(DeviceRegistryTest, TornLastLineIsIgnoredAndCutOff) {
  TempDir dir;
  {
    auto registry = OpenFileDeviceRegistry(dir.path());
    ASSERT_THAT(registry, IsOk());
    RegistryUpdate add;
    add.new_tokens = {Token("aa", 500)};
    ASSERT_THAT((*registry)->Apply(add), IsOk());
  }
  // A crash in the middle of the next append leaves half a line.
  {
    std::ofstream out(JournalOf(dir), std::ios::app);
    out << "0123456789abcdef {\"new_tokens\":[{\"hash\":\"bb\"";
  }
  auto registry = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(registry, IsOk());
  EXPECT_FALSE((*(*registry)->FindToken("bb")).has_value());
  RegistryUpdate add;
  add.new_tokens = {Token("cc", 500)};
  ASSERT_THAT((*registry)->Apply(add), IsOk());
  auto again = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE((*(*again)->FindToken("aa")).has_value());
  EXPECT_TRUE((*(*again)->FindToken("cc")).has_value());
}

TEST(DeviceRegistryTest, CorruptLineIsDataLoss) {
  TempDir dir;
  {
    auto registry = OpenFileDeviceRegistry(dir.path());
    ASSERT_THAT(registry, IsOk());
    RegistryUpdate add;
    add.new_tokens = {Token("aa", 500)};
    ASSERT_THAT((*registry)->Apply(add), IsOk());
  }
  std::string text;
  {
    std::ifstream in(JournalOf(dir));
    std::getline(in, text);
  }
  text[text.find("500")] = '9';  // a changed expiry
  {
    std::ofstream out(JournalOf(dir), std::ios::trunc);
    out << text << "\n";
  }
  EXPECT_THAT(OpenFileDeviceRegistry(dir.path()),
              StatusIs(StatusCode::kDataLoss, HasSubstr("line 1 fails its checksum")));
}

TEST(DeviceRegistryTest, TwoInstancesShareOneFolder) {
  TempDir dir;
  auto first = OpenFileDeviceRegistry(dir.path());
  auto second = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  RegistryUpdate add;
  add.new_tokens = {Token("aa", 500)};
  ASSERT_THAT((*first)->Apply(add), IsOk());
  RegistryUpdate use;
  use.consume_token = TokenUse{"aa", "dev-1", 200};
  ASSERT_THAT((*second)->Apply(use), IsOk());  // sees the first's token
  EXPECT_THAT((*first)->Apply(use), StatusIs(StatusCode::kPermissionDenied));
}

TEST(DeviceRegistryTest, DocumentsAreReplacedWhole) {
  TempDir dir;
  auto registry = OpenFileDeviceRegistry(dir.path());
  ASSERT_THAT(registry, IsOk());
  EXPECT_FALSE((*(*registry)->ReadDocument("ca.json")).has_value());
  ASSERT_THAT((*registry)->WriteDocument("ca.json", "one"), IsOk());
  ASSERT_THAT((*registry)->WriteDocument("ca.json", "two"), IsOk());
  EXPECT_EQ(**(*registry)->ReadDocument("ca.json"), "two");
  EXPECT_THAT((*registry)->WriteDocument("../escape", "x"), StatusIs(StatusCode::kInvalidArgument));
  // No temporary files are left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2);  // registry.jsonl and ca.json
}

TEST(DeviceRegistryTest, MissingFolderIsNotFound) {
  EXPECT_THAT(OpenFileDeviceRegistry("/nonexistent/custos-ca"),
              StatusIs(StatusCode::kNotFound, HasSubstr("does not exist")));
}

}  // namespace
}  // namespace custos::identity
