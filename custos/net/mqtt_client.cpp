// File: custos/net/mqtt_client.cpp
#include "custos/net/mqtt_client.h"

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

namespace custos::net {
namespace {

constexpr int kMaxPayloadBytes = 256 * 1024 * 1024;
// How often keepalive bookkeeping (mosquitto_loop_misc) runs for every client.
constexpr auto kMiscInterval = std::chrono::milliseconds(500);
// Reads per readable socket before returning to poll(): libmosquitto reads
// one packet per call when nothing is queued, and TLS may hold more.
constexpr int kMaxReadsPerEvent = 64;

void InitLibraryOnce() {
  // libmosquitto's process-wide initialisation; never undone, so that
  // clients may be created and destroyed at any time.
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string MosquittoError(int rc) {
  std::string text = mosquitto_strerror(rc);
  if (rc == MOSQ_ERR_ERRNO) text += std::string(" (") + std::strerror(errno) + ")";
  return text;
}

}  // namespace

MqttClient::MqttClient(MqttClientOptions options) : options_(std::move(options)) {}

StatusOr<std::unique_ptr<MqttClient>> MqttClient::Create(MqttClientOptions options) {
  if (options.ssl_ctx == nullptr) return InvalidArgumentError("MQTT client needs an SSL_CTX");
  if (options.port == 0) return InvalidArgumentError("MQTT broker port is 0");
  if (options.client_id.empty() || options.client_id.size() > 128) {
    return InvalidArgumentError("MQTT client id must have 1 to 128 bytes");
  }
  if (options.min_backoff_ms <= 0 || options.max_backoff_ms < options.min_backoff_ms) {
    return InvalidArgumentError("MQTT backoff must satisfy 0 < min <= max");
  }
  InitLibraryOnce();
  std::unique_ptr<MqttClient> client(new MqttClient(std::move(options)));
  client->mosq_ = mosquitto_new(client->options_.client_id.c_str(), true, client.get());
  if (client->mosq_ == nullptr) return InternalError("mosquitto_new failed");
  mosquitto_int_option(client->mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // Use the caller's context as it is: no default CA paths, no file keys.
  mosquitto_int_option(client->mosq_, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  int rc = mosquitto_void_option(client->mosq_, MOSQ_OPT_SSL_CTX, client->options_.ssl_ctx);
  if (rc != MOSQ_ERR_SUCCESS) return InternalError("cannot set the SSL_CTX: " + MosquittoError(rc));
  const unsigned min_s = static_cast<unsigned>(std::max(1, client->options_.min_backoff_ms / 1000));
  const unsigned max_s =
      static_cast<unsigned>(std::max<int>(min_s, client->options_.max_backoff_ms / 1000));
  mosquitto_reconnect_delay_set(client->mosq_, min_s, max_s, true);
  mosquitto_connect_callback_set(client->mosq_, &MqttClient::OnConnect);
  mosquitto_disconnect_callback_set(client->mosq_, &MqttClient::OnDisconnect);
  mosquitto_message_callback_set(client->mosq_, &MqttClient::OnMessage);
  mosquitto_publish_callback_set(client->mosq_, &MqttClient::OnPublish);
  return client;
}

MqttClient::~MqttClient() {
  if (loop_ != nullptr) loop_->Remove(this);
  Disconnect();
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

void MqttClient::set_message_handler(std::function<void(const MqttMessageView&)> handler) {
  on_message_ = std::move(handler);
}
void MqttClient::set_connect_handler(std::function<void(int)> handler) {
  on_connect_ = std::move(handler);
}
void MqttClient::set_disconnect_handler(std::function<void(int)> handler) {
  on_disconnect_ = std::move(handler);
}
void MqttClient::set_published_handler(std::function<void(int)> handler) {
  on_published_ = std::move(handler);
}

void MqttClient::OnConnect(mosquitto* /*mosq*/, void* self, int rc) {
  auto* client = static_cast<MqttClient*>(self);
  {
    std::lock_guard<std::mutex> lock(client->mutex_);
    client->last_connack_ = rc;
    if (rc == kConnackAccepted) {
      client->connected_ = true;
      client->backoff_ms_ = 0;
      ++client->connections_;
      client->ResubscribeLocked();
    }
  }
  client->cv_.notify_all();
  if (client->on_connect_) client->on_connect_(rc);
}

void MqttClient::OnDisconnect(mosquitto* /*mosq*/, void* self, int rc) {
  auto* client = static_cast<MqttClient*>(self);
  {
    std::lock_guard<std::mutex> lock(client->mutex_);
    client->connected_ = false;
    client->disconnected_event_ = true;
    if (client->loop_ != nullptr && !client->stopped_) {
      client->needs_reconnect_ = true;
      client->reconnect_at_ = std::chrono::steady_clock::now() + client->NextBackoff();
    }
  }
  client->cv_.notify_all();
  if (client->on_disconnect_) client->on_disconnect_(rc);
}

void MqttClient::OnMessage(mosquitto* /*mosq*/, void* self, const mosquitto_message* message) {
  auto* client = static_cast<MqttClient*>(self);
  if (!client->on_message_ || message == nullptr || message->topic == nullptr) return;
  MqttMessageView view;
  view.topic = message->topic;
  view.payload = std::span<const uint8_t>(static_cast<const uint8_t*>(message->payload),
                                          static_cast<std::size_t>(message->payloadlen));
  view.qos = message->qos;
  view.retain = message->retain;
  client->on_message_(view);
}

void MqttClient::OnPublish(mosquitto* /*mosq*/, void* self, int mid) {
  auto* client = static_cast<MqttClient*>(self);
  if (client->on_published_) client->on_published_(mid);
}

void MqttClient::ResubscribeLocked() {
  for (const auto& [filter, qos] : subscriptions_) {
    mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
  }
}

std::chrono::milliseconds MqttClient::NextBackoff() {
  backoff_ms_ = backoff_ms_ == 0 ? options_.min_backoff_ms
                                 : std::min(options_.max_backoff_ms, backoff_ms_ * 2);
  // Jitter (50-100 %) spreads the reconnections of a fleet cut off at once.
  thread_local std::minstd_rand jitter(std::random_device{}());
  const int low = backoff_ms_ / 2;
  std::uniform_int_distribution<int> pick(low, backoff_ms_);
  return std::chrono::milliseconds(pick(jitter));
}

Status MqttClient::Connect(int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (threaded_ || loop_ != nullptr) {
      return FailedPreconditionError("MQTT client '" + options_.client_id +
                                     "' is already connected or in an event loop");
    }
    connected_ = false;
    disconnected_event_ = false;
    last_connack_ = -1;
    stopped_ = false;
  }
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  int rc = mosquitto_connect(mosq_, options_.host.c_str(), options_.port, options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    return UnavailableError("MQTT client '" + options_.client_id + "' cannot connect to " + where +
                            ": " + MosquittoError(rc));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_disconnect(mosq_);
    return InternalError("cannot start the MQTT network thread: " + MosquittoError(rc));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  threaded_ = true;
  const bool answered = cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                     [this] { return last_connack_ != -1 || disconnected_event_; });
  if (answered && last_connack_ == kConnackAccepted) return OkStatus();
  const int connack = last_connack_;
  lock.unlock();
  Disconnect();
  if (!answered) {
    return DeadlineExceededError("no answer from the MQTT broker at " + where + " within " +
                                 std::to_string(timeout_ms) + " ms");
  }
  if (connack == kConnackNotAuthorized) {
    return PermissionDeniedError("the MQTT broker at " + where + " refused client '" +
                                 options_.client_id + "': not authorized");
  }
  if (connack > 0) {
    return PermissionDeniedError("the MQTT broker at " + where + " refused client '" +
                                 options_.client_id + "': " + mosquitto_connack_string(connack));
  }
  return UnavailableError("the MQTT broker at " + where + " closed the connection of '" +
                          options_.client_id +
                          "' before accepting it (TLS client certificate refused?)");
}

Status MqttClient::Subscribe(std::string_view topic_filter, int qos) {
  if (qos < 0 || qos > 1) return InvalidArgumentError("MQTT QoS must be 0 or 1");
  std::string filter(topic_filter);
  if (mosquitto_sub_topic_check(filter.c_str()) != MOSQ_ERR_SUCCESS) {
    return InvalidArgumentError("bad MQTT topic filter '" + filter + "'");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  subscriptions_.emplace_back(filter, qos);
  if (!connected_)
    return UnavailableError("MQTT client '" + options_.client_id + "' is not connected");
  int rc = mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS)
    return UnavailableError("MQTT subscribe failed: " + MosquittoError(rc));
  return OkStatus();
}

StatusOr<int> MqttClient::Publish(std::string_view topic, std::span<const uint8_t> payload, int qos,
                                  bool retain) {
  if (qos < 0 || qos > 1) return InvalidArgumentError("MQTT QoS must be 0 or 1");
  if (payload.size() > static_cast<std::size_t>(kMaxPayloadBytes)) {
    return InvalidArgumentError("MQTT payload is larger than 256 MiB");
  }
  std::string name(topic);
  if (mosquitto_pub_topic_check(name.c_str()) != MOSQ_ERR_SUCCESS) {
    return InvalidArgumentError("bad MQTT topic '" + name + "'");
  }
  int mid = 0;
  int rc = mosquitto_publish(mosq_, &mid, name.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, retain);
  if (rc == MOSQ_ERR_NO_CONN) {
    return UnavailableError("MQTT client '" + options_.client_id + "' is not connected");
  }
  if (rc != MOSQ_ERR_SUCCESS) return UnavailableError("MQTT publish failed: " + MosquittoError(rc));
  return mid;
}

StatusOr<int> MqttClient::Publish(std::string_view topic, std::string_view payload, int qos,
                                  bool retain) {
  return Publish(
      topic,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
      qos, retain);
}

void MqttClient::Disconnect() {
  bool threaded = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    needs_reconnect_ = false;
    threaded = threaded_;
    threaded_ = false;
  }
  if (mosq_ == nullptr) return;
  mosquitto_disconnect(mosq_);
  if (threaded) mosquitto_loop_stop(mosq_, false);
}

bool MqttClient::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connected_;
}

int MqttClient::last_connack_code() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_connack_;
}

int MqttClient::connection_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connections_;
}

