// File: custos/core/clock.h
//
// The wall clock, read in the units custos's formats use. Libraries that
// need the time take it as a parameter (so tests can choose it); the
// programs and services that call them read it here, in one place.
#ifndef CUSTOS_CORE_CLOCK_H_
#define CUSTOS_CORE_CLOCK_H_

#include <cstdint>

namespace custos {

// The current Unix time (system clock) in seconds, milliseconds and
// microseconds since 1970-01-01T00:00:00Z. Not monotonic: use
// std::chrono::steady_clock for durations.
int64_t UnixSeconds();
int64_t UnixMillis();
int64_t UnixMicros();

}  // namespace custos

#endif  // CUSTOS_CORE_CLOCK_H_
