// The store module's costs on a real file (WAL mode, in the system's
// temporary folder):
//
//   telemetry/batch:N/sync:S   RecordActivity of N telemetry messages spread
//                              over 10,000 devices, one transaction per batch;
//                              items/s = telemetry updates per second
//   enroll/sqlite/sync:S       one enrollment (token consumed + certificate
//                              recorded) per commit, as the CA does it
//   enroll/file                the same through the file registry (journal +
//                              fdatasync), for comparison
//   list/page:100              one page of 100 devices out of 10,000
//   get/device                 one device by id
//
// sync:1 is synchronous=FULL (the default: an acknowledged commit survives a
// power cut), sync:0 is NORMAL (survives a crash or kill -9, not a power
// cut); docs/store.md discusses the numbers.
//
//   build/release/bench/store_benchmark
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "custos/identity/device_registry.h"
#include "custos/store/fleet_state.h"
#include "custos/store/sqlite_device_registry.h"

namespace {

using custos::identity::DeviceRegistry;
using custos::identity::IssuedCertificateRecord;
using custos::identity::RegistryUpdate;
using custos::identity::TokenRecord;
using custos::identity::TokenUse;
using custos::store::DatabaseOptions;
using custos::store::DeviceActivity;
using custos::store::FleetState;
using custos::store::Synchronous;

constexpr int kDevices = 10000;

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "custos-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string DeviceId(int i) {
  char id[32];
  std::snprintf(id, sizeof(id), "device-%05d", i);
  return id;
}

DatabaseOptions Sync(int64_t full) {
  DatabaseOptions options;
  options.synchronous = full != 0 ? Synchronous::kFull : Synchronous::kNormal;
  return options;
}

std::unique_ptr<FleetState> FleetOf(const std::string& path, int64_t full,
                                    benchmark::State& state) {
  {
    // Set up without an fsync per device, then reopen as measured.
    auto setup = custos::store::OpenSqliteFleetState(path, Sync(0));
    if (!setup.ok()) {
      state.SkipWithError(setup.status().ToString().c_str());
      return nullptr;
    }
    for (int i = 0; i < kDevices; ++i) {
      if (!(*setup)->RecordEnrollment(DeviceId(i), "0a", 1000).ok()) {
        state.SkipWithError("enrollment failed");
        return nullptr;
      }
    }
  }
  auto fleet = custos::store::OpenSqliteFleetState(path, Sync(full));
  if (!fleet.ok()) {
    state.SkipWithError(fleet.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(fleet);
}

void TelemetryBatch(benchmark::State& state) {
  const auto batch_size = static_cast<int>(state.range(0));
  TempDir dir;
  auto fleet = FleetOf(dir.path() + "/custos.db", state.range(1), state);
  if (fleet == nullptr) return;
  std::vector<DeviceActivity> batch(static_cast<std::size_t>(batch_size));
  int64_t sequence = 0;
  int next_device = 0;
  for (auto _ : state) {
    for (DeviceActivity& a : batch) {
      a.device_id = DeviceId(next_device);
      next_device = (next_device + 1) % kDevices;
      a.at_ms = 1700000000000 + sequence;
      a.sequence = ++sequence;
      a.values_json = R"({"temperature":21.5,"humidity":40,"battery":3.71})";
    }
    auto result = fleet->RecordActivity(batch);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(TelemetryBatch)
    ->Name("telemetry")
    ->ArgNames({"batch", "sync"})
    ->ArgsProduct({{1, 100, 1000, 10000}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

TokenRecord Token(int i) {
  TokenRecord t;
  t.hash = "token-" + std::to_string(i);
  t.created_at = 100;
  t.expires_at = 1000000;
  return t;
}

RegistryUpdate Enrollment(int i) {
  RegistryUpdate update;
  update.consume_token = TokenUse{"token-" + std::to_string(i), DeviceId(i), 1000};
  IssuedCertificateRecord c;
  c.serial = std::to_string(1000000 + i);
  c.device_id = DeviceId(i);
  c.key_type = "ed25519";
  c.issuer_key_type = "ecdsa-p256";
  c.issuer_generation = 1;
  c.fingerprint = std::string(64, 'a');
  c.issued_at = 1000;
  c.not_after = 100000;
  c.method = "token";
  c.certificate_der_base64 = std::string(600, 'M');
  update.issued = c;
  return update;
}

void RunEnrollments(DeviceRegistry& registry, benchmark::State& state) {
  constexpr int kTokens = 200000;
  RegistryUpdate tokens;
  for (int i = 0; i < kTokens; ++i) tokens.new_tokens.push_back(Token(i));
  if (!registry.Apply(tokens).ok()) {
    state.SkipWithError("token issuance failed");
    return;
  }
  int i = 0;
  for (auto _ : state) {
    if (i == kTokens || !registry.Apply(Enrollment(i++)).ok()) {
      state.SkipWithError("enrollment failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void EnrollSqlite(benchmark::State& state) {
  TempDir dir;
  auto registry =
      custos::store::OpenSqliteDeviceRegistry(dir.path() + "/custos.db", Sync(state.range(0)));
  if (!registry.ok()) {
    state.SkipWithError(registry.status().ToString().c_str());
    return;
  }
  RunEnrollments(**registry, state);
}
BENCHMARK(EnrollSqlite)
    ->Name("enroll/sqlite")
    ->ArgName("sync")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void EnrollFile(benchmark::State& state) {
  TempDir dir;
  auto registry = custos::identity::OpenFileDeviceRegistry(dir.path());
  if (!registry.ok()) {
    state.SkipWithError(registry.status().ToString().c_str());
    return;
  }
  RunEnrollments(**registry, state);
}
BENCHMARK(EnrollFile)->Name("enroll/file")->Unit(benchmark::kMicrosecond)->UseRealTime();

void ListPage(benchmark::State& state) {
  TempDir dir;
  auto fleet = FleetOf(dir.path() + "/custos.db", 1, state);
  if (fleet == nullptr) return;
  custos::store::DeviceQuery query;
  query.limit = 100;
  int page = 0;
  for (auto _ : state) {
    query.after_id = DeviceId((page++ * 100) % kDevices);
    auto result = fleet->ListDevices(query);
    if (!result.ok() || result->devices.empty()) {
      state.SkipWithError("listing failed");
      return;
    }
  }
}
BENCHMARK(ListPage)->Name("list/page:100")->Unit(benchmark::kMicrosecond);

void GetDevice(benchmark::State& state) {
  TempDir dir;
  auto fleet = FleetOf(dir.path() + "/custos.db", 1, state);
  if (fleet == nullptr) return;
  int i = 0;
  for (auto _ : state) {
    auto device = fleet->GetDevice(DeviceId(i));
    i = (i + 7919) % kDevices;
    if (!device.ok() || !device->has_value()) {
      state.SkipWithError("lookup failed");
      return;
    }
  }
}
BENCHMARK(GetDevice)->Name("get/device")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
