#include "custos/keystore/pkcs11/pkcs11_uri.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "custos/core/ct.h"
#include "custos/core/hex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Pkcs11UriTest, ParsesPathAndQueryAttributes) {
  auto uri = ParsePkcs11Uri(
      "pkcs11:token=custos;manufacturer=SoftHSM%20project;serial=1a2b;model=SoftHSM%20v2;"
      "object=device-key;type=private;id=%01%02%ff;slot-id=7;library-version=2.6;"
      "library-manufacturer=x;library-description=y;slot-description=z;slot-manufacturer=w"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "custos");
  EXPECT_EQ(uri->manufacturer, "SoftHSM project");
  EXPECT_EQ(uri->serial, "1a2b");
  EXPECT_EQ(uri->model, "SoftHSM v2");
  EXPECT_EQ(uri->object, "device-key");
  EXPECT_EQ(uri->type, "private");
  EXPECT_EQ(uri->id, (std::vector<uint8_t>{0x01, 0x02, 0xff}));
  EXPECT_EQ(uri->slot_id, 7u);
  EXPECT_EQ(uri->library_version, "2.6");
  EXPECT_EQ(uri->library_manufacturer, "x");
  EXPECT_EQ(uri->library_description, "y");
  EXPECT_EQ(uri->slot_description, "z");
  EXPECT_EQ(uri->slot_manufacturer, "w");
  EXPECT_EQ(uri->module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(uri->pin_source, "file:/run/pin");
  EXPECT_FALSE(uri->pin_value.has_value());
}

TEST(Pkcs11UriTest, EmptyUriAndVendorAttributes) {
  auto empty = ParsePkcs11Uri("pkcs11:");
  ASSERT_THAT(empty, IsOk());
  EXPECT_FALSE(empty->token.has_value());
  EXPECT_THAT(ResolvePkcs11ModulePath(*empty), IsOkAndHolds(std::string(kDefaultPkcs11Module)));

  auto uri = ParsePkcs11Uri("pkcs11:x-color=blue?x-softhsm2-conf=/tmp/a%20b/softhsm2.conf");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->vendor_path.at("x-color"), "blue");
  EXPECT_EQ(uri->vendor_query.at("x-softhsm2-conf"), "/tmp/a b/softhsm2.conf");
}

TEST(Pkcs11UriTest, PinValueIsKeptAsSecret) {
  auto uri = ParsePkcs11Uri("pkcs11:token=t?pin-value=12%2034");
  ASSERT_THAT(uri, IsOk());
  ASSERT_TRUE(uri->pin_value.has_value());
  EXPECT_TRUE(CtEqual(uri->pin_value->span(), AsBytes("12 34")));
  auto pin = ReadPkcs11Pin(*uri);
  ASSERT_THAT(pin, IsOk());
  EXPECT_TRUE(CtEqual(pin->span(), AsBytes("12 34")));
}

