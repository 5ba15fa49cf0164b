#include "custos/keystore/pkcs11/softhsm_token.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "custos/core/hex.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

class SoftHsmTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = std::filesystem::temp_directory_path() / "custos-token-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(SoftHsmTokenTest, CreatesATokenInItsOwnFolder) {
  SoftHsmTokenOptions options;
  options.dir = dir_ + "/data";
  options.label = "fleet";
  options.user_pin = SecretBytes(AsBytes("user-1234"));
  auto uri = CreateSoftHsmToken(options);
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(*uri,
            "pkcs11:token=fleet?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:" +
                options.dir + "/user.pin&x-softhsm2-conf=" + options.dir + "/softhsm2.conf");
  EXPECT_THAT(ReadFile(options.dir + "/softhsm2.conf"),
              HasSubstr("directories.tokendir = " + options.dir + "/tokens\n"));
  EXPECT_EQ(ReadFile(options.dir + "/user.pin"), "user-1234");
  const std::string so_pin = ReadFile(options.dir + "/so.pin");
  EXPECT_EQ(so_pin.size(), 32u);  // random
  for (const char* name : {"/user.pin", "/so.pin"}) {
    struct stat info {};
    ASSERT_EQ(::stat((options.dir + name).c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << name;
  }
  EXPECT_FALSE(std::filesystem::is_empty(options.dir + "/tokens"));

  // The URI opens the token, and the given PIN is the user PIN.
  auto store = OpenPkcs11KeyStore(*uri);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Generate(KeyType::kEcdsaP256, "k"), IsOk());
  store->reset();
  EXPECT_THAT(OpenPkcs11KeyStore("pkcs11:token=fleet?pin-value=user-1234&x-softhsm2-conf=" +
                                 options.dir + "/softhsm2.conf"),
              IsOk());
}

TEST_F(SoftHsmTokenTest, RefusesBadOptionsAndReuse) {
  SoftHsmTokenOptions options;
  options.dir = "relative/dir";
  EXPECT_THAT(CreateSoftHsmToken(options), StatusIs(StatusCode::kInvalidArgument));
  options.dir = dir_;
  options.label = std::string(33, 'x');
  EXPECT_THAT(CreateSoftHsmToken(options),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("1 to 32")));
  options.label = "ok";
  options.user_pin = SecretBytes(AsBytes("123"));
  EXPECT_THAT(CreateSoftHsmToken(options),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("user PIN")));
  options.user_pin = SecretBytes();
  options.module_path = "/nonexistent/libsofthsm2.so";
  EXPECT_THAT(CreateSoftHsmToken(options), StatusIs(StatusCode::kNotFound));
  // A failed attempt leaves no PIN files behind.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/user.pin"));
  options.module_path = std::string(kDefaultPkcs11Module);
  ASSERT_THAT(CreateSoftHsmToken(options), IsOk());
  EXPECT_THAT(CreateSoftHsmToken(options), StatusIs(StatusCode::kAlreadyExists));
}

TEST_F(SoftHsmTokenTest, TokensInDifferentFoldersOneAfterTheOther) {
  auto first = SoftHsmTestToken::Create("first");
  ASSERT_THAT(first, IsOk());
  auto second = SoftHsmTestToken::Create("second");
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(first->dir(), second->dir());
  {
    auto store = OpenPkcs11KeyStore(first->uri());
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->Generate(KeyType::kEcdsaP256, "in-first"), IsOk());
    // The second folder cannot be used while the first is open.
    EXPECT_THAT(OpenPkcs11KeyStore(second->uri()), StatusIs(StatusCode::kFailedPrecondition));
  }
  auto store = OpenPkcs11KeyStore(second->uri());
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Find("in-first"), StatusIs(StatusCode::kNotFound));
  store->reset();
  const std::string dir = first->dir();
  { SoftHsmTestToken gone = *std::move(first); }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace custos::keystore
