// File: custos/agent/agent.cpp
#include "custos/agent/agent.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "custos/agent/api_calls.h"
#include "custos/core/clock.h"

namespace custos::agent {

StatusOr<std::unique_ptr<Agent>> Agent::Create(std::unique_ptr<DeviceSession> session,
                                               AgentOptions options) {
  if (session == nullptr) return InvalidArgumentError("the agent needs a device session");
  if (options.api_port <= 0 || options.api_port > 65535) {
    return InvalidArgumentError("the agent needs custosd's API port");
  }
  CUSTOS_ASSIGN_OR_RETURN(const TelemetryProfile* profile, FindProfile(options.profile));
  if (options.interval_ms < 0) return InvalidArgumentError("the interval must not be negative");
  return std::unique_ptr<Agent>(new Agent(std::move(session), std::move(options), profile));
}

Agent::Agent(std::unique_ptr<DeviceSession> session, AgentOptions options,
             const TelemetryProfile* profile)
    : session_(std::move(session)),
      options_(std::move(options)),
      profile_(profile),
      rng_(std::random_device{}()) {}

Agent::~Agent() {
  if (client_ != nullptr) client_->Disconnect();
}

void Agent::Event(const std::string& line) {
  if (options_.on_event) options_.on_event(line);
}

void Agent::RequestStop() {
  stop_.store(true);
  wake_.notify_all();
}

AgentStats Agent::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  AgentStats out = stats_;
  out.enrolled = session_->enrolled();
  out.last_sequence = session_->last_sequence();
  return out;
}

Status Agent::ConnectWithRetry() {
  std::optional<server::FleetInfo> fleet = session_->fleet();
  if (!fleet.has_value()) return FailedPreconditionError("the device is not enrolled");
  int backoff_ms = options_.min_backoff_ms;
  while (!stop_.load()) {
    StatusOr<net::SslCtxPtr> ctx = session_->MqttTlsContext();
    if (!ctx.ok()) return ctx.status();
    net::MqttClientOptions mqtt;
    mqtt.host = fleet->mqtt.host;
    mqtt.port = static_cast<uint16_t>(fleet->mqtt.port);
    mqtt.client_id = session_->device_id();
    mqtt.ssl_ctx = ctx->get();
    mqtt.min_backoff_ms = options_.min_backoff_ms;
    mqtt.max_backoff_ms = options_.max_backoff_ms;
    StatusOr<std::unique_ptr<net::MqttClient>> client = net::MqttClient::Create(mqtt);
    if (!client.ok()) return client.status();
    net::MqttClient* raw = client->get();
    raw->set_message_handler([this](const net::MqttMessageView& message) {
      StatusOr<net::CommandMessage> command = session_->OpenCommand(message.payload, UnixMillis());
      std::lock_guard<std::mutex> lock(mutex_);
      if (!command.ok()) {
        ++stats_.commands_ignored;
        return;
      }
      actions_.push_back(command->command);
      wake_.notify_all();
    });
    // Whether this client was connected before (then a new CONNACK is a
    // reconnection by libmosquitto's thread).
    auto connected_before = std::make_shared<bool>(false);
    raw->set_connect_handler([this, connected_before](int code) {
      bool reconnected = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (code == net::kConnackAccepted) {
          ++stats_.connections;
          reconnected = *connected_before;
          *connected_before = true;
          stats_.connected = true;
        } else {
          ++stats_.refusals;
        }
      }
      if (code != net::kConnackAccepted) {
        Event("mqtt connection refused (CONNACK " + std::to_string(code) + ")");
      } else if (reconnected) {
        Event("reconnected to mqtt");
      }
    });
    raw->set_disconnect_handler([this](int reason) {
      bool was_connected = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        was_connected = stats_.connected;
        stats_.connected = false;
      }
      if (was_connected && reason != 0) {
        Event("mqtt connection lost (reason " + std::to_string(reason) +
              "); reconnecting with backoff");
      }
    });
    raw->set_published_handler([this](int /*message_id*/) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.messages_acked;
      wake_.notify_all();
    });
    Status connected = raw->Connect(options_.connect_timeout_ms);
    if (connected.ok()) {
      (void)raw->Subscribe(session_->commands_topic(), 1);
      client_ = *std::move(client);
      Event("connected to mqtt " + fleet->mqtt.host + ":" + std::to_string(fleet->mqtt.port) +
            " as " + session_->device_id() + " (certificate " + session_->certificate_serial() +
            ")");
      return OkStatus();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (connected.code() != StatusCode::kPermissionDenied) ++stats_.refusals;
    }
    Event("mqtt connection failed: " + std::string(connected.message()) + "; retrying in " +
          std::to_string(backoff_ms) + " ms");
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stop_.load(); });
    backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
  }
  return OkStatus();
}

