// File: custos/sim/fleet.cpp
#include "custos/sim/fleet.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <random>

#include "custos/agent/api_calls.h"
#include "custos/agent/device_session.h"
#include "custos/agent/profiles.h"
#include "custos/core/clock.h"
#include "custos/net/https_server.h"

namespace custos::sim {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

StatusOr<std::vector<ProfileShare>> ParseProfileMix(std::string_view text) {
  std::vector<ProfileShare> out;
  int total = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t colon = item.find(':');
    ProfileShare share;
    share.profile = std::string(item.substr(0, colon));
    CUSTOS_RETURN_IF_ERROR(agent::FindProfile(share.profile).status());
    if (colon != std::string_view::npos) {
      const std::string weight(item.substr(colon + 1));
      char* end = nullptr;
      const long value = std::strtol(weight.c_str(), &end, 10);
      if (weight.empty() || *end != '\0' || value < 0 || value > 1000000) {
        return InvalidArgumentError("profile mix: bad weight '" + weight + "' for " +
                                    share.profile);
      }
      share.weight = static_cast<int>(value);
    }
    total += share.weight;
    out.push_back(std::move(share));
  }
  if (out.empty() || total <= 0) {
    return InvalidArgumentError("profile mix: give at least one profile with a weight above 0");
  }
  return out;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const std::size_t index =
      static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[index];
}

// One simulated device. Fields marked (loop) are used on the loop thread only
// (or before it starts / after it stopped).
struct Fleet::Device {
  std::size_t index = 0;
  std::string id;
  std::unique_ptr<agent::DeviceSession> session;
  const agent::TelemetryProfile* profile = nullptr;
  int64_t interval_ms = 1000;
  std::atomic<bool> enrolled{false};
  std::atomic<bool> rotating{false};
  std::mutex rng_mutex;
  agent::ProfileRng rng;
  // (loop)
  std::unique_ptr<net::MqttClient> client;
  int generation = 0;
  bool connected = false;
  int connections = 0;
  Clock::time_point next_due;
  bool rotation_pending = false;
  Clock::time_point rotation_started;
};

