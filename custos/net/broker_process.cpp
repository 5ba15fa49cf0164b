// File: custos/net/broker_process.cpp
#include "custos/net/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "custos/net/broker_policy.h"

extern char** environ;

namespace custos::net {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return UnavailableError("cannot create '" + tmp + "': " + ErrnoText());
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status error = UnavailableError("cannot write '" + tmp + "': " + ErrnoText());
      ::close(fd);
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  // The mode of an existing file is not changed by open(O_CREAT).
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    Status error = UnavailableError("cannot sync '" + tmp + "': " + ErrnoText());
    ::close(fd);
    return error;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return UnavailableError("cannot rename '" + tmp + "' to '" + path + "': " + ErrnoText());
  }
  return OkStatus();
}

// Binds 127.0.0.1:`port` (0: any free port) and returns the port bound.
StatusOr<uint16_t> BindLoopbackPort(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError("socket: " + ErrnoText());
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status error =
        UnavailableError("cannot bind 127.0.0.1:" + std::to_string(port) + ": " + ErrnoText());
    ::close(fd);
    return error;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool CanConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string LogTail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log)";
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  constexpr std::size_t kTail = 1500;
  if (text.size() > kTail) text = "..." + text.substr(text.size() - kTail);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

std::string BuiltBrokerPluginPath() {
#ifdef CUSTOS_BROKER_PLUGIN_PATH
  return CUSTOS_BROKER_PLUGIN_PATH;
#else
  return {};
#endif
}

MosquittoBroker::MosquittoBroker(MosquittoBrokerConfig config) : config_(std::move(config)) {}

StatusOr<std::unique_ptr<MosquittoBroker>> MosquittoBroker::Start(MosquittoBrokerConfig config) {
  if (config.dir.empty()) return InvalidArgumentError("broker folder is empty");
  if (config.ca_pem.empty()) return InvalidArgumentError("broker CA certificates are empty");
  if (config.server_cert_pem.empty()) return InvalidArgumentError("broker certificate is empty");
  if (config.server_key_pem.empty()) return InvalidArgumentError("broker private key is empty");
  if (config.crl_pem.empty()) return InvalidArgumentError("broker CRL is empty");
  for (const std::string& name : config.privileged_identities) {
    if (name.empty() || HasLineBreak(name) || name.find(',') != std::string::npos ||
        name.find(' ') != std::string::npos) {
      return InvalidArgumentError("privileged identity '" + name +
                                  "' is empty or has a space, comma or line break");
    }
    if (IsDeviceIdentity(name)) {
      return InvalidArgumentError("privileged identity '" + name +
                                  "' is a valid device id; a device certificate could carry it");
    }
  }
  if (HasLineBreak(config.dir) || HasLineBreak(config.plugin_path)) {
    return InvalidArgumentError("broker folder or plug-in path has a line break");
  }
  if (::mkdir(config.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return UnavailableError("cannot create broker folder '" + config.dir + "': " + ErrnoText());
  }
  const bool pick_port = config.port == 0;
  std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker(std::move(config)));
  Status last = OkStatus();
  // A free port can be taken between the probe and mosquitto's bind; retry.
  for (int attempt = 0; attempt < 3; ++attempt) {
    // A fixed port is checked too: mosquitto would fail later and less clearly.
    CUSTOS_ASSIGN_OR_RETURN(broker->port_, BindLoopbackPort(broker->config_.port));
    CUSTOS_RETURN_IF_ERROR(broker->WriteFiles());
    last = broker->Launch();
    if (last.ok()) last = broker->WaitUntilListening();
    if (last.ok()) {
      std::lock_guard<std::mutex> lock(broker->mutex_);
      broker->started_ = true;
      return broker;
    }
    broker->Stop();
    if (!pick_port) break;
    std::lock_guard<std::mutex> lock(broker->mutex_);
    broker->pid_ = -1;
    broker->exited_ = false;
    broker->stopping_ = false;
  }
  return last;
}

