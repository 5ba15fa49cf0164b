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

int DemoMain(CommandContext& ctx) {
  sim::DemoOptions options;
  StatusOr<int64_t> devices = ctx.flags.GetInt("devices", options.devices, 1, 20000);
  if (!devices.ok()) return ErrorExit(ctx, devices.status());
  options.devices = static_cast<int>(*devices);
  StatusOr<int64_t> seconds = ctx.flags.GetInt("telemetry-seconds", 5, 1, 3600);
  if (!seconds.ok()) return ErrorExit(ctx, seconds.status());
  options.telemetry_seconds = static_cast<double>(*seconds);
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

}  // namespace

int RunDemo(const std::vector<std::string>& args) {
  return RunCommand({"demo", kUsage, kSummary, Specs(), DemoMain}, args);
}

}  // namespace custos::cli
