// `custos serve`: runs custosd, the control plane (custos/server/control_plane.h),
// on a data folder until SIGINT or SIGTERM, then stops it gracefully.
#include <iostream>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/flags.h"
#include "apps/custos/stop_signals.h"
#include "apps/custos/subcommand.h"
#include "custos/server/control_plane.h"

namespace custos::cli {
namespace {

constexpr char kUsage[] = "custos serve --data DIR [--api-port N] [--mqtt-port N] [--ca-name NAME]";
constexpr char kSummary[] =
    "Runs custosd, the control plane: the HTTPS API (enrollment, rotation, devices, revocation,\n"
    "health, metrics; docs/api.md), a mosquitto broker for device telemetry and commands, and\n"
    "the telemetry subscriber. The first start creates the data folder: a SoftHSM2 token with\n"
    "the fleet CA keys (DIR/hsm), the database (DIR/custos.db), the telemetry key store,\n"
    "DIR/roots.pem and DIR/operator.token. Runs until SIGINT or SIGTERM, then stops gracefully.";

std::vector<FlagSpec> ServeFlags() {
  return {
      {"data", true, "the data folder (created and initialised at first start)", "DIR"},
      {"api-port", true, "HTTPS API port on 127.0.0.1 (default 8443; 0 = any free port)", "N"},
      {"mqtt-port", true, "MQTT broker port on 127.0.0.1 (default 8883; 0 = any free port)", "N"},
      {"ca-name", true, "name of the fleet CA created at first start (default \"custos fleet\")",
       "NAME"},
  };
}

int ServeMain(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data.has_value()) return rc;
  if (data->empty()) return UsageError(ctx, "--data: expected a folder");
  server::ControlPlaneOptions options;
  options.data_dir = *data;
  StatusOr<int64_t> api_port = ctx.flags.GetInt("api-port", 8443, 0, 65535);
  if (!api_port.ok()) return ErrorExit(ctx, api_port.status());
  StatusOr<int64_t> mqtt_port = ctx.flags.GetInt("mqtt-port", 8883, 0, 65535);
  if (!mqtt_port.ok()) return ErrorExit(ctx, mqtt_port.status());
  options.api_port = static_cast<int>(*api_port);
  options.mqtt_port = static_cast<int>(*mqtt_port);
  if (std::optional<std::string> name = ctx.flags.Get("ca-name"); name.has_value()) {
    options.ca_name = *name;
  }

  // Before any thread starts: every thread inherits the blocked stop
  // signals, and Wait below is the only place they arrive.
  const StopSignals stop_signals;

  StatusOr<std::unique_ptr<server::ControlPlane>> plane = server::ControlPlane::Start(options);
  if (!plane.ok()) return Failure(ctx, std::string(plane.status().message()));
  server::ControlPlane& cp = **plane;
  if (!cp.created().empty()) {
    std::cout << "first start: created\n";
    for (const std::string& line : cp.created()) std::cout << "  " << line << "\n";
  }
  std::cout << "custosd running on " << cp.data_dir() << "\n"
            << "  HTTPS API    https://127.0.0.1:" << cp.api_port() << " (server name localhost)\n"
            << "  MQTT broker  mqtts://127.0.0.1:" << cp.mqtt_port() << "\n"
            << "  fleet roots  " << cp.roots_path() << "\n"
            << "  operator token " << cp.operator_token_path()
            << " (Authorization: Bearer <contents>)\n"
            << "stop with SIGINT (Ctrl-C) or SIGTERM\n"
            << std::flush;

  const int signal_number = stop_signals.Wait();
  std::cout << "custosd: " << StopSignals::Name(signal_number) << " received, stopping\n"
            << std::flush;
  cp.Stop();
  std::cout << "custosd: stopped\n" << std::flush;
  return kExitOk;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  return RunCommand({"serve", kUsage, kSummary, ServeFlags(), ServeMain}, args);
}

}  // namespace custos::cli