TEST(Pkcs11UriTest, ErrorsNameTheBadPart) {
  struct Case {
    std::string_view uri;
    std::string_view message;
  };
  const Case cases[] = {
      {"pkcs12:token=a", "does not start with 'pkcs11:'"},
      {"token=a", "does not start with 'pkcs11:'"},
      {"pkcs11:tokn=a", "unknown path attribute 'tokn'"},
      {"pkcs11:token=a?modul-path=/x", "unknown query attribute 'modul-path'"},
      {"pkcs11:token=a;token=b", "'token' appears twice"},
      {"pkcs11:token", "'token' has no '='"},
      {"pkcs11:token=a;;serial=b", "empty path attribute"},
      {"pkcs11:=a", "has no name"},
      {"pkcs11:token=a%2", "truncated percent escape"},
      {"pkcs11:token=a%zz", "bad percent escape '%zz'"},
      {"pkcs11:token=a b", "character '0x20' must be percent-encoded"},
      {"pkcs11:token=a/b", "character '/' must be percent-encoded"},
      {"pkcs11:token=a%00b", "'token' contains a NUL byte"},
      {"pkcs11:slot-id=12a", "'slot-id': '12a' is not a decimal number"},
      {"pkcs11:slot-id=99999999999999999999", "out of range"},
      {"pkcs11:type=key", "'type': 'key' is not one of"},
      {"pkcs11:library-version=2.x", "library-version"},
      {"pkcs11:token=a?", "empty query"},
      {"pkcs11:token=a#frag", "fragments"},
      {"pkcs11:token=a?pin-source=file:/p&pin-value=1", "cannot both be given"},
      {"pkcs11:token=a?pin-value=1&pin-source=file:/p", "cannot both be given"},
      {"pkcs11:token=a?module-name=../evil", "module-name"},
      {"pkcs11:token=a?module-path=", "'module-path' is empty"},
      {"pkcs11:Token=a", "bad character in path attribute name 'Token'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParsePkcs11Uri(c.uri),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(std::string(c.message))))
        << c.uri;
  }
  EXPECT_THAT(ParsePkcs11Uri("pkcs11:token=" + std::string(kMaxPkcs11UriLength, 'a')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("longer than")));
}

TEST(Pkcs11UriTest, EscapeRoundTrips) {
  const std::string label = "my token;with?odd&chars%/é";
  auto uri = ParsePkcs11Uri("pkcs11:token=" + Pkcs11UriEscape(label) +
                            "?module-path=" + Pkcs11UriEscape("/opt/a b/lib.so", true));
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, label);
  EXPECT_EQ(uri->module_path, "/opt/a b/lib.so");
}

TEST(Pkcs11UriTest, ModuleNameResolvesOrFails) {
  auto uri = ParsePkcs11Uri("pkcs11:token=a?module-name=softhsm2");
  ASSERT_THAT(uri, IsOk());
  EXPECT_THAT(ResolvePkcs11ModulePath(*uri),
              IsOkAndHolds(std::string("/usr/lib/softhsm/libsofthsm2.so")));
  auto missing = ParsePkcs11Uri("pkcs11:token=a?module-name=no-such-module");
  ASSERT_THAT(missing, IsOk());
  EXPECT_THAT(ResolvePkcs11ModulePath(*missing),
              StatusIs(StatusCode::kNotFound, HasSubstr("'no-such-module'")));
}

class PinFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = std::filesystem::temp_directory_path() / "custos-pin-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(PinFileTest, ReadsPinSourceFiles) {
  const std::string path = Write("pin", "123456\n");
  for (const std::string& source : {"file:" + path, "file://" + path, path}) {
    Pkcs11Uri uri;
    uri.pin_source = source;
    auto pin = ReadPkcs11Pin(uri);
    ASSERT_THAT(pin, IsOk()) << source;
    EXPECT_TRUE(CtEqual(pin->span(), AsBytes("123456"))) << source;
  }
}

TEST_F(PinFileTest, PinSourceErrors) {
  Pkcs11Uri uri;
  EXPECT_THAT(ReadPkcs11Pin(uri), StatusIs(StatusCode::kNotFound, HasSubstr("carries no PIN")));
  uri.pin_source = "file:" + dir_ + "/missing";
  EXPECT_THAT(ReadPkcs11Pin(uri), StatusIs(StatusCode::kNotFound, HasSubstr("missing")));
  uri.pin_source = "https://example.com/pin";
  EXPECT_THAT(ReadPkcs11Pin(uri), StatusIs(StatusCode::kInvalidArgument));
  uri.pin_source = "file:" + Write("empty", "\n");
  EXPECT_THAT(ReadPkcs11Pin(uri), StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty")));
  uri.pin_source = "file:" + Write("big", std::string(5000, '1'));
  EXPECT_THAT(ReadPkcs11Pin(uri), StatusIs(StatusCode::kInvalidArgument, HasSubstr("longer")));
}

}  // namespace
}  // namespace custos::keystore
