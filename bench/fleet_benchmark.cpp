// File: bench/fleet_benchmark.cpp
//
// The fleet at scale: custosd (in this process, with its mosquitto broker as
// a child) and N simulated devices (default 10,000) connected at once, each
// publishing one sealed telemetry message per second (profile "sensor").
// The devices run in P `custos sim` processes (default 2): libmosquitto
// takes three descriptors per connection and this machine's hard limit is
// 20,000 per process.
//
// It waits for the fleet to reach its full message rate with the backlog of
// the connection storm drained (see the ramp-up below), then measures a
// window (default 20 s): messages sent and accepted per second (the control
// plane keeps up when they match), end-to-end latency p50/p99 (device
// publish -> custosd opened and checked it; over custosd's last 100,000
// messages, i.e. the end of the window), and CPU and resident memory of
// custosd, the broker and the simulators, from /proc.
//
// Not run in CI (minutes long). Environment: CUSTOS_FLEET_BENCH_DEVICES,
// CUSTOS_FLEET_BENCH_PROCESSES, CUSTOS_FLEET_BENCH_SECONDS.
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "custos/server/control_plane.h"

namespace custos {
namespace {

using Clock = std::chrono::steady_clock;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && std::atoi(value) > 0 ? std::atoi(value) : fallback;
}

// CPU time (user + system) in seconds and resident memory in MiB of `pid`.
struct ProcessUsage {
  double cpu_s = 0;
  double rss_mib = 0;
};

ProcessUsage UsageOf(pid_t pid) {
  ProcessUsage usage;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (in parentheses, may contain spaces).
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) fields.push_back(field);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    if (fields.size() > 13) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      usage.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) usage.rss_mib = std::stod(line.substr(6)) / 1024;
  }
  return usage;
}

// The children of this process named `name` (e.g. the broker).
std::vector<pid_t> ChildrenNamed(const std::string& name) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  const std::string self = std::to_string(getpid());
  while (dirent* entry = readdir(proc)) {
    const std::string pid = entry->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const std::size_t open = line.find('(');
    const std::size_t close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    std::string ppid;
    rest >> state >> ppid;
    if (line.substr(open + 1, close - open - 1) == name && ppid == self) {
      found.push_back(std::stoi(pid));
    }
  }
  closedir(proc);
  return found;
}

// Starts `custos sim` with its output in `log`.
pid_t StartSim(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  // Nothing of custosd's (its MQTT and HTTPS sockets) leaks into the sim.
  close_range(3, ~0U, 0);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(CUSTOS_BINARY));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  execv(CUSTOS_BINARY, argv.data());
  _exit(127);
}

