// File: custos/sim/demo.h
//
// RunDemo: the main job of custos (`custos demo`, `make demo`) as a library
// call. It runs the whole system on one machine, for real:
//   1. starts custosd (server::ControlPlane) on a fresh data folder, with its
//      SoftHSM2 token, SQLite database and mosquitto broker;
//   2. a simulated fleet (sim::Fleet) enrolls with one-time tokens minted
//      through the operator API, connects to the broker over mutual TLS and
//      sends telemetry sealed end to end (Ascon-AEAD128);
//   3. the operator rotates every credential (POST /v1/commands "rotate":
//      each device gets a new key and certificate and reconnects);
//   4. the operator revokes one device (POST /v1/devices/{id}/revoke); the
//      demo measures how long until the broker cut it off and checks that
//      its reconnection is refused;
//   5. stops everything cleanly and reports what happened.
//
// Each later capability (attestation, updates, the log, policy, ...) adds a
// section to the report under its own name.
#ifndef CUSTOS_SIM_DEMO_H_
#define CUSTOS_SIM_DEMO_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::sim {

struct DemoOptions {
  // Simulated devices (1..20000).
  int devices = 1000;
  // The data folder. Empty: a fresh temporary folder, removed at the end.
  // Otherwise it is used (created if missing) and left behind.
  std::string keep_dir;
  // How long the fleet sends telemetry before the rotation, seconds.
  double telemetry_seconds = 5;
  // HTTPS worker threads of the fleet.
  int workers = 3;
  // Told one line per finished step, for people ("enrollment  1000/1000 ...").
  std::function<void(std::string_view line)> progress;
};

// What happened, as data: the fields `custos demo --json` prints, at least
//   "devices", "enrolled", "connected", "rotated" (counts),
//   "revoked": {"device": ID, "cut_off_ms": MS},
//   "telemetry": {"messages": N, "latency_ms": {"p50": X, "p99": Y}},
// plus timings and rates of each step, and "ok" (every step succeeded).
struct DemoReport {
  nlohmann::json json = nlohmann::json::object();
  bool ok = false;
};

// Runs the demo. A step that fails is recorded in the report (ok false,
// "failures" lists why) and the demo still stops everything cleanly; an
// error is returned only if the system could not be started at all.
StatusOr<DemoReport> RunDemo(const DemoOptions& options);

}  // namespace custos::sim

#endif  // CUSTOS_SIM_DEMO_H_
