#include "custos/server/control_plane.h"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>

#include "custos/core/clock.h"
#include "custos/core/ct.h"
#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/core/secret_bytes.h"
#include "custos/crypto/spki.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/x509_certificate.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_token.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/net/broker_policy.h"
#include "custos/net/broker_process.h"
#include "custos/net/https_server.h"
#include "custos/net/mqtt_client.h"
#include "custos/net/telemetry_channel.h"
#include "custos/net/tls_context.h"
#include "custos/net/tls_key.h"
#include "custos/store/fleet_state.h"
#include "custos/store/sqlite_device_registry.h"

namespace custos::server {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kLatencyWindow = 100000;
constexpr int64_t kCrlRefreshSeconds = 24 * 3600;
constexpr std::size_t kMaxPendingActivity = 200000;
// Telemetry messages received but not yet processed, at most.
constexpr std::size_t kMaxInbox = 200000;
// Histogram buckets of the telemetry latency, in seconds (Prometheus unit).
constexpr double kLatencyBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Annotate(const Status& status, std::string_view what) {
  return Status(status.code(), std::string(what) + ": " + std::string(status.message()));
}

// ---- files -----------------------------------------------------------------

Status ErrnoError(std::string_view what, const std::string& path) {
  return UnavailableError(std::string(what) + " " + path + ": " + std::strerror(errno));
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("cannot create", path);
  return OkStatus();
}

StatusOr<SecretBytes> ReadSecretFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + " does not exist");
    return ErrnoError("cannot read", path);
  }
  SecretBytes out(max_bytes + 1);
  std::size_t done = 0;
  for (;;) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = ErrnoError("cannot read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
    if (done == out.size()) break;
  }
  ::close(fd);
  if (done > max_bytes) return InvalidArgumentError(path + " is too large");
  return SecretBytes(out.span().first(done));
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// ---- keys for the broker and the subscriber ---------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

StatusOr<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return InternalError("OpenSSL could not generate a P-256 key");
  return key;
}

StatusOr<SecretBytes> KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_secmem()), BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("OpenSSL could not encode a private key");
  }
  const char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0) return InternalError("OpenSSL could not encode a private key");
  return SecretBytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size)));
}

std::string PemOf(const std::vector<identity::Certificate>& certs) {
  std::string pem;
  for (const identity::Certificate& c : certs) pem += c.ToPem();
  return pem;
}

std::string CrlPem(const std::vector<identity::Crl>& crls) {
  std::string pem;
  for (const identity::Crl& c : crls) pem += c.ToPem();
  return pem;
}

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

// The device id of "devices/<id>/telemetry", or "" if the topic has another form.
std::string_view TelemetryTopicDevice(std::string_view topic) {
  constexpr std::string_view kPrefix = "devices/";
  constexpr std::string_view kSuffix = "/telemetry";
  if (topic.size() <= kPrefix.size() + kSuffix.size() ||
      topic.substr(0, kPrefix.size()) != kPrefix ||
      topic.substr(topic.size() - kSuffix.size()) != kSuffix) {
    return {};
  }
  std::string_view id =
      topic.substr(kPrefix.size(), topic.size() - kPrefix.size() - kSuffix.size());
  if (!identity::ValidateDeviceId(id).ok()) return {};
  return id;
}

}  // namespace

// ---- state -------------------------------------------------------------------

// One instance per control plane; members grouped by purpose, not packed.
struct ControlPlane::Impl {  // NOLINT(clang-analyzer-optin.performance.Padding)
  ControlPlaneOptions options;
  std::string dir;
  int lock_fd = -1;
  std::vector<std::string> created;
  Clock::time_point started_at = Clock::now();

  // The CA (not thread-safe): every use under ca_mutex.
  mutable std::mutex ca_mutex;
  std::unique_ptr<identity::FleetCa> ca;
  std::string ca_name;

  // The fleet state (one SQLite connection, not thread-safe).
  mutable std::mutex state_mutex;
  std::unique_ptr<store::FleetState> state;

  // custosd's telemetry key store (not thread-safe) and public key.
  std::mutex telemetry_store_mutex;
  std::unique_ptr<keystore::KeyStore> telemetry_store;
  std::vector<uint8_t> telemetry_spki;

  // Operator token: only its digest.
  std::array<uint8_t, 32> operator_token_sha256{};

  // TLS.
  std::shared_ptr<keystore::KeyStore> api_store;
  net::EvpPkeyPtr api_key;
  std::shared_ptr<net::PeerVerifier> client_verifier;
  std::unique_ptr<net::HttpsServer> https;

  // The broker (restarted by the supervisor when it dies).
  mutable std::mutex broker_mutex;
  std::condition_variable broker_cv;
  std::unique_ptr<net::MosquittoBroker> broker;
  net::MosquittoBrokerConfig broker_config;  // without the key after start
  SecretBytes broker_key_pem;
  std::string crl_pem;
  bool broker_died = false;
  int64_t broker_restarts = 0;
  int mqtt_port = 0;
  std::thread supervisor;

  // The subscriber.
  PkeyPtr subscriber_key;
  net::SslCtxPtr subscriber_ctx;
  // Guards the subscriber pointer (replaced when it cannot reconnect).
  mutable std::mutex subscriber_mutex;
  std::unique_ptr<net::MqttClient> subscriber;
  int subscriber_down_checks = 0;
  int64_t subscriber_replacements = 0;

  // Channels and replay state per device.
  struct DeviceChannel {
    std::shared_ptr<const net::TelemetryChannel> channel;
    uint64_t last_seq = 0;
  };
  std::mutex channels_mutex;
  std::unordered_map<std::string, DeviceChannel> channels;

  // Telemetry received by the MQTT thread, waiting to be opened and checked
  // by the processor thread (so that the subscriber's socket is drained at
  // once, whatever the processing costs: a slow reader makes the broker drop
  // QoS 0 messages once 1,000 are queued for it).
  struct ReceivedTelemetry {
    std::string topic;
    std::vector<uint8_t> payload;
    int64_t received_ms = 0;
  };
  std::mutex inbox_mutex;
  std::condition_variable inbox_cv;
  std::vector<ReceivedTelemetry> inbox;
  bool stopping_processor = false;
  std::thread processor;

  // Activity waiting for the writer.
  std::mutex activity_mutex;
  std::condition_variable activity_cv;
  std::vector<store::DeviceActivity> pending;
  bool stopping_writer = false;
  std::thread writer;

  // Group commit of enrollments.
  struct PendingEnrollment {
    store::EnrollmentRecord record;
    bool done = false;
    Status result;
  };
  std::mutex group_mutex;
  std::condition_variable group_cv;
  std::deque<PendingEnrollment*> group_queue;
  bool group_committing = false;

