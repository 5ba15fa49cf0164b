// Runs the real `custos serve` binary as a child: enrollments acknowledged
// before a kill -9 are all there after a restart, and SIGTERM stops it with
// exit status 0 (and its broker with it).
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "custos/server/api_messages.h"
#include "custos/server/server_test_util.h"
#include "testing/status_matchers.h"

#ifndef CUSTOS_BINARY
#error "CUSTOS_BINARY must name the custos binary"
#endif

namespace custos::server {
namespace {

using ::custos::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::TestDevice;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A running `custos serve` with its standard output in a file.
struct Serve {
  pid_t pid = -1;
  std::string out_path;
  int api_port = 0;
};

// Starts `custos serve --data dir` and waits (up to 60 s) until it prints its
// HTTPS address.
Serve StartServe(const std::string& dir, const std::string& out_path) {
  Serve serve;
  serve.out_path = out_path;
  serve.pid = ::fork();
  if (serve.pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execl(CUSTOS_BINARY, CUSTOS_BINARY, "serve", "--data", dir.c_str(), "--api-port", "0",
            "--mqtt-port", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  constexpr std::string_view kApi = "HTTPS API    https://127.0.0.1:";
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < end) {
    const std::string out = ReadAll(out_path);
    if (const std::size_t at = out.find(kApi); at != std::string::npos) {
      serve.api_port = std::atoi(out.c_str() + at + kApi.size());
      break;
    }
    int status = 0;
    if (::waitpid(serve.pid, &status, WNOHANG) == serve.pid) {
      ADD_FAILURE() << "custos serve exited early:\n" << out;
      serve.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return serve;
}

// Process ids whose command line mentions `needle` (the broker of a data
// folder, which outlives a custos serve killed with SIGKILL).
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadAll("/proc/" + name + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  ::closedir(proc);
  return pids;
}

std::set<std::string> ListedDevices(int port, const std::string& dir) {
  std::set<std::string> ids;
  auto client = testing::PlainClient(port, dir + "/roots.pem");
  EXPECT_THAT(client.status(), IsOk());
  if (!client.ok()) return ids;
  DeviceListQuery query;
  query.limit = 1000;
  for (;;) {
    auto page = (*client)->Get("/v1/devices" + DeviceListQueryString(query),
                               testing::OperatorHeaders(dir + "/operator.token"));
    EXPECT_THAT(page.status(), IsOk());
    if (!page.ok() || page->status != 200) break;
    auto reply = ParseDeviceListReply(page->body);
    EXPECT_THAT(reply.status(), IsOk());
    if (!reply.ok()) break;
    for (const store::DeviceRecord& d : reply->devices) ids.insert(d.id);
    if (reply->next_after.empty()) break;
    query.after = reply->next_after;
  }
  return ids;
}

TEST(ServeTest, KillNineLosesNoAcknowledgedEnrollmentAndSigtermExitsCleanly) {
  // Requests in flight when the server is killed write to a closed socket.
  ::signal(SIGPIPE, SIG_IGN);
  TempDir temp;
  const std::string& dir = temp.path();
  const std::string parent = dir.substr(0, dir.rfind('/'));
  Serve first = StartServe(dir, parent + "/serve-1.out");
  ASSERT_GT(first.api_port, 0) << ReadAll(first.out_path);
  EXPECT_THAT(ReadAll(first.out_path), HasSubstr("first start: created"));

  auto client = testing::PlainClient(first.api_port, dir + "/roots.pem");
  ASSERT_THAT(client.status(), IsOk());
  auto tokens = testing::IssueTokens(**client, dir + "/operator.token", 200);
  ASSERT_THAT(tokens.status(), IsOk());

  // Enroll on a second thread and kill -9 the server in the middle of it.
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread enroller([&] {
    auto c = testing::PlainClient(first.api_port, dir + "/roots.pem");
    if (!c.ok()) return;
    for (std::size_t i = 0; i < tokens->size() && !stop.load(); ++i) {
      TestDevice device("kill-" + std::to_string(i));
      auto result = device.Enroll(**c, (*tokens)[i]);
      if (!result.ok()) return;  // the server is gone
      if (result->status == 201) {
        std::lock_guard<std::mutex> lock(mutex);
        acknowledged.push_back(device.id());
      }
    }
  });
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (acknowledged.size() >= 20) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(first.pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(first.pid, &status, 0), first.pid);
  stop = true;
  enroller.join();
  ASSERT_GE(acknowledged.size(), 20u);

  // The broker of the killed server is left behind: end it (it is ours).
  for (pid_t pid : ProcessesMentioning(dir + "/broker/mosquitto.conf")) ::kill(pid, SIGTERM);

  Serve second = StartServe(dir, parent + "/serve-2.out");
  ASSERT_GT(second.api_port, 0) << ReadAll(second.out_path);
  EXPECT_THAT(ReadAll(second.out_path), Not(HasSubstr("first start")));
  const std::set<std::string> listed = ListedDevices(second.api_port, dir);
  for (const std::string& id : acknowledged) EXPECT_TRUE(listed.count(id) == 1) << id;

  ASSERT_EQ(::kill(second.pid, SIGTERM), 0);
  ASSERT_EQ(::waitpid(second.pid, &status, 0), second.pid);
  EXPECT_TRUE(WIFEXITED(status)) << ReadAll(second.out_path);
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadAll(second.out_path);
  EXPECT_THAT(ReadAll(second.out_path), HasSubstr("stopped"));
  EXPECT_TRUE(ProcessesMentioning(dir + "/broker/mosquitto.conf").empty());
}

}  // namespace
}  // namespace custos::server
