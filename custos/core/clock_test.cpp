// File: custos/core/clock_test.cpp
#include "custos/core/clock.h"

#include <gtest/gtest.h>

#include <ctime>

namespace custos {
namespace {

TEST(ClockTest, UnitsAgreeWithEachOtherAndWithTime) {
  const int64_t before_s = static_cast<int64_t>(std::time(nullptr));
  const int64_t us = UnixMicros();
  const int64_t ms = UnixMillis();
  const int64_t s = UnixSeconds();
  const int64_t after_s = static_cast<int64_t>(std::time(nullptr));
  EXPECT_GE(s, before_s);
  EXPECT_LE(s, after_s);
  // Read in this order, each later reading is at least the earlier one.
  EXPECT_GE(ms, us / 1000);
  EXPECT_GE(s, ms / 1000);
  EXPECT_LE(us / 1000000, after_s);
}

}  // namespace
}  // namespace custos
