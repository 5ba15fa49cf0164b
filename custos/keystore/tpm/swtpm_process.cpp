#include "custos/keystore/tpm/swtpm_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace custos::keystore {
namespace {

using Clock = std::chrono::steady_clock;

// How many port pairs Start tries before it gives up.
constexpr int kPortAttempts = 64;
// Largest part of swtpm's log quoted in an error.
constexpr std::size_t kLogTailBytes = 600;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A listening TCP socket on 127.0.0.1:`port` (0: the kernel picks), or an
// invalid Fd with errno set.
Fd ListenOnLoopback(uint16_t port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  sockaddr_in address = Loopback(port);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd.get(), 16) != 0) {
    const int saved = errno;
    fd.Reset();
    errno = saved;
  }
  return fd;
}

StatusOr<uint16_t> LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return InternalError("getsockname failed: " + ErrnoText(errno));
  }
  return ntohs(address.sin_port);
}

// Picks a port P such that P and P + 1 are both free on loopback right now.
// swtpm binds them itself a moment later; if another process takes one in
// between, swtpm exits and Start picks again.
StatusOr<uint16_t> PickPortPair() {
  std::string last_error = "no attempt made";
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    Fd server = ListenOnLoopback(0);
    if (!server.valid()) {
      return InternalError("cannot listen on a loopback port: " + ErrnoText(errno));
    }
    CUSTOS_ASSIGN_OR_RETURN(uint16_t port, LocalPort(server.get()));
    if (port == 65535) continue;
    if (ListenOnLoopback(static_cast<uint16_t>(port + 1)).valid()) return port;
    last_error = "port " + std::to_string(port + 1) + ": " + ErrnoText(errno);
  }
  return UnavailableError("no free pair of adjacent loopback ports for swtpm after " +
                          std::to_string(kPortAttempts) + " attempts (last: " + last_error + ")");
}

// The socket inodes listening on 127.0.0.1:`port` (from /proc/net/tcp).
std::vector<std::string> ListeningInodes(uint16_t port) {
  std::array<char, 16> local{};
  std::snprintf(local.data(), local.size(), "0100007F:%04X", port);
  std::ifstream table("/proc/net/tcp");
  std::vector<std::string> inodes;
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local_address, remote_address, state, queues, timer, retransmits, uid,
        timeout, inode;
    fields >> slot >> local_address >> remote_address >> state >> queues >> timer >> retransmits >>
        uid >> timeout >> inode;
    if (local_address == local.data() && state == "0A") inodes.push_back(inode);
  }
  return inodes;
}

// True when process `pid` holds the socket listening on 127.0.0.1:`port`, so
// that a probe on that port reaches our swtpm and not some other process.
bool ProcessListensOn(pid_t pid, uint16_t port) {
  const std::vector<std::string> inodes = ListeningInodes(port);
  if (inodes.empty()) return false;
  std::error_code error;
  const std::filesystem::path fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir, error)) {
    std::error_code link_error;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_error).string();
    if (link_error) continue;
    for (const std::string& inode : inodes) {
      if (target == "socket:[" + inode + "]") return true;
    }
  }
  return false;
}

// The absolute path of `binary`, searching PATH for a bare name.
StatusOr<std::string> ResolveBinary(const std::string& binary) {
  if (binary.empty()) return InvalidArgumentError("empty swtpm binary name");
  if (binary.find('/') != std::string::npos) {
    if (access(binary.c_str(), X_OK) == 0) return binary;
    return NotFoundError("swtpm binary '" + binary + "' not found or not executable (" +
                         ErrnoText(errno) +
                         "); install the swtpm package (scripts/install-deps.sh)");
  }
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const std::size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = std::move(dir);
    candidate += '/';
    candidate += binary;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return NotFoundError("swtpm binary '" + binary +
                       "' not found on PATH; install the swtpm package (scripts/install-deps.sh)");
}

