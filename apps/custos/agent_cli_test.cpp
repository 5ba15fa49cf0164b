// Tests of `custos agent` and `custos sim` as a user runs them: usage errors,
// and both commands against a real control plane (server::ControlPlane in
// this process, with its broker) on loopback.
#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "custos/server/control_plane.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/run_program.h"
#include "testing/status_matchers.h"

namespace custos::cli {
namespace {

using ::custos::testing::IsOk;
using ::custos::testing::ProgramResult;
using ::testing::HasSubstr;

ProgramResult Custos(const std::vector<std::string>& args) {
  return testing::RunProgram(CUSTOS_BINARY, args);
}

class AgentCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    std::string templ =
        (std::filesystem::temp_directory_path() / "custos-agent-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    shared_dir = new std::string(templ);
    server::ControlPlaneOptions options;
    options.data_dir = *shared_dir + "/custosd";
    auto plane = server::ControlPlane::Start(options);
    ASSERT_THAT(plane.status(), IsOk());
    shared_plane = plane->release();
  }
  static void TearDownTestSuite() {
    delete shared_plane;
    shared_plane = nullptr;
    if (shared_dir != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*shared_dir, ignored);
      delete shared_dir;
      shared_dir = nullptr;
    }
  }
  void SetUp() override { ASSERT_NE(shared_plane, nullptr); }

  static std::string Url() {
    return "https://127.0.0.1:" + std::to_string(shared_plane->api_port());
  }

  static inline std::string* shared_dir = nullptr;
  static inline server::ControlPlane* shared_plane = nullptr;
};

TEST(AgentCliUsageTest, HelpAndBadUsage) {
  ProgramResult help = Custos({"agent", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--token-file"));
  EXPECT_EQ(Custos({"sim", "--help"}).exit_code, 0);

  ProgramResult no_server = Custos({"agent", "--data", "/tmp/x"});
  EXPECT_EQ(no_server.exit_code, 2);
  EXPECT_THAT(no_server.err, HasSubstr("--server"));
  ProgramResult http = Custos({"agent", "--server", "http://127.0.0.1:1", "--data", "/tmp/x"});
  EXPECT_EQ(http.exit_code, 2);
  EXPECT_THAT(http.err, HasSubstr("https://"));
  ProgramResult profile = Custos(
      {"agent", "--server", "https://127.0.0.1:1", "--data", "/tmp/x", "--profile", "toaster"});
  EXPECT_EQ(profile.exit_code, 2);
  EXPECT_THAT(profile.err, HasSubstr("unknown profile"));
  ProgramResult devices = Custos({"sim", "--server", "https://127.0.0.1:1", "--devices", "0",
                                  "--roots", "r", "--operator-token-file", "t"});
  EXPECT_EQ(devices.exit_code, 2);
  EXPECT_THAT(devices.err, HasSubstr("--devices"));
  ProgramResult mix = Custos({"sim", "--server", "https://127.0.0.1:1", "--devices", "3", "--roots",
                              "r", "--operator-token-file", "t", "--profiles", "x:1"});
  EXPECT_EQ(mix.exit_code, 2);
}

TEST_F(AgentCliTest, AgentRefusesToStartUnenrolledWithoutATokenAndSimRunsAFleet) {
  const std::string data = *shared_dir + "/device";
  ProgramResult no_token =
      Custos({"agent", "--server", Url(), "--data", data, "--roots", shared_plane->roots_path()});
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_THAT(no_token.err, HasSubstr("--token"));

  // The simulator mints its tokens with the operator token.
  ProgramResult sim =
      Custos({"sim", "--server", Url(), "--devices", "5", "--roots", shared_plane->roots_path(),
              "--operator-token-file", shared_plane->operator_token_path(), "--duration", "2",
              "--id-prefix", "cli-", "--json"});
  ASSERT_EQ(sim.exit_code, 0) << sim.out << sim.err;
  EXPECT_THAT(sim.out, HasSubstr("\"enrolled\":5"));
  EXPECT_THAT(sim.out, HasSubstr("\"all_connected\":true"));

  // A token that is not one: refused before anything is written.
  ProgramResult bad = Custos({"agent", "--server", Url(), "--data", data, "--roots",
                              shared_plane->roots_path(), "--token", "nonsense"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(data + "/device.json"));
}

TEST_F(AgentCliTest, AgentEnrollsWithATokenFilePublishesAndContinuesAfterARestart) {
  const std::string data = *shared_dir + "/device2";
  const std::string token_file = *shared_dir + "/token.txt";
  // The operator mints a token with POST /v1/tokens (curl, as docs/cli.md
  // shows; install-deps.sh installs it).
  std::string operator_token = testing::ReadFileOrEmpty(shared_plane->operator_token_path());
  while (!operator_token.empty() && operator_token.back() == '\n') operator_token.pop_back();
  ProgramResult minted = testing::RunProgram(
      "curl", {"-s", "--cacert", shared_plane->roots_path(), "--resolve",
               "localhost:" + std::to_string(shared_plane->api_port()) + ":127.0.0.1", "-H",
               "Authorization: Bearer " + operator_token, "-H", "Content-Type: application/json",
               "-d", "{\"count\":1}",
               "https://localhost:" + std::to_string(shared_plane->api_port()) + "/v1/tokens"});
  ASSERT_EQ(minted.exit_code, 0) << minted.err;
  const std::size_t start = minted.out.find("[\"");
  const std::size_t end = minted.out.find("\"]");
  ASSERT_NE(start, std::string::npos) << minted.out;
  ASSERT_NE(end, std::string::npos);
  {
    std::FILE* f = std::fopen(token_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string token = minted.out.substr(start + 2, end - start - 2);
    std::fputs(token.c_str(), f);
    std::fclose(f);
  }
  ProgramResult first =
      Custos({"agent", "--server", Url(), "--data", data, "--roots", shared_plane->roots_path(),
              "--device-id", "cli-agent", "--token-file", token_file, "--interval", "0.05",
              "--count", "3", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("enrolled cli-agent with a token"));
  EXPECT_THAT(first.out, HasSubstr("\"messages_acked\":3"));
  EXPECT_THAT(first.out, HasSubstr("\"last_sequence\":3"));
  // Restarted: enrolled already (no token), sequence numbers continue.
  ProgramResult second =
      Custos({"agent", "--server", Url(), "--data", data, "--interval", "0.05", "--count", "2"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.out, HasSubstr("2 messages sent (2 acknowledged"));
  EXPECT_THAT(second.out, HasSubstr("last sequence 1002"));
  // A different device id for the same folder is refused.
  ProgramResult other = Custos(
      {"agent", "--server", Url(), "--data", data, "--device-id", "someone-else", "--count", "1"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_THAT(other.err, HasSubstr("differs"));
}

}  // namespace
}  // namespace custos::cli
