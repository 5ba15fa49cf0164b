// File: custos/sim/fleet.h
//
// Fleet: many simulated devices in one process. Each device is an
// agent::DeviceSession with its own in-memory software key store and
// identity; all MQTT connections run on ONE net::MqttEventLoop thread (no
// thread per device); the blocking HTTPS calls (enrollment, rotation) run on
// a small worker pool, enrollment over keep-alive connections.
//
// Devices follow behaviour profiles (agent/profiles.h: sensor, camera, hub,
// mixed by weight), with a random start phase and +-20 % jitter on every
// interval. They execute the commands "rotate" (new key and certificate via
// POST /v1/rotate, reconnect, destroy the old key) and "report".
//
// Lifecycle:
//   auto fleet = Fleet::Create(options);   // sessions, no network yet
//   fleet->Enroll();                       // tokens minted unless given
//   fleet->Connect(timeout);               // starts the loop, waits for all
//   ... fleet->Stats(), fleet->ConnectionEvents(id) ...
//   fleet->Stop();                         // disconnects, joins threads
//
// Thread safety: every public method may be called from any thread, except
// that Create/Enroll/Connect/Start/Stop are not to be called concurrently
// with each other.
#ifndef CUSTOS_SIM_FLEET_H_
#define CUSTOS_SIM_FLEET_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/x509_certificate.h"
#include "custos/net/mqtt_client.h"
#include "custos/net/tls_context.h"

namespace custos::sim {

// One row of the profile mix: a profile name and its weight.
struct ProfileShare {
  std::string profile;
  int weight = 1;
};

// Parses "sensor:70,camera:10,hub:20" (weights >= 0, at least one > 0,
// known profile names). InvalidArgument naming the problem otherwise.
StatusOr<std::vector<ProfileShare>> ParseProfileMix(std::string_view text);

struct FleetOptions {
  int api_port = 0;                          // custosd's API on 127.0.0.1
  std::vector<identity::Certificate> roots;  // fleet roots (DIR/roots.pem)
  SecretBytes operator_token;                // to mint tokens when none are given
  std::vector<SecretBytes> tokens;           // one per device; empty: minted
  int devices = 10;
  std::string id_prefix = "sim-";  // device ids: prefix + 5+ digit index
  std::vector<ProfileShare> profiles = {{"sensor", 70}, {"camera", 10}, {"hub", 20}};
  double interval_scale = 1.0;  // multiplies every profile interval
  int workers = 3;              // HTTPS worker threads (2-4 is right)
  uint64_t seed = 0;            // 0: random
  int min_backoff_ms = 250;     // MQTT reconnect backoff
  int max_backoff_ms = 5000;
  bool publish = true;  // false: connect only
};

// Counts; a consistent snapshot.
struct FleetStats {
  int devices = 0;
  int enrolled = 0;
  int enroll_failures = 0;
  int connected = 0;  // connected now
  int rotated = 0;    // rotations completed (new certificate in use)
  int rotation_failures = 0;
  uint64_t messages_sent = 0;   // publishes handed to the client
  uint64_t messages_acked = 0;  // of those, acknowledged by the broker (QoS 1)
  uint64_t publish_failures = 0;
  uint64_t connections = 0;  // accepted MQTT connections, all devices
  uint64_t reconnects = 0;   // accepted connections after a device's first
  uint64_t refusals = 0;     // CONNACKs refusing a device
  uint64_t disconnects = 0;
  uint64_t commands = 0;  // commands executed
  uint64_t commands_ignored = 0;
};

// What Enroll did.
struct EnrollReport {
  int enrolled = 0;
  int failed = 0;
  double wall_ms = 0;                // whole Enroll call, incl. token minting
  double token_ms = 0;               // of which minting tokens
  std::vector<double> latencies_ms;  // per successful device (request build + POST + accept)
  std::string first_error;           // the first failure's message, if any
};

// A device's connection changed.
enum class ConnectionEventKind { kConnected, kDisconnected, kRefused };

struct ConnectionEvent {
  std::string device_id;
  ConnectionEventKind kind = ConnectionEventKind::kConnected;
  std::chrono::steady_clock::time_point at;
  int code = 0;  // CONNACK code (kRefused) or libmosquitto's reason (kDisconnected)
};

// Percentile `p` (0..100) of `values` (nearest rank); 0 for none.
double Percentile(std::vector<double> values, double p);

class Fleet {
 public:
  // Creates the sessions (keys are made at enrollment). InvalidArgument for
  // bad options (no port, no roots, devices < 1, unknown profiles, fewer
  // tokens than devices).
  static StatusOr<std::unique_ptr<Fleet>> Create(FleetOptions options);
  ~Fleet();  // Stop()s
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Enrolls every device not enrolled yet on the worker pool, minting
  // tokens with the operator token when none were given. Returns counts and
  // latencies; an error only if tokens cannot be minted.
  StatusOr<EnrollReport> Enroll();

