#include "custos/keystore/tpm/swtpm_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::keystore {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::StatusIs;
using ::testing::HasSubstr;

// Sends TPM2_GetRandom(8) over a raw connection to 127.0.0.1:`port` and
// returns the TPM's response code, or -1 if there was no well-formed answer.
long GetRandomResponseCode(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long code = -1;
  constexpr std::array<uint8_t, 12> kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                                  0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
      send(fd, kGetRandom.data(), kGetRandom.size(), MSG_NOSIGNAL) == 12) {
    std::array<uint8_t, 64> response{};
    std::size_t received = 0;
    while (received < 20) {  // header (10) + TPM2B size (2) + 8 random bytes
      const ssize_t n = recv(fd, response.data() + received, response.size() - received, 0);
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
    if (received >= 10) {
      code = (long{response[6]} << 24) | (long{response[7]} << 16) | (long{response[8]} << 8) |
             long{response[9]};
    }
  }
  close(fd);
  return code;
}

TEST(SwtpmProcessTest, StartsAndAnswersTpmCommands) {
  StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start();
  ASSERT_THAT(tpm, IsOk());
  EXPECT_TRUE((*tpm)->running());
  EXPECT_GT((*tpm)->pid(), 0);
  EXPECT_EQ((*tpm)->Tcti(), "swtpm:host=127.0.0.1,port=" + std::to_string((*tpm)->port()));
  EXPECT_EQ(GetRandomResponseCode((*tpm)->port()), 0);
  EXPECT_TRUE(std::filesystem::is_directory((*tpm)->state_dir()));
}

TEST(SwtpmProcessTest, TwoInstancesGetDistinctPorts) {
  StatusOr<std::unique_ptr<SwtpmProcess>> a = SwtpmProcess::Start();
  StatusOr<std::unique_ptr<SwtpmProcess>> b = SwtpmProcess::Start();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE((*a)->port(), (*b)->port());
  EXPECT_NE((*a)->port() + 1, (*b)->port());
  EXPECT_NE((*a)->port(), (*b)->port() + 1);
  EXPECT_EQ(GetRandomResponseCode((*a)->port()), 0);
  EXPECT_EQ(GetRandomResponseCode((*b)->port()), 0);
}

TEST(SwtpmProcessTest, StopEndsTheProcessAndClosesThePort) {
  StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start();
  ASSERT_THAT(tpm, IsOk());
  const pid_t pid = (*tpm)->pid();
  const uint16_t port = (*tpm)->port();
  EXPECT_THAT((*tpm)->Stop(), IsOk());
  EXPECT_FALSE((*tpm)->running());
  EXPECT_EQ(kill(pid, 0), -1);  // reaped: no such process
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(GetRandomResponseCode(port), -1);
  EXPECT_THAT((*tpm)->Stop(), IsOk());  // idempotent
}

TEST(SwtpmProcessTest, DestructorStopsAndRemovesTemporaryState) {
  pid_t pid = -1;
  std::string state_dir;
  {
    StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start();
    ASSERT_THAT(tpm, IsOk());
    pid = (*tpm)->pid();
    state_dir = (*tpm)->state_dir();
  }
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

TEST(SwtpmProcessTest, GivenStateFolderIsKeptAndLockedWhileInUse) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("swtpm_state_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  SwtpmOptions options;
  options.state_dir = dir.string();
  {
    StatusOr<std::unique_ptr<SwtpmProcess>> tpm = SwtpmProcess::Start(options);
    ASSERT_THAT(tpm, IsOk());
    EXPECT_EQ((*tpm)->state_dir(), dir.string());
    // A second TPM on the same state would corrupt it; swtpm refuses.
    EXPECT_THAT(SwtpmProcess::Start(options),
                StatusIs(StatusCode::kUnavailable, HasSubstr("while starting")));
    EXPECT_THAT((*tpm)->Stop(), IsOk());
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "tpm2-00.permall"));
  // The same state can be served again once the first process is gone.
  StatusOr<std::unique_ptr<SwtpmProcess>> again = SwtpmProcess::Start(options);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(GetRandomResponseCode((*again)->port()), 0);
  again->reset();
  std::filesystem::remove_all(dir);
}

TEST(SwtpmProcessTest, MissingBinaryIsNotFound) {
  SwtpmOptions options;
  options.swtpm_binary = "/nonexistent/custos/swtpm";
  EXPECT_THAT(SwtpmProcess::Start(options),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent/custos/swtpm")));
  options.swtpm_binary = "custos-no-such-swtpm";
  EXPECT_THAT(SwtpmProcess::Start(options),
              StatusIs(StatusCode::kNotFound, HasSubstr("not found on PATH")));
}

TEST(SwtpmProcessTest, BinaryThatExitsAtOnceIsUnavailable) {
  SwtpmOptions options;
  options.swtpm_binary = "false";
  EXPECT_THAT(SwtpmProcess::Start(options),
              StatusIs(StatusCode::kUnavailable, HasSubstr("exited with code 1")));
}

}  // namespace
}  // namespace custos::keystore
