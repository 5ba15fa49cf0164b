#include "custos/core/hex.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos {
namespace {

using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HexTest, RoundTrips) {
  std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff, 0x1a};
  EXPECT_EQ(HexEncode(bytes), "007f80ff1a");
  EXPECT_THAT(HexDecode("007F80ff1A"), IsOkAndHolds(bytes));
  EXPECT_THAT(HexDecode(""), IsOkAndHolds(ElementsAre()));
}

TEST(HexTest, RejectsOddLengthAndBadDigits) {
  EXPECT_THAT(HexDecode("abc"), StatusIs(StatusCode::kInvalidArgument, HasSubstr("odd")));
  EXPECT_THAT(HexDecode("0g"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("position 1")));
}

TEST(Base64Test, RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(Base64Encode(AsBytes("hello")), "aGVsbG8=");
  auto decoded = Base64Decode("aGVsbG8=");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::string(decoded->begin(), decoded->end()), "hello");
  EXPECT_THAT(Base64Decode("a$=="), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("abc"), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace custos