  // Counters.
  mutable std::mutex stats_mutex;
  ControlPlaneStats counters;
  std::vector<double> latencies_ms;  // ring of kLatencyWindow
  std::size_t latency_next = 0;
  std::array<int64_t, std::size(kLatencyBuckets)> latency_buckets{};
  double latency_sum_s = 0;
  int64_t latency_count = 0;

  std::atomic<bool> stopped{false};
  std::atomic<int64_t> last_crl_issued_s{0};

  ~Impl() { Shutdown(); }

  // ---- start ---------------------------------------------------------------

  Status Init();
  Status OpenCa();
  Status OpenTelemetryStore();
  Status OpenOperatorToken();
  Status StartBroker();
  Status StartSubscriber();
  // A new subscriber client, connected (threaded), subscribed to telemetry.
  StatusOr<std::unique_ptr<net::MqttClient>> ConnectSubscriber();
  Status StartHttps();
  void Shutdown();

  // ---- helpers ---------------------------------------------------------------

  FleetInfo Fleet() const {
    FleetInfo info;
    info.ca_name = ca_name;
    info.api.port = https ? https->port() : 0;
    info.mqtt.port = mqtt_port;
    info.telemetry_key = telemetry_spki;
    return info;
  }

  Status CheckOperator(const net::HttpsRequest& request) const {
    const std::string header = request.Header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
      return UnauthenticatedError("this route needs an operator token (Authorization: Bearer ...)");
    }
    const std::array<uint8_t, 32> digest =
        Sha256(AsBytes(std::string_view(header).substr(kBearer.size())));
    if (!CtEqual(digest, operator_token_sha256)) {
      return UnauthenticatedError("the operator token is not valid");
    }
    return OkStatus();
  }

  void Count(int64_t ControlPlaneStats::*field, int64_t n = 1) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    counters.*field += n;
  }

  void Reject(const std::string& reason) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    ++counters.telemetry_rejected[reason];
  }

  void RecordLatency(double ms) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    if (latencies_ms.size() < kLatencyWindow) {
      latencies_ms.push_back(ms);
    } else {
      latencies_ms[latency_next] = ms;
      latency_next = (latency_next + 1) % kLatencyWindow;
    }
    const double s = ms / 1000.0;
    for (std::size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
      if (s <= kLatencyBuckets[i]) ++latency_buckets[i];
    }
    latency_sum_s += s;
    ++latency_count;
  }

  // Appends an audit entry (a FULL commit: it also makes the CA's writes
  // before it durable, see ControlPlaneOptions::group_commit).
  Status Audit(std::string_view actor, std::string_view action, std::string_view target,
               const Json& detail) {
    store::AuditEntry entry;
    entry.at_ms = NowMs();
    entry.actor = std::string(actor);
    entry.action = std::string(action);
    entry.target = std::string(target);
    entry.detail_json = detail.is_null() ? "" : detail.dump();
    std::lock_guard<std::mutex> lock(state_mutex);
    return state->AppendAudit(entry).status();
  }

  // The channel of `device_id`, derived on first use from its recorded key.
  StatusOr<std::shared_ptr<const net::TelemetryChannel>> ChannelOf(const std::string& device_id) {
    {
      std::lock_guard<std::mutex> lock(channels_mutex);
      auto it = channels.find(device_id);
      if (it != channels.end() && it->second.channel) return it->second.channel;
    }
    std::optional<std::vector<uint8_t>> key;
    uint64_t last_seq = 0;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      CUSTOS_ASSIGN_OR_RETURN(key, state->GetTelemetryKey(device_id));
      if (key.has_value()) {
        CUSTOS_ASSIGN_OR_RETURN(std::optional<store::TelemetrySummary> summary,
                                state->GetTelemetry(device_id));
        if (summary.has_value()) last_seq = static_cast<uint64_t>(summary->last_sequence);
      }
    }
    if (!key.has_value()) return NotFoundError("no telemetry key for device " + device_id);
    std::shared_ptr<const net::TelemetryChannel> channel;
    {
      std::lock_guard<std::mutex> lock(telemetry_store_mutex);
      CUSTOS_ASSIGN_OR_RETURN(
          net::TelemetryChannel derived,
          net::TelemetryChannel::Derive(*telemetry_store, kTelemetryKeyLabel, *key, telemetry_spki,
                                        device_id, /*own_is_device=*/false));
      channel = std::make_shared<const net::TelemetryChannel>(std::move(derived));
    }
    std::lock_guard<std::mutex> lock(channels_mutex);
    DeviceChannel& entry = channels[device_id];
    entry.channel = channel;
    entry.last_seq = std::max(entry.last_seq, last_seq);
    return channel;
  }

  void ForgetChannel(const std::string& device_id) {
    std::lock_guard<std::mutex> lock(channels_mutex);
    auto it = channels.find(device_id);
    if (it != channels.end()) it->second.channel.reset();
  }

  // ---- telemetry ---------------------------------------------------------------

  // On the MQTT thread: queue the message for the processor and return.
  void OnTelemetry(const net::MqttMessageView& message) {
    Count(&ControlPlaneStats::telemetry_received);
    ReceivedTelemetry received{std::string(message.topic),
                               std::vector<uint8_t>(message.payload.begin(), message.payload.end()),
                               NowMs()};
    {
      std::lock_guard<std::mutex> lock(inbox_mutex);
      if (inbox.size() >= kMaxInbox) {
        // custosd cannot keep up: drop and count rather than grow without bound.
        Reject("overload");
        return;
      }
      inbox.push_back(std::move(received));
    }
    inbox_cv.notify_one();
  }

  void ProcessorLoop() {
    std::unique_lock<std::mutex> lock(inbox_mutex);
    for (;;) {
      inbox_cv.wait(lock, [this] { return stopping_processor || !inbox.empty(); });
      std::vector<ReceivedTelemetry> batch;
      batch.swap(inbox);
      const bool stop = stopping_processor;
      lock.unlock();
      for (const ReceivedTelemetry& message : batch) ProcessTelemetry(message);
      lock.lock();
      if (stop && inbox.empty()) return;
    }
  }

  // Opens and checks one message and queues its activity for the writer.
  void ProcessTelemetry(const ReceivedTelemetry& message) {
    const int64_t received_ms = message.received_ms;
    const std::string device_id(TelemetryTopicDevice(message.topic));
    if (device_id.empty()) return Reject("bad_topic");
    StatusOr<std::shared_ptr<const net::TelemetryChannel>> channel = ChannelOf(device_id);
    if (!channel.ok()) return Reject("unknown_device");
    StatusOr<std::vector<uint8_t>> plain = (*channel)->Open(message.payload, message.topic);
    if (!plain.ok()) return Reject("unauthenticated");
    StatusOr<net::TelemetryMessage> parsed = net::ParseTelemetryMessage(
        std::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()));
    if (!parsed.ok()) return Reject("malformed");
    if (parsed->device != device_id) return Reject("wrong_device");
    {
      std::lock_guard<std::mutex> lock(channels_mutex);
      DeviceChannel& entry = channels[device_id];
      if (parsed->seq <= entry.last_seq) return Reject("replay");
      entry.last_seq = parsed->seq;
    }
    Count(&ControlPlaneStats::telemetry_accepted);
    // End to end: the device built it -> custosd opened and checked it.
    RecordLatency(static_cast<double>(std::max<int64_t>(0, UnixMicros() - parsed->sent_us)) /
                  1000.0);
    store::DeviceActivity activity;
    activity.device_id = device_id;
    activity.at_ms = received_ms;
    activity.sequence = static_cast<int64_t>(parsed->seq);
    activity.values_json = parsed->values.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (activity.values_json.size() > store::kMaxTelemetryJsonBytes) activity.values_json = "{}";
    std::lock_guard<std::mutex> lock(activity_mutex);
    if (pending.size() < kMaxPendingActivity) pending.push_back(std::move(activity));
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(activity_mutex);
    for (;;) {
      activity_cv.wait_for(lock, std::chrono::milliseconds(options.activity_flush_ms),
                           [this] { return stopping_writer; });
      std::vector<store::DeviceActivity> batch;
      batch.swap(pending);
      const bool stop = stopping_writer;
      lock.unlock();
      if (!batch.empty()) {
        std::lock_guard<std::mutex> state_lock(state_mutex);
        (void)state->RecordActivity(batch);
      }
      lock.lock();
      if (stop && pending.empty()) return;
    }
  }

  // ---- enrollment durability (group commit) -------------------------------------

  Status CommitEnrollment(store::EnrollmentRecord record) {
    if (!options.group_commit) {
      std::lock_guard<std::mutex> lock(state_mutex);
      std::vector<store::EnrollmentRecord> one;
      one.push_back(std::move(record));
      Status status = state->RecordEnrollments(one);
      if (status.ok()) Count(&ControlPlaneStats::enrollment_commits);
      return status;
    }
    PendingEnrollment mine{std::move(record), false, OkStatus()};
    std::unique_lock<std::mutex> lock(group_mutex);
    group_queue.push_back(&mine);
    // One committer at a time; the others wait for it to take them along.
    while (!mine.done) {
      if (!group_committing) {
        group_committing = true;
        if (options.enrollment_group_wait_us > 0) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::microseconds(options.enrollment_group_wait_us));
          lock.lock();
        }
        std::vector<PendingEnrollment*> batch(group_queue.begin(), group_queue.end());
        group_queue.clear();
        lock.unlock();
        std::vector<store::EnrollmentRecord> records;
        records.reserve(batch.size());
        for (PendingEnrollment* p : batch) records.push_back(p->record);
        Status status;
        {
          std::lock_guard<std::mutex> state_lock(state_mutex);
          status = state->RecordEnrollments(records);
        }
        if (!status.ok() && batch.size() > 1) {
          // One bad record must not fail the others: commit them one by one.
          std::lock_guard<std::mutex> state_lock(state_mutex);
          for (PendingEnrollment* p : batch) {
            p->result = state->RecordEnrollments(std::span(&p->record, 1));
          }
        } else {
          for (PendingEnrollment* p : batch) p->result = status;
        }
        Count(&ControlPlaneStats::enrollment_commits);
        lock.lock();
        for (PendingEnrollment* p : batch) p->done = true;
        group_committing = false;
        group_cv.notify_all();
      } else {
        group_cv.wait(lock);
      }
    }
    return mine.result;
  }

  // ---- handlers ------------------------------------------------------------------

  net::HttpsResponse Enroll(const net::HttpsRequest& request) {
    StatusOr<EnrollBody> body = EnrollBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    StatusOr<identity::EnrollmentResponse> response;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      response = ca->Enroll(body->request, NowSeconds());
    }
    if (!response.ok()) {
      Count(&ControlPlaneStats::enrollments_refused);
      return net::HttpsResponse::Error(response.status());
    }
    store::EnrollmentRecord record{response->device_id, response->serial, NowMs(),
                                   body->telemetry_key};
    Status committed = CommitEnrollment(std::move(record));
    if (!committed.ok()) return net::HttpsResponse::Error(Annotate(committed, "fleet state"));
    ForgetChannel(response->device_id);
    Count(&ControlPlaneStats::enrollments);
    return net::HttpsResponse{201, EnrollReplyToJson({*std::move(response), Fleet()}),
                              "application/json"};
  }

  net::HttpsResponse Rotate(const net::HttpsRequest& request) {
    StatusOr<RotateBody> body = RotateBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    if (!request.device_id.has_value() || *request.device_id != body->request.device_id) {
      return net::HttpsResponse::Error(PermissionDeniedError(
          "the client certificate's device does not match request.device_id"));
    }
    StatusOr<identity::EnrollmentResponse> response;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      response = ca->Rotate(body->request, NowSeconds());
    }
    if (!response.ok()) return net::HttpsResponse::Error(response.status());
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      Status status = state->RecordRotation(response->device_id, response->serial);
      if (status.ok() && body->telemetry_key.has_value()) {
        status = state->SetTelemetryKey(response->device_id, *body->telemetry_key);
      }
      if (!status.ok()) return net::HttpsResponse::Error(Annotate(status, "fleet state"));
    }
    if (body->telemetry_key.has_value()) ForgetChannel(response->device_id);
    Count(&ControlPlaneStats::rotations);
    return net::HttpsResponse{200, EnrollReplyToJson({*std::move(response), Fleet()}),
                              "application/json"};
  }

  net::HttpsResponse Health() const {
    HealthInfo info;
    {
      std::lock_guard<std::mutex> lock(broker_mutex);
      info.broker = broker != nullptr && broker->running() ? "running" : "down";
    }
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      info.database = state->CountByStatus().ok() ? "ok" : "error";
    }
    info.uptime_s =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_at).count();
    const bool ok = info.broker == "running" && info.database == "ok";
    info.status = ok ? "ok" : "degraded";
    return net::HttpsResponse::Json(HealthInfoToJson(info), ok ? 200 : 503);
  }

  net::HttpsResponse ListDevices(const net::HttpsRequest& request) {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    StatusOr<DeviceListQuery> query = ParseDeviceListQuery(request.raw->params);
    if (!query.ok()) return net::HttpsResponse::Error(query.status());
    store::DeviceQuery q;
    q.after_id = query->after;
    q.limit = query->limit;
    q.status = query->status;
    StatusOr<store::DevicePage> page;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      page = state->ListDevices(q);
    }
    if (!page.ok()) return net::HttpsResponse::Error(page.status());
    return net::HttpsResponse{
        200, DeviceListReplyToJson({std::move(page->devices), std::move(page->next_after)}),
        "application/json"};
  }

  net::HttpsResponse ShowDevice(const net::HttpsRequest& request, const std::string& device_id) {
    if (!identity::ValidateDeviceId(device_id).ok()) {
      return net::HttpsResponse::Error(InvalidArgumentError("not a valid device id"));
    }
    if (request.device_id.has_value()) {
      if (*request.device_id != device_id) {
        return net::HttpsResponse::Error(
            PermissionDeniedError("a device may read only its own status"));
      }
    } else if (Status auth = CheckOperator(request); !auth.ok()) {
      return net::HttpsResponse::Error(auth);
    }
    DeviceStatusReply reply;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      StatusOr<std::optional<store::DeviceRecord>> device = state->GetDevice(device_id);
      if (!device.ok()) return net::HttpsResponse::Error(device.status());
      if (!device->has_value()) {
        return net::HttpsResponse::Error(NotFoundError("no device '" + device_id + "'"));
      }
      reply.device = **device;
      StatusOr<std::optional<store::TelemetrySummary>> telemetry = state->GetTelemetry(device_id);
      if (!telemetry.ok()) return net::HttpsResponse::Error(telemetry.status());
      reply.telemetry = *std::move(telemetry);
    }
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      StatusOr<identity::DeviceStatus> status = ca->ShowDevice(device_id, NowSeconds());
      if (status.ok()) {
        for (const identity::IssuedCertificateRecord& r : status->certificates) {
          reply.certificates.push_back({r.serial, r.not_after, r.method, r.revoked});
        }
      }
    }
    return net::HttpsResponse{200, DeviceStatusReplyToJson(reply), "application/json"};
  }

  net::HttpsResponse Revoke(const net::HttpsRequest& request, const std::string& device_id) {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    if (!identity::ValidateDeviceId(device_id).ok()) {
      return net::HttpsResponse::Error(InvalidArgumentError("not a valid device id"));
    }
    StatusOr<RevokeBody> body = RevokeBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    RevokeReply reply;
    reply.device = device_id;
    std::vector<identity::Crl> crls;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      const int64_t now = NowSeconds();
      StatusOr<std::size_t> revoked = ca->RevokeDevice(device_id, body->reason, now);
      if (!revoked.ok()) return net::HttpsResponse::Error(revoked.status());
      reply.revoked_certificates = static_cast<int64_t>(*revoked);
      StatusOr<std::vector<identity::Crl>> issued = ca->IssueCrls(now);
      if (!issued.ok()) return net::HttpsResponse::Error(Annotate(issued.status(), "CRL"));
      crls = *std::move(issued);
    }
    for (const identity::Crl& crl : crls) {
      reply.crl_number = std::max(reply.crl_number, crl.crl_number());
    }
    Status pushed = PublishCrls(crls);
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      Status marked = state->MarkRevoked(device_id, NowMs());
      if (!marked.ok() && marked.code() != StatusCode::kNotFound) {
        return net::HttpsResponse::Error(Annotate(marked, "fleet state"));
      }
    }
    ForgetChannel(device_id);
    Count(&ControlPlaneStats::revocations);
    Status audited = Audit("operator", "device.revoke", device_id,
                           Json{{"reason", RevocationReasonApiName(body->reason)},
                                {"revoked_certificates", reply.revoked_certificates},
                                {"crl_number", reply.crl_number}});
    if (!audited.ok()) return net::HttpsResponse::Error(Annotate(audited, "audit"));
    if (!pushed.ok()) return net::HttpsResponse::Error(Annotate(pushed, "CRL distribution"));
    return net::HttpsResponse{200, RevokeReplyToJson(reply), "application/json"};
  }

  Status PublishCrls(const std::vector<identity::Crl>& crls) {
    last_crl_issued_s = NowSeconds();
    client_verifier->ReplaceCrls(crls);
    std::lock_guard<std::mutex> lock(broker_mutex);
    crl_pem = CrlPem(crls);
    broker_config.crl_pem = crl_pem;
    if (broker == nullptr) return UnavailableError("the broker is not running");
    return broker->UpdateCrl(crl_pem);
  }

  net::HttpsResponse Commands(const net::HttpsRequest& request) {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    StatusOr<CommandsBody> body = CommandsBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    std::vector<std::string> targets = body->devices;
    if (body->all) {
      std::lock_guard<std::mutex> lock(state_mutex);
      store::DeviceQuery q;
      q.limit = store::kMaxPageSize;
      for (;;) {
        StatusOr<store::DevicePage> page = state->ListDevices(q);
        if (!page.ok()) return net::HttpsResponse::Error(page.status());
        for (const store::DeviceRecord& d : page->devices) {
          if (!d.revoked) targets.push_back(d.id);
        }
        if (page->next_after.empty()) break;
        q.after_id = page->next_after;
      }
    }
    std::lock_guard<std::mutex> subscriber_lock(subscriber_mutex);
    if (subscriber == nullptr || !subscriber->connected()) {
      return net::HttpsResponse::Error(UnavailableError("custosd is not connected to the broker"));
    }
    int64_t sent = 0;
    for (const std::string& id : targets) {
      StatusOr<std::shared_ptr<const net::TelemetryChannel>> channel = ChannelOf(id);
      if (!channel.ok()) continue;
      StatusOr<std::string> command_id = net::NewCommandId();
      if (!command_id.ok()) return net::HttpsResponse::Error(command_id.status());
      const std::string text = net::CommandMessageToJson({*command_id, body->command, NowMs()});
      const std::string topic = net::DeviceCommandsTopic(id);
      StatusOr<std::vector<uint8_t>> sealed = (*channel)->Seal(AsBytes(text), topic);
      if (!sealed.ok()) continue;
      if (subscriber->Publish(topic, *sealed, 1).ok()) ++sent;
    }
    Count(&ControlPlaneStats::commands_sent, sent);
    (void)Audit("operator", "commands.send", body->all ? "all" : std::to_string(targets.size()),
                Json{{"command", body->command}, {"sent", sent}});
    return net::HttpsResponse::Json(Json{{"sent", sent}}, 202);
  }

  net::HttpsResponse Tokens(const net::HttpsRequest& request) {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    StatusOr<TokensBody> body = TokensBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    TokensReply reply;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      const int64_t now = NowSeconds();
      StatusOr<std::vector<SecretBytes>> tokens = ca->IssueTokens(
          static_cast<std::size_t>(body->count), body->device_id, body->lifetime_s, now);
      if (!tokens.ok()) return net::HttpsResponse::Error(tokens.status());
      reply.tokens = *std::move(tokens);
      reply.expires_at = now + body->lifetime_s;
    }
    Status audited = Audit("operator", "tokens.issue", body->device_id,
                           Json{{"count", body->count}, {"expires_at", reply.expires_at}});
    if (!audited.ok()) return net::HttpsResponse::Error(Annotate(audited, "audit"));
    return net::HttpsResponse{201, TokensReplyToJson(reply), "application/json"};
  }

  // POST /v1/manufacturers: trusts a manufacturer root for zero-touch
  // enrollment (devices with a birth certificate under it enroll with no
  // token).
  net::HttpsResponse TrustManufacturer(const net::HttpsRequest& request) {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    StatusOr<ManufacturerBody> body = ManufacturerBodyFromJson(request.json);
    if (!body.ok()) return net::HttpsResponse::Error(body.status());
    TrustManufacturerReply reply;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      if (Status trusted = ca->TrustManufacturerRoot(body->certificate); !trusted.ok()) {
        return net::HttpsResponse::Error(trusted);
      }
      reply.manufacturers = static_cast<int64_t>(ca->ManufacturerRoots().size());
    }
    const ManufacturerJson root = ManufacturerJsonOf(body->certificate);
    reply.subject = root.subject;
    reply.fingerprint = root.fingerprint;
    Status audited = Audit("operator", "manufacturer.trust", root.fingerprint,
                           Json{{"subject", root.subject}, {"not_after", root.not_after}});
    if (!audited.ok()) return net::HttpsResponse::Error(Annotate(audited, "audit"));
    return net::HttpsResponse{201, TrustManufacturerReplyToJson(reply), "application/json"};
  }

  // GET /v1/manufacturers: the trusted manufacturer roots.
  net::HttpsResponse ListManufacturers(const net::HttpsRequest& request) const {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    ManufacturerListReply reply;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      for (const identity::Certificate& root : ca->ManufacturerRoots()) {
        reply.manufacturers.push_back(ManufacturerJsonOf(root));
      }
    }
    return net::HttpsResponse{200, ManufacturerListReplyToJson(reply), "application/json"};
  }

  net::HttpsResponse Metrics(const net::HttpsRequest& request) const {
    if (Status auth = CheckOperator(request); !auth.ok()) return net::HttpsResponse::Error(auth);
    return net::HttpsResponse{200, MetricsText(), "text/plain; version=0.0.4"};
  }

  StatusOr<ControlPlaneStats> Stats() const {
    ControlPlaneStats out;
    {
      std::lock_guard<std::mutex> lock(stats_mutex);
      out = counters;
      std::vector<double> sorted = latencies_ms;
      std::sort(sorted.begin(), sorted.end());
      if (!sorted.empty()) {
        auto at = [&](double q) {
          std::size_t i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
          return sorted[i];
        };
        out.latency_p50_ms = at(0.50);
        out.latency_p99_ms = at(0.99);
      }
    }
    {
      std::lock_guard<std::mutex> lock(broker_mutex);
      out.broker_running = broker != nullptr && broker->running();
      out.broker_restarts = broker_restarts;
    }
    {
      std::lock_guard<std::mutex> subscriber_lock(subscriber_mutex);
      if (subscriber != nullptr) {
        out.subscriber_connected = subscriber->connected();
        out.subscriber_connections = subscriber->connection_count() + subscriber_replacements;
      }
    }
    std::lock_guard<std::mutex> lock(state_mutex);
    CUSTOS_ASSIGN_OR_RETURN(out.devices_by_status, state->CountByStatus());
    return out;
  }

  std::string MetricsText() const {
    StatusOr<ControlPlaneStats> stats = Stats();
    ControlPlaneStats s = stats.ok() ? *stats : ControlPlaneStats{};
    std::ostringstream out;
    auto counter = [&](const char* name, const char* help, int64_t value) {
      out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
          << name << ' ' << value << '\n';
    };
    counter("custos_enrollments_total", "Devices enrolled (acknowledged).", s.enrollments);
    counter("custos_enrollments_refused_total", "Enrollment requests the CA refused.",
            s.enrollments_refused);
    counter("custos_rotations_total", "Device key rotations.", s.rotations);
    counter("custos_revocations_total", "Devices revoked.", s.revocations);
    counter("custos_telemetry_received_total", "Telemetry messages received.",
            s.telemetry_received);
    counter("custos_telemetry_accepted_total", "Telemetry messages accepted.",
            s.telemetry_accepted);
    out << "# HELP custos_telemetry_rejected_total Telemetry messages dropped, by reason.\n"
        << "# TYPE custos_telemetry_rejected_total counter\n";
    for (const auto& [reason, n] : s.telemetry_rejected) {
      out << "custos_telemetry_rejected_total{reason=\"" << reason << "\"} " << n << '\n';
    }
    counter("custos_commands_sent_total", "Commands published to devices.", s.commands_sent);
    out << "# HELP custos_devices Devices in the fleet state, by status.\n"
        << "# TYPE custos_devices gauge\n";
    for (const auto& [status, n] : s.devices_by_status) {
      out << "custos_devices{status=\"" << status << "\"} " << n << '\n';
    }
    out << "# HELP custos_broker_up Whether the MQTT broker runs.\n# TYPE custos_broker_up gauge\n"
        << "custos_broker_up " << (s.broker_running ? 1 : 0) << '\n';
    counter("custos_broker_restarts_total", "Broker restarts after it died.", s.broker_restarts);
    std::lock_guard<std::mutex> lock(stats_mutex);
    out << "# HELP custos_telemetry_latency_seconds End-to-end telemetry latency "
           "(device sent it -> custosd opened and checked it).\n# TYPE "
           "custos_telemetry_latency_seconds histogram\n";
    for (std::size_t i = 0; i < std::size(kLatencyBuckets); ++i) {
      out << "custos_telemetry_latency_seconds_bucket{le=\"" << kLatencyBuckets[i] << "\"} "
          << latency_buckets[i] << '\n';
    }
    out << "custos_telemetry_latency_seconds_bucket{le=\"+Inf\"} " << latency_count << '\n'
        << "custos_telemetry_latency_seconds_sum " << latency_sum_s << '\n'
        << "custos_telemetry_latency_seconds_count " << latency_count << '\n';
    return out.str();
  }

  // Replaces the subscriber when it has been disconnected for three checks
  // in a row while the broker runs: libmosquitto's network thread gives up
  // on some errors (a TLS error when the broker dies) instead of
  // reconnecting.
  void CheckSubscriber() {
    if (stopped.load()) return;
    {
      std::lock_guard<std::mutex> lock(subscriber_mutex);
      if (subscriber == nullptr || subscriber->connected()) {
        subscriber_down_checks = 0;
        return;
      }
      if (++subscriber_down_checks < 3) return;
      subscriber_down_checks = 0;
    }
    StatusOr<std::unique_ptr<net::MqttClient>> fresh = ConnectSubscriber();
    if (!fresh.ok()) return;  // next check tries again
    std::unique_ptr<net::MqttClient> old;
    {
      std::lock_guard<std::mutex> lock(subscriber_mutex);
      old = std::move(subscriber);
      subscriber = *std::move(fresh);
      if (old != nullptr) subscriber_replacements += old->connection_count();
    }
    if (old != nullptr) old->Disconnect();
  }

  // CRLs expire (the CA's crl_validity_seconds, 7 days by default): fresh
  // ones are issued and handed to the broker and the HTTPS server once a day,
  // so that devices are not refused when no revocation happened for a week.
  void RefreshCrlsIfDue() {
    const int64_t now = NowSeconds();
    if (now - last_crl_issued_s.load() < kCrlRefreshSeconds || stopped.load()) return;
    std::vector<identity::Crl> crls;
    {
      std::lock_guard<std::mutex> lock(ca_mutex);
      StatusOr<std::vector<identity::Crl>> issued = ca->IssueCrls(now);
      if (!issued.ok()) return;  // tried again at the next check
      crls = *std::move(issued);
    }
    (void)PublishCrls(crls);
    // A FULL commit for the CRL number the CA's connection wrote.
    (void)Audit("system", "crl.refresh", "", Json::object());
  }

  void Supervise() {
    std::unique_lock<std::mutex> lock(broker_mutex);
    for (;;) {
      if (!broker_cv.wait_for(lock, std::chrono::milliseconds(500),
                              [this] { return broker_died || stopped.load(); })) {
        const bool running = broker != nullptr && broker->running();
        lock.unlock();
        if (running) CheckSubscriber();
        RefreshCrlsIfDue();
        lock.lock();
        continue;
      }
      if (stopped.load()) return;
      broker_died = false;
      std::unique_ptr<net::MosquittoBroker> old = std::move(broker);
      lock.unlock();
      old.reset();
      // Back off a little so that a broker that cannot start does not spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      lock.lock();
      if (stopped.load()) return;
      net::MosquittoBrokerConfig config = broker_config;
      config.server_key_pem = broker_key_pem;
      config.crl_pem = crl_pem;
      config.port = static_cast<uint16_t>(mqtt_port);
      lock.unlock();
      StatusOr<std::unique_ptr<net::MosquittoBroker>> started =
          net::MosquittoBroker::Start(std::move(config));
      lock.lock();
      if (started.ok()) {
        broker = *std::move(started);
        ++broker_restarts;
      } else {
        broker_died = true;  // try again
      }
    }
  }
};