void BM_FleetAtScale(benchmark::State& state) {
  const int devices = EnvInt("CUSTOS_FLEET_BENCH_DEVICES", 10000);
  const int processes = EnvInt("CUSTOS_FLEET_BENCH_PROCESSES", 2);
  const int window_s = EnvInt("CUSTOS_FLEET_BENCH_SECONDS", 20);
  for (auto _ : state) {
    std::string dir = (std::filesystem::temp_directory_path() / "custos-fleet-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      state.SkipWithError("cannot create a temporary folder");
      return;
    }
    server::ControlPlaneOptions options;
    options.data_dir = dir + "/custosd";
    StatusOr<std::unique_ptr<server::ControlPlane>> cp = server::ControlPlane::Start(options);
    if (!cp.ok()) {
      state.SkipWithError(std::string(cp.status().message()).c_str());
      return;
    }
    const std::vector<pid_t> brokers = ChildrenNamed("mosquitto");
    const pid_t broker = brokers.empty() ? -1 : brokers.front();

    // Enroll, connect and publish for long enough to cover the ramp-up
    // and the window; the sims are stopped once the window is measured.
    const Clock::time_point start = Clock::now();
    std::vector<pid_t> sims;
    for (int p = 0; p < processes; ++p) {
      const int share = devices / processes + (p < devices % processes ? 1 : 0);
      sims.push_back(StartSim(
          {"sim", "--server", "https://127.0.0.1:" + std::to_string((*cp)->api_port()),
           "--devices", std::to_string(share), "--roots", (*cp)->roots_path(),
           "--operator-token-file", (*cp)->operator_token_path(), "--profiles", "sensor:100",
           "--duration", "3600", "--id-prefix", "f" + std::to_string(p) + "-", "--json"},
          dir + "/sim-" + std::to_string(p) + ".log"));
    }

    // Ramp-up: enrollment, then the connection storm (TLS handshakes take
    // the broker's time while the first devices already publish, so a
    // backlog builds up). Wait until the accepted rate reaches 95 % of one
    // message per device per second and the latency over custosd's last
    // 100,000 messages (10 s at full rate) is back under 500 ms, for three
    // seconds in a row: the backlog is drained and the fleet is in its
    // steady state.
    auto stats_now = [&]() {
      StatusOr<server::ControlPlaneStats> stats = (*cp)->Stats();
      return stats.ok() ? *stats : server::ControlPlaneStats{};
    };
    int64_t last = stats_now().telemetry_accepted;
    int steady = 0;
    const Clock::time_point ramp_deadline = start + std::chrono::minutes(10);
    while (steady < 3 && Clock::now() < ramp_deadline) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const server::ControlPlaneStats now = stats_now();
      const bool full_rate = (now.telemetry_accepted - last) >= devices * 95 / 100;
      steady = full_rate && now.latency_p50_ms < 500 ? steady + 1 : 0;
      last = now.telemetry_accepted;
    }
    const double ramp_s = std::chrono::duration<double>(Clock::now() - start).count();

    std::map<std::string, ProcessUsage> before;
    before["custosd"] = UsageOf(getpid());
    before["broker"] = UsageOf(broker);
    for (std::size_t i = 0; i < sims.size(); ++i) before["sim" + std::to_string(i)] = UsageOf(sims[i]);
    StatusOr<server::ControlPlaneStats> first = (*cp)->Stats();
    const Clock::time_point window_start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(window_s));
    StatusOr<server::ControlPlaneStats> second = (*cp)->Stats();
    const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
    std::map<std::string, ProcessUsage> after;
    after["custosd"] = UsageOf(getpid());
    after["broker"] = UsageOf(broker);
    for (std::size_t i = 0; i < sims.size(); ++i) after["sim" + std::to_string(i)] = UsageOf(sims[i]);

    for (pid_t sim : sims) kill(sim, SIGTERM);
    for (pid_t sim : sims) waitpid(sim, nullptr, 0);
    (*cp)->Stop();
    // Each simulator's summary: how many of its devices were connected when
    // it was stopped.
    int64_t connected = 0;
    double sent_per_s = 0;
    for (std::size_t i = 0; i < sims.size(); ++i) {
      std::ifstream log(dir + "/sim-" + std::to_string(i) + ".log");
      std::string line;
      std::string last_line;
      while (std::getline(log, line)) {
        if (!line.empty() && line.front() == '{') last_line = line;
      }
      const nlohmann::json summary = nlohmann::json::parse(last_line, nullptr, false);
      if (summary.is_object()) {
        connected += summary.value("connected", int64_t{0});
        sent_per_s += summary.value("messages_per_s", 0.0);
      }
    }
    state.counters["connected"] = static_cast<double>(connected);
    // Averaged over each simulator's whole publishing phase (ramp-up included).
    state.counters["sent_per_s"] = sent_per_s;

    if (!first.ok() || !second.ok()) {
      state.SkipWithError("control plane statistics unavailable");
      return;
    }
    const double accepted_per_s =
        static_cast<double>(second->telemetry_accepted - first->telemetry_accepted) / window;
    const double received_per_s =
        static_cast<double>(second->telemetry_received - first->telemetry_received) / window;
    state.counters["devices"] = devices;
    state.counters["ramp_up_s"] = ramp_s;
    state.counters["received_per_s"] = received_per_s;
    state.counters["accepted_per_s"] = accepted_per_s;
    state.counters["latency_p50_ms"] = second->latency_p50_ms;
    state.counters["latency_p99_ms"] = second->latency_p99_ms;
    double sims_cpu = 0;
    double sims_rss = 0;
    for (const auto& [name, end] : after) {
      const double cpu_pct = 100 * (end.cpu_s - before[name].cpu_s) / window;
      if (name.rfind("sim", 0) == 0) {
        sims_cpu += cpu_pct;
        sims_rss += end.rss_mib;
      } else {
        state.counters[name + "_cpu_pct"] = cpu_pct;
        state.counters[name + "_rss_mib"] = end.rss_mib;
      }
    }
    state.counters["sims_cpu_pct"] = sims_cpu;
    state.counters["sims_rss_mib"] = sims_rss;
    int64_t rejected = 0;
    for (const auto& [reason, count] : second->telemetry_rejected) rejected += count;
    state.counters["rejected"] = static_cast<double>(rejected);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}
BENCHMARK(BM_FleetAtScale)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace custos

BENCHMARK_MAIN();
