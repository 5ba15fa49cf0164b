// File: custos/sim/demo.cpp
#include "custos/sim/demo.h"

#include <stdlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "custos/agent/api_calls.h"
#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/core/secret_bytes.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/x509_certificate.h"
#include "custos/net/https_server.h"
#include "custos/net/tls_context.h"
#include "custos/server/api_messages.h"
#include "custos/server/control_plane.h"
#include "custos/sim/fleet.h"

namespace custos::sim {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// "12.3" style text for people.
std::string Fixed(double value, int decimals = 1) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

nlohmann::json Percentiles(const std::vector<double>& values) {
  return {{"p50", Percentile(values, 50)}, {"p99", Percentile(values, 99)}};
}

// A data folder that is removed on destruction unless it is the user's.
class DataFolder {
 public:
  static StatusOr<DataFolder> Make(const std::string& keep_dir) {
    DataFolder folder;
    if (!keep_dir.empty()) {
      std::error_code error;
      folder.existed_ = std::filesystem::exists(keep_dir + "/custos.db", error);
      folder.path_ = std::filesystem::absolute(keep_dir, error).string();
      if (error) return InvalidArgumentError("--keep " + keep_dir + ": " + error.message());
      return folder;
    }
    std::string templ = (std::filesystem::temp_directory_path() / "custos-demo-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      return UnavailableError("cannot create a temporary data folder in " +
                              std::filesystem::temp_directory_path().string());
    }
    folder.path_ = templ;
    folder.temporary_ = true;
    return folder;
  }
  DataFolder(DataFolder&& other) noexcept
      : path_(std::move(other.path_)), temporary_(other.temporary_), existed_(other.existed_) {
    other.temporary_ = false;
  }
  DataFolder& operator=(DataFolder&&) = delete;
  DataFolder(const DataFolder&) = delete;
  DataFolder& operator=(const DataFolder&) = delete;
  ~DataFolder() {
    if (!temporary_) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }
  // True if the folder already held a control plane's database.
  bool existed() const { return existed_; }

 private:
  DataFolder() = default;
  std::string path_;
  bool temporary_ = false;
  bool existed_ = false;
};

// The operator's side of the demo: HTTPS calls with the bearer token.
class Operator {
 public:
  static StatusOr<Operator> Connect(int api_port, const std::vector<identity::Certificate>& roots,
                                    SecretBytes token) {
    net::HttpsClientOptions options;
    options.port = api_port;
    CUSTOS_ASSIGN_OR_RETURN(options.server_verifier, net::PeerVerifier::Create(roots));
    // A few calls minutes apart: a connection each (the server closes idle
    // keep-alive connections after 5 s).
    options.keep_alive = false;
    options.timeout_seconds = 30;
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpsClient> client,
                            net::HttpsClient::Create(options));
    return Operator(std::move(client), std::move(token));
  }

  // POST `path` with `body`; the answer's body if it is a 2xx.
  StatusOr<std::string> Post(const std::string& path, const std::string& body) {
    CUSTOS_ASSIGN_OR_RETURN(net::HttpsResult result,
                            client_->Post(path, body, "application/json",
                                          {{"Authorization", agent::BearerHeader(token_)}}));
    CUSTOS_RETURN_IF_ERROR(agent::StatusOfResult(result, "POST " + path));
    return std::move(result.body);
  }

 private:
  Operator(std::unique_ptr<net::HttpsClient> client, SecretBytes token)
      : client_(std::move(client)), token_(std::move(token)) {}
  std::unique_ptr<net::HttpsClient> client_;
  SecretBytes token_;
};

StatusOr<std::vector<identity::Certificate>> ReadRoots(const std::string& path) {
  CUSTOS_ASSIGN_OR_RETURN(std::string pem, identity::ReadFileBounded(path, 1 << 20));
  return identity::ParseCertificatePemBundle(pem);
}

StatusOr<SecretBytes> ReadOperatorToken(const std::string& path) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, identity::ReadFileBounded(path, 4096));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  SecretBytes token(AsBytes(text));
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  return token;
}

// Device ids of a run into a folder that already has devices must not
// collide with theirs (their sequence numbers are higher).
StatusOr<std::string> IdPrefix(bool folder_existed) {
  if (!folder_existed) return std::string("sim-");
  std::array<uint8_t, 2> tag{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(tag));
  return "sim-" + HexEncode(tag) + "-";
}

// What the revocation step measured.
struct CutOff {
  std::optional<double> disconnected_ms;  // revoke request sent -> device disconnected
  std::optional<double> refused_ms;       // revoke request sent -> a reconnection refused
  bool reconnected = false;               // the device got back in (must not)
};