Status MqttEventLoop::Add(MqttClient* client) {
  {
    std::lock_guard<std::mutex> lock(client->mutex_);
    if (client->threaded_ || client->loop_ != nullptr) {
      return FailedPreconditionError("MQTT client '" + client->options_.client_id +
                                     "' is threaded or in another event loop");
    }
    client->loop_ = this;
    client->stopped_ = false;
    client->needs_reconnect_ = false;
  }
  clients_.push_back(client);
  int rc = mosquitto_connect_async(client->mosq_, client->options_.host.c_str(),
                                   client->options_.port, client->options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::lock_guard<std::mutex> lock(client->mutex_);
    client->needs_reconnect_ = true;
    client->reconnect_at_ = std::chrono::steady_clock::now() + client->NextBackoff();
  }
  return OkStatus();
}

void MqttEventLoop::Remove(MqttClient* client) {
  auto it = std::find(clients_.begin(), clients_.end(), client);
  if (it == clients_.end()) return;
  clients_.erase(it);
  {
    std::lock_guard<std::mutex> lock(client->mutex_);
    client->loop_ = nullptr;
  }
  client->Disconnect();
}

void MqttEventLoop::Reconnect(MqttClient* client, std::chrono::steady_clock::time_point now) {
  {
    std::lock_guard<std::mutex> lock(client->mutex_);
    if (client->stopped_) return;
    if (!client->needs_reconnect_) {
      // libmosquitto may close a socket whose asynchronous connection failed
      // (e.g. the TLS handshake started before the TCP connection completed)
      // without calling the disconnect handler; schedule it here.
      if (client->connected_ || mosquitto_socket(client->mosq_) >= 0) return;
      client->needs_reconnect_ = true;
      client->reconnect_at_ = now + client->NextBackoff();
      return;
    }
    if (now < client->reconnect_at_) return;
    client->needs_reconnect_ = false;
  }
  int rc = mosquitto_reconnect_async(client->mosq_);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::lock_guard<std::mutex> lock(client->mutex_);
    client->needs_reconnect_ = true;
    client->reconnect_at_ = now + client->NextBackoff();
  }
}

