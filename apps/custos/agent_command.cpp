// `custos agent`: one device. Enrolls (token or birth certificate) if not
// enrolled, connects to the broker with its certificate, publishes sealed
// telemetry and executes commands until SIGINT/SIGTERM or --count messages.
// See docs/agent.md and docs/cli.md.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "apps/custos/stop_signals.h"
#include "apps/custos/subcommand.h"
#include "custos/agent/agent.h"
#include "custos/agent/api_calls.h"
#include "custos/agent/device_session.h"
#include "custos/core/hex.h"
#include "custos/identity/tokens.h"

namespace custos::cli {
namespace {

constexpr char kUsage[] =
    "custos agent --server URL --data DIR [--roots FILE] [--store URI] [--device-id ID] "
    "[--token T | --token-file F] [--profile P] [--interval S] [--count N] [--json]";
constexpr char kSummary[] =
    "run one device: enroll with custosd (a token, or the birth certificate of a device made by "
    "'custos manufacture') unless DIR already holds its identity, connect to the broker over "
    "mutual TLS, publish telemetry sealed end to end (Ascon-AEAD128) and execute commands "
    "(rotate, report) until SIGINT/SIGTERM or --count messages.";

std::vector<FlagSpec> Specs() {
  return {
      {"server", true, "custosd's API, e.g. https://127.0.0.1:8443", "URL"},
      {"data", true, "the device's state folder (created if missing)", "DIR"},
      {"roots", true, "fleet roots to trust (custosd's DIR/roots.pem); needed to enroll", "FILE"},
      {"store", true, "the device's key store (default soft:DIR/keys)", "URI"},
      {"device-id", true, "device id of a new device (default dev-<random>)", "ID"},
      {"token", true, "one-time enrollment token", "T"},
      {"token-file", true, "file holding the enrollment token", "F"},
      {"profile", true, "behaviour profile: sensor (default), camera or hub", "P"},
      {"interval", true, "seconds between messages (default: the profile's)", "S"},
      {"count", true, "stop after N messages (default: run until stopped)", "N"},
      {"json", false, "print events and the summary as JSON lines"}};
}

std::string Timestamp() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof(text), "%H:%M:%S", &tm);
  return text;
}

