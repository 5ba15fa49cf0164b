// "A crash or kill -9 loses no acknowledged enrollment": a child process
// enrolls devices through the SQLite registry (token consumed + certificate
// recorded in one Apply) and reports each acknowledged enrollment to the
// parent over a pipe; the parent kills it with SIGKILL at a random moment,
// reopens the database, and checks that every acknowledged enrollment is
// there, that no enrollment is half-applied, and that the file passes
// PRAGMA integrity_check. Several rounds, each killed at another moment.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "custos/store/sqlite_device_registry.h"
#include "custos/store/store_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace custos::store {
namespace {

using ::custos::testing::IsOk;
using identity::DeviceRegistry;
using identity::IssuedCertificateRecord;
using identity::RegistryUpdate;
using identity::TokenRecord;
using identity::TokenUse;

// The child stops by itself only after this many (it is killed long before).
constexpr int kMaxEnrollments = 1000000;
constexpr int kRounds = 5;

std::string TokenHash(int i) { return "token-" + std::to_string(i); }
std::string Serial(int i) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016x", static_cast<unsigned>(i) + 1);
  return text;
}

RegistryUpdate Enrollment(int i) {
  RegistryUpdate update;
  update.consume_token = TokenUse{TokenHash(i), "dev-" + std::to_string(i), 1000};
  IssuedCertificateRecord c;
  c.serial = Serial(i);
  c.device_id = "dev-" + std::to_string(i);
  c.key_type = "ed25519";
  c.issuer_key_type = "ecdsa-p256";
  c.issuer_generation = 1;
  c.fingerprint = std::string(64, 'a');
  c.issued_at = 1000;
  c.not_after = 100000;
  c.method = std::string(identity::kIssuedByToken);
  c.certificate_der_base64 = std::string(600, 'M');  // about a real certificate's size
  update.issued = c;
  return update;
}

void WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);
    done += static_cast<std::size_t>(n);
  }
}

// The child: issues a token, then enrolls with it (token consumed and
// certificate recorded in one Apply), until killed; reports "i\n" after
// each enrollment's Apply returned OK. Never returns into the test framework.
[[noreturn]] void EnrollUntilKilled(const std::string& path, int ack_fd) {
  auto registry = OpenSqliteDeviceRegistry(path);
  if (!registry.ok()) ::_exit(4);
  for (int i = 0; i < kMaxEnrollments; ++i) {
    RegistryUpdate token;
    TokenRecord t;
    t.hash = TokenHash(i);
    t.created_at = 100;
    t.expires_at = 1000000;
    token.new_tokens.push_back(t);
    if (!(*registry)->Apply(token).ok()) ::_exit(5);
    if (!(*registry)->Apply(Enrollment(i)).ok()) ::_exit(6);
    WriteAll(ack_fd, std::to_string(i) + "\n");
  }
  ::_exit(0);
}

TEST(DurabilityTest, KillNineLosesNoAcknowledgedEnrollment) {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(20, 250);
  int total_acknowledged = 0;
  for (int round = 0; round < kRounds; ++round) {
    TempDir dir;
    const std::string path = dir.path() + "/custos.db";
    // Created (schema migrated) before the fork and closed: the child opens
    // its own connection.
    ASSERT_THAT(OpenSqliteDeviceRegistry(path), IsOk());

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      EnrollUntilKilled(path, fds[1]);
    }
    ::close(fds[1]);
    const int wait_ms = delay_ms(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "the child ended on its own (status " << wstatus << ") before " << wait_ms << " ms";

    // Everything the child acknowledged is in the pipe (written before the
    // kill); read it to EOF.
    std::string acks;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      acks.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    std::set<int> acknowledged;
    for (std::size_t start = 0, end; (end = acks.find('\n', start)) != std::string::npos;
         start = end + 1) {
      acknowledged.insert(std::stoi(acks.substr(start, end - start)));
    }
    total_acknowledged += static_cast<int>(acknowledged.size());

    auto db = Database::Open(path);
    ASSERT_THAT(db, IsOk());
    EXPECT_THAT(CheckIntegrity(**db), IsOk());
    auto registry = OpenSqliteDeviceRegistry(path);
    ASSERT_THAT(registry, IsOk());
    for (int i : acknowledged) {
      auto cert = (*registry)->FindCertificate(Serial(i));
      ASSERT_THAT(cert, IsOk());
      EXPECT_TRUE(cert->has_value()) << "acknowledged enrollment " << i << " lost (round " << round
                                     << ", killed after " << wait_ms << " ms)";
      auto token = (*registry)->FindToken(TokenHash(i));
      ASSERT_THAT(token, IsOk());
      ASSERT_TRUE(token->has_value());
      EXPECT_TRUE((*token)->consumed);
    }
    // No enrollment is half-applied: each recorded certificate has its token
    // consumed and each consumed token its certificate. At most one more
    // than acknowledged may have committed (the one in flight at the kill).
    auto all_tokens = (*registry)->Tokens();
    ASSERT_THAT(all_tokens, IsOk());
    int consumed = 0;
    for (const TokenRecord& t : *all_tokens) {
      if (!t.consumed) continue;
      ++consumed;
      const int i = std::stoi(t.hash.substr(6));
      auto cert = (*registry)->FindCertificate(Serial(i));
      ASSERT_THAT(cert, IsOk());
      EXPECT_TRUE(cert->has_value()) << "token " << i << " consumed without its certificate";
    }
    EXPECT_GE(consumed, static_cast<int>(acknowledged.size()));
    EXPECT_LE(consumed, static_cast<int>(acknowledged.size()) + 1);
    // Tokens are issued one at a time before their enrollment: at most one
    // issued token is unconsumed.
    EXPECT_LE(all_tokens->size(), static_cast<std::size_t>(consumed) + 1);
    auto check = (*db)->Prepare("SELECT count(*) FROM registry_certificates");
    ASSERT_THAT(check, IsOk());
    ASSERT_TRUE(*check->Step());
    EXPECT_EQ(check->ColumnInt(0), consumed);
  }
  // The test means something only if the child got some work done.
  EXPECT_GT(total_acknowledged, 0);
  RecordProperty("acknowledged_enrollments", total_acknowledged);
}

}  // namespace
}  // namespace custos::store