namespace {

// True while the TLS handshake of `mosq`'s open socket is not finished.
// libmosquitto 2.0.11 keeps this in a private flag (want_connect); the SSL
// object it hands out tells the same.
bool HandshakePending(mosquitto* mosq) {
  auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq));
  return ssl != nullptr && SSL_is_init_finished(ssl) == 0;
}

// The poll() events `mosq`'s socket waits for. During the TLS handshake this
// is what OpenSSL last asked for: POLLOUT only while it could not write (the
// TCP connection is still pending); mosquitto_want_write() cannot be used
// then, as libmosquitto 2.0.11 clears its want_write flag only on a packet
// write, so it stays set once the handshake had to wait for the socket, and
// poll() would return at once until the handshake ends.
short WantedEvents(mosquitto* mosq) {
  if (HandshakePending(mosq)) {
    auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq));
    return SSL_want_write(ssl) ? static_cast<short>(POLLIN | POLLOUT) : POLLIN;
  }
  return mosquitto_want_write(mosq) ? static_cast<short>(POLLIN | POLLOUT) : POLLIN;
}

// Reads what is readable: up to kMaxReadsPerEvent packets.
void ReadPackets(mosquitto* mosq) {
  for (int reads = 0; reads < kMaxReadsPerEvent; ++reads) {
    errno = 0;
    int rc = mosquitto_loop_read(mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (mosquitto_socket(mosq) < 0) break;
  }
}

}  // namespace

