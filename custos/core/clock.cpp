// File: custos/core/clock.cpp
#include "custos/core/clock.h"

#include <chrono>

namespace custos {
namespace {

template <typename Unit>
int64_t SinceEpoch() {
  return std::chrono::duration_cast<Unit>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t UnixSeconds() { return SinceEpoch<std::chrono::seconds>(); }
int64_t UnixMillis() { return SinceEpoch<std::chrono::milliseconds>(); }
int64_t UnixMicros() { return SinceEpoch<std::chrono::microseconds>(); }

}  // namespace custos