// ---- Impl start-up ---------------------------------------------------------------

Status ControlPlane::Impl::OpenCa() {
  const std::string hsm = dir + "/hsm";
  const std::string uri_file = hsm + "/token.uri";
  std::string uri;
  if (!Exists(uri_file)) {
    keystore::SoftHsmTokenOptions token;
    token.dir = hsm;
    token.label = "custos";
    CUSTOS_ASSIGN_OR_RETURN(uri, keystore::CreateSoftHsmToken(token));
    CUSTOS_RETURN_IF_ERROR(identity::WriteFileAtomically(uri_file, uri, 0600));
    created.push_back(hsm + "/: SoftHSM2 token 'custos' (user PIN in " + hsm + "/user.pin)");
  } else {
    CUSTOS_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFile(uri_file, 4096));
    uri.assign(reinterpret_cast<const char*>(text.data()), text.size());
  }
  const std::string db_path = dir + "/custos.db";
  const bool new_db = !Exists(db_path);
  // With group commit the CA's connection does not fsync; see
  // ControlPlaneOptions::group_commit for why no acknowledged write is lost.
  store::DatabaseOptions registry_options;
  registry_options.synchronous =
      options.group_commit ? store::Synchronous::kNormal : store::Synchronous::kFull;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<identity::DeviceRegistry> registry,
                          store::OpenSqliteDeviceRegistry(db_path, registry_options));
  if (new_db) created.push_back(db_path + ": SQLite database (CA registry, fleet state)");
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<keystore::KeyStore> ca_store,
                          keystore::OpenPkcs11KeyStore(uri));
  CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> doc,
                          registry->ReadDocument(identity::kCaDocument));
  if (doc.has_value()) {
    CUSTOS_ASSIGN_OR_RETURN(ca, identity::FleetCa::Open(std::move(registry), std::move(ca_store)));
  } else {
    identity::CaOptions ca_options;
    ca_options.name = options.ca_name;
    ca_options.store_uri = uri;
    CUSTOS_ASSIGN_OR_RETURN(ca, identity::FleetCa::Create(std::move(registry), std::move(ca_store),
                                                          ca_options, NowSeconds()));
    created.push_back("fleet CA '" + options.ca_name +
                      "': root and issuing CA keys (ecdsa-p256) in the token");
  }
  ca_name = ca->name();
  CUSTOS_ASSIGN_OR_RETURN(state, store::OpenSqliteFleetState(db_path));

  // The HTTPS server's key, in the token beside the CA keys.
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<keystore::KeyStore> api,
                          keystore::OpenPkcs11KeyStore(uri));
  api_store = std::move(api);
  if (!api_store->Find(kApiTlsKeyLabel).ok()) {
    CUSTOS_RETURN_IF_ERROR(
        api_store->Generate(keystore::KeyType::kEcdsaP256, kApiTlsKeyLabel).status());
    created.push_back("HTTPS server key '" + std::string(kApiTlsKeyLabel) + "' in the token");
  }
  CUSTOS_ASSIGN_OR_RETURN(api_key, net::MakeKeyStorePrivateKey(api_store, kApiTlsKeyLabel));

  // The roots file, rewritten at each start (CA re-keying adds roots).
  const std::string roots = dir + "/roots.pem";
  const bool new_roots = !Exists(roots);
  const std::string pem = PemOf(ca->Roots());
  CUSTOS_RETURN_IF_ERROR(identity::WriteFileAtomically(roots, pem, 0644));
  if (new_roots) created.push_back(roots + ": the fleet roots (for devices and operators)");
  return OkStatus();
}

