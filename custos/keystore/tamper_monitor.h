// File: custos/keystore/tamper_monitor.h
//
// Tamper response. A TamperMonitor watches tamper signals — a file that
// appears or changes, a GPIO line exposed as a sysfs-style value file that
// reads "1", a POSIX signal (through signalfd) — or is triggered explicitly.
// On a signal it runs the response, in this order:
//   1. store.ZeroizeKeys(): every key of the device's store is destroyed
//      within that one call;
//   2. appends a tamper event record (one JSON line: time, source, reason,
//      backend, keys destroyed, error if any) to STATE/tamper.log;
//   3. writes the marker STATE/needs-reenrollment, so that the device is
//      known to need re-enrollment (NeedsReenrollment) until a later
//      successful enrollment clears it (ClearReenrollment).
// Steps 2 and 3 run even if step 1 fails, and the record names the failure.
//
// Sources are polled: Poll() checks each once; Wait() blocks on the signal
// descriptor and re-checks files every poll interval. Each change of a
// watched file fires once; a GPIO line fires when it goes to "1" and again
// only after it has left "1".
//
// Thread safety: not thread-safe; one thread owns a monitor and its store.
#ifndef CUSTOS_KEYSTORE_TAMPER_MONITOR_H_
#define CUSTOS_KEYSTORE_TAMPER_MONITOR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/keystore/key_store.h"

namespace custos::keystore {

// The name of the tamper log and of the re-enrollment marker in a device's
// state folder.
inline constexpr std::string_view kTamperLogFile = "tamper.log";
inline constexpr std::string_view kReenrollmentMarkerFile = "needs-reenrollment";

// One tamper response, as appended to the tamper log.
struct TamperEvent {
  std::string time;    // UTC, RFC 3339 ("2025-01-31T12:00:00Z")
  std::string source;  // "file:PATH", "gpio:PATH", "signal:N" or the caller's
  std::string reason;
  std::string backend;             // the store's BackendName()
  std::size_t keys_destroyed = 0;  // as reported by ZeroizeKeys
  std::string error;               // empty if ZeroizeKeys succeeded
};

class TamperMonitor {
 public:
  // A monitor that protects `store` (not owned; must outlive the monitor) and
  // records into `state_dir`, which is created (0700) if missing.
  // Unavailable if the folder cannot be created.
  static StatusOr<TamperMonitor> Create(KeyStore* store, std::string state_dir);

  TamperMonitor(TamperMonitor&& other) noexcept;
  TamperMonitor& operator=(TamperMonitor&& other) noexcept;
  TamperMonitor(const TamperMonitor&) = delete;
  TamperMonitor& operator=(const TamperMonitor&) = delete;
  // Closes the signal descriptor; watched signals stay blocked.
  ~TamperMonitor();

  // Fires when `path` appears (if absent now) or its content, size or
  // modification time changes.
  Status WatchFile(std::string path);

  // Fires when the value file `path` (e.g. /sys/class/gpio/gpio17/value)
  // reads "1" (surrounding whitespace ignored). If it reads "1" already, the
  // first Poll fires. A missing file is an error now (NotFound) and, later,
  // counts as tamper.
  Status WatchGpio(std::string path);

  // Fires when `signal_number` is delivered. Blocks the signal in the
  // calling thread (pthread_sigmask) and reads it through a signalfd; for a
  // multi-threaded process, block it in every thread before creating them or
  // the kernel may deliver it elsewhere. InvalidArgument for a bad number.
  Status WatchSignal(int signal_number);

  // Runs the tamper response now (see the file comment). Returns the event
  // recorded; an error if keys could not be destroyed (the event is still
  // recorded) or the record or marker could not be written.
  StatusOr<TamperEvent> Trigger(std::string_view source, std::string_view reason);

  // Checks every watched source once without blocking; if one fired, runs
  // the response for the first such source and returns its event.
  StatusOr<std::optional<TamperEvent>> Poll();

  // Like Poll, but waits up to `timeout_ms` for a source to fire, checking
  // files every `poll_interval_ms`.
  StatusOr<std::optional<TamperEvent>> Wait(int timeout_ms, int poll_interval_ms = 50);

  // The folder with the tamper log and the re-enrollment marker.
  const std::string& state_dir() const { return state_dir_; }

 private:
  struct FileWatch {
    std::string path;
    bool gpio = false;
    bool present = false;
    std::string fingerprint;  // size, mtime and content hash, or the GPIO value
  };

  TamperMonitor(KeyStore* store, std::string state_dir)
      : store_(store), state_dir_(std::move(state_dir)) {}

  // The source that fired, if any; updates the watches' baselines.
  StatusOr<std::optional<std::pair<std::string, std::string>>> CheckSources();

  KeyStore* store_;
  std::string state_dir_;
  std::vector<FileWatch> files_;
  int signal_fd_ = -1;
  std::vector<int> signals_;
};

// The second half of a tamper response, for callers that destroyed the keys
// some other way (e.g. DestroySoftKeyStoreFiles when a store cannot be
// opened): appends the event to `state_dir`'s tamper log and writes the
// re-enrollment marker, creating the folder if needed. `destroyed` is the
// number of keys destroyed or the error zeroizing gave (recorded in the
// event and returned). TamperMonitor::Trigger records through this.
StatusOr<TamperEvent> RecordTamperResponse(std::string_view state_dir, std::string_view backend,
                                           const StatusOr<std::size_t>& destroyed,
                                           std::string_view source, std::string_view reason);

// True if `state_dir` holds the re-enrollment marker written by a tamper
// response.
bool NeedsReenrollment(std::string_view state_dir);

// Removes the marker; call after a successful enrollment. OK if absent.
Status ClearReenrollment(std::string_view state_dir);

// The events recorded in `state_dir`'s tamper log, oldest first (empty if
// there is none). DataLoss naming the line if a record is malformed.
StatusOr<std::vector<TamperEvent>> ReadTamperLog(std::string_view state_dir);

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_TAMPER_MONITOR_H_
