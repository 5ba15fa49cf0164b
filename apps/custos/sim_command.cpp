// `custos sim`: a simulated fleet in one process (custos/sim): N devices
// enroll through custosd's API, connect to its broker over mutual TLS on one
// event loop, and publish sealed telemetry by profile for --duration
// seconds, then a summary is printed. See docs/agent.md and docs/cli.md.
#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "apps/custos/stop_signals.h"
#include "apps/custos/subcommand.h"
#include "custos/agent/api_calls.h"
#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/sim/fleet.h"

namespace custos::cli {
namespace {

constexpr char kUsage[] =
    "custos sim --server URL --devices N --roots FILE --operator-token-file F "
    "[--duration S] [--profiles sensor:70,camera:10,hub:20] [--workers N] [--id-prefix P] "
    "[--json]";
constexpr char kSummary[] =
    "simulate a fleet: N devices, each with its own in-memory key store and identity, enroll "
    "with tokens minted through the operator API, connect to the broker (one event loop), "
    "publish telemetry by profile with jitter for --duration seconds (or until SIGINT), "
    "execute rotate/report commands, and print a summary.";

std::vector<FlagSpec> Specs() {
  return {{"server", true, "custosd's API, e.g. https://127.0.0.1:8443", "URL"},
          {"devices", true, "number of devices (1..100000)", "N"},
          {"roots", true, "fleet roots (custosd's DIR/roots.pem)", "FILE"},
          {"operator-token-file", true, "custosd's DIR/operator.token", "F"},
          {"duration", true, "seconds to publish after connecting (default 10)", "S"},
          {"profiles", true, "profile mix (default sensor:70,camera:10,hub:20)", "MIX"},
          {"workers", true, "HTTPS worker threads (default 3)", "N"},
          {"id-prefix", true, "device id prefix (default sim-<4 random hex>-)", "P"},
          {"json", false, "print the summary as JSON"}};
}

std::string Ms(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << value;
  return out.str();
}

int SimMain(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> server = RequireFlag(ctx, "server", rc);
  if (!server) return rc;
  if (!RequireFlag(ctx, "devices", rc)) return rc;
  std::optional<std::string> roots_file = RequireFlag(ctx, "roots", rc);
  if (!roots_file) return rc;
  std::optional<std::string> token_file = RequireFlag(ctx, "operator-token-file", rc);
  if (!token_file) return rc;
  const bool json = ctx.flags.Has("json");

  StatusOr<agent::ServerUrl> url = agent::ParseServerUrl(*server);
  if (!url.ok()) return UsageError(ctx, "--server: " + std::string(url.status().message()));
  sim::FleetOptions options;
  options.api_port = url->port;
  StatusOr<int64_t> devices = ctx.flags.GetInt("devices", 0, 1, 100000);
  if (!devices.ok()) return ErrorExit(ctx, devices.status());
  const int64_t n = *devices;
  options.devices = static_cast<int>(n);
  StatusOr<int64_t> duration = ctx.flags.GetInt("duration", 10, 1, 7 * 24 * 3600);
  if (!duration.ok()) return ErrorExit(ctx, duration.status());
  const int64_t duration_s = *duration;
  StatusOr<int64_t> workers = ctx.flags.GetInt("workers", options.workers, 1, 16);
  if (!workers.ok()) return ErrorExit(ctx, workers.status());
  options.workers = static_cast<int>(*workers);
  if (std::optional<std::string> prefix = ctx.flags.Get("id-prefix")) {
    options.id_prefix = *prefix;
  } else {
    // Ids of earlier runs are taken (and their sequence numbers are higher).
    std::array<uint8_t, 2> tag{};
    if (Status random = FillRandom(tag); !random.ok()) return ErrorExit(ctx, random);
    options.id_prefix = "sim-" + HexEncode(tag) + "-";
  }
  if (Status valid = identity::ValidateDeviceId(options.id_prefix + "1"); !valid.ok()) {
    return UsageError(ctx, "--id-prefix: " + std::string(valid.message()));
  }
  if (std::optional<std::string> mix = ctx.flags.Get("profiles")) {
    StatusOr<std::vector<sim::ProfileShare>> shares = sim::ParseProfileMix(*mix);
    if (!shares.ok()) {
      return UsageError(ctx, "--profiles: " + std::string(shares.status().message()));
    }
    options.profiles = *std::move(shares);
  }
  StatusOr<std::string> pem = ReadTextFile(*roots_file, 1 << 20);
  if (!pem.ok()) return UsageError(ctx, "--roots: " + std::string(pem.status().message()));
  StatusOr<std::vector<identity::Certificate>> roots = identity::ParseCertificatePemBundle(*pem);
  if (!roots.ok()) return UsageError(ctx, "--roots: " + std::string(roots.status().message()));
  options.roots = *std::move(roots);
  StatusOr<std::string> token = ReadTextFile(*token_file, 4096);
  if (!token.ok()) {
    return UsageError(ctx, "--operator-token-file: " + std::string(token.status().message()));
  }
  while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) token->pop_back();
  options.operator_token = SecretBytes(AsBytes(*token));
  SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(token->data()), token->size()));

  // One socket per device: raise the descriptor limit to what is allowed.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
      static_cast<long long>(files.rlim_cur) < n + 64) {
    return Failure(ctx, std::to_string(n) + " devices need more open files than the limit of " +
                            std::to_string(files.rlim_cur) + " (raise it with ulimit -n)");
  }
  // Before the fleet's threads start; looked at while publishing.
  const StopSignals stop_signals;
  auto interrupted = [&stop_signals] {
    return stop_signals.WaitFor(std::chrono::milliseconds(0)) != 0;
  };

  StatusOr<std::unique_ptr<sim::Fleet>> fleet = sim::Fleet::Create(std::move(options));
  if (!fleet.ok()) return ErrorExit(ctx, fleet.status());
  if (!json) std::cout << "Enrolling " << n << " devices..." << std::endl;
  StatusOr<sim::EnrollReport> enrolled = (*fleet)->Enroll();
  if (!enrolled.ok()) return ErrorExit(ctx, enrolled.status());
  if (!json) {
    std::cout << "Enrolled " << enrolled->enrolled << " of " << n << " in " << Ms(enrolled->wall_ms)
              << " ms (p50 " << Ms(sim::Percentile(enrolled->latencies_ms, 50)) << " ms, p99 "
              << Ms(sim::Percentile(enrolled->latencies_ms, 99)) << " ms)"
              << (enrolled->failed > 0 ? "; first failure: " + enrolled->first_error : "")
              << std::endl;
  }
  const auto connect_start = std::chrono::steady_clock::now();
  Status connected = (*fleet)->Connect(std::chrono::milliseconds(60000 + 10 * n));
  const double connect_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - connect_start)
          .count();
  if (!json) {
    std::cout << (connected.ok() ? "Connected all in " + Ms(connect_ms) + " ms"
                                 : std::string(connected.message()))
              << "; publishing for " << duration_s << " s" << std::endl;
  }
  const auto publish_start = std::chrono::steady_clock::now();
  const auto until = publish_start + std::chrono::seconds(duration_s);
  while (std::chrono::steady_clock::now() < until && !interrupted()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double publish_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - publish_start).count();
  const sim::FleetStats running = (*fleet)->Stats();
  (*fleet)->Stop();  // waits up to 2 s for the broker's acknowledgements
  sim::FleetStats stats = (*fleet)->Stats();
  stats.connected = running.connected;  // at the end of the run, before stopping
  const double rate = publish_s > 0 ? static_cast<double>(stats.messages_sent) / publish_s : 0;
  if (json) {
    nlohmann::json out = {{"devices", stats.devices},
                          {"enrolled", stats.enrolled},
                          {"enroll_failures", stats.enroll_failures},
                          {"enroll_ms",
                           {{"wall", enrolled->wall_ms},
                            {"tokens", enrolled->token_ms},
                            {"p50", sim::Percentile(enrolled->latencies_ms, 50)},
                            {"p99", sim::Percentile(enrolled->latencies_ms, 99)}}},
                          {"connected", stats.connected},
                          {"connect_ms", connect_ms},
                          {"all_connected", connected.ok()},
                          {"messages_sent", stats.messages_sent},
                          {"messages_acked", stats.messages_acked},
                          {"publish_failures", stats.publish_failures},
                          {"messages_per_s", rate},
                          {"rotated", stats.rotated},
                          {"rotate_ms",
                           {{"p50", sim::Percentile((*fleet)->RotationLatenciesMs(), 50)},
                            {"p99", sim::Percentile((*fleet)->RotationLatenciesMs(), 99)}}},
                          {"connections", stats.connections},
                          {"reconnects", stats.reconnects},
                          {"refusals", stats.refusals},
                          {"commands", stats.commands}};
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << stats.messages_sent << " messages in " << Ms(publish_s) << " s (" << Ms(rate)
              << "/s), " << stats.publish_failures << " publish failures, " << stats.connected
              << " connected at the end, " << stats.reconnects << " reconnects, " << stats.refusals
              << " refusals, " << stats.rotated << " rotations, " << stats.commands << " commands"
              << std::endl;
  }
  return stats.enrolled == stats.devices && connected.ok() ? kExitOk : kExitFailure;
}

}  // namespace

int RunSim(const std::vector<std::string>& args) {
  return RunCommand({"sim", kUsage, kSummary, Specs(), SimMain}, args);
}

}  // namespace custos::cli
