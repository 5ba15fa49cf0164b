// `custos demo`: the main job on embedded defaults. Until the control plane
// exists it demonstrates the cryptographic core a device and a gateway share:
// a keyset, telemetry sealed in envelopes, key rotation, tamper detection,
// and the speed of the lightweight ciphers beside OpenSSL's.
#include <algorithm>
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

// The device side of the demo: a keyset, telemetry sealed in envelopes, a
// rotation that keeps old messages readable, and tamper rejection. Reports
// each step that passes; returns why the first failing one failed.
Status EnvelopeSteps(const std::shared_ptr<const lwc::AlgorithmRegistry>& registry,
                     DemoReport& report, bool quiet) {
  const std::string telemetry = R"({"device":"sensor-0001","seq":1,"temp_c":21.5})";
  const std::span<const uint8_t> plaintext = AsBytes(telemetry);
  const std::span<const uint8_t> topic = AsBytes("devices/sensor-0001/telemetry");

  CUSTOS_ASSIGN_OR_RETURN(crypto::Keyset keyset,
                          crypto::Keyset::Generate("ascon-aead128", *registry));
  report.Step("keyset", true, "ascon-aead128 key " + std::to_string(keyset.primary_key_id()),
              quiet);

  CUSTOS_ASSIGN_OR_RETURN(crypto::EnvelopeAead before,
                          crypto::EnvelopeAead::Create(keyset, registry));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> old_message, before.Encrypt(plaintext, topic));
  report.Step("seal", true,
              std::to_string(telemetry.size()) + " bytes of telemetry -> " +
                  std::to_string(old_message.size()) + "-byte envelope",
              quiet);

  CUSTOS_RETURN_IF_ERROR(keyset.Rotate("gift-cofb", *registry));
  CUSTOS_ASSIGN_OR_RETURN(crypto::EnvelopeAead after,
                          crypto::EnvelopeAead::Create(keyset, registry));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> new_message, after.Encrypt(plaintext, topic));
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> reopened, after.Decrypt(old_message, topic));
  if (!std::equal(reopened.begin(), reopened.end(), plaintext.begin(), plaintext.end())) {
    return InternalError("rotation changed a message sealed before it");
  }
  report.Step("rotate", true,
              "new primary gift-cofb key " + std::to_string(keyset.primary_key_id()) +
                  "; the message sealed before rotation still opens",
              quiet);

  for (std::size_t i = 0; i < new_message.size(); ++i) {
    std::vector<uint8_t> tampered = new_message;
    tampered[i] ^= 0x01;
    if (after.Decrypt(tampered, topic).ok()) {
      return InternalError("an envelope with a bit of byte " + std::to_string(i) +
                           " flipped was accepted");
    }
  }
  if (after.Decrypt(new_message, AsBytes("devices/sensor-0002/telemetry")).ok()) {
    return InternalError("an envelope replayed to another topic was accepted");
  }
  report.Step(
      "tamper", true,
      "a flipped bit in each byte of the envelope and a replay to another topic were rejected",
      quiet);
  return OkStatus();
}

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

  Status envelope = EnvelopeSteps(*registry, report, quiet);
  if (!envelope.ok()) report.Step("envelope", false, std::string(envelope.message()), quiet);

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
      report.json["speed"].push_back({{"alg", r.algorithm},
                                      {"bytes", r.bytes},
                                      {"ns_per_byte", r.ns_per_byte},
                                      {"mb_per_s", r.mb_per_s}});
    }
  }
  if (!quiet) {
    std::cout << "  speed (MB/s, 64 B / 16 KiB messages):\n";
    for (const auto& [alg, by_size] : ns) {
      std::cout << "        " << alg;
      for (const auto& [bytes, value] : by_size)
        std::cout << "  " << static_cast<int>(1000 / value);
      std::cout << "\n";
    }
  }
  report.json["ok"] = report.ok;
  if (quiet)
    std::cout << report.json.dump() << "\n";
  else
    std::cout << (report.ok ? "demo passed\n" : "demo FAILED\n");
  return report.ok ? kExitOk : kExitFailure;
}

}  // namespace custos::cli
