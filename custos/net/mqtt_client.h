// File: custos/net/mqtt_client.h
//
// MQTT 3.1.1 clients over TLS (libmosquitto), for custosd, the device agent
// and the fleet simulator.
//
// TLS is configured by the caller through an OpenSSL SSL_CTX (server CA,
// client certificate and key, TLS 1.2+): the client's private key can thus
// stay in a KeyStore (engineer "tls"'s SSL_CTX builder) and never be a file.
// libmosquitto keeps its own reference to the SSL_CTX; it verifies the
// broker's certificate against the context's trust store and, libmosquitto
// being what it is, the host name given in the options.
//
// A client runs in one of two modes:
//   - threaded: Connect() connects, waits for the CONNACK, and starts
//     libmosquitto's network thread (which reconnects after a lost
//     connection); handlers run on that thread. For custosd and one agent.
//     That thread uses select(): its socket must be below FD_SETSIZE (1024),
//     so create threaded clients before thousands of others.
//   - event loop: MqttEventLoop::Add() connects it asynchronously and one
//     poll() loop drives the sockets of many clients, reconnecting with
//     exponential backoff and jitter; handlers run on the loop's thread. For
//     the simulator, which runs thousands of devices in one process.
// Subscriptions made with Subscribe() are renewed on every (re)connection.
//
// libmosquitto's process-wide initialisation (mosquitto_lib_init) is done
// once, on first use, and never undone.
#ifndef CUSTOS_NET_MQTT_CLIENT_H_
#define CUSTOS_NET_MQTT_CLIENT_H_

#include <openssl/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

struct mosquitto;
struct mosquitto_message;

namespace custos::net {

// How a client connects.
struct MqttClientOptions {
  // The broker; the host name must match the broker certificate.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // The MQTT client id (1 to 128 bytes); the broker disconnects an older
  // session with the same id.
  std::string client_id;
  // Borrowed; the client takes its own reference. Required.
  SSL_CTX* ssl_ctx = nullptr;
  int keepalive_s = 60;
  // Reconnect backoff (event-loop mode and threaded mode).
  int min_backoff_ms = 250;
  int max_backoff_ms = 30000;
};

// A received message; the views are valid during the handler call only.
struct MqttMessageView {
  std::string_view topic;
  std::span<const uint8_t> payload;
  int qos = 0;
  bool retain = false;
};

// CONNACK return codes of MQTT 3.1.1.
inline constexpr int kConnackAccepted = 0;
inline constexpr int kConnackNotAuthorized = 5;

class MqttEventLoop;

// One MQTT connection. Not copyable or movable. Publish and Subscribe may be
// called from any thread in threaded mode, and from the loop's thread (or
// before Add) in event-loop mode.
class MqttClient {
 public:
  // A client with `options`; it does not connect yet. InvalidArgument for a
  // missing SSL_CTX, port or client id; Internal if libmosquitto fails.
  static StatusOr<std::unique_ptr<MqttClient>> Create(MqttClientOptions options);

  // Disconnects and releases the connection (stops the network thread).
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Handlers; set them before connecting. `on_connect` gets the CONNACK code
  // (kConnackAccepted on success), `on_disconnect` libmosquitto's reason (0
  // for a requested disconnect), `on_published` the id of a QoS 1 message
  // the broker acknowledged.
  void set_message_handler(std::function<void(const MqttMessageView&)> handler);
  void set_connect_handler(std::function<void(int connack_code)> handler);
  void set_disconnect_handler(std::function<void(int reason)> handler);
  void set_published_handler(std::function<void(int message_id)> handler);

  // Threaded mode: connects, waits up to `timeout_ms` for the broker's
  // CONNACK and starts the network thread. PermissionDenied if the broker
  // refuses (e.g. a revoked certificate: "not authorized"); Unavailable if
  // the TCP or TLS connection fails or closes first (e.g. no or an untrusted
  // client certificate); DeadlineExceeded on timeout. On error no thread
  // runs. FailedPrecondition if the client is already connected or in an
  // event loop.
  Status Connect(int timeout_ms = 5000);