// Watches `device`'s connection events after `since` for up to `timeout`.
CutOff WatchCutOff(const Fleet& fleet, const std::string& device, Clock::time_point since,
                   std::chrono::milliseconds timeout) {
  CutOff cut;
  const Clock::time_point deadline = since + timeout;
  while (Clock::now() < deadline && !(cut.disconnected_ms && cut.refused_ms)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (const ConnectionEvent& event : fleet.ConnectionEvents(device)) {
      if (event.at < since) continue;
      const double ms = std::chrono::duration<double, std::milli>(event.at - since).count();
      if (event.kind == ConnectionEventKind::kDisconnected && !cut.disconnected_ms) {
        cut.disconnected_ms = ms;
      } else if (event.kind == ConnectionEventKind::kRefused && !cut.refused_ms) {
        cut.refused_ms = ms;
      } else if (event.kind == ConnectionEventKind::kConnected) {
        cut.reconnected = true;
      }
    }
  }
  return cut;
}

class DemoRun {
 public:
  explicit DemoRun(const DemoOptions& options) : options_(options) {}

  StatusOr<DemoReport> Run() {
    const Clock::time_point start = Clock::now();
    CUSTOS_ASSIGN_OR_RETURN(DataFolder folder, DataFolder::Make(options_.keep_dir));
    json_["devices"] = options_.devices;

    server::ControlPlaneOptions cp_options;
    cp_options.data_dir = folder.path();
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<server::ControlPlane> control_plane,
                            server::ControlPlane::Start(cp_options));
    json_["control_plane"] = {{"data_dir", control_plane->data_dir()},
                              {"kept", !folder.temporary()},
                              {"api_port", control_plane->api_port()},
                              {"mqtt_port", control_plane->mqtt_port()},
                              {"start_ms", MillisecondsSince(start)}};
    Say("control plane  custosd on " + control_plane->data_dir() +
        ": API https://127.0.0.1:" + std::to_string(control_plane->api_port()) +
        ", broker mqtts://127.0.0.1:" + std::to_string(control_plane->mqtt_port()) +
        " (started in " + Fixed(MillisecondsSince(start) / 1000, 1) + " s)");

    Status fleet_run = RunFleet(*control_plane, folder.existed());
    if (!fleet_run.ok()) Fail("fleet", fleet_run);

    const Clock::time_point stopping = Clock::now();
    control_plane->Stop();
    json_["shutdown_ms"] = MillisecondsSince(stopping);
    json_["duration_s"] = MillisecondsSince(start) / 1000;
    Say("shutdown       fleet and control plane stopped in " +
        Fixed(MillisecondsSince(stopping), 0) + " ms" +
        (folder.temporary() ? ", data folder removed" : ", data folder kept"));

