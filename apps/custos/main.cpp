// custos: the one binary. Parses the command word and hands over to the
// subcommand; no logic of its own.
#include <iostream>
#include <string>
#include <vector>

#include "apps/custos/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: custos <command> [options]\n"
    "\n"
    "custos is a trust and privacy platform for fleets of IoT devices.\n"
    "\n"
    "commands:\n"
    "  ca           the fleet certificate authority (custos ca --help)\n"
    "  crypto       lightweight and standard cryptography (custos crypto --help)\n"
    "  demo         run the demonstration on embedded defaults (custos demo --help)\n"
    "  device       device enrollment, rotation and revocation (custos device --help)\n"
    "  keys         keys in a key store: PKCS#11, TPM 2.0 or software (custos keys --help)\n"
    "  manufacture  a device key and birth certificate (custos manufacture --help)\n"
    "  agent        run one device: enroll, connect, send telemetry (custos agent --help)\n"
    "  serve        run the control plane custosd with its broker (custos serve --help)\n"
    "  sim          simulate a fleet of devices against a control plane (custos sim --help)\n"
    "  version      print the version\n"
    "\n"
    "Every command takes --help.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return custos::cli::kExitUsage;
  }
  const std::string command = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return custos::cli::kExitOk;
  }
  if (command == "version" || command == "--version") {
    std::cout << "custos " << CUSTOS_VERSION << "\n";
    return custos::cli::kExitOk;
  }
  if (command == "crypto") return custos::cli::RunCrypto(rest);
  if (command == "demo") return custos::cli::RunDemo(rest);
  if (command == "keys") return custos::cli::RunKeys(rest);
  if (command == "ca") return custos::cli::RunCa(rest);
  if (command == "device") return custos::cli::RunDevice(rest);
  if (command == "manufacture") return custos::cli::RunManufacture(rest);
  if (command == "serve") return custos::cli::RunServe(rest);
  if (command == "agent") return custos::cli::RunAgent(rest);
  if (command == "sim") return custos::cli::RunSim(rest);
  std::cerr << "custos: unknown command '" << command << "'\n\n" << kUsage;
  return custos::cli::kExitUsage;
}
