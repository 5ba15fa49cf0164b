#include "custos/keystore/tamper_monitor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "custos/core/hex.h"
#include "custos/keystore/internal/file_util.h"

namespace custos::keystore {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxWatchedFileBytes = 64 * 1024;
constexpr std::size_t kMaxLogBytes = 16 * 1024 * 1024;

std::string NowRfc3339() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 32> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text.data(), n);
}

std::string Trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  return std::string(dir) + "/" + std::string(name);
}

// Whether `path` exists now and what it looks like.
struct Observation {
  bool present = false;
  std::string fingerprint;
};

StatusOr<Observation> Observe(const std::string& path, bool gpio) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Observation{};
    return UnavailableError("cannot stat watched file '" + path + "'");
  }
  StatusOr<std::string> content = internal::ReadFileText(path, kMaxWatchedFileBytes);
  if (!content.ok()) {
    // A file that vanished between stat and read reads as absent.
    if (content.status().code() == StatusCode::kNotFound) return Observation{};
    return content.status();
  }
  Observation seen;
  seen.present = true;
  if (gpio) {
    seen.fingerprint = Trim(*content);
  } else {
    seen.fingerprint = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                       std::to_string(st.st_mtim.tv_nsec) + ":" + *content;
  }
  return seen;
}

Json ToJson(const TamperEvent& event) {
  Json record = {{"time", event.time},
                 {"source", event.source},
                 {"reason", event.reason},
                 {"backend", event.backend},
                 {"keys_destroyed", event.keys_destroyed}};
  if (!event.error.empty()) record["error"] = event.error;
  return record;
}

// Replaces bytes JSON cannot carry (invalid UTF-8) so that dump() cannot
// throw on caller-supplied text.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte >= 0x20 && byte < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

StatusOr<TamperMonitor> TamperMonitor::Create(KeyStore* store, std::string state_dir) {
  if (store == nullptr) return InvalidArgumentError("tamper monitor needs a key store");
  if (state_dir.empty()) return InvalidArgumentError("tamper monitor needs a state folder");
  CUSTOS_RETURN_IF_ERROR(internal::MakeDirectories(state_dir));
  return TamperMonitor(store, std::move(state_dir));
}

TamperMonitor::TamperMonitor(TamperMonitor&& other) noexcept
    : store_(other.store_),
      state_dir_(std::move(other.state_dir_)),
      files_(std::move(other.files_)),
      signal_fd_(std::exchange(other.signal_fd_, -1)),
      signals_(std::move(other.signals_)) {}

TamperMonitor& TamperMonitor::operator=(TamperMonitor&& other) noexcept {
  if (this != &other) {
    if (signal_fd_ >= 0) ::close(signal_fd_);
    store_ = other.store_;
    state_dir_ = std::move(other.state_dir_);
    files_ = std::move(other.files_);
    signal_fd_ = std::exchange(other.signal_fd_, -1);
    signals_ = std::move(other.signals_);
  }
  return *this;
}

TamperMonitor::~TamperMonitor() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

Status TamperMonitor::WatchFile(std::string path) {
  CUSTOS_ASSIGN_OR_RETURN(Observation seen, Observe(path, /*gpio=*/false));
  files_.push_back({std::move(path), false, seen.present, std::move(seen.fingerprint)});
  return OkStatus();
}

Status TamperMonitor::WatchGpio(std::string path) {
  CUSTOS_ASSIGN_OR_RETURN(Observation seen, Observe(path, /*gpio=*/true));
  if (!seen.present) return NotFoundError("GPIO value file '" + path + "' does not exist");
  // The baseline is "not active", so a line that is already "1" fires at once.
  files_.push_back({std::move(path), true, true, "0"});
  return OkStatus();
}

Status TamperMonitor::WatchSignal(int signal_number) {
  if (signal_number <= 0 || signal_number >= SIGRTMAX || signal_number == SIGKILL ||
      signal_number == SIGSTOP) {
    return InvalidArgumentError("cannot watch signal " + std::to_string(signal_number));
  }
  signals_.push_back(signal_number);
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals_) sigaddset(&set, s);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return InternalError("cannot block signal " + std::to_string(signal_number));
  }
  const int fd = ::signalfd(signal_fd_, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0)
    return UnavailableError("signalfd failed for signal " + std::to_string(signal_number));
  signal_fd_ = fd;
  return OkStatus();
}

StatusOr<TamperEvent> TamperMonitor::Trigger(std::string_view source, std::string_view reason) {
  // Destroy first: nothing may delay the zeroization.
  const StatusOr<std::size_t> destroyed = store_->ZeroizeKeys();
  return RecordTamperResponse(state_dir_, store_->BackendName(), destroyed, source, reason);
}