    DemoReport report;
    report.ok = failures_.empty();
    json_["ok"] = report.ok;
    if (!failures_.empty()) json_["failures"] = failures_;
    report.json = std::move(json_);
    return report;
  }

 private:
  void Say(const std::string& line) const {
    if (options_.progress) options_.progress(line);
  }
  void Fail(const std::string& step, const Status& status) {
    failures_.push_back({{"step", step}, {"error", std::string(status.message())}});
    Say("FAILED         " + step + ": " + std::string(status.message()));
  }
  void Fail(const std::string& step, const std::string& why) {
    failures_.push_back({{"step", step}, {"error", why}});
    Say("FAILED         " + step + ": " + why);
  }

  Status RunFleet(server::ControlPlane& control_plane, bool folder_existed) {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<identity::Certificate> roots,
                            ReadRoots(control_plane.roots_path()));
    CUSTOS_ASSIGN_OR_RETURN(SecretBytes token,
                            ReadOperatorToken(control_plane.operator_token_path()));
    FleetOptions fleet_options;
    fleet_options.api_port = control_plane.api_port();
    fleet_options.roots = roots;
    fleet_options.operator_token = token;
    fleet_options.devices = options_.devices;
    fleet_options.workers = options_.workers;
    CUSTOS_ASSIGN_OR_RETURN(fleet_options.id_prefix, IdPrefix(folder_existed));
    CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<Fleet> fleet, Fleet::Create(fleet_options));
    CUSTOS_ASSIGN_OR_RETURN(Operator op,
                            Operator::Connect(control_plane.api_port(), roots, std::move(token)));

    Enroll(*fleet);
    if (Connect(*fleet)) {
      Telemetry(*fleet, control_plane);
      Rotate(*fleet, op);
      Revoke(*fleet, op);
    }
    const Clock::time_point stopping = Clock::now();
    fleet->Stop();
    json_["fleet_stop_ms"] = MillisecondsSince(stopping);
    // The control plane commits its last telemetry batch on Stop; the
    // counts below are what it had received by now.
    Summarise(*fleet, control_plane);
    return OkStatus();
  }

  void Enroll(Fleet& fleet) {
    StatusOr<EnrollReport> enrolled = fleet.Enroll();
    if (!enrolled.ok()) {
      Fail("enrollment", enrolled.status());
      json_["enrolled"] = 0;
      return;
    }
    const double seconds = enrolled->wall_ms / 1000;
    const double rate = seconds > 0 ? enrolled->enrolled / seconds : 0;
    json_["enrolled"] = enrolled->enrolled;
    json_["enrollment"] = {{"wall_ms", enrolled->wall_ms},
                           {"token_minting_ms", enrolled->token_ms},
                           {"per_s", rate},
                           {"failed", enrolled->failed},
                           {"latency_ms", Percentiles(enrolled->latencies_ms)}};
    Say("enrollment     " + std::to_string(enrolled->enrolled) + "/" +
        std::to_string(options_.devices) + " devices enrolled with one-time tokens in " +
        Fixed(seconds, 1) + " s (" + Fixed(rate, 0) + "/s), latency p50 " +
        Fixed(Percentile(enrolled->latencies_ms, 50)) + " ms, p99 " +
        Fixed(Percentile(enrolled->latencies_ms, 99)) + " ms");
    if (enrolled->failed > 0) {
      Fail("enrollment", std::to_string(enrolled->failed) +
                             " devices failed to enroll; first error: " + enrolled->first_error);
    }
  }

  bool Connect(Fleet& fleet) {
    const Clock::time_point start = Clock::now();
    const auto timeout = std::chrono::milliseconds(30000 + 30LL * options_.devices);
    Status connected = fleet.Connect(timeout);
    const double ms = MillisecondsSince(start);
    const FleetStats stats = fleet.Stats();
    json_["connected"] = stats.connected;
    json_["connect_ms"] = ms;
    Say("connection     " + std::to_string(stats.connected) + "/" + std::to_string(stats.enrolled) +
        " devices connected to the broker over mutual TLS in " + Fixed(ms / 1000, 1) + " s");
    if (!connected.ok()) {
      Fail("connection", connected);
      return stats.connected > 0;
    }
    return true;
  }

  void Telemetry(Fleet& fleet, server::ControlPlane& control_plane) {
    const uint64_t sent_before = fleet.Stats().messages_sent;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(options_.telemetry_seconds * 1000)));
    const uint64_t sent = fleet.Stats().messages_sent - sent_before;
    StatusOr<server::ControlPlaneStats> stats = control_plane.Stats();
    if (!stats.ok()) {
      Fail("telemetry", stats.status());
      return;
    }
    Say("telemetry      " + std::to_string(sent) + " messages in " +
        Fixed(options_.telemetry_seconds, 0) + " s (" +
        Fixed(static_cast<double>(sent) / options_.telemetry_seconds, 0) +
        "/s), sealed end to end with Ascon-AEAD128; custosd has accepted " +
        std::to_string(stats->telemetry_accepted) + " so far, latency p50 " +
        Fixed(stats->latency_p50_ms, 2) + " ms, p99 " + Fixed(stats->latency_p99_ms, 2) + " ms");
  }

  void Rotate(Fleet& fleet, Operator& op) {
    const int target = fleet.Stats().enrolled;
    const Clock::time_point start = Clock::now();
    server::CommandsBody command;
    command.command = "rotate";
    command.all = true;
    StatusOr<std::string> sent = op.Post("/v1/commands", server::CommandsBodyToJson(command));
    if (!sent.ok()) {
      Fail("rotation", sent.status());
      json_["rotated"] = 0;
      return;
    }
    const auto timeout = std::chrono::milliseconds(60000 + 60LL * options_.devices);
    const bool done = fleet.WaitFor(
        [target](const FleetStats& s) {
          return s.rotated + s.rotation_failures >= target && s.connected >= s.rotated;
        },
        timeout);
    const double ms = MillisecondsSince(start);
    const FleetStats stats = fleet.Stats();
    const std::vector<double> latencies = fleet.RotationLatenciesMs();
    json_["rotated"] = stats.rotated;
    json_["rotation"] = {{"wall_ms", ms},
                         {"failed", stats.rotation_failures},
                         {"connected_after", stats.connected},
                         {"latency_ms", Percentiles(latencies)}};
    Say("rotation       " + std::to_string(stats.rotated) + "/" + std::to_string(target) +
        " credentials rotated on command (new key, new certificate, reconnected) in " +
        Fixed(ms / 1000, 1) + " s, latency p50 " + Fixed(Percentile(latencies, 50)) + " ms, p99 " +
        Fixed(Percentile(latencies, 99)) + " ms");
    if (!done || stats.rotated < target) {
      Fail("rotation", std::to_string(stats.rotated) + " of " + std::to_string(target) +
                           " rotated (" + std::to_string(stats.rotation_failures) + " failed)");
    }
  }

  void Revoke(Fleet& fleet, Operator& op) {
    const std::vector<std::string> ids = fleet.device_ids();
    const std::string device = ids[ids.size() / 2];
    server::RevokeBody body;
    body.reason = identity::RevocationReason::kKeyCompromise;
    const Clock::time_point start = Clock::now();
    StatusOr<std::string> revoked =
        op.Post("/v1/devices/" + device + "/revoke", server::RevokeBodyToJson(body));
    if (!revoked.ok()) {
      Fail("revocation", revoked.status());
      return;
    }
    const double answered_ms = MillisecondsSince(start);
    // Watch long enough for the cut-off (required within 2 s) and for the
    // fleet's reconnection attempts to be refused.
    const CutOff cut = WatchCutOff(fleet, device, start, std::chrono::milliseconds(5000));
    nlohmann::json section = {{"device", device},
                              {"api_answer_ms", answered_ms},
                              {"reconnect_refused", cut.refused_ms.has_value()},
                              {"reconnected", cut.reconnected}};
    section["cut_off_ms"] = cut.disconnected_ms ? nlohmann::json(*cut.disconnected_ms) : nullptr;
    if (cut.refused_ms) section["refused_after_ms"] = *cut.refused_ms;
    json_["revoked"] = section;
    if (!cut.disconnected_ms) {
      Fail("revocation", device + " was not disconnected within 5 s");
      return;
    }
    Say("revocation     " + device + " revoked (key compromise): cut off by the broker after " +
        Fixed(*cut.disconnected_ms, 0) + " ms; " +
        (cut.refused_ms ? "its reconnection was refused after " + Fixed(*cut.refused_ms, 0) + " ms"
                        : std::string("no reconnection attempt seen")));
    if (*cut.disconnected_ms > 2000) {
      Fail("revocation", "cut off after " + Fixed(*cut.disconnected_ms, 0) + " ms (limit 2000)");
    }
    if (cut.reconnected) Fail("revocation", device + " connected again after its revocation");
  }

  void Summarise(const Fleet& fleet, server::ControlPlane& control_plane) {
    const FleetStats fleet_stats = fleet.Stats();
    // custosd opens and checks messages on its own thread: give it up to
    // 5 s to handle every message the broker acknowledged to the devices.
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
    StatusOr<server::ControlPlaneStats> stats = control_plane.Stats();
    while (stats.ok() && Clock::now() < deadline) {
      int64_t handled = stats->telemetry_accepted;
      for (const auto& [reason, count] : stats->telemetry_rejected) handled += count;
      if (handled >= static_cast<int64_t>(fleet_stats.messages_acked)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      stats = control_plane.Stats();
    }
    if (!stats.ok()) {
      Fail("summary", stats.status());
      return;
    }
    json_["telemetry"] = {
        {"messages", stats->telemetry_accepted},
        {"sent", fleet_stats.messages_sent},
        {"received", stats->telemetry_received},
        {"rejected", stats->telemetry_rejected},
        {"latency_ms", {{"p50", stats->latency_p50_ms}, {"p99", stats->latency_p99_ms}}}};
    json_["server"] = {{"enrollments", stats->enrollments},
                       {"rotations", stats->rotations},
                       {"revocations", stats->revocations},
                       {"commands_sent", stats->commands_sent},
                       {"devices_by_status", stats->devices_by_status}};
    json_["fleet"] = {{"reconnects", fleet_stats.reconnects},
                      {"refusals", fleet_stats.refusals},
                      {"disconnects", fleet_stats.disconnects},
                      {"commands", fleet_stats.commands}};
    Say("summary        custosd accepted " + std::to_string(stats->telemetry_accepted) + " of " +
        std::to_string(fleet_stats.messages_sent) + " telemetry messages sent, latency p50 " +
        Fixed(stats->latency_p50_ms, 2) + " ms, p99 " + Fixed(stats->latency_p99_ms, 2) + " ms");
  }

  const DemoOptions& options_;
  nlohmann::json json_ = nlohmann::json::object();
  nlohmann::json failures_ = nlohmann::json::array();
};

}  // namespace

StatusOr<DemoReport> RunDemo(const DemoOptions& options) {
  if (options.devices < 1 || options.devices > 20000) {
    return InvalidArgumentError("devices: expected 1 to 20000, got " +
                                std::to_string(options.devices));
  }
  if (options.telemetry_seconds < 0 || options.telemetry_seconds > 3600) {
    return InvalidArgumentError("telemetry seconds: expected 0 to 3600");
  }
  DemoRun run(options);
  return run.Run();
}

}  // namespace custos::sim