  // Starts the loop thread (Start) and waits until every enrolled device is
  // connected. DeadlineExceeded with the counts if `timeout` passes first.
  Status Connect(std::chrono::milliseconds timeout);

  // Starts / stops the loop thread. Start adds every enrolled device's MQTT
  // client to the loop (devices publish once connected, if `publish`).
  // Stop ends publishing, waits up to 2 s for the broker to acknowledge
  // what was sent (so sent and received counts can be compared), then
  // disconnects every device and joins the loop thread. Both idempotent.
  Status Start();
  void Stop();

  // Counts so far. Thread-safe.
  FleetStats Stats() const;

  // Rotates the given devices (ids) as the "rotate" command would, on the
  // worker pool; returns at once. Thread-safe.
  void RequestRotation(const std::vector<std::string>& device_ids);

  // Waits until Stats() satisfies `done` or `timeout` passes; true if it did.
  bool WaitFor(const std::function<bool(const FleetStats&)>& done,
               std::chrono::milliseconds timeout) const;

  // The connection events of `device_id` (all devices if empty), in order.
  std::vector<ConnectionEvent> ConnectionEvents(std::string_view device_id = {}) const;

  // Device ids, in index order; the profile of one device.
  std::vector<std::string> device_ids() const;
  StatusOr<std::string> profile_of(std::string_view device_id) const;
  // The current certificate serial and last telemetry sequence of a device.
  StatusOr<std::string> certificate_serial(std::string_view device_id) const;
  StatusOr<uint64_t> last_sequence(std::string_view device_id) const;

  // Rotation latencies so far (POST /v1/rotate through reconnected), ms.
  std::vector<double> RotationLatenciesMs() const;

 private:
  struct Device;
  class WorkerPool;
  explicit Fleet(FleetOptions options);

  void LoopMain();
  // A new MQTT client for `device`'s current certificate, its handlers bound
  // to a new connection generation of the device.
  StatusOr<std::unique_ptr<net::MqttClient>> MakeClient(Device& device);
  void Publish(Device& device, std::string_view type);
  void Post(std::function<void()> task);  // runs `task` on the loop thread
  void RotateOnWorker(Device& device);
  void RecordEvent(const Device& device, ConnectionEventKind kind, int code);
  Device* Find(std::string_view device_id) const;

  FleetOptions options_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::unique_ptr<WorkerPool> workers_;
  std::shared_ptr<net::PeerVerifier> verifier_;  // the fleet roots, shared by all devices
  std::unique_ptr<net::MqttEventLoop> loop_;

  std::thread loop_thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};  // Stop is waiting for acknowledgements

  mutable std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;

  mutable std::mutex stats_mutex_;
  mutable std::condition_variable stats_changed_;
  FleetStats stats_;
  std::vector<ConnectionEvent> events_;
  std::vector<double> rotation_ms_;
};

}  // namespace custos::sim

#endif  // CUSTOS_SIM_FLEET_H_