Status MosquittoBroker::WriteFiles() {
  const std::string& dir = config_.dir;
  CUSTOS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/ca.pem", config_.ca_pem, 0644));
  CUSTOS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/server.pem", config_.server_cert_pem, 0644));
  CUSTOS_RETURN_IF_ERROR(
      WriteFileAtomic(dir + "/server.key",
                      std::string_view(reinterpret_cast<const char*>(config_.server_key_pem.data()),
                                       config_.server_key_pem.size()),
                      0600));
  CUSTOS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/crl.pem", config_.crl_pem, 0644));

  const bool with_plugin = !config_.plugin_path.empty();
  std::ostringstream conf;
  conf << "# Written by custos (MosquittoBroker); regenerated at every start.\n"
       << "per_listener_settings false\n"
       << "allow_anonymous false\n"
       << "persistence false\n"
       << "log_dest stderr\n"
       << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
       << "connection_messages false\n"
       << "max_keepalive 300\n";
  if (::geteuid() == 0) {
    // mosquitto started as root switches to the "mosquitto" user, which could
    // not read the 0600 key; stay the service account that owns the folder.
    const passwd* pw = ::getpwuid(::geteuid());
    conf << "user " << (pw != nullptr ? pw->pw_name : "root") << "\n";
  }
  if (with_plugin) {
    std::string privileged;
    for (const std::string& name : config_.privileged_identities) {
      if (!privileged.empty()) privileged += ",";
      privileged += name;
    }
    conf << "plugin " << config_.plugin_path << "\n"
         << "plugin_opt_ca_file " << dir << "/ca.pem\n"
         << "plugin_opt_crl_file " << dir << "/crl.pem\n"
         << "plugin_opt_owner_pid " << ::getpid() << "\n";
    if (!privileged.empty()) conf << "plugin_opt_privileged " << privileged << "\n";
  } else {
    std::ostringstream acl;
    for (const std::string& name : config_.privileged_identities) {
      acl << "user " << name << "\ntopic readwrite " << kDeviceTopicRoot << "/#\n";
    }
    acl << "\npattern write " << kDeviceTopicRoot << "/%u/telemetry\n"
        << "pattern read " << kDeviceTopicRoot << "/%u/commands\n";
    CUSTOS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/acl", acl.str(), 0644));
    conf << "acl_file " << dir << "/acl\n";
  }
  conf << "\nlistener " << port_ << " 127.0.0.1\n"
       << "protocol mqtt\n"
       << "cafile " << dir << "/ca.pem\n"
       << "certfile " << dir << "/server.pem\n"
       << "keyfile " << dir << "/server.key\n"
       << "crlfile " << dir << "/crl.pem\n"
       << "require_certificate true\n"
       << "use_identity_as_username " << (with_plugin ? "false" : "true") << "\n"
       << "tls_version tlsv1.2\n";
  return WriteFileAtomic(config_path(), conf.str(), 0600);
}

Status MosquittoBroker::Launch() {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const std::string log = log_path();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so that a terminal's SIGINT reaches custos first
  // and custos stops the broker in order.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::string program = config_.mosquitto_path;
  std::string flag = "-c";
  std::string conf = config_path();
  char* argv[] = {program.data(), flag.data(), conf.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return UnavailableError("cannot start '" + program + "': " + std::strerror(rc));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pid_ = pid;
  }
  if (watcher_.joinable()) watcher_.join();
  watcher_ = std::thread([this] { Watch(); });
  return OkStatus();
}

void MosquittoBroker::Watch() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  std::function<void(int)> callback;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exited_ = true;
    wait_status_ = status;
    if (started_ && !stopping_) callback = config_.on_unexpected_exit;
  }
  exited_cv_.notify_all();
  if (callback) callback(status);
}

Status MosquittoBroker::WaitUntilListening() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.start_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (exited_cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return exited_; })) {
        return UnavailableError("mosquitto exited at start (status " +
                                std::to_string(wait_status_) + "): " + LogTail(log_path()));
      }
    }
    // mosquitto opens its listener before it loads the TLS files and exits
    // if one is bad; its "running" notice comes after all of that.
    if (LogTail(log_path()).find(" running") != std::string::npos && CanConnect(port_)) {
      return OkStatus();
    }
  }
  return UnavailableError("mosquitto does not listen on 127.0.0.1:" + std::to_string(port_) +
                          " after " + std::to_string(config_.start_timeout_ms) +
                          " ms: " + LogTail(log_path()));
}

bool MosquittoBroker::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pid_ > 0 && !exited_;
}

Status MosquittoBroker::UpdateCrl(std::string_view crl_pem) {
  if (crl_pem.empty()) return InvalidArgumentError("CRL is empty");
  return WriteFileAtomic(config_.dir + "/crl.pem", crl_pem, 0644);
}

void MosquittoBroker::Stop() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (pid_ <= 0) return;
    stopping_ = true;
    if (!exited_) {
      ::kill(pid_, SIGTERM);
      if (!exited_cv_.wait_for(lock, std::chrono::milliseconds(config_.stop_timeout_ms),
                               [this] { return exited_; })) {
        ::kill(pid_, SIGKILL);
        exited_cv_.wait(lock, [this] { return exited_; });
      }
    }
  }
  if (watcher_.joinable()) watcher_.join();
}

MosquittoBroker::~MosquittoBroker() { Stop(); }

}  // namespace custos::net
