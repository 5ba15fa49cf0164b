// File: custos/agent/profiles.cpp
#include "custos/agent/profiles.h"

#include <array>
#include <cmath>

namespace custos::agent {
namespace {

double Uniform(ProfileRng& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

// Rounds to two decimals, as a sensor's fixed-point output would.
double Round2(double value) { return std::round(value * 100.0) / 100.0; }

nlohmann::json SensorReading(ProfileRng& rng, uint64_t seq) {
  // A slow daily-like drift plus noise.
  const double drift = std::sin(static_cast<double>(seq) / 600.0) * 3.0;
  return {{"temperature_c", Round2(21.0 + drift + Uniform(rng, -0.3, 0.3))},
          {"humidity_pct", Round2(45.0 + Uniform(rng, -5.0, 5.0))},
          {"battery_pct", Round2(std::max(5.0, 100.0 - static_cast<double>(seq) * 0.001))}};
}

nlohmann::json CameraReading(ProfileRng& rng, uint64_t seq) {
  // A block of frame features: what a camera might ship instead of frames.
  std::string features;
  features.reserve(2048);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 2048; ++i) features.push_back(kHex[rng() & 0xf]);
  return {{"frame", seq},
          {"motion_score", Round2(Uniform(rng, 0.0, 1.0))},
          {"objects", static_cast<int>(rng() % 5)},
          {"brightness", Round2(Uniform(rng, 0.2, 0.9))},
          {"features", features}};
}

nlohmann::json HubReading(ProfileRng& rng, uint64_t seq) {
  nlohmann::json children = nlohmann::json::array();
  const int count = 4 + static_cast<int>(rng() % 5);
  double sum = 0;
  for (int i = 0; i < count; ++i) {
    const double value = Round2(20.0 + Uniform(rng, -2.0, 2.0));
    sum += value;
    children.push_back({{"child", i}, {"temperature_c", value}});
  }
  return {{"children", children},
          {"mean_temperature_c", Round2(sum / count)},
          {"uplink_rssi_dbm", static_cast<int>(-40 - static_cast<int>(rng() % 40))},
          {"round", seq}};
}

const std::array<TelemetryProfile, 3>& Table() {
  static const std::array<TelemetryProfile, 3> kTable = {{
      {"sensor", 1000, SensorReading},
      {"camera", 5000, CameraReading},
      {"hub", 2000, HubReading},
  }};
  return kTable;
}

}  // namespace

std::span<const TelemetryProfile> KnownProfiles() { return Table(); }

StatusOr<const TelemetryProfile*> FindProfile(std::string_view name) {
  std::string names;
  for (const TelemetryProfile& profile : Table()) {
    if (profile.name == name) return &profile;
    if (!names.empty()) names += ", ";
    names += profile.name;
  }
  return InvalidArgumentError("unknown profile '" + std::string(name) + "' (known: " + names + ")");
}

int64_t NextDelayMs(int64_t interval_ms, ProfileRng& rng) {
  if (interval_ms <= 0) return 0;
  return std::uniform_int_distribution<int64_t>(interval_ms * 8 / 10, interval_ms * 12 / 10)(rng);
}

int64_t FirstDelayMs(int64_t interval_ms, ProfileRng& rng) {
  if (interval_ms <= 1) return 0;
  return std::uniform_int_distribution<int64_t>(0, interval_ms - 1)(rng);
}

}  // namespace custos::agent