  // Subscribes to `topic_filter` with `qos` (0 or 1) and remembers it for
  // reconnections. Unavailable if not connected now (the subscription is
  // still made at the next connection); InvalidArgument for a bad filter.
  Status Subscribe(std::string_view topic_filter, int qos = 1);

  // Publishes `payload` to `topic` with `qos` (0 or 1) and returns its
  // message id. Unavailable when not connected; InvalidArgument for a bad
  // topic or a payload over 256 MiB. A message the broker's ACL refuses is
  // acknowledged by the broker and dropped (MQTT 3.1.1 has no negative
  // acknowledgement).
  StatusOr<int> Publish(std::string_view topic, std::span<const uint8_t> payload, int qos = 1,
                        bool retain = false);
  StatusOr<int> Publish(std::string_view topic, std::string_view payload, int qos = 1,
                        bool retain = false);

  // Disconnects cleanly and stops reconnecting. Idempotent.
  void Disconnect();

  // True between an accepted CONNACK and the next disconnection.
  bool connected() const;
  // The last CONNACK code, or -1 if none was received yet.
  int last_connack_code() const;
  // The number of connections the broker accepted so far.
  int connection_count() const;
  const MqttClientOptions& options() const { return options_; }

 private:
  friend class MqttEventLoop;
  explicit MqttClient(MqttClientOptions options);

  static void OnConnect(mosquitto* mosq, void* self, int rc);
  static void OnDisconnect(mosquitto* mosq, void* self, int rc);
  static void OnMessage(mosquitto* mosq, void* self, const mosquitto_message* message);
  static void OnPublish(mosquitto* mosq, void* self, int mid);
  void ResubscribeLocked();
  std::chrono::milliseconds NextBackoff();

  MqttClientOptions options_;
  mosquitto* mosq_ = nullptr;
  std::function<void(const MqttMessageView&)> on_message_;
  std::function<void(int)> on_connect_;
  std::function<void(int)> on_disconnect_;
  std::function<void(int)> on_published_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, int>> subscriptions_;
  bool connected_ = false;
  bool disconnected_event_ = false;
  int last_connack_ = -1;
  int connections_ = 0;
  bool threaded_ = false;
  bool stopped_ = false;
  // Event-loop mode.
  MqttEventLoop* loop_ = nullptr;
  bool needs_reconnect_ = false;
  std::chrono::steady_clock::time_point reconnect_at_;
  int backoff_ms_ = 0;
};

// One poll() loop driving many clients' sockets on the calling thread.
// Not thread-safe: Add, Remove and Run* are called from one thread.
class MqttEventLoop {
 public:
  MqttEventLoop() = default;
  MqttEventLoop(const MqttEventLoop&) = delete;
  MqttEventLoop& operator=(const MqttEventLoop&) = delete;

  // Starts an asynchronous connection of `client` (borrowed; it must stay
  // alive until Remove or the loop's destruction) and drives it from now
  // on. A failed attempt (refused, TLS error, lost connection) is retried
  // after the client's backoff. FailedPrecondition if the client is in
  // threaded mode or another loop.
  Status Add(MqttClient* client);

  // Stops driving `client` and disconnects it.
  void Remove(MqttClient* client);

  // One iteration: waits up to `timeout_ms` for socket activity, reads,
  // writes, runs keepalive bookkeeping and due reconnections. Returns the
  // number of clients that had socket activity.
  int RunOnce(int timeout_ms);

  // Runs iterations until `done()` is true or `timeout_ms` passes; true if
  // `done()` became true.
  bool RunUntil(const std::function<bool()>& done, int timeout_ms);

  // The number of clients driven, and of those currently connected.
  std::size_t size() const { return clients_.size(); }
  std::size_t connected_count() const;

 private:
  // Handles the poll() events `revents` of `client`'s socket: continues its
  // TLS handshake, or reads and writes packets.
  void Drive(MqttClient* client, short revents, std::chrono::steady_clock::time_point now);
  void Reconnect(MqttClient* client, std::chrono::steady_clock::time_point now);

  std::vector<MqttClient*> clients_;
  std::chrono::steady_clock::time_point last_misc_;
};

}  // namespace custos::net

#endif  // CUSTOS_NET_MQTT_CLIENT_H_
