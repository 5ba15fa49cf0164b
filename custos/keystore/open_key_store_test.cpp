#include "custos/keystore/open_key_store.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/tpm/swtpm_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(OpenKeyStoreTest, SoftSchemes) {
  auto mem = OpenKeyStore("soft:mem");
  ASSERT_THAT(mem, IsOk());
  EXPECT_EQ((*mem)->BackendName(), "soft");
  EXPECT_FALSE((*mem)->HardwareProtected());

  std::string pattern = (std::filesystem::temp_directory_path() / "custos-open-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  SoftKeyStoreOptions fast;
  fast.scrypt_n = 1 << 10;
  {
    auto store = OpenKeyStore("soft:" + dir, fast);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Generate(KeyType::kEcdsaP256, "k"), IsOk());
  }
  auto again = OpenKeyStore("soft:" + dir);
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT((*again)->Find("k"), IsOk());
  std::filesystem::remove_all(dir);
}

TEST(OpenKeyStoreTest, Pkcs11Token) {
  StatusOr<SoftHsmTestToken> token = SoftHsmTestToken::Create("open-test");
  ASSERT_THAT(token, IsOk());
  auto store = OpenKeyStore(token->uri());
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->BackendName(), "pkcs11");
  EXPECT_TRUE((*store)->HardwareProtected());
  EXPECT_THAT((*store)->Generate(KeyType::kEcdsaP256, "k"), IsOk());
  store->reset();
  std::string missing = token->uri();
  missing.replace(missing.find("token=open-test"), 15, "token=nope");
  EXPECT_THAT(OpenKeyStore(missing), StatusIs(StatusCode::kNotFound, HasSubstr("'nope'")));
}

TEST(OpenKeyStoreTest, TpmOverSwtpm) {
  StatusOr<std::unique_ptr<SwtpmProcess>> swtpm = SwtpmProcess::Start();
  ASSERT_THAT(swtpm, IsOk());
  auto store = OpenKeyStore("tpm:" + (*swtpm)->Tcti());
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->BackendName(), "tpm");
  EXPECT_TRUE((*store)->HardwareProtected());
  EXPECT_THAT(OpenKeyStore("tpm:"), StatusIs(StatusCode::kInvalidArgument));
}

TEST(OpenKeyStoreTest, UnreachableTpm) {
  // A loopback port nothing listens on (swtpm started and stopped again).
  std::string tcti;
  {
    StatusOr<std::unique_ptr<SwtpmProcess>> swtpm = SwtpmProcess::Start();
    ASSERT_THAT(swtpm, IsOk());
    tcti = (*swtpm)->Tcti();
  }
  EXPECT_THAT(OpenKeyStore("tpm:" + tcti),
              StatusIs(StatusCode::kUnavailable, HasSubstr("not reachable")));
}

TEST(OpenKeyStoreTest, UnknownSchemeListsTheValidForms) {
  for (const char* uri : {"", "/tmp/keys", "file:/tmp/x", "softhsm:x", "SOFT:mem"}) {
    EXPECT_THAT(OpenKeyStore(uri),
                StatusIs(StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("soft:DIR"), HasSubstr("pkcs11:"), HasSubstr("tpm:"))))
        << uri;
  }
}

}  // namespace
}  // namespace custos::keystore