StatusOr<TamperEvent> RecordTamperResponse(std::string_view state_dir, std::string_view backend,
                                           const StatusOr<std::size_t>& destroyed,
                                           std::string_view source, std::string_view reason) {
  TamperEvent event;
  event.time = NowRfc3339();
  event.source = Printable(source);
  event.reason = Printable(reason);
  event.backend = std::string(backend);
  if (destroyed.ok()) {
    event.keys_destroyed = *destroyed;
  } else {
    event.error = Printable(destroyed.status().ToString());
  }
  const std::string dir(state_dir);
  Status logged = internal::MakeDirectories(dir);
  if (logged.ok()) {
    logged = internal::AppendLine(JoinPath(state_dir, kTamperLogFile), ToJson(event).dump());
  }
  Json marker = {{"time", event.time}, {"source", event.source}, {"reason", event.reason}};
  const Status marked = internal::WriteFileAtomically(JoinPath(state_dir, kReenrollmentMarkerFile),
                                                      AsBytes(marker.dump() + "\n"));
  if (!destroyed.ok()) return Annotate(destroyed.status(), "tamper response: zeroizing keys");
  if (!logged.ok()) return Annotate(logged, "tamper response: recording the event");
  if (!marked.ok()) return Annotate(marked, "tamper response: marking re-enrollment");
  return event;
}

StatusOr<std::optional<std::pair<std::string, std::string>>> TamperMonitor::CheckSources() {
  std::optional<std::pair<std::string, std::string>> fired;
  if (signal_fd_ >= 0) {
    signalfd_siginfo info{};
    const ssize_t n = ::read(signal_fd_, &info, sizeof(info));
    if (n == static_cast<ssize_t>(sizeof(info))) {
      const int number = static_cast<int>(info.ssi_signo);
      const char* name = ::sigabbrev_np(number);
      fired.emplace("signal:" + std::to_string(number),
                    "signal " + std::string(name != nullptr ? name : "?") + " received");
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return UnavailableError("cannot read the tamper signal descriptor");
    }
  }
  for (FileWatch& watch : files_) {
    CUSTOS_ASSIGN_OR_RETURN(Observation seen, Observe(watch.path, watch.gpio));
    std::optional<std::string> reason;
    if (watch.gpio) {
      if (!seen.present) {
        reason = "GPIO value file disappeared";
      } else if (seen.fingerprint == "1" && watch.fingerprint != "1") {
        reason = "GPIO line went active";
      }
    } else if (seen.present && !watch.present) {
      reason = "file appeared";
    } else if (!seen.present && watch.present) {
      reason = "file disappeared";
    } else if (seen.present && seen.fingerprint != watch.fingerprint) {
      reason = "file changed";
    }
    watch.present = seen.present;
    watch.fingerprint = std::move(seen.fingerprint);
    if (reason && !fired) fired.emplace((watch.gpio ? "gpio:" : "file:") + watch.path, *reason);
  }
  return fired;
}

StatusOr<std::optional<TamperEvent>> TamperMonitor::Poll() {
  CUSTOS_ASSIGN_OR_RETURN(auto fired, CheckSources());
  if (!fired) return std::optional<TamperEvent>();
  CUSTOS_ASSIGN_OR_RETURN(TamperEvent event, Trigger(fired->first, fired->second));
  return std::optional<TamperEvent>(std::move(event));
}

StatusOr<std::optional<TamperEvent>> TamperMonitor::Wait(int timeout_ms, int poll_interval_ms) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<TamperEvent> event, Poll());
    if (event) return event;
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return std::optional<TamperEvent>();
    // Round up so that the last sub-millisecond slice is waited too.
    const int64_t left_ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int wait_ms = static_cast<int>(std::min<int64_t>(left_ms, poll_interval_ms));
    if (signal_fd_ >= 0) {
      pollfd fd{signal_fd_, POLLIN, 0};
      ::poll(&fd, 1, wait_ms);
    } else {
      ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
}

bool NeedsReenrollment(std::string_view state_dir) {
  return internal::PathExists(JoinPath(state_dir, kReenrollmentMarkerFile));
}

Status ClearReenrollment(std::string_view state_dir) {
  const std::string path = JoinPath(state_dir, kReenrollmentMarkerFile);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return UnavailableError("cannot remove '" + path + "'");
  }
  return internal::SyncDirectory(std::string(state_dir));
}

StatusOr<std::vector<TamperEvent>> ReadTamperLog(std::string_view state_dir) {
  const std::string path = JoinPath(state_dir, kTamperLogFile);
  StatusOr<std::string> text = internal::ReadFileText(path, kMaxLogBytes);
  if (text.status().code() == StatusCode::kNotFound) return std::vector<TamperEvent>();
  if (!text.ok()) return text.status();
  std::vector<TamperEvent> events;
  std::size_t start = 0;
  for (std::size_t line = 1; start < text->size(); ++line) {
    std::size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    const Json record = Json::parse(text->substr(start, end - start), nullptr, false);
    start = end + 1;
    auto str = [&record](const char* name) -> std::optional<std::string> {
      auto it = record.find(name);
      if (it == record.end() || !it->is_string()) return std::nullopt;
      return it->get<std::string>();
    };
    if (!record.is_object() || !str("time") || !str("source") || !str("reason") ||
        !str("backend") || !record.contains("keys_destroyed") ||
        !record["keys_destroyed"].is_number_unsigned()) {
      return DataLossError("tamper log '" + path + "' line " + std::to_string(line) +
                           " is malformed");
    }
    TamperEvent event;
    event.time = *str("time");
    event.source = *str("source");
    event.reason = *str("reason");
    event.backend = *str("backend");
    event.keys_destroyed = record["keys_destroyed"].get<std::size_t>();
    event.error = str("error").value_or("");
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace custos::keystore