int AgentMain(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> server = RequireFlag(ctx, "server", rc);
  if (!server) return rc;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  StatusOr<agent::ServerUrl> url = agent::ParseServerUrl(*server);
  if (!url.ok()) return UsageError(ctx, "--server: " + std::string(url.status().message()));
  const bool json = ctx.flags.Has("json");

  agent::AgentOptions options;
  options.api_port = url->port;
  if (ctx.flags.Has("token") && ctx.flags.Has("token-file")) {
    return UsageError(ctx, "give --token or --token-file, not both");
  }
  std::string token_text;
  if (std::optional<std::string> token = ctx.flags.Get("token")) {
    token_text = *token;
  } else if (std::optional<std::string> file = ctx.flags.Get("token-file")) {
    StatusOr<std::string> text = ReadTextFile(*file, 4096);
    if (!text.ok()) return UsageError(ctx, "--token-file: " + std::string(text.status().message()));
    token_text = *text;
    while (!token_text.empty() && (token_text.back() == '\n' || token_text.back() == '\r')) {
      token_text.pop_back();
    }
  }
  if (!token_text.empty()) {
    options.token = SecretBytes(AsBytes(token_text));
    SecureWipe(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(token_text.data()), token_text.size()));
    if (Status syntax = identity::CheckTokenSyntax(options.token.span()); !syntax.ok()) {
      return UsageError(ctx, "token: " + std::string(syntax.message()));
    }
  }
  options.profile = ctx.flags.Get("profile").value_or("sensor");
  if (Status known = agent::FindProfile(options.profile).status(); !known.ok()) {
    return UsageError(ctx, "--profile: " + std::string(known.message()));
  }
  if (std::optional<std::string> interval = ctx.flags.Get("interval")) {
    char* end = nullptr;
    const double seconds = std::strtod(interval->c_str(), &end);
    if (interval->empty() || *end != '\0' || !(seconds > 0) || seconds > 86400) {
      return UsageError(ctx, "--interval: expected seconds between 0 and 86400");
    }
    options.interval_ms = std::max<int64_t>(1, std::llround(seconds * 1000));
  }
  StatusOr<int64_t> count = ctx.flags.GetInt("count", 0, 1, INT64_MAX);  // 0: not given
  if (!count.ok()) return ErrorExit(ctx, count.status());
  options.count = static_cast<uint64_t>(*count);
  options.on_event = [json](const std::string& line) {
    if (json) {
      std::cout << nlohmann::json({{"event", line}, {"time", Timestamp()}}).dump() << std::endl;
    } else {
      std::cout << Timestamp() << " " << line << std::endl;
    }
  };

  agent::DeviceFolderOptions folder;
  folder.dir = *data;
  folder.store_uri = ctx.flags.Get("store").value_or("");
  folder.device_id = ctx.flags.Get("device-id").value_or("");
  if (std::optional<std::string> roots_file = ctx.flags.Get("roots")) {
    StatusOr<std::string> pem = ReadTextFile(*roots_file, 1 << 20);
    if (!pem.ok()) return UsageError(ctx, "--roots: " + std::string(pem.status().message()));
    StatusOr<std::vector<identity::Certificate>> roots = identity::ParseCertificatePemBundle(*pem);
    if (!roots.ok()) return UsageError(ctx, "--roots: " + std::string(roots.status().message()));
    folder.bootstrap_roots = *std::move(roots);
  }
  StatusOr<std::unique_ptr<agent::DeviceSession>> session = agent::DeviceSession::Open(folder);
  if (!session.ok()) return ErrorExit(ctx, session.status());
  if (!(*session)->enrolled()) {
    if (options.token.empty() && !(*session)->has_birth_certificate()) {
      return UsageError(ctx,
                        "the device is not enrolled: give --token or --token-file, or a "
                        "--data folder made by 'custos manufacture'");
    }
    if (folder.bootstrap_roots.empty()) {
      return UsageError(ctx, "the device is not enrolled: give --roots (custosd's roots.pem)");
    }
  }

  // Before the agent's threads start. SIGINT/SIGTERM are taken by a thread
  // of their own, so that stopping needs no async-signal-safe tricks.
  const StopSignals stop_signals;

  StatusOr<std::unique_ptr<agent::Agent>> made =
      agent::Agent::Create(*std::move(session), std::move(options));
  if (!made.ok()) return ErrorExit(ctx, made.status());
  agent::Agent& runner = **made;
  std::atomic<bool> finished{false};
  std::thread signal_thread([&] {
    while (!finished.load()) {
      if (stop_signals.WaitFor(std::chrono::milliseconds(200)) != 0) {
        runner.RequestStop();
        return;
      }
    }
  });
  Status ran = runner.Run();
  finished.store(true);
  signal_thread.join();
  const agent::AgentStats stats = runner.stats();
  if (json) {
    std::cout << nlohmann::json({{"device", runner.session().device_id()},
                                 {"certificate_serial", runner.session().certificate_serial()},
                                 {"messages_sent", stats.messages_sent},
                                 {"messages_acked", stats.messages_acked},
                                 {"publish_failures", stats.publish_failures},
                                 {"last_sequence", stats.last_sequence},
                                 {"connections", stats.connections},
                                 {"refusals", stats.refusals},
                                 {"rotations", stats.rotations},
                                 {"commands", stats.commands},
                                 {"commands_ignored", stats.commands_ignored},
                                 {"ok", ran.ok()}})
                     .dump()
              << std::endl;
  } else {
    std::cout << "Device '" << runner.session().device_id() << "': " << stats.messages_sent
              << " messages sent (" << stats.messages_acked << " acknowledged, "
              << stats.publish_failures << " failed), last sequence " << stats.last_sequence << ", "
              << stats.connections << " connections, " << stats.rotations << " rotations, "
              << stats.commands << " commands\n";
  }
  if (!ran.ok()) return ErrorExit(ctx, ran);
  return kExitOk;
}

}  // namespace

int RunAgent(const std::vector<std::string>& args) {
  return RunCommand({"agent", kUsage, kSummary, Specs(), AgentMain}, args);
}

}  // namespace custos::cli
