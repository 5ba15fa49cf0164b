// `custos demo`: the main job on embedded defaults. Until the control plane
// exists it demonstrates the cryptographic core a device and a gateway share:
// a keyset, telemetry sealed in envelopes, key rotation, tamper detection,
// and the speed of the lightweight ciphers beside OpenSSL's.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/flags.h"
#include "custos/core/hex.h"
#include "custos/crypto/envelope.h"
#include "custos/crypto/keyset.h"
#include "custos/crypto/registry.h"
#include "custos/crypto/throughput.h"

namespace custos::cli {
namespace {

struct DemoReport {
  nlohmann::json json = nlohmann::json::object();
  bool ok = true;
  void Step(const std::string& name, bool passed, const std::string& detail, bool quiet) {
    json["steps"].push_back({{"step", name}, {"ok", passed}, {"detail", detail}});
    ok = ok && passed;
    if (!quiet) std::cout << (passed ? "  ok    " : "  FAIL  ") << name << ": " << detail << "\n";
  }
};

}  // namespace

int RunDemo(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = {{"json", false, "print a JSON report"},
                                       {"time-ms", true, "time per speed measurement", "MS"}};
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << HelpText("custos demo [--json] [--time-ms MS]",
                            "Runs the demonstration on embedded defaults: a device keyset, "
                            "telemetry sealed with\nAscon-AEAD128 envelopes, key rotation, "
                            "tamper detection and a speed comparison.",
                            specs);
      return kExitOk;
    }
  }
  StatusOr<Flags> flags = Flags::Parse(args, specs);
  if (!flags.ok()) {
    std::cerr << "custos demo: " << flags.status().message() << "\n";
    return kExitUsage;
  }
  const bool quiet = flags->Has("json");
  double time_ms = 20;
  if (auto t = flags->Get("time-ms")) time_ms = std::atof(t->c_str());
  if (time_ms <= 0 || time_ms > 60000) {
    std::cerr << "custos demo: --time-ms: expected 1..60000\n";
    return kExitUsage;
  }

  StatusOr<std::shared_ptr<const lwc::AlgorithmRegistry>> registry = crypto::NewDefaultRegistry();
  if (!registry.ok()) {
    std::cerr << "custos demo: " << registry.status().message() << "\n";
    return kExitFailure;
  }
  DemoReport report;
  if (!quiet) std::cout << "custos demo: the lightweight-cryptography core\n";

  StatusOr<crypto::Keyset> keyset = crypto::Keyset::Generate("ascon-aead128", **registry);
  report.Step("keyset", keyset.ok(),
              keyset.ok() ? "ascon-aead128 key " + std::to_string(keyset->primary_key_id())
                          : std::string(keyset.status().message()),
              quiet);
  if (!keyset.ok()) return kExitFailure;

  const std::string telemetry = R"({"device":"sensor-0001","seq":1,"temp_c":21.5})";
  const std::vector<uint8_t> device_ad(AsBytes("devices/sensor-0001/telemetry").begin(),
                                       AsBytes("devices/sensor-0001/telemetry").end());
  StatusOr<crypto::EnvelopeAead> old_aead = crypto::EnvelopeAead::Create(*keyset, *registry);
  StatusOr<std::vector<uint8_t>> old_message =
      old_aead.ok() ? old_aead->Encrypt(AsBytes(telemetry), device_ad)
                    : StatusOr<std::vector<uint8_t>>(old_aead.status());
  report.Step("seal", old_message.ok(),
              old_message.ok() ? std::to_string(telemetry.size()) + " bytes of telemetry -> " +
                                     std::to_string(old_message->size()) + "-byte envelope"
                               : std::string(old_message.status().message()),
              quiet);
  if (!old_message.ok()) return kExitFailure;

  Status rotated = keyset->Rotate("gift-cofb", **registry);
  StatusOr<crypto::EnvelopeAead> new_aead =
      rotated.ok() ? crypto::EnvelopeAead::Create(*keyset, *registry)
                   : StatusOr<crypto::EnvelopeAead>(rotated);
  StatusOr<std::vector<uint8_t>> new_message =
      new_aead.ok() ? new_aead->Encrypt(AsBytes(telemetry), device_ad)
                    : StatusOr<std::vector<uint8_t>>(new_aead.status());
  StatusOr<std::vector<uint8_t>> reopened =
      new_aead.ok() ? new_aead->Decrypt(*old_message, device_ad)
                    : StatusOr<std::vector<uint8_t>>(new_aead.status());
  bool rotation_ok = new_message.ok() && reopened.ok() &&
                     std::string(reopened->begin(), reopened->end()) == telemetry;
  report.Step("rotate", rotation_ok,
              rotation_ok ? "new primary gift-cofb key " + std::to_string(keyset->primary_key_id()) +
                                "; the message sealed before rotation still opens"
                          : "rotation broke old messages",
              quiet);

  bool tamper_caught = true;
  if (new_aead.ok() && new_message.ok()) {
    for (std::size_t i = 0; i < new_message->size(); ++i) {
      std::vector<uint8_t> tampered = *new_message;
      tampered[i] ^= 0x01;
      if (new_aead->Decrypt(tampered, device_ad).ok()) tamper_caught = false;
    }
    std::vector<uint8_t> wrong_topic(AsBytes("devices/sensor-0002/telemetry").begin(),
                                     AsBytes("devices/sensor-0002/telemetry").end());
    if (new_aead->Decrypt(*new_message, wrong_topic).ok()) tamper_caught = false;
  } else {
    tamper_caught = false;
  }
  report.Step("tamper", tamper_caught,
              tamper_caught ? "every single-bit flip of the envelope and a replay to another "
                              "topic were rejected"
                            : "a tampered envelope was accepted",
              quiet);

  crypto::ThroughputOptions options;
  options.sizes = {64, 16384};
  options.min_time_ms = time_ms;
  options.repetitions = 2;
  std::map<std::string, std::map<std::size_t, double>> ns;
  for (const char* alg : {"ascon-aead128", "chacha20-poly1305", "aes128-gcm"}) {
    options.filter = alg;
    StatusOr<std::vector<crypto::ThroughputResult>> results =
        crypto::MeasureThroughput(**registry, options);
    if (!results.ok()) continue;
    for (const auto& r : *results) {
      ns[r.algorithm][r.bytes] = r.ns_per_byte;
      report.json["speed"].push_back(
          {{"alg", r.algorithm}, {"bytes", r.bytes}, {"ns_per_byte", r.ns_per_byte},
           {"mb_per_s", r.mb_per_s}});
    }
  }
  if (!quiet) {
    std::cout << "  speed (MB/s, 64 B / 16 KiB messages):\n";
    for (const auto& [alg, by_size] : ns) {
      std::cout << "        " << alg;
      for (const auto& [bytes, value] : by_size) std::cout << "  " << static_cast<int>(1000 / value);
      std::cout << "\n";
    }
  }
  report.json["ok"] = report.ok;
  if (quiet) std::cout << report.json.dump() << "\n";
  else std::cout << (report.ok ? "demo passed\n" : "demo FAILED\n");
  return report.ok ? kExitOk : kExitFailure;
}

}  // namespace custos::cli