StatusOr<std::string> MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/custos-swtpm-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return InternalError("cannot create a temporary folder from '" + pattern +
                         "': " + ErrnoText(errno));
  }
  return std::string(buffer.data());
}

std::string ReadTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  if (all.size() > kLogTailBytes) all = "..." + all.substr(all.size() - kLogTailBytes);
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  return all;
}

std::string LogTail(const std::string& work_dir) {
  std::string log = ReadTail(work_dir + "/swtpm.log");
  std::string err = ReadTail(work_dir + "/swtpm.stderr");
  std::string joined = log;
  if (!err.empty()) joined += (joined.empty() ? "" : " | ") + err;
  return joined.empty() ? "(no output)" : joined;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "stopped";
}

// Reaps `pid` if it has exited; returns true and its wait status then.
bool TryReap(pid_t pid, int& wait_status) {
  while (true) {
    const pid_t result = waitpid(pid, &wait_status, WNOHANG);
    if (result == pid) return true;
    if (result == 0) return false;
    if (errno != EINTR) return true;  // ECHILD: already reaped elsewhere
  }
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
}

// Waits until the child `pid` listens on `port` and `port` + 1, then sends
// TPM2_GetRandom(8) and waits for a successful response, all before
// `deadline`. OK when the TPM answered; Aborted (with `wait_status` set) when
// the child exited; DeadlineExceeded on timeout.
Status WaitUntilReady(uint16_t port, pid_t pid, Clock::time_point deadline, int& wait_status) {
  // TPM2_GetRandom: tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom, 8 bytes.
  constexpr std::array<uint8_t, 12> kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                                  0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};
  bool listening = false;
  while (Clock::now() < deadline) {
    if (TryReap(pid, wait_status)) return absl::AbortedError("exited");
    if (!listening) {
      listening =
          ProcessListensOn(pid, port) && ProcessListensOn(pid, static_cast<uint16_t>(port + 1));
      if (!listening) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
    }
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return InternalError("socket failed: " + ErrnoText(errno));
    sockaddr_in address = Loopback(port);
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
        send(fd.get(), kGetRandom.data(), kGetRandom.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(kGetRandom.size())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::array<uint8_t, 64> response{};
    std::size_t received = 0;
    while (Clock::now() < deadline && received < 10) {
      pollfd waiting{fd.get(), POLLIN, 0};
      const int ready = poll(&waiting, 1, 20);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) {
        if (TryReap(pid, wait_status)) return absl::AbortedError("exited");
        continue;
      }
      const ssize_t n = recv(fd.get(), response.data() + received, response.size() - received, 0);
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
    // Header: tag (2), size (4), response code (4); code 0 is success.
    if (received >= 10 && response[0] == 0x80 && response[6] == 0 && response[7] == 0 &&
        response[8] == 0 && response[9] == 0) {
      return OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return DeadlineExceededError("no answer");
}

// Starts `binary` as swtpm on `port` (and `port` + 1 for control) with its
// state in `state_dir` and its log and stderr in `work_dir`.
StatusOr<pid_t> Spawn(const std::string& binary, uint16_t port, const std::string& state_dir,
                      const std::string& work_dir) {
  const std::string log_path = work_dir + "/swtpm.log";
  const std::string stderr_path = work_dir + "/swtpm.stderr";
  std::error_code ignored;
  std::filesystem::remove(log_path, ignored);
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed.
  std::vector<std::string> args = {
      binary,
      "socket",
      "--tpm2",
      "--server",
      "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1",
      "--ctrl",
      "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1",
      "--tpmstate",
      "dir=" + state_dir,
      "--flags",
      "not-need-init,startup-clear",
      "--log",
      "file=" + log_path + ",level=1",
  };
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return InternalError("fork for swtpm failed: " + ErrnoText(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    const int null_fd = open("/dev/null", O_RDWR);
    const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

StatusOr<std::unique_ptr<SwtpmProcess>> SwtpmProcess::Start(const SwtpmOptions& options) {
  CUSTOS_ASSIGN_OR_RETURN(std::string binary, ResolveBinary(options.swtpm_binary));
  CUSTOS_ASSIGN_OR_RETURN(std::string work_dir, MakeTempDir());
  // From here on the temporary folder goes away on every failure.
  struct DirRemover {
    std::string dir;
    ~DirRemover() {
      if (!dir.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
      }
    }
  } remover{work_dir};

  std::string state_dir = options.state_dir.empty() ? work_dir + "/state" : options.state_dir;
  std::error_code error;
  std::filesystem::create_directories(state_dir, error);
  if (error) {
    return InternalError("cannot create swtpm state folder '" + state_dir +
                         "': " + error.message());
  }

  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.startup_timeout_ms);
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    CUSTOS_ASSIGN_OR_RETURN(uint16_t port, PickPortPair());
    CUSTOS_ASSIGN_OR_RETURN(pid_t pid, Spawn(binary, port, state_dir, work_dir));
    int wait_status = 0;
    const Status ready = WaitUntilReady(port, pid, deadline, wait_status);
    if (ready.ok()) {
      remover.dir.clear();
      return std::unique_ptr<SwtpmProcess>(new SwtpmProcess(
          pid, port, std::move(work_dir), std::move(state_dir), options.stop_timeout_ms));
    }
    const std::string where = " on port " + std::to_string(port) + " (state '" + state_dir + "'): ";
    if (ready.code() == StatusCode::kAborted) {
      const std::string log = LogTail(work_dir);
      // Another process took one of the ports after PickPortPair: pick again.
      if (log.find("Address already in use") != std::string::npos) continue;
      return UnavailableError("swtpm " + DescribeWaitStatus(wait_status) + " while starting" +
                              where + LogTail(work_dir));
    }
    KillAndReap(pid);
    if (ready.code() == StatusCode::kDeadlineExceeded) {
      return UnavailableError("swtpm did not answer within " +
                              std::to_string(options.startup_timeout_ms) + " ms" + where +
                              LogTail(work_dir));
    }
    return ready;
  }
  return UnavailableError("swtpm could not bind a free port pair after " +
                          std::to_string(kPortAttempts) + " attempts");
}
SwtpmProcess::SwtpmProcess(pid_t pid, uint16_t port, std::string work_dir, std::string state_dir,
                           int stop_timeout_ms)
    : pid_(pid),
      port_(port),
      work_dir_(std::move(work_dir)),
      state_dir_(std::move(state_dir)),
      stop_timeout_ms_(stop_timeout_ms) {}

SwtpmProcess::~SwtpmProcess() {
  (void)Stop();
  std::error_code ignored;
  std::filesystem::remove_all(work_dir_, ignored);
}

std::string SwtpmProcess::Tcti() const {
  return "swtpm:host=127.0.0.1,port=" + std::to_string(port_);
}

Status SwtpmProcess::Stop() {
  if (pid_ <= 0) return OkStatus();
  const pid_t pid = std::exchange(pid_, -1);
  int wait_status = 0;
  if (TryReap(pid, wait_status)) {
    return InternalError("swtpm (pid " + std::to_string(pid) + ") had already " +
                         DescribeWaitStatus(wait_status) + ": " + LogTail(work_dir_));
  }
  kill(pid, SIGTERM);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(stop_timeout_ms_);
  while (Clock::now() < deadline) {
    if (TryReap(pid, wait_status)) {
      if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return OkStatus();
      // swtpm may exit through the default SIGTERM action.
      if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGTERM) return OkStatus();
      return InternalError("swtpm (pid " + std::to_string(pid) + ") " +
                           DescribeWaitStatus(wait_status) + " on stop: " + LogTail(work_dir_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  return InternalError("swtpm (pid " + std::to_string(pid) + ") ignored SIGTERM for " +
                       std::to_string(stop_timeout_ms_) + " ms and was killed");
}

}  // namespace custos::keystore
