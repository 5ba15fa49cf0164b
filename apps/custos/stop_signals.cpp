#include "apps/custos/stop_signals.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace custos::cli {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int StopSignals::Wait() const {
  int signal_number = 0;
  while (sigwait(&set_, &signal_number) != 0) {
  }
  return signal_number;
}

int StopSignals::WaitFor(std::chrono::milliseconds timeout) const {
  const auto ms = timeout.count() < 0 ? 0 : timeout.count();
  const timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
  for (;;) {
    const int sig = sigtimedwait(&set_, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) return sig;
    // EINTR: another signal's handler ran; the timeout restarts, which only
    // delays the caller's next look.
    if (sig < 0 && errno == EINTR) continue;
    return 0;
  }
}

std::string_view StopSignals::Name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "signal";
  }
}

}  // namespace custos::cli
