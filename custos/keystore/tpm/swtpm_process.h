// File: custos/keystore/tpm/swtpm_process.h
//
// SwtpmProcess runs a software TPM 2.0 (swtpm, Debian's swtpm package) as a
// child process listening on loopback, for tests, the demo and the fleet
// simulator. It is a real TPM 2.0 implementation (libtpms), not a mock: the
// TPM backend talks to it through the tpm2-tss "swtpm" TCTI exactly as it
// would to any TCP-attached TPM.
//
// How it starts: Start picks a port P such that P and P + 1 (the control
// port the swtpm TCTI expects) are free on 127.0.0.1, runs `swtpm socket
// --tpm2 --flags not-need-init,startup-clear` on them, and waits until the
// child itself holds both listening sockets (checked in /proc, so a probe
// never reaches another process that happens to listen there) and the TPM
// has answered a TPM2_GetRandom command. If another process takes a port
// between the pick and swtpm's bind, swtpm exits and Start picks again.
//
// The TPM state (NV memory: persistent keys, NV indices, PCR bank
// selection) lives in a state folder: a caller-given one that survives the
// process (so a second SwtpmProcess on the same folder sees the same TPM), or
// a fresh temporary one removed when the process stops.
//
// Process-wide effects: the child is started with fork/exec; on Linux it is
// asked to receive SIGKILL when the thread that started it exits
// (PR_SET_PDEATHSIG), so a crashed test leaves no swtpm behind. Start it from
// a thread that outlives it.
//
// Thread safety: not thread-safe; one owner.
#ifndef CUSTOS_KEYSTORE_TPM_SWTPM_PROCESS_H_
#define CUSTOS_KEYSTORE_TPM_SWTPM_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "custos/core/status.h"

namespace custos::keystore {

// How to start swtpm.
struct SwtpmOptions {
  // The swtpm binary: a path, or a name looked up on PATH.
  std::string swtpm_binary = "swtpm";
  // Folder for the TPM state; created if missing and kept after Stop. Empty:
  // a fresh temporary folder, removed after Stop.
  std::string state_dir;
  // How long Start waits for the TPM to answer.
  int startup_timeout_ms = 10000;
  // How long Stop waits after SIGTERM before it sends SIGKILL.
  int stop_timeout_ms = 3000;
};

// A running swtpm child process. Create with Start; the destructor stops it.
class SwtpmProcess {
 public:
  // Starts swtpm as described in the file comment and waits until it answers.
  // NotFound if the binary does not exist; Unavailable if it exits or does
  // not answer in time (with the tail of its log in the message);
  // Internal for socket or process errors.
  static StatusOr<std::unique_ptr<SwtpmProcess>> Start(const SwtpmOptions& options = {});

  SwtpmProcess(const SwtpmProcess&) = delete;
  SwtpmProcess& operator=(const SwtpmProcess&) = delete;
  // Stops the process (see Stop) and removes the temporary folders.
  ~SwtpmProcess();

  // The tpm2-tss TCTI configuration string for this TPM,
  // "swtpm:host=127.0.0.1,port=P", suitable for Tss2_TctiLdr_Initialize and
  // for the command line's `--store tpm:<tcti>`.
  std::string Tcti() const;
  // The TPM command port P (the control channel is P + 1).
  uint16_t port() const { return port_; }
  // The state folder in use.
  const std::string& state_dir() const { return state_dir_; }
  // The child's process id, or -1 once stopped.
  pid_t pid() const { return pid_; }
  // True while the child has not been reaped.
  bool running() const { return pid_ > 0; }

  // Stops the child: SIGTERM (swtpm saves its state and exits), waits up to
  // stop_timeout_ms, then SIGKILL; always reaps it. Idempotent. Returns
  // Internal if the child had to be killed or exited with an error.
  Status Stop();

 private:
  SwtpmProcess(pid_t pid, uint16_t port, std::string work_dir, std::string state_dir,
               int stop_timeout_ms);

  pid_t pid_;
  uint16_t port_;
  std::string work_dir_;  // temporary folder: the log, and the state if temporary
  std::string state_dir_;
  int stop_timeout_ms_;
};

}  // namespace custos::keystore

#endif  // CUSTOS_KEYSTORE_TPM_SWTPM_PROCESS_H_
