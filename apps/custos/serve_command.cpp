// `custos serve`: runs custosd, the control plane (custos/server/control_plane.h),
// on a data folder until SIGINT or SIGTERM, then stops it gracefully.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/flags.h"
#include "custos/server/control_plane.h"

namespace custos::cli {
namespace {

const std::vector<FlagSpec>& ServeFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"data", true, "the data folder (created and initialised at first start)", "DIR"},
      {"api-port", true, "HTTPS API port on 127.0.0.1 (default 8443; 0 = any free port)", "N"},
      {"mqtt-port", true, "MQTT broker port on 127.0.0.1 (default 8883; 0 = any free port)", "N"},
      {"ca-name", true, "name of the fleet CA created at first start (default \"custos fleet\")",
       "NAME"},
  };
  return kFlags;
}

std::string Usage() {
  return HelpText(
      "custos serve --data DIR [--api-port N] [--mqtt-port N] [--ca-name NAME]",
      "Runs custosd, the control plane: the HTTPS API (enrollment, rotation, devices, revocation,\n"
      "health, metrics; docs/api.md), a mosquitto broker for device telemetry and commands, and\n"
      "the telemetry subscriber. The first start creates the data folder: a SoftHSM2 token with\n"
      "the fleet CA keys (DIR/hsm), the database (DIR/custos.db), the telemetry key store,\n"
      "DIR/roots.pem and DIR/operator.token. Runs until SIGINT or SIGTERM, then stops gracefully.",
      ServeFlags());
}

bool ParsePort(const std::optional<std::string>& text, int fallback, int& out) {
  if (!text.has_value()) {
    out = fallback;
    return true;
  }
  if (text->empty() || text->size() > 5) return false;
  int value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return false;
  out = value;
  return true;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << Usage();
      return kExitOk;
    }
  }
  StatusOr<Flags> flags = Flags::Parse(args, ServeFlags());
  if (!flags.ok()) {
    std::cerr << "custos serve: " << std::string(flags.status().message()) << "\n\n" << Usage();
    return kExitUsage;
  }
  server::ControlPlaneOptions options;
  std::optional<std::string> data = flags->Get("data");
  if (!data.has_value() || data->empty()) {
    std::cerr << "custos serve: --data DIR is required\n\n" << Usage();
    return kExitUsage;
  }
  options.data_dir = *data;
  if (!ParsePort(flags->Get("api-port"), 8443, options.api_port) ||
      !ParsePort(flags->Get("mqtt-port"), 8883, options.mqtt_port)) {
    std::cerr << "custos serve: a port must be a number from 0 to 65535\n";
    return kExitUsage;
  }
  if (std::optional<std::string> name = flags->Get("ca-name"); name.has_value()) {
    options.ca_name = *name;
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and sigwait below is the only place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that goes away mid-answer must not end the server (TLS writes
  // to a closed socket raise SIGPIPE).
  ::signal(SIGPIPE, SIG_IGN);

  StatusOr<std::unique_ptr<server::ControlPlane>> plane = server::ControlPlane::Start(options);
  if (!plane.ok()) {
    std::cerr << "custos serve: " << std::string(plane.status().message()) << "\n";
    return kExitFailure;
  }
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

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  std::cout << "custosd: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << " received, stopping\n"
            << std::flush;
  cp.Stop();
  std::cout << "custosd: stopped\n" << std::flush;
  return kExitOk;
}

}  // namespace custos::cli
