#include "custos/core/status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::IsOkAndHolds;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd number " + std::to_string(x));
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  CUSTOS_ASSIGN_OR_RETURN(int half, Half(x));
  CUSTOS_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  CUSTOS_RETURN_IF_ERROR(Half(x).status());
  return OkStatus();
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  EXPECT_THAT(InvalidArgumentError("bad"), StatusIs(StatusCode::kInvalidArgument, "bad"));
  EXPECT_THAT(UnauthenticatedError("x"), StatusIs(StatusCode::kUnauthenticated));
  EXPECT_THAT(PermissionDeniedError("x"), StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(FailedPreconditionError("x"), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(UnavailableError("x"), StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(DataLossError("x"), StatusIs(StatusCode::kDataLoss));
  EXPECT_THAT(InternalError("x"), StatusIs(StatusCode::kInternal));
  EXPECT_THAT(NotFoundError("x"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(OkStatus(), IsOk());
}

TEST(StatusTest, MacrosPropagateErrors) {
  EXPECT_THAT(Quarter(8), IsOkAndHolds(2));
  EXPECT_THAT(Quarter(6), StatusIs(StatusCode::kInvalidArgument, HasSubstr("odd number 3")));
  EXPECT_THAT(CheckEven(3), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(4), IsOk());
}

TEST(StatusTest, AnnotateAddsContextAndKeepsOk) {
  EXPECT_THAT(Annotate(DataLossError("checksum"), "file x"),
              StatusIs(StatusCode::kDataLoss, "file x: checksum"));
  EXPECT_THAT(Annotate(OkStatus(), "file x"), IsOk());
}

}  // namespace
}  // namespace custos
