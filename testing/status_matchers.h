// File: testing/status_matchers.h
//
// GoogleTest matchers for custos::Status and custos::StatusOr<T>:
//   EXPECT_THAT(DoIt(), IsOk());
//   EXPECT_THAT(Parse(x), StatusIs(StatusCode::kInvalidArgument));
//   EXPECT_THAT(Parse(x), StatusIs(StatusCode::kInvalidArgument, HasSubstr("line 3")));
//   EXPECT_THAT(Compute(), IsOkAndHolds(42));
#ifndef CUSTOS_TESTING_STATUS_MATCHERS_H_
#define CUSTOS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "custos/core/status.h"
#include "gmock/gmock.h"

namespace custos::testing {

inline const Status& GetStatus(const Status& status) { return status; }
template <typename T>
const Status& GetStatus(const StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches an OK Status or StatusOr.
MATCHER(IsOk, "is OK") {
  const Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status.ToString();
  return status.ok();
}

// Matches a Status or StatusOr whose code is `code`.
MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code;
}

// Matches a Status or StatusOr whose code is `code` and whose message matches
// `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code) + " and a matching message") {
  const Status& status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

// Matches an OK StatusOr whose value matches `value_matcher`.
MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_STATUS_MATCHERS_H_
