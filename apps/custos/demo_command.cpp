// `custos demo`: the main job on embedded defaults. It runs the whole system
// on this machine (custos/sim/demo.h): custosd with its broker on a fresh data
// folder, a simulated fleet that enrolls, connects over mutual TLS and sends
// sealed telemetry, a rotation of every credential, the revocation of one
// device, and a clean stop; then it reports what happened.
#include <iostream>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "apps/custos/subcommand.h"
#include "custos/sim/demo.h"

namespace custos::cli {
namespace {

constexpr char kUsage[] = "custos demo [--devices N] [--json] [--keep DIR]";
constexpr char kSummary[] =
    "run the whole system on this machine: custosd (CA in a SoftHSM2 token, SQLite, the mosquitto "
    "broker) on a fresh data folder, N simulated devices that enroll, connect over mutual TLS and "
    "send end-to-end encrypted telemetry, a rotation of every credential, the revocation of one "
    "device (measuring how fast it is cut off), then a clean stop and a report. Exit status 0 "
    "when every step succeeded.";

std::vector<FlagSpec> Specs() {
  return {{"devices", true, "simulated devices, 1..20000 (default 1000)", "N"},
          {"keep", true, "use DIR as the data folder and leave it behind for inspection", "DIR"},
          {"telemetry-seconds", true, "seconds of telemetry before the rotation (default 5)", "S"},
          {"json", false, "print the report as one JSON object"}};
}

bool ParseBounded(const std::string& text, long long min, long long max, long long& out) {
  char* end = nullptr;
  out = std::strtoll(text.c_str(), &end, 10);
  return !text.empty() && *end == '\0' && out >= min && out <= max;
}

}  // namespace

int RunDemo(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << HelpText(kUsage, kSummary, Specs());
      return kExitOk;
    }
  }
  CommandContext ctx{"demo", Flags()};
  StatusOr<Flags> flags = Flags::Parse(args, Specs());
  if (!flags.ok()) return UsageError(ctx, std::string(flags.status().message()));
  ctx.flags = *std::move(flags);

  sim::DemoOptions options;
  long long value = 0;
  if (std::optional<std::string> devices = ctx.flags.Get("devices")) {
    if (!ParseBounded(*devices, 1, 20000, value)) {
      return UsageError(ctx, "--devices: expected 1 to 20000");
    }
    options.devices = static_cast<int>(value);
  }
  if (std::optional<std::string> seconds = ctx.flags.Get("telemetry-seconds")) {
    if (!ParseBounded(*seconds, 1, 3600, value)) {
      return UsageError(ctx, "--telemetry-seconds: expected 1 to 3600");
    }
    options.telemetry_seconds = static_cast<double>(value);
  }
  if (std::optional<std::string> keep = ctx.flags.Get("keep")) options.keep_dir = *keep;
  const bool json = ctx.flags.Has("json");
  if (!json) {
    std::cout << "custos demo: " << options.devices
              << " simulated devices against custosd and its broker on this machine\n";
    options.progress = [](std::string_view line) { std::cout << "  " << line << std::endl; };
  }

  StatusOr<sim::DemoReport> report = sim::RunDemo(options);
  if (!report.ok()) return ErrorExit(ctx, report.status());
  if (json) {
    std::cout << report->json.dump() << "\n";
  } else {
    std::cout << (report->ok ? "demo complete: every step succeeded\n"
                             : "demo FAILED: see the FAILED lines above\n");
  }
  return report->ok ? kExitOk : kExitFailure;
}

}  // namespace custos::cli
