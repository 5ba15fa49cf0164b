// Enrolling a fleet: 10,000 devices, each with its key generated in a
// software key store (in memory), a CSR signed through that store, an
// enrollment request document (JSON, as a server would receive it), a
// one-time token, and issuance by a fleet CA whose keys live in a SoftHSM2
// token (PKCS#11), recorded in the CA's file registry (journal + fsync per
// enrollment). The target is under 10 s on a 2-core machine.
//
//   build/release/bench/enroll_benchmark
//
// Each benchmark runs once (Iterations(1)) over the whole fleet and reports
// the total wall time, devices per second and microseconds per device;
// keys:1 enrolls Ed25519 device keys with the same ECDSA P-256 CA, keys:2
// alternates (a mixed fleet), workers:2 runs two CA instances on the same
// folder. Token issuance (one registry update for all 10,000 hashes) is
// timed separately. CUSTOS_ENROLL_DEVICES=N runs a smaller fleet.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "custos/identity/device_client.h"
#include "custos/identity/device_registry.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/fleet_ca.h"
#include "custos/keystore/pkcs11/pkcs11_key_store.h"
#include "custos/keystore/pkcs11/softhsm_test_token.h"
#include "custos/keystore/soft_key_store.h"

namespace {

using custos::SecretBytes;
using custos::StatusOr;
using custos::identity::FleetCa;
using custos::keystore::KeyType;

// The fleet size; CUSTOS_ENROLL_DEVICES overrides it (for profiling).
int FleetSize() {
  static const int size = [] {
    const char* text = std::getenv("CUSTOS_ENROLL_DEVICES");
    const int value = text == nullptr ? 0 : std::atoi(text);
    return value > 0 && value <= 10000 ? value : 10000;
  }();
  return size;
}

// The SoftHSM2 token lives for the whole program: SoftHSM2's configuration
// is process-wide, so every benchmark shares one token (each CA its own
// keys). main() creates it before the benchmarks and removes it after.
std::unique_ptr<custos::keystore::SoftHsmTestToken>& TokenSlot() {
  static std::unique_ptr<custos::keystore::SoftHsmTestToken> token;
  return token;
}
custos::keystore::SoftHsmTestToken* Token() { return TokenSlot().get(); }

// Enrolls devices first..last-1 (device side and CA side) with `ca`.
// Returns an error message, or "" on success; adds the device-side time.
std::string EnrollRange(FleetCa& ca, const std::vector<SecretBytes>& tokens, int mode, int first,
                        int last, int64_t now, double& device_seconds) {
  for (int i = first; i < last; ++i) {
    // The device: its own software store and key, a CSR, the request.
    const auto device_start = std::chrono::steady_clock::now();
    const KeyType type = mode == 0   ? KeyType::kEcdsaP256
                         : mode == 1 ? KeyType::kEd25519
                                     : (i % 2 == 0 ? KeyType::kEcdsaP256 : KeyType::kEd25519);
    auto device_store = custos::keystore::NewInMemorySoftKeyStore();
    const std::string id = "dev-" + std::to_string(i);
    if (!device_store->Generate(type, "identity").ok()) return "device key generation failed";
    auto request = custos::identity::BuildEnrollmentRequest(
        {device_store.get(), "identity"}, id, tokens[static_cast<std::size_t>(i)], {}, now);
    if (!request.ok()) return std::string(request.status().message());
    const std::string request_json = custos::identity::EnrollmentRequestToJson(*request);
    device_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - device_start).count();
    // The CA: parse the request document, check, issue, record.
    auto response = ca.HandleMessage(request_json, now);
    if (!response.ok()) return std::string(response.status().message());
    benchmark::DoNotOptimize(response->data());
  }
  return "";
}

StatusOr<std::unique_ptr<FleetCa>> OpenCa(const std::string& dir) {
  CUSTOS_ASSIGN_OR_RETURN(auto registry, custos::identity::OpenFileDeviceRegistry(dir));
  CUSTOS_ASSIGN_OR_RETURN(auto store, custos::keystore::OpenPkcs11KeyStore(Token()->uri()));
  return FleetCa::Open(std::move(registry), std::move(store));
}

