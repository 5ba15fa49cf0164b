// Enrollments per second through custosd's HTTPS API: an in-process
// ControlPlane (CA keys in a SoftHSM2 token, SQLite with synchronous=FULL,
// a real mosquitto) and several client threads, each with its own
// keep-alive HTTPS connection, posting POST /v1/enroll with one-time tokens.
// The enrollment bodies (device key, CSR) are made before the timed loop, so
// the rate is the server's: parse, CA checks and signing, the registry
// commit, the fleet-state commit, the answer.
//
// Two configurations (ControlPlaneOptions::group_commit): off, the CA's
// registry and the fleet state each fsync per enrollment; on, the CA's
// connection does not fsync and the enrollments that arrive during one
// fleet-state commit share the next one, whose fsync of the shared WAL makes
// them all durable before any is acknowledged.
#include <benchmark/benchmark.h>

#include <csignal>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "custos/server/control_plane.h"
#include "custos/server/server_test_util.h"

namespace custos::server {
namespace {

constexpr int kPerThread = 150;

struct Fixture {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<ControlPlane> plane;
  bool group_commit = false;
  std::mutex mutex;
  std::vector<SecretBytes> tokens;
  int next_device = 0;
};

// SoftHSM2's configuration is process-wide, so every configuration runs a
// control plane on the same data folder (and token): switching between
// group commit on and off stops the control plane and starts it again there.
// Stopped (broker included) and its folder removed by main() at the end.
Fixture* fixture = nullptr;

Fixture* GetFixture(bool group_commit, std::string& error) {
  if (fixture != nullptr && fixture->group_commit == group_commit) return fixture;
  if (fixture == nullptr) {
    fixture = new Fixture;  // deleted by main()
    fixture->dir = std::make_unique<testing::TempDir>();
  }
  Fixture* f = fixture;
  if (f->plane != nullptr) f->plane->Stop();
  f->plane.reset();
  ControlPlaneOptions options;
  options.data_dir = f->dir->path();
  options.group_commit = group_commit;
  auto plane = ControlPlane::Start(options);
  if (!plane.ok()) {
    error = std::string(plane.status().message());
    return nullptr;
  }
  f->plane = *std::move(plane);
  f->group_commit = group_commit;
  if (f->tokens.size() < 10000) {
    auto client = testing::PlainClient(f->plane->api_port(), f->plane->roots_path());
    if (!client.ok()) return nullptr;
    auto tokens = testing::IssueTokens(**client, f->plane->operator_token_path(), 10000);
    if (!tokens.ok()) return nullptr;
    f->tokens = *std::move(tokens);
  }
  return f;
}

void BM_EnrollOverHttps(  // NOLINT(readability-identifier-naming): benchmark naming
    benchmark::State& state) {
  const bool group_commit = state.range(0) != 0;
  Fixture* f = nullptr;
  std::string error = "control plane did not start";
  {
    static std::mutex setup;
    std::lock_guard<std::mutex> lock(setup);
    f = GetFixture(group_commit, error);
  }
  if (f == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  // This thread's devices and bodies, made before timing.
  std::vector<std::string> bodies;
  {
    std::lock_guard<std::mutex> lock(f->mutex);
    for (int i = 0; i < kPerThread; ++i) {
      if (f->tokens.empty()) break;
      testing::TestDevice device("bench-" + std::to_string(f->next_device++));
      auto body = device.MakeEnrollBody(f->tokens.back());
      f->tokens.pop_back();
      if (body.ok()) bodies.push_back(EnrollBodyToJson(*body));
    }
  }
  auto client = testing::PlainClient(f->plane->api_port(), f->plane->roots_path());
  if (!client.ok() || bodies.size() < static_cast<std::size_t>(kPerThread)) {
    state.SkipWithError("no client or not enough tokens");
    return;
  }
  std::size_t i = 0;
  int64_t failed = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto result = (*client)->Post("/v1/enroll", bodies[i++ % bodies.size()]);
    if (!result.ok() || result->status != 201) ++failed;
  }
  // items_per_second: enrollments per second over all threads (real time).
  state.SetItemsProcessed(state.iterations());
  state.counters["failed"] = static_cast<double>(failed);
  if (state.thread_index() == 0) {
    auto stats = f->plane->Stats();
    if (stats.ok()) {
      state.counters["state_commits"] = static_cast<double>(stats->enrollment_commits);
      state.counters["enrolled_total"] = static_cast<double>(stats->enrollments);
    }
  }
}
BENCHMARK(BM_EnrollOverHttps)
    ->ArgName("group_commit")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(4)
    ->Threads(8)
    ->Iterations(kPerThread)
    ->UseRealTime();

}  // namespace
}  // namespace custos::server

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete custos::server::fixture;
  custos::server::fixture = nullptr;
  return 0;
}