Status ControlPlane::Impl::OpenTelemetryStore() {
  const std::string path = dir + "/telemetry-keys";
  const bool fresh = !Exists(path);
  CUSTOS_ASSIGN_OR_RETURN(telemetry_store, keystore::OpenSoftKeyStoreUri("soft:" + path));
  if (!telemetry_store->Find(kTelemetryKeyLabel).ok()) {
    CUSTOS_RETURN_IF_ERROR(
        telemetry_store->Generate(keystore::KeyType::kX25519, kTelemetryKeyLabel).status());
    created.push_back(path + "/: software key store with the X25519 telemetry key '" +
                      std::string(kTelemetryKeyLabel) + "'" + (fresh ? "" : " (added)"));
  }
  CUSTOS_ASSIGN_OR_RETURN(telemetry_spki, telemetry_store->ExportPublicKey(kTelemetryKeyLabel));
  return OkStatus();
}

Status ControlPlane::Impl::OpenOperatorToken() {
  const std::string path = dir + "/operator.token";
  if (!Exists(path)) {
    CUSTOS_ASSIGN_OR_RETURN(SecretBytes random, RandomSecret(32));
    std::string text = "cop1-" + HexEncode(random.span());
    SecretBytes token(AsBytes(text));
    std::fill(text.begin(), text.end(), '\0');
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("cannot create", path);
    const bool ok = ::write(fd, token.data(), token.size()) == static_cast<ssize_t>(token.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return ErrnoError("cannot write", path);
    created.push_back(path + ": the operator token (mode 0600)");
  }
  CUSTOS_ASSIGN_OR_RETURN(SecretBytes token, ReadSecretFile(path, 1024));
  std::size_t n = token.size();
  while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r')) --n;
  if (n == 0) return FailedPreconditionError(path + " is empty");
  operator_token_sha256 = Sha256(token.span().first(n));
  return OkStatus();
}

Status ControlPlane::Impl::StartBroker() {
  const int64_t now = NowSeconds();
  CUSTOS_ASSIGN_OR_RETURN(PkeyPtr key, NewP256Key());
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, crypto::SpkiOf(key.get()));
  std::vector<identity::Certificate> chain = ca->Chain();
  std::vector<identity::Certificate> anchors = ca->Roots();
  anchors.insert(anchors.end(), chain.begin(), chain.end());
  CUSTOS_ASSIGN_OR_RETURN(
      identity::Certificate cert,
      ca->IssueServiceCertificate("custos broker", {"localhost", "127.0.0.1"}, spki, true, false,
                                  options.service_certificate_seconds, now));
  CUSTOS_ASSIGN_OR_RETURN(broker_key_pem, KeyPem(key.get()));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<identity::Crl> crls, ca->IssueCrls(now));
  crl_pem = CrlPem(crls);
  last_crl_issued_s = now;
  CUSTOS_ASSIGN_OR_RETURN(client_verifier, net::PeerVerifier::Create(anchors, crls));

  const bool fresh = !Exists(dir + "/broker");
  broker_config.dir = dir + "/broker";
  broker_config.mosquitto_path = options.mosquitto_path;
  broker_config.port = static_cast<uint16_t>(options.mqtt_port);
  broker_config.ca_pem = PemOf(anchors);
  std::vector<identity::Certificate> server_chain = {cert};
  server_chain.insert(server_chain.end(), chain.begin(), chain.end());
  broker_config.server_cert_pem = PemOf(server_chain);
  broker_config.crl_pem = crl_pem;
  broker_config.privileged_identities = {std::string(kControlPlaneIdentity)};
  broker_config.on_unexpected_exit = [this](int /*wait_status*/) {
    std::lock_guard<std::mutex> lock(broker_mutex);
    broker_died = true;
    broker_cv.notify_all();
  };
  net::MosquittoBrokerConfig config = broker_config;
  config.server_key_pem = broker_key_pem;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::MosquittoBroker> started,
                          net::MosquittoBroker::Start(std::move(config)));
  {
    std::lock_guard<std::mutex> lock(broker_mutex);
    broker = std::move(started);
    mqtt_port = broker->port();
  }
  if (fresh) created.push_back(broker_config.dir + "/: mosquitto configuration, TLS files, log");
  supervisor = std::thread([this] { Supervise(); });
  return OkStatus();
}

