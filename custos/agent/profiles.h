// File: custos/agent/profiles.h
//
// Behaviour profiles of a device: how often it sends telemetry and what a
// reading looks like. The profiles are a table (KnownProfiles), so later
// behaviours (and attacks) are added as rows, not as branches in the agent or
// the simulator. Built in:
//   sensor  a small reading (temperature, humidity, battery), every ~1 s
//   camera  a larger payload (frame statistics and a ~2 KiB thumbnail
//           digest block), every ~5 s
//   hub     an aggregate of several child readings, every ~2 s
// Timing jitter: NextDelayMs draws each interval uniformly within +-20 % of
// the profile's period; FirstDelayMs draws a random start phase.
//
// Thread safety: the table is immutable; a ReadingGenerator is used by one
// thread at a time.
#ifndef CUSTOS_AGENT_PROFILES_H_
#define CUSTOS_AGENT_PROFILES_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::agent {

// The random source of one device's readings and timing.
using ProfileRng = std::mt19937_64;

// One behaviour profile.
struct TelemetryProfile {
  std::string_view name;  // stable, appears in messages ("profile") and on command lines
  int64_t interval_ms;    // mean period between two telemetry messages
  // Fills the "values" object of the `seq`-th message (seq >= 1).
  std::function<nlohmann::json(ProfileRng& rng, uint64_t seq)> reading;
};

// Every built-in profile, in a fixed order.
std::span<const TelemetryProfile> KnownProfiles();

// The profile named `name`; InvalidArgument listing the known names
// otherwise.
StatusOr<const TelemetryProfile*> FindProfile(std::string_view name);

// A delay drawn uniformly from [0.8, 1.2] x `interval_ms` (the +-20 %
// jitter of real devices' clocks and schedulers).
int64_t NextDelayMs(int64_t interval_ms, ProfileRng& rng);

// A random start phase in [0, interval_ms), so that a fleet started at once
// does not publish in lock step.
int64_t FirstDelayMs(int64_t interval_ms, ProfileRng& rng);

}  // namespace custos::agent

#endif  // CUSTOS_AGENT_PROFILES_H_