// A fixed number of threads running queued tasks in order of arrival.
class Fleet::WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Main(); });
  }
  ~WorkerPool() { Stop(); }
  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  // Drops queued tasks, waits for running ones, joins.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Main() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopped_ || !tasks_.empty(); });
        if (stopped_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {}

Fleet::~Fleet() {
  if (workers_ != nullptr) workers_->Stop();
  Stop();
}

StatusOr<std::unique_ptr<Fleet>> Fleet::Create(FleetOptions options) {
  if (options.api_port <= 0 || options.api_port > 65535) {
    return InvalidArgumentError("the fleet needs custosd's API port");
  }
  if (options.roots.empty()) return InvalidArgumentError("the fleet needs the fleet roots");
  if (options.devices < 1) return InvalidArgumentError("the fleet needs at least one device");
  if (!options.tokens.empty() &&
      options.tokens.size() < static_cast<std::size_t>(options.devices)) {
    return InvalidArgumentError("fewer tokens (" + std::to_string(options.tokens.size()) +
                                ") than devices (" + std::to_string(options.devices) + ")");
  }
  if (options.tokens.empty() && options.operator_token.empty()) {
    return InvalidArgumentError("give enrollment tokens or the operator token to mint them");
  }
  if (options.interval_scale <= 0) return InvalidArgumentError("interval_scale must be > 0");
  options.workers = std::clamp(options.workers, 1, 16);
  int total_weight = 0;
  std::vector<const agent::TelemetryProfile*> profiles;
  for (const ProfileShare& share : options.profiles) {
    CUSTOS_ASSIGN_OR_RETURN(const agent::TelemetryProfile* profile,
                            agent::FindProfile(share.profile));
    if (share.weight < 0) return InvalidArgumentError("a profile weight is negative");
    profiles.push_back(profile);
    total_weight += share.weight;
  }
  if (total_weight <= 0) return InvalidArgumentError("the profile weights sum to 0");

  std::unique_ptr<Fleet> fleet(new Fleet(std::move(options)));
  const FleetOptions& opts = fleet->options_;
  CUSTOS_ASSIGN_OR_RETURN(fleet->verifier_, net::PeerVerifier::Create(opts.roots));
  std::mt19937_64 seeder(opts.seed != 0 ? opts.seed : std::random_device{}());
  const int digits = std::max(5, static_cast<int>(std::to_string(opts.devices).size()));
  for (int i = 0; i < opts.devices; ++i) {
    auto device = std::make_unique<Device>();
    device->index = static_cast<std::size_t>(i);
    std::string number = std::to_string(i + 1);
    if (static_cast<int>(number.size()) < digits) {
      number.insert(0, static_cast<std::size_t>(digits) - number.size(), '0');
    }
    device->id = opts.id_prefix + number;
    CUSTOS_ASSIGN_OR_RETURN(device->session,
                            agent::DeviceSession::CreateInMemory(device->id, opts.roots));
    device->rng.seed(seeder());
    // Weighted choice of the profile.
    int pick = static_cast<int>(seeder() % static_cast<uint64_t>(total_weight));
    for (std::size_t p = 0; p < profiles.size(); ++p) {
      pick -= opts.profiles[p].weight;
      if (pick < 0) {
        device->profile = profiles[p];
        break;
      }
    }
    device->interval_ms = std::max<int64_t>(
        1, std::llround(static_cast<double>(device->profile->interval_ms) * opts.interval_scale));
    fleet->devices_.push_back(std::move(device));
  }
  fleet->stats_.devices = opts.devices;
  fleet->workers_ = std::make_unique<WorkerPool>(opts.workers);
  return fleet;
}

StatusOr<EnrollReport> Fleet::Enroll() {
  EnrollReport report;
  const Clock::time_point start = Clock::now();
  net::HttpsClientOptions client_options;
  client_options.port = options_.api_port;
  client_options.server_verifier = verifier_;
  client_options.keep_alive = true;
  client_options.timeout_seconds = 30;

  std::vector<SecretBytes> tokens = options_.tokens;
  if (tokens.empty()) {
    std::size_t missing = 0;
    for (const auto& device : devices_) missing += device->enrolled.load() ? 0 : 1;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpsClient> client,
                            net::HttpsClient::Create(client_options));
    while (tokens.size() < missing) {
      const int count = static_cast<int>(std::min<std::size_t>(missing - tokens.size(), 10000));
      CUSTOS_ASSIGN_OR_RETURN(std::vector<SecretBytes> minted,
                              agent::MintTokens(*client, options_.operator_token, count, 3600));
      for (SecretBytes& token : minted) tokens.push_back(std::move(token));
    }
    report.token_ms = MsSince(start);
  }

  std::vector<Device*> pending;
  for (const auto& device : devices_) {
    if (!device->enrolled.load()) pending.push_back(device.get());
  }
  std::atomic<std::size_t> next{0};
  std::mutex report_mutex;
  auto worker = [&] {
    StatusOr<std::unique_ptr<net::HttpsClient>> client = net::HttpsClient::Create(client_options);
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= pending.size()) return;
      Device& device = *pending[i];
      const Clock::time_point t0 = Clock::now();
      Status enrolled = client.status();
      if (enrolled.ok()) {
        enrolled = agent::EnrollOverApi(*device.session, **client, tokens[i], UnixMillis() / 1000);
      }
      const double ms = MsSince(t0);
      std::lock_guard<std::mutex> lock(report_mutex);
      if (enrolled.ok()) {
        device.enrolled.store(true);
        ++report.enrolled;
        report.latencies_ms.push_back(ms);
      } else {
        ++report.failed;
        if (report.first_error.empty()) {
          report.first_error = device.id + ": " + std::string(enrolled.message());
        }
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(options_.workers));
  for (int t = 0; t < options_.workers; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  report.wall_ms = MsSince(start);
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.enrolled += report.enrolled;
    stats_.enroll_failures += report.failed;
  }
  stats_changed_.notify_all();
  return report;
}

void Fleet::RecordEvent(const Device& device, ConnectionEventKind kind, int code) {
  // Called with stats_mutex_ held.
  events_.push_back(ConnectionEvent{device.id, kind, Clock::now(), code});
}