Status ControlPlane::Impl::StartSubscriber() {
  const int64_t now = NowSeconds();
  CUSTOS_ASSIGN_OR_RETURN(subscriber_key, NewP256Key());
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, crypto::SpkiOf(subscriber_key.get()));
  CUSTOS_ASSIGN_OR_RETURN(identity::Certificate cert,
                          ca->IssueServiceCertificate(kControlPlaneIdentity, {}, spki, false, true,
                                                      options.service_certificate_seconds, now));
  std::vector<identity::Certificate> chain = {cert};
  for (const identity::Certificate& c : ca->Chain()) chain.push_back(c);
  CUSTOS_ASSIGN_OR_RETURN(std::shared_ptr<net::PeerVerifier> server_verifier,
                          net::PeerVerifier::Create(ca->Roots()));
  net::TlsClientOptions tls;
  tls.server_verifier = server_verifier;
  tls.server_name = "localhost";
  tls.chain = chain;
  tls.key = subscriber_key.get();
  CUSTOS_ASSIGN_OR_RETURN(subscriber_ctx, net::MakeClientContext(tls));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::MqttClient> client, ConnectSubscriber());
  std::lock_guard<std::mutex> lock(subscriber_mutex);
  subscriber = std::move(client);
  return OkStatus();
}

StatusOr<std::unique_ptr<net::MqttClient>> ControlPlane::Impl::ConnectSubscriber() {
  net::MqttClientOptions mqtt;
  mqtt.host = "127.0.0.1";
  mqtt.port = static_cast<uint16_t>(mqtt_port);
  mqtt.client_id = std::string(kControlPlaneIdentity);
  mqtt.ssl_ctx = subscriber_ctx.get();
  mqtt.keepalive_s = 30;
  mqtt.max_backoff_ms = 2000;
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::MqttClient> client, net::MqttClient::Create(mqtt));
  client->set_message_handler([this](const net::MqttMessageView& m) { OnTelemetry(m); });
  // Subscribe before connecting so the subscription is made (and renewed) on every connection.
  // QoS 0 from the broker to custosd: with QoS 1 mosquitto keeps at most 20
  // messages in flight to this one subscriber and reads its PUBACKs one per
  // pass over every ready socket, so with thousands of devices publishing
  // the subscriber starves (measured: 1 message/s with 10,000 devices, the
  // rest dropped). Devices still publish with QoS 1 to the broker.
  (void)client->Subscribe("devices/+/telemetry", 0);
  Status connected = client->Connect(10000);
  if (!connected.ok()) return Annotate(connected, "custosd's MQTT subscriber");
  return client;
}