void MqttEventLoop::Drive(MqttClient* client, short revents,
                          std::chrono::steady_clock::time_point now) {
  mosquitto* mosq = client->mosq_;
  if (HandshakePending(mosq)) {
    // As mosquitto_loop() does: while connecting, readable or writable both
    // mean "continue the handshake", which mosquitto_loop_read() does (it
    // calls SSL_connect while the handshake is pending); a packet write would
    // do nothing yet.
    mosquitto_loop_read(mosq, 1);
    if (mosquitto_socket(mosq) < 0) return;  // TLS error: Reconnect() sees it.
    if (HandshakePending(mosq)) {
      if ((revents & (POLLERR | POLLHUP)) != 0) {
        // Refused or reset before the handshake ended: libmosquitto reports
        // this as "still connecting" (SSL_ERROR_SYSCALL) and would be polled
        // forever; retry after the backoff.
        std::lock_guard<std::mutex> lock(client->mutex_);
        client->needs_reconnect_ = true;
        client->reconnect_at_ = now + client->NextBackoff();
      }
      return;
    }
    // Handshake done: the queued CONNECT can go out now.
    revents = static_cast<short>(revents | POLLOUT);
  } else if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    ReadPackets(mosq);
  }
  if ((revents & POLLOUT) != 0 && mosquitto_socket(mosq) >= 0 && mosquitto_want_write(mosq)) {
    mosquitto_loop_write(mosq, 1);
  }
}

int MqttEventLoop::RunOnce(int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<MqttClient*> polled;
  fds.reserve(clients_.size());
  polled.reserve(clients_.size());
  for (MqttClient* client : clients_) {
    int fd = mosquitto_socket(client->mosq_);
    if (fd < 0) continue;
    {
      // A socket awaiting its reconnection is dead; polling it would spin.
      std::lock_guard<std::mutex> lock(client->mutex_);
      if (client->needs_reconnect_) continue;
    }
    fds.push_back(pollfd{fd, WantedEvents(client->mosq_), 0});
    polled.push_back(client);
  }
  int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  int active = 0;
  const auto polled_at = std::chrono::steady_clock::now();
  if (ready > 0) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      ++active;
      Drive(polled[i], fds[i].revents, polled_at);
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_misc_ >= kMiscInterval) {
    last_misc_ = now;
    for (MqttClient* client : clients_) {
      if (mosquitto_socket(client->mosq_) >= 0) mosquitto_loop_misc(client->mosq_);
    }
  }
  for (MqttClient* client : clients_) Reconnect(client, now);
  return active;
}

bool MqttEventLoop::RunUntil(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    RunOnce(static_cast<int>(std::min<int64_t>(left, 50)));
  }
  return true;
}

std::size_t MqttEventLoop::connected_count() const {
  std::size_t count = 0;
  for (const MqttClient* client : clients_) {
    if (client->connected()) ++count;
  }
  return count;
}

}  // namespace custos::net
