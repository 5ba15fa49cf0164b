// File: custos/server/control_plane.h
//
// ControlPlane: custosd, the control plane of a fleet, as an object that
// `custos serve` runs as a process and the demo and the end-to-end tests run
// in-process. It owns one data folder (docs/api.md, "Data folder"):
//
//   DIR/lock             flock()ed while a control plane runs on DIR
//   DIR/hsm/             SoftHSM2 token: the fleet CA keys, the HTTPS key
//   DIR/custos.db        SQLite: the CA's DeviceRegistry and the FleetState
//   DIR/telemetry-keys/  software key store with custosd's X25519 telemetry
//                        key "custosd-telemetry" (its passphrase in
//                        DIR/telemetry-keys.passphrase, mode 0600)
//   DIR/broker/          mosquitto's configuration, TLS files and log
//   DIR/roots.pem        the fleet roots, for devices and operators
//   DIR/operator.token   the operator bearer token (0600); only its SHA-256
//                        is kept in memory
//
// The first start creates what is missing and says so (created()); later
// starts open what is there. It serves:
//   - the HTTPS API of docs/api.md on 127.0.0.1 (operators: TLS + bearer
//     token; devices: mutual TLS with their fleet certificate);
//   - a mosquitto broker (TLS only, client certificates checked against the
//     fleet CA and its CRL by the custos plug-in), watched and restarted if
//     it dies;
//   - a privileged MQTT subscriber ("custosd:control-plane") on
//     devices/+/telemetry that opens each message with the device's
//     TelemetryChannel, refuses replays and messages naming another device,
//     and records activity in batches on a writer thread.
//
// Enrollment answers 201 only after the CA's registry and the fleet state
// have committed (SQLite synchronous=FULL). Enrollments that arrive together
// share one fleet-state commit (group commit). A revocation issues new CRLs
// that the broker (kicking the device within ~100 ms) and the HTTPS server
// (next handshake) use at once.
//
// Thread safety: the public methods may be called from any thread. No
// global state of its own; secrets (operator token, keys) are wiped when
// freed. SoftHSM2's configuration is process-wide (SOFTHSM2_CONF, see
// keystore/pkcs11/softhsm_token.h), so one process runs control planes of
// one data folder only (one after the other is fine; a second folder in the
// same process fails to open its token).
#ifndef CUSTOS_SERVER_CONTROL_PLANE_H_
#define CUSTOS_SERVER_CONTROL_PLANE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/server/api_messages.h"

namespace custos::server {

// The label of custosd's X25519 key in DIR/telemetry-keys.
inline constexpr std::string_view kTelemetryKeyLabel = "custosd-telemetry";
// The label of the HTTPS server's key in the token.
inline constexpr std::string_view kApiTlsKeyLabel = "custosd-api-tls";
// The MQTT identity (certificate CN) of custosd's subscriber.
inline constexpr std::string_view kControlPlaneIdentity = "custosd:control-plane";

// How a control plane starts.
struct ControlPlaneOptions {
  // The data folder (created, mode 0700, if missing). Required.
  std::string data_dir;
  // TCP ports on 127.0.0.1; 0 picks a free one.
  int api_port = 0;
  int mqtt_port = 0;
  // The fleet CA's name, used when the CA is created (first start).
  std::string ca_name = "custos fleet";
  // The mosquitto binary.
  std::string mosquitto_path = "/usr/sbin/mosquitto";
  // How often the telemetry writer commits a batch of activity.
  int activity_flush_ms = 200;
  // Lifetime of the service certificates issued at each start (HTTPS
  // server, broker, subscriber).
  int64_t service_certificate_seconds = 30LL * 24 * 3600;
  // Group commit of enrollments. Off: the CA's registry and the fleet state
  // each commit with synchronous=FULL (two fsyncs per enrollment). On: the
  // CA's registry connection commits with synchronous=NORMAL (no fsync), and
  // the enrollments that arrive while a fleet-state commit is under way are
  // recorded together in the next fleet-state transaction (FULL); its fsync
  // of the shared WAL file makes every CA commit before it durable too, and
  // only then is each of them acknowledged. Every other CA write (rotation,
  // revocation, tokens, start-up) is likewise followed by a FULL fleet-state
  // commit before it is acknowledged.
  bool group_commit = true;
  // With group_commit: how long the first enrollment of a group waits for
  // others before committing (0: commit at once; the group is then what
  // arrived during the previous commit).
  int enrollment_group_wait_us = 0;
};

// Counters and gauges of a running control plane (also in /metrics).
struct ControlPlaneStats {
  int64_t enrollments = 0;
  int64_t enrollments_refused = 0;
  int64_t rotations = 0;
  int64_t revocations = 0;  // devices revoked
  int64_t telemetry_received = 0;
  int64_t telemetry_accepted = 0;
  // Telemetry dropped, by reason: "unknown_device" (no telemetry key),
  // "unauthenticated" (does not open), "malformed" (opens but does not
  // parse), "wrong_device" (names another device), "replay" (seq not above
  // the last), "bad_topic", "overload" (more than 200,000 messages waiting
  // to be processed).
  std::map<std::string, int64_t> telemetry_rejected;
  int64_t commands_sent = 0;
  // End-to-end latency of accepted telemetry (opened and checked - sent_us, in ms), over the
  // last 100,000 messages; 0 when none.
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  // Devices in the fleet state by status.
  std::map<std::string, int64_t> devices_by_status;
  // Commits of the fleet state made for enrollments (fewer than
  // `enrollments` when group commit batches them).
  int64_t enrollment_commits = 0;
  bool broker_running = false;
  int64_t broker_restarts = 0;
  // custosd's own MQTT subscriber: connected now, and connections so far.
  bool subscriber_connected = false;
  int64_t subscriber_connections = 0;
};

class ControlPlane {
 public:
  // Opens (or, first, initialises) the data folder, starts the broker, the
  // subscriber and the HTTPS server. FailedPrecondition if another control
  // plane holds DIR/lock; InvalidArgument for bad options; the errors of the
  // token, database, CA, broker (Unavailable) and HTTPS server (Unavailable
  // for a port in use). On error everything started is stopped again.
  static StatusOr<std::unique_ptr<ControlPlane>> Start(const ControlPlaneOptions& options);

  // Stop()s.
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // What this start created (one line each, e.g. "DIR/hsm/: SoftHSM2 token
  // ..."); empty when everything was there already.
  const std::vector<std::string>& created() const;
  // The bound ports on 127.0.0.1.
  int api_port() const;
  int mqtt_port() const;
  // The process id of the running mosquitto, or -1 (for diagnostics and
  // tests).
  int broker_pid() const;
  // The data folder (absolute) and files in it.
  const std::string& data_dir() const;
  std::string roots_path() const;           // DIR/roots.pem
  std::string operator_token_path() const;  // DIR/operator.token
  // What GET /v1/fleet answers.
  FleetInfo fleet_info() const;

  // A snapshot of the counters. The error of the fleet state if the device
  // counts cannot be read.
  StatusOr<ControlPlaneStats> Stats() const;
  // The Prometheus text (format 0.0.4) of GET /metrics.
  std::string MetricsText() const;

  // Stops gracefully: the HTTPS server stops accepting and finishes the
  // requests it has, the subscriber disconnects and the last activity batch
  // is committed, the broker is stopped, DIR/lock is released. Idempotent.
  // An idle keep-alive client connection holds the HTTPS server's stop for
  // up to its read timeout (5 s; net::HttpsServerOptions).
  void Stop();

 private:
  struct Impl;
  explicit ControlPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::server

#endif  // CUSTOS_SERVER_CONTROL_PLANE_H_