Status ControlPlane::Impl::StartHttps() {
  const int64_t now = NowSeconds();
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, api_store->ExportPublicKey(kApiTlsKeyLabel));
  CUSTOS_ASSIGN_OR_RETURN(
      identity::Certificate cert,
      ca->IssueServiceCertificate("custos api", {"localhost", "127.0.0.1"}, spki, true, false,
                                  options.service_certificate_seconds, now));
  net::HttpsServerOptions http;
  http.tls.chain = {cert};
  for (const identity::Certificate& c : ca->Chain()) http.tls.chain.push_back(c);
  http.tls.key = api_key.get();
  http.tls.client_verifier = client_verifier;
  http.tls.require_client_certificate = false;
  http.port = options.api_port;
  CUSTOS_ASSIGN_OR_RETURN(https, net::HttpsServer::Create(std::move(http)));
  using net::HttpsRequest;
  using net::RouteAccess;
  https->Post("/v1/enroll", RouteAccess::kAnyone,
              [this](const HttpsRequest& r) { return Enroll(r); });
  https->Post("/v1/rotate", RouteAccess::kDevice,
              [this](const HttpsRequest& r) { return Rotate(r); });
  https->Get("/v1/fleet", RouteAccess::kAnyone, [this](const HttpsRequest&) {
    return net::HttpsResponse::Json(FleetInfoToJson(Fleet()));
  });
  https->Get("/v1/health", RouteAccess::kAnyone, [this](const HttpsRequest&) { return Health(); });
  https->Get("/metrics", RouteAccess::kAnyone,
             [this](const HttpsRequest& r) { return Metrics(r); });
  https->Get("/v1/devices", RouteAccess::kAnyone,
             [this](const HttpsRequest& r) { return ListDevices(r); });
  https->Get(R"(/v1/devices/([^/]+))", RouteAccess::kAnyone, [this](const HttpsRequest& r) {
    return ShowDevice(r, r.raw->matches.size() > 1 ? r.raw->matches[1].str() : "");
  });
  https->Post(R"(/v1/devices/([^/]+)/revoke)", RouteAccess::kAnyone, [this](const HttpsRequest& r) {
    return Revoke(r, r.raw->matches.size() > 1 ? r.raw->matches[1].str() : "");
  });
  https->Post("/v1/commands", RouteAccess::kAnyone,
              [this](const HttpsRequest& r) { return Commands(r); });
  https->Post("/v1/tokens", RouteAccess::kAnyone,
              [this](const HttpsRequest& r) { return Tokens(r); });
  https->Post("/v1/manufacturers", RouteAccess::kAnyone,
              [this](const HttpsRequest& r) { return TrustManufacturer(r); });
  https->Get("/v1/manufacturers", RouteAccess::kAnyone,
             [this](const HttpsRequest& r) { return ListManufacturers(r); });
  return https->Start();
}