StatusOr<std::unique_ptr<net::MqttClient>> Fleet::MakeClient(Device& device) {
  std::optional<server::FleetInfo> fleet = device.session->fleet();
  if (!fleet.has_value()) return FailedPreconditionError(device.id + " is not enrolled");
  CUSTOS_ASSIGN_OR_RETURN(net::SslCtxPtr ctx, device.session->MqttTlsContext(verifier_));
  net::MqttClientOptions mqtt;
  mqtt.host = fleet->mqtt.host;
  mqtt.port = static_cast<uint16_t>(fleet->mqtt.port);
  mqtt.client_id = device.id;
  mqtt.ssl_ctx = ctx.get();
  mqtt.min_backoff_ms = options_.min_backoff_ms;
  mqtt.max_backoff_ms = options_.max_backoff_ms;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::MqttClient> client, net::MqttClient::Create(mqtt));
  // The handlers of this client act only while it is the device's current
  // one (a replaced client's late callbacks are ignored).
  const int generation = ++device.generation;
  Device* d = &device;
  client->set_connect_handler([this, d, generation](int code) {
    if (d->generation != generation) return;
    std::unique_lock<std::mutex> lock(stats_mutex_);
    if (code != net::kConnackAccepted) {
      ++stats_.refusals;
      RecordEvent(*d, ConnectionEventKind::kRefused, code);
      return;
    }
    if (!d->connected) ++stats_.connected;
    d->connected = true;
    ++stats_.connections;
    if (++d->connections > 1) ++stats_.reconnects;
    RecordEvent(*d, ConnectionEventKind::kConnected, code);
    if (d->connections == 1) {
      std::lock_guard<std::mutex> rng_lock(d->rng_mutex);
      d->next_due =
          Clock::now() + std::chrono::milliseconds(agent::FirstDelayMs(d->interval_ms, d->rng));
    }
    if (d->rotation_pending) {
      d->rotation_pending = false;
      ++stats_.rotated;
      rotation_ms_.push_back(MsSince(d->rotation_started));
      d->rotating.store(false);
      lock.unlock();
      (void)d->session->DestroyRetiredKey();
    } else {
      lock.unlock();
    }
    stats_changed_.notify_all();
  });
  client->set_disconnect_handler([this, d, generation](int reason) {
    if (d->generation != generation) return;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      if (d->connected) --stats_.connected;
      d->connected = false;
      ++stats_.disconnects;
      RecordEvent(*d, ConnectionEventKind::kDisconnected, reason);
    }
    stats_changed_.notify_all();
  });
  client->set_message_handler([this, d](const net::MqttMessageView& message) {
    StatusOr<net::CommandMessage> command = d->session->OpenCommand(message.payload, UnixMillis());
    if (!command.ok()) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.commands_ignored;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.commands;
    }
    if (command->command == "rotate") {
      workers_->Submit([this, d] { RotateOnWorker(*d); });
    } else if (command->command == "report") {
      Publish(*d, "report");
    }
  });
  client->set_published_handler([this](int /*message_id*/) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.messages_acked;
  });
  (void)client->Subscribe(device.session->commands_topic(), 1);
  return client;
}

void Fleet::Publish(Device& device, std::string_view type) {
  nlohmann::json values;
  if (type == "report") {
    values = {{"certificate_serial", device.session->certificate_serial()},
              {"last_sequence", device.session->last_sequence()},
              {"connections", device.connections},
              {"profile", std::string(device.profile->name)}};
  } else {
    std::lock_guard<std::mutex> lock(device.rng_mutex);
    values = device.profile->reading(device.rng, device.session->last_sequence() + 1);
  }
  StatusOr<agent::SealedTelemetry> sealed =
      device.session->SealTelemetry(type, device.profile->name, std::move(values), UnixMicros());
  bool sent = false;
  if (sealed.ok() && device.client != nullptr) {
    sent = device.client->Publish(device.session->telemetry_topic(), sealed->payload, 1).ok();
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  if (sent) {
    ++stats_.messages_sent;
  } else {
    ++stats_.publish_failures;
  }
}

void Fleet::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(tasks_mutex_);
  tasks_.push_back(std::move(task));
}