// Args: the device key types (0 ecdsa-p256, 1 ed25519, 2 alternating) and
// the number of CA workers. With 2 workers, two FleetCa instances (each its
// own PKCS#11 session and registry handle) share the CA folder, as several
// custosd replicas would; the registry's file lock orders their records.
void EnrollFleet(benchmark::State& state) {
  const int mode = static_cast<int>(state.range(0));
  const int workers = static_cast<int>(state.range(1));
  char pattern[] = "/tmp/custos-enroll-bench-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  auto registry = custos::identity::OpenFileDeviceRegistry(dir);
  auto store = custos::keystore::OpenPkcs11KeyStore(Token()->uri());
  if (!registry.ok() || !store.ok()) {
    state.SkipWithError("cannot open the registry or the SoftHSM2 token");
    return;
  }
  custos::identity::CaOptions options;
  options.name = "Bench Fleet";
  options.store_uri = Token()->uri();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto ca = FleetCa::Create(*std::move(registry), *std::move(store), options, now);
  if (!ca.ok()) {
    state.SkipWithError(std::string(ca.status().message()).c_str());
    return;
  }
  const auto tokens_start = std::chrono::steady_clock::now();
  auto tokens = (*ca)->IssueTokens(static_cast<std::size_t>(FleetSize()), "", 24 * 3600, now);
  const double token_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - tokens_start).count();
  if (!tokens.ok()) {
    state.SkipWithError(std::string(tokens.status().message()).c_str());
    return;
  }
  std::vector<std::unique_ptr<FleetCa>> cas;
  cas.push_back(*std::move(ca));
  for (int w = 1; w < workers; ++w) {
    auto opened = OpenCa(dir);
    if (!opened.ok()) {
      state.SkipWithError(std::string(opened.status().message()).c_str());
      return;
    }
    cas.push_back(*std::move(opened));
  }

  double seconds = 0;
  std::vector<double> device_seconds(static_cast<std::size_t>(workers), 0.0);
  std::vector<std::string> errors(static_cast<std::size_t>(workers));
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      const int first = FleetSize() * w / workers;
      const int last = FleetSize() * (w + 1) / workers;
      const auto slot = static_cast<std::size_t>(w);
      threads.emplace_back([&, w, first, last, slot] {
        errors[slot] = EnrollRange(*cas[static_cast<std::size_t>(w)], *tokens, mode, first, last,
                                   now, device_seconds[slot]);
      });
    }
    for (std::thread& t : threads) t.join();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  for (const std::string& error : errors) {
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  // Every enrollment is recorded once.
  auto recorded = cas[0]->registry().CertificatesOf("dev-" + std::to_string(FleetSize() - 1));
  if (!recorded.ok() || recorded->size() != 1) {
    state.SkipWithError("the last device's certificate was not recorded");
    return;
  }
  double device_total = 0;
  for (double s : device_seconds) device_total += s;
  const int enrolled = FleetSize();
  state.counters["devices"] = enrolled;
  state.counters["total_s"] = seconds;
  state.counters["devices_per_s"] = enrolled / seconds;
  state.counters["token_issue_s"] = token_seconds;
  std::printf(
      "%s keys, %d CA worker(s): enrolled %d devices in %.3f s (%.0f devices/s); device "
      "side %.3f s of thread time; issuing the %d tokens took %.3f s\n",
      mode == 0   ? "ecdsa-p256"
      : mode == 1 ? "ed25519"
                  : "mixed",
      workers, enrolled, seconds, enrolled / seconds, device_total, enrolled, token_seconds);
  cas.clear();
  std::filesystem::remove_all(dir);
}

BENCHMARK(EnrollFleet)
    ->ArgNames({"keys", "workers"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({0, 2})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  auto created = custos::keystore::SoftHsmTestToken::Create("enroll-bench");
  if (!created.ok()) {
    std::fprintf(stderr, "cannot create a SoftHSM2 token: %s\n",
                 std::string(created.status().message()).c_str());
    return 1;
  }
  TokenSlot() = std::make_unique<custos::keystore::SoftHsmTestToken>(*std::move(created));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  TokenSlot().reset();  // removes the token's folder
  return 0;
}
