// File: bench/mqtt_benchmark.cpp
//
// N simulated devices connected at once to one mosquitto (with the custos
// plug-in) over mutual TLS, all on one MqttEventLoop, each publishing one
// QoS 1 message per second (evenly spread over the second); custosd's
// privileged subscriber (a threaded MqttClient) receives everything and
// measures end-to-end latency from the timestamp in each payload. Reports
// connection time, messages, latency p50/p99, and CPU and memory of the
// broker and of this (client) process. Not part of CI.
//
//   mqtt_benchmark [--benchmark_filter=Fleet/1000]
//   CUSTOS_MQTT_BENCH_SECONDS=10 (publishing period per run, default 10)
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "custos/net/broker_policy.h"
#include "custos/net/broker_process.h"
#include "custos/net/mqtt_client.h"
#include "custos/net/mqtt_test_util.h"

namespace custos::net {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// utime + stime of `pid` in seconds, from /proc.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident memory of `pid` in MiB.
double RssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// libmosquitto uses three descriptors per client (the socket and a wake-up
// socketpair); the broker, our child, inherits the limit too. Raise the soft
// limit to the hard one, and the hard one too if we may (root).
void RaiseFileLimit(int clients) {
  rlimit limit = {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(clients) * 3 + 1000;
  if (limit.rlim_max < wanted) {
    rlimit raised = {wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

void BM_Fleet(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  const char* seconds_env = std::getenv("CUSTOS_MQTT_BENCH_SECONDS");
  const int seconds = seconds_env != nullptr ? std::max(1, std::atoi(seconds_env)) : 10;
  RaiseFileLimit(devices);
  rlimit limit = {};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(devices) * 3 + 100) {
    state.SkipWithError("RLIMIT_NOFILE too low for this many clients");
    return;
  }
  for (auto _ : state) {
    testing::TempFolder dir;
    auto pki = testing::TestFleetPki::Create();
    if (!pki.ok()) return state.SkipWithError("PKI");
    auto broker = testing::StartTestBroker(**pki, dir.path());
    if (!broker.ok()) return state.SkipWithError(broker.status().ToString().c_str());
    const pid_t broker_pid = (*broker)->pid();

    // Credentials and clients (not timed).
    std::vector<testing::SslCtxPtr> contexts;
    std::vector<std::unique_ptr<MqttClient>> clients;
    std::vector<std::string> topics;
    std::list<testing::Credential> credentials;
    auto make = [&](const testing::Credential& credential,
                    const std::string& id) -> std::unique_ptr<MqttClient> {
      auto ctx = testing::ClientSslCtx((*pki)->ca(), &credential);
      if (!ctx.ok()) return nullptr;
      MqttClientOptions options;
      options.port = (*broker)->port();
      options.client_id = id;
      options.ssl_ctx = ctx->get();
      contexts.push_back(std::move(*ctx));
      auto client = MqttClient::Create(options);
      return client.ok() ? std::move(*client) : nullptr;
    };
    // The threaded control-plane client first: libmosquitto's thread uses
    // select(), which needs a descriptor below FD_SETSIZE.
    std::mutex mutex;
    std::vector<double> latencies_ms;
    latencies_ms.reserve(static_cast<std::size_t>(devices) * seconds);
    std::atomic<int64_t> received{0};
    auto control_credential = (*pki)->Client(testing::kPrivilegedIdentity);
    if (!control_credential.ok()) return state.SkipWithError("control certificate");
    auto control = make(*control_credential, "custosd");
    control->set_message_handler([&](const MqttMessageView& message) {
      const int64_t sent = std::strtoll(
          std::string(message.payload.begin(), message.payload.end()).c_str(), nullptr, 10);
      const double ms = static_cast<double>(NowNs() - sent) / 1e6;
      std::lock_guard<std::mutex> lock(mutex);
      latencies_ms.push_back(ms);
      ++received;
    });
    if (Status status = control->Connect(10000); !status.ok()) {
      return state.SkipWithError(status.ToString().c_str());
    }
    if (Status status = control->Subscribe("devices/+/telemetry"); !status.ok()) {
      return state.SkipWithError(status.ToString().c_str());
    }

    for (int i = 0; i < devices; ++i) {
      const std::string id = "dev-" + std::to_string(i);
      auto credential = (*pki)->Device(id);
      if (!credential.ok()) return state.SkipWithError("device certificate");
      credentials.push_back(std::move(*credential));
      clients.push_back(make(credentials.back(), id));
      if (!clients.back()) return state.SkipWithError("client");
      topics.push_back(DeviceTelemetryTopic(id));
    }

    MqttEventLoop loop;
    const auto connect_start = Clock::now();
    const double client_cpu_0 = CpuSeconds(getpid());
    const double broker_cpu_0 = CpuSeconds(broker_pid);
    for (auto& client : clients) (void)loop.Add(client.get());
    if (!loop.RunUntil([&] { return loop.connected_count() == clients.size(); }, 300000)) {
      return state.SkipWithError("not every client connected");
    }
    const double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
    const double client_cpu_1 = CpuSeconds(getpid());
    const double broker_cpu_1 = CpuSeconds(broker_pid);

    // Publishing: device i sends at offset i/N of every second.
    const auto start = Clock::now();
    const int64_t total = static_cast<int64_t>(devices) * seconds;
    int64_t sent = 0;
    int64_t failed = 0;
    while (sent < total) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      const int64_t due = std::min<int64_t>(total, static_cast<int64_t>(elapsed * devices));
      for (; sent < due; ++sent) {
        const auto index = static_cast<std::size_t>(sent % devices);
        if (!clients[index]->Publish(topics[index], std::to_string(NowNs())).ok()) ++failed;
      }
      loop.RunOnce(1);
    }
    loop.RunUntil([&] { return received.load() >= total - failed; }, 30000);
    const double publish_s = std::chrono::duration<double>(Clock::now() - start).count();
    const double client_cpu_2 = CpuSeconds(getpid());
    const double broker_cpu_2 = CpuSeconds(broker_pid);

    std::vector<double> sorted;
    {
      std::lock_guard<std::mutex> lock(mutex);
      sorted = latencies_ms;
    }
    std::sort(sorted.begin(), sorted.end());
    auto percentile = [&](double p) {
      return sorted.empty() ? 0.0 : sorted[static_cast<std::size_t>(p * (sorted.size() - 1))];
    };
    state.SetIterationTime(publish_s);
    state.counters["connect_s"] = connect_s;
    state.counters["sent"] = static_cast<double>(sent - failed);
    state.counters["received"] = static_cast<double>(received.load());
    state.counters["msg_per_s"] = static_cast<double>(received.load()) / publish_s;
    state.counters["p50_ms"] = percentile(0.50);
    state.counters["p99_ms"] = percentile(0.99);
    state.counters["broker_cpu_connect_s"] = broker_cpu_1 - broker_cpu_0;
    state.counters["client_cpu_connect_s"] = client_cpu_1 - client_cpu_0;
    state.counters["broker_cpu_pct"] = 100.0 * (broker_cpu_2 - broker_cpu_1) / publish_s;
    state.counters["client_cpu_pct"] = 100.0 * (client_cpu_2 - client_cpu_1) / publish_s;
    state.counters["broker_rss_mib"] = RssMiB(broker_pid);
    state.counters["client_rss_mib"] = RssMiB(getpid());
    for (auto& client : clients) loop.Remove(client.get());
  }
}
BENCHMARK(BM_Fleet)
    ->Name("Fleet")
    ->Arg(200)
    ->Arg(1000)
    ->Arg(10000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace custos::net

BENCHMARK_MAIN();