Status ControlPlane::Impl::Init() {
  if (options.data_dir.empty()) return InvalidArgumentError("no data folder given");
  if (options.api_port < 0 || options.api_port > 65535 || options.mqtt_port < 0 ||
      options.mqtt_port > 65535) {
    return InvalidArgumentError("ports must be 0..65535");
  }
  if (options.activity_flush_ms < 1) return InvalidArgumentError("activity_flush_ms must be >= 1");
  std::error_code ec;
  dir = std::filesystem::absolute(options.data_dir, ec).lexically_normal().string();
  if (ec) return InvalidArgumentError("bad data folder " + options.data_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const bool fresh = !Exists(dir);
  CUSTOS_RETURN_IF_ERROR(MakeDir(dir));
  if (fresh) created.push_back(dir + "/: the data folder (mode 0700)");
  const std::string lock_path = dir + "/lock";
  lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return ErrnoError("cannot open", lock_path);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    lock_fd = -1;
    return FailedPreconditionError("another custos serve is running on " + dir + " (" + lock_path +
                                   " is locked)");
  }
  CUSTOS_RETURN_IF_ERROR(OpenCa());
  CUSTOS_RETURN_IF_ERROR(OpenTelemetryStore());
  CUSTOS_RETURN_IF_ERROR(OpenOperatorToken());
  CUSTOS_RETURN_IF_ERROR(StartBroker());
  writer = std::thread([this] { WriterLoop(); });
  processor = std::thread([this] { ProcessorLoop(); });
  CUSTOS_RETURN_IF_ERROR(StartSubscriber());
  // A FULL commit that also makes the CA's start-up writes (a new CA, the
  // CRL numbers) durable.
  {
    store::AuditEntry entry;
    entry.at_ms = NowMs();
    entry.actor = "system";
    entry.action = "custosd.start";
    entry.target = dir;
    std::lock_guard<std::mutex> lock(state_mutex);
    CUSTOS_RETURN_IF_ERROR(state->AppendAudit(entry).status());
  }
  CUSTOS_RETURN_IF_ERROR(StartHttps());
  return OkStatus();
}