void Fleet::RotateOnWorker(Device& device) {
  if (device.rotating.exchange(true)) return;  // one rotation at a time
  const Clock::time_point start = Clock::now();
  Status rotated = agent::RotateOverApi(*device.session, options_.api_port, UnixMillis() / 1000);
  if (rotated.ok()) {
    // MakeClient touches device.generation, which the loop thread reads:
    // build the client there.
    Post([this, d = &device, start] {
      StatusOr<std::unique_ptr<net::MqttClient>> fresh = MakeClient(*d);
      if (!fresh.ok()) {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.rotation_failures;
        d->rotating.store(false);
        return;
      }
      if (d->client != nullptr) loop_->Remove(d->client.get());
      {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        if (d->connected) {
          --stats_.connected;
          ++stats_.disconnects;
          RecordEvent(*d, ConnectionEventKind::kDisconnected, 0);
        }
        d->connected = false;
        d->rotation_pending = true;
        d->rotation_started = start;
      }
      d->client = *std::move(fresh);
      (void)loop_->Add(d->client.get());
    });
    return;
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ++stats_.rotation_failures;
  device.rotating.store(false);
}

void Fleet::RequestRotation(const std::vector<std::string>& device_ids) {
  for (const std::string& id : device_ids) {
    Device* device = Find(id);
    if (device == nullptr || !device->enrolled.load()) continue;
    workers_->Submit([this, device] { RotateOnWorker(*device); });
  }
}

Status Fleet::Start() {
  if (running_.load()) return OkStatus();
  stopping_.store(false);
  draining_.store(false);
  loop_ = std::make_unique<net::MqttEventLoop>();
  for (const auto& device : devices_) {
    if (!device->enrolled.load() || device->client != nullptr) continue;
    CUSTOS_ASSIGN_OR_RETURN(device->client, MakeClient(*device));
    CUSTOS_RETURN_IF_ERROR(loop_->Add(device->client.get()));
  }
  running_.store(true);
  loop_thread_ = std::thread([this] { LoopMain(); });
  return OkStatus();
}

void Fleet::LoopMain() {
  while (!stopping_.load()) {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(tasks_mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
    loop_->RunOnce(5);
    if (!options_.publish || draining_.load()) continue;
    const Clock::time_point now = Clock::now();
    for (const auto& device : devices_) {
      Device& d = *device;
      if (!d.connected || now < d.next_due) continue;
      Publish(d, "telemetry");
      std::lock_guard<std::mutex> lock(d.rng_mutex);
      d.next_due += std::chrono::milliseconds(agent::NextDelayMs(d.interval_ms, d.rng));
      if (d.next_due < now) d.next_due = now;
    }
  }
}

void Fleet::Stop() {
  if (!running_.load()) return;
  draining_.store(true);
  // Wait (up to 2 s) for the broker to acknowledge what was published, but
  // not for acknowledgements that stopped coming (e.g. a message of a device
  // that was revoked and cut off before its acknowledgement).
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  uint64_t acked = Stats().messages_acked;
  while (Clock::now() < deadline) {
    if (WaitFor([](const FleetStats& s) { return s.messages_acked >= s.messages_sent; },
                std::chrono::milliseconds(250))) {
      break;
    }
    const uint64_t now_acked = Stats().messages_acked;
    if (now_acked == acked) break;
    acked = now_acked;
  }
  stopping_.store(true);
  if (loop_thread_.joinable()) loop_thread_.join();
  for (const auto& device : devices_) {
    if (device->client != nullptr) {
      ++device->generation;  // its callbacks no longer count
      loop_->Remove(device->client.get());
      device->client.reset();
    }
  }
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    for (const auto& device : devices_) {
      if (device->connected) {
        device->connected = false;
        --stats_.connected;
      }
    }
  }
  loop_.reset();
  running_.store(false);
}

Status Fleet::Connect(std::chrono::milliseconds timeout) {
  CUSTOS_RETURN_IF_ERROR(Start());
  const bool all = WaitFor([](const FleetStats& s) { return s.connected >= s.enrolled; }, timeout);
  if (all) return OkStatus();
  FleetStats now = Stats();
  return DeadlineExceededError(std::to_string(now.connected) + " of " +
                               std::to_string(now.enrolled) + " enrolled devices connected in " +
                               std::to_string(timeout.count()) + " ms (" +
                               std::to_string(now.refusals) + " refusals)");
}

FleetStats Fleet::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

bool Fleet::WaitFor(const std::function<bool(const FleetStats&)>& done,
                    std::chrono::milliseconds timeout) const {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(stats_mutex_);
  while (!done(stats_)) {
    // Wake up regularly too: some counters change without a notification.
    if (Clock::now() >= deadline) return false;
    stats_changed_.wait_until(lock,
                              std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
  }
  return true;
}

std::vector<ConnectionEvent> Fleet::ConnectionEvents(std::string_view device_id) const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  if (device_id.empty()) return events_;
  std::vector<ConnectionEvent> out;
  for (const ConnectionEvent& event : events_) {
    if (event.device_id == device_id) out.push_back(event);
  }
  return out;
}

std::vector<std::string> Fleet::device_ids() const {
  std::vector<std::string> ids;
  ids.reserve(devices_.size());
  for (const auto& device : devices_) ids.push_back(device->id);
  return ids;
}

Fleet::Device* Fleet::Find(std::string_view device_id) const {
  for (const auto& device : devices_) {
    if (device->id == device_id) return device.get();
  }
  return nullptr;
}

StatusOr<std::string> Fleet::profile_of(std::string_view device_id) const {
  Device* device = Find(device_id);
  if (device == nullptr) return NotFoundError("no device '" + std::string(device_id) + "'");
  return std::string(device->profile->name);
}

StatusOr<std::string> Fleet::certificate_serial(std::string_view device_id) const {
  Device* device = Find(device_id);
  if (device == nullptr) return NotFoundError("no device '" + std::string(device_id) + "'");
  return device->session->certificate_serial();
}

StatusOr<uint64_t> Fleet::last_sequence(std::string_view device_id) const {
  Device* device = Find(device_id);
  if (device == nullptr) return NotFoundError("no device '" + std::string(device_id) + "'");
  return device->session->last_sequence();
}

std::vector<double> Fleet::RotationLatenciesMs() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return rotation_ms_;
}

}  // namespace custos::sim
