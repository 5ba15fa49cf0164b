// File: custos/agent/agent.h
//
// Agent: one device as a process runs it (`custos agent`): a DeviceSession
// driven by a threaded MQTT client. Run() enrolls the device if it is not
// enrolled yet (with a token, or its birth certificate), connects to the
// broker with its certificate (retrying with exponential backoff while the
// broker is unreachable or refuses), subscribes to its commands, publishes a
// sealed telemetry message every profile interval (+-20 % jitter), and
// executes commands: "rotate" (new key and certificate through POST
// /v1/rotate, reconnect with them, destroy the old key) and "report" (a
// "report" message with the device's status). It returns when `stop` is set
// or after `count` messages.
//
// Events (enrolled, connected, refused, rotated, ...) are passed to an
// optional callback as one line of text each; the library prints nothing.
//
// Thread safety: Run blocks the calling thread; stats() and RequestStop()
// may be called from any thread.
#ifndef CUSTOS_AGENT_AGENT_H_
#define CUSTOS_AGENT_AGENT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "custos/agent/device_session.h"
#include "custos/agent/profiles.h"
#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/net/mqtt_client.h"

namespace custos::agent {

struct AgentOptions {
  int api_port = 0;                // custosd's API on 127.0.0.1 (required)
  SecretBytes token;               // enrollment token; empty: birth certificate
  std::string profile = "sensor";  // a KnownProfiles() name
  int64_t interval_ms = 0;         // 0: the profile's interval
  uint64_t count = 0;              // stop after this many messages; 0: never
  int connect_timeout_ms = 5000;   // per MQTT connection attempt
  int min_backoff_ms = 250;        // reconnect backoff
  int max_backoff_ms = 30000;
  // Optional event lines. Called from Run's thread and from the MQTT client's
  // thread (connection lost, refused, reconnected), so it must be thread-safe.
  std::function<void(const std::string&)> on_event;
};

// What an agent did so far.
struct AgentStats {
  bool enrolled = false;
  bool connected = false;
  uint64_t messages_sent = 0;     // publishes the client accepted
  uint64_t messages_acked = 0;    // of those, acknowledged by the broker (QoS 1)
  uint64_t publish_failures = 0;  // not connected at the time, or sealing failed
  uint64_t connections = 0;       // accepted MQTT connections
  uint64_t refusals = 0;          // connection attempts refused or failed
  uint64_t rotations = 0;
  uint64_t commands = 0;          // commands executed
  uint64_t commands_ignored = 0;  // stale, repeated or not opening
  uint64_t last_sequence = 0;
};

class Agent {
 public:
  // An agent for `session` (owned). InvalidArgument for a missing API port
  // or an unknown profile.
  static StatusOr<std::unique_ptr<Agent>> Create(std::unique_ptr<DeviceSession> session,
                                                 AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until RequestStop() or `count` messages. Returns an error only if
  // the device cannot be enrolled (the API's error) or its state cannot be
  // written; connection problems are retried.
  Status Run();
  // Makes Run return soon (within ~100 ms). Thread-safe, async-signal-unsafe.
  void RequestStop();

  AgentStats stats() const;
  DeviceSession& session() { return *session_; }

 private:
  Agent(std::unique_ptr<DeviceSession> session, AgentOptions options,
        const TelemetryProfile* profile);
  void Event(const std::string& line);
  // Connects a new MQTT client with the session's current certificate,
  // retrying with backoff until connected or stopped.
  Status ConnectWithRetry();
  void PublishTelemetry(std::string_view type, nlohmann::json values);
  void Rotate();
  nlohmann::json ReportValues() const;

  std::unique_ptr<DeviceSession> session_;
  AgentOptions options_;
  const TelemetryProfile* profile_;
  ProfileRng rng_;
  std::unique_ptr<net::MqttClient> client_;
  net::SslCtxPtr ssl_ctx_;
  std::atomic<bool> stop_{false};
  int64_t started_ms_ = 0;

  mutable std::mutex mutex_;  // guards stats_ and actions_
  std::condition_variable wake_;
  AgentStats stats_;
  std::deque<std::string> actions_;  // commands to run on Run's thread
};

}  // namespace custos::agent

#endif  // CUSTOS_AGENT_AGENT_H_