void ControlPlane::Impl::Shutdown() {
  if (stopped.exchange(true)) return;
  if (https) https->Stop();
  {
    std::lock_guard<std::mutex> lock(subscriber_mutex);
    if (subscriber) subscriber->Disconnect();
  }
  // The processor finishes what was received, then the writer commits it.
  if (processor.joinable()) {
    {
      std::lock_guard<std::mutex> lock(inbox_mutex);
      stopping_processor = true;
    }
    inbox_cv.notify_all();
    processor.join();
  }
  if (writer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(activity_mutex);
      stopping_writer = true;
    }
    activity_cv.notify_all();
    writer.join();
  }
  {
    std::lock_guard<std::mutex> lock(broker_mutex);
    broker_cv.notify_all();
  }
  if (supervisor.joinable()) supervisor.join();
  std::unique_ptr<net::MosquittoBroker> last;
  {
    std::lock_guard<std::mutex> lock(broker_mutex);
    last = std::move(broker);
  }
  if (last) last->Stop();
  last.reset();
  subscriber.reset();
  https.reset();
  if (lock_fd >= 0) {
    ::flock(lock_fd, LOCK_UN);
    ::close(lock_fd);
    lock_fd = -1;
  }
}

// ---- ControlPlane ------------------------------------------------------------------

StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(const ControlPlaneOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  CUSTOS_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlPlane::~ControlPlane() { Stop(); }

const std::vector<std::string>& ControlPlane::created() const { return impl_->created; }
int ControlPlane::api_port() const { return impl_->https ? impl_->https->port() : 0; }
int ControlPlane::mqtt_port() const { return impl_->mqtt_port; }
int ControlPlane::broker_pid() const {
  std::lock_guard<std::mutex> lock(impl_->broker_mutex);
  return impl_->broker != nullptr ? static_cast<int>(impl_->broker->pid()) : -1;
}
const std::string& ControlPlane::data_dir() const { return impl_->dir; }
std::string ControlPlane::roots_path() const { return impl_->dir + "/roots.pem"; }
std::string ControlPlane::operator_token_path() const { return impl_->dir + "/operator.token"; }
FleetInfo ControlPlane::fleet_info() const { return impl_->Fleet(); }
StatusOr<ControlPlaneStats> ControlPlane::Stats() const { return impl_->Stats(); }
std::string ControlPlane::MetricsText() const { return impl_->MetricsText(); }
void ControlPlane::Stop() { impl_->Shutdown(); }

}  // namespace custos::server
