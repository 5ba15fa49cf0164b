// File: apps/custos/stop_signals.h
//
// How the long-running commands (`custos serve`, `custos agent`, `custos
// sim`) learn that they should stop: SIGINT and SIGTERM are blocked before
// any thread starts, so every thread inherits the mask and the signals stay
// pending until the command takes them synchronously (sigwait /
// sigtimedwait) with Wait or WaitFor. No handler runs, so stopping needs no
// async-signal-safe code. SIGPIPE is ignored, so that a peer going away
// mid-write (TLS to a closed socket) is an error, not the end of the
// process. Private to the binary.
#ifndef CUSTOS_APPS_CUSTOS_STOP_SIGNALS_H_
#define CUSTOS_APPS_CUSTOS_STOP_SIGNALS_H_

#include <signal.h>

#include <chrono>
#include <string_view>

namespace custos::cli {

class StopSignals {
 public:
  // Blocks SIGINT and SIGTERM in the calling thread (and so in every thread
  // it starts afterwards) and ignores SIGPIPE, for the rest of the process.
  // Construct it in the main thread before starting any thread.
  StopSignals();

  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits until SIGINT or SIGTERM arrives (or is already pending) and
  // returns its number.
  int Wait() const;
  // Waits at most `timeout` (0: only looks) for SIGINT or SIGTERM; returns
  // its number, or 0 if none came. Safe to call from any thread.
  int WaitFor(std::chrono::milliseconds timeout) const;

  // "SIGINT" or "SIGTERM" (for messages); "signal" for anything else.
  static std::string_view Name(int signal_number);

 private:
  sigset_t set_;
};

}  // namespace custos::cli

#endif  // CUSTOS_APPS_CUSTOS_STOP_SIGNALS_H_