void Agent::PublishTelemetry(std::string_view type, nlohmann::json values) {
  StatusOr<SealedTelemetry> sealed =
      session_->SealTelemetry(type, profile_->name, std::move(values), UnixMicros());
  bool sent = false;
  if (sealed.ok() && client_ != nullptr) {
    sent = client_->Publish(session_->telemetry_topic(), sealed->payload, 1).ok();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (sent) {
    ++stats_.messages_sent;
  } else {
    ++stats_.publish_failures;
  }
}

nlohmann::json Agent::ReportValues() const {
  AgentStats now = stats();
  return {{"certificate_serial", session_->certificate_serial()},
          {"last_sequence", now.last_sequence},
          {"messages_sent", now.messages_sent},
          {"rotations", now.rotations},
          {"connections", now.connections},
          {"uptime_s", (UnixMillis() - started_ms_) / 1000},
          {"profile", std::string(profile_->name)}};
}

void Agent::Rotate() {
  const std::string old_serial = session_->certificate_serial();
  Status rotated = RotateOverApi(*session_, options_.api_port, UnixSeconds());
  if (!rotated.ok()) {
    Event("rotation failed: " + std::string(rotated.message()));
    return;
  }
  // The old connection stops first: the broker would otherwise drop one of
  // the two sessions with the same client id, and the old one would
  // reconnect.
  if (client_ != nullptr) client_->Disconnect();
  client_.reset();
  Status connected = ConnectWithRetry();
  if (!connected.ok()) {
    Event("reconnecting after rotation failed: " + std::string(connected.message()));
    return;
  }
  Status destroyed = session_->DestroyRetiredKey();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.rotations;
  }
  Event("rotated: certificate " + old_serial + " -> " + session_->certificate_serial() +
        (destroyed.ok() ? ", old key destroyed"
                        : ", old key NOT destroyed: " + std::string(destroyed.message())));
}

Status Agent::Run() {
  started_ms_ = UnixMillis();
  if (!session_->enrolled()) {
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpsClient> api,
                            session_->ApiClient(options_.api_port, /*mutual=*/false));
    CUSTOS_RETURN_IF_ERROR(EnrollOverApi(*session_, *api, options_.token, UnixSeconds()));
    Event("enrolled " + session_->device_id() + " with " +
          (options_.token.empty() ? "its birth certificate" : "a token") + ": certificate " +
          session_->certificate_serial());
  }
  CUSTOS_RETURN_IF_ERROR(ConnectWithRetry());
  const int64_t interval_ms =
      options_.interval_ms > 0 ? options_.interval_ms : profile_->interval_ms;
  auto next_due = std::chrono::steady_clock::now();
  uint64_t sent_or_tried = 0;
  while (!stop_.load()) {
    std::deque<std::string> actions;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_until(
          lock,
          std::min(next_due, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)),
          [this] { return stop_.load() || !actions_.empty(); });
      actions.swap(actions_);
    }
    for (const std::string& action : actions) {
      if (stop_.load()) break;
      Event("command: " + action);
      if (action == "rotate") {
        Rotate();
      } else if (action == "report") {
        PublishTelemetry("report", ReportValues());
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.commands;
    }
    if (stop_.load()) break;
    if (std::chrono::steady_clock::now() >= next_due) {
      PublishTelemetry("telemetry", profile_->reading(rng_, session_->last_sequence() + 1));
      ++sent_or_tried;
      if (options_.count != 0 && sent_or_tried >= options_.count) break;
      next_due += std::chrono::milliseconds(NextDelayMs(interval_ms, rng_));
      // After a long pause (a rotation, a reconnection) do not burst.
      next_due = std::max(next_due, std::chrono::steady_clock::now());
    }
  }
  {
    // Give the broker a moment to acknowledge what was sent.
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::seconds(2),
                   [this] { return stats_.messages_acked >= stats_.messages_sent; });
  }
  if (client_ != nullptr) client_->Disconnect();
  return OkStatus();
}

}  // namespace custos::agent
