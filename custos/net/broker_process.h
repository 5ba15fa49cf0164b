// File: custos/net/broker_process.h
//
// MosquittoBroker: Debian's mosquitto 2.0 run as a child process under
// custos's control. It writes the broker's configuration and TLS files into a
// folder it owns, starts `mosquitto -c`, waits until the listener accepts
// connections, watches the process (a callback is told if it dies), and stops
// it on destruction (SIGTERM, then SIGKILL after a grace period).
//
// The configuration is TLS only: one listener on 127.0.0.1 and the given (or a
// free) port, TLS 1.2 or later, a client certificate required and verified
// against the fleet CA and its CRL, anonymous access off, persistence off.
// The identity of a client is the subject CN of its certificate.
//
// With the custos plug-in (plugin_path set, the normal case) the plug-in takes
// the identity from the certificate, refuses revoked certificates, enforces
// the per-device topic ACL (broker_policy.h), and disconnects clients whose
// certificate appears in a newer CRL written with UpdateCrl, within about
// 100 ms; it also stops the broker (SIGTERM) when the process that started it
// is gone (a custosd that crashed or was killed leaves no orphaned broker
// serving with a CRL nobody updates). Without it, mosquitto's own use_identity_as_username and an ACL file
// with the same per-device patterns apply, and the CRL is read at start only
// (mosquitto skips authentication plug-ins entirely with
// use_identity_as_username, which is why the plug-in mode does not set it).
//
// The broker's private key is written to the folder as a PEM file with mode
// 0600: mosquitto reads its server key from a file (it can use a PKCS#11 key
// only through an OpenSSL engine, which Debian's build does not set up), so
// this key is the one custos key that lives outside a KeyStore. Keep the
// folder private to the service account.
#ifndef CUSTOS_NET_BROKER_PROCESS_H_
#define CUSTOS_NET_BROKER_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::net {

// The plug-in built with this tree (custos_broker_plugin.so in the build
// folder); empty if the build did not record one.
std::string BuiltBrokerPluginPath();

// What the broker is started with.
struct MosquittoBrokerConfig {
  // The folder for the configuration, TLS files and log; created (mode 0700)
  // if missing. Must not be shared with another broker.
  std::string dir;
  // The mosquitto binary.
  std::string mosquitto_path = "/usr/sbin/mosquitto";
  // The TCP port on 127.0.0.1; 0 picks a free one.
  uint16_t port = 0;
  // PEM: the CA certificates client certificates are checked against (the
  // fleet's root and issuing CAs).
  std::string ca_pem;
  // PEM: the broker's certificate (serverAuth), then its chain.
  std::string server_cert_pem;
  // PEM: the broker's private key (written 0600, see the file comment).
  SecretBytes server_key_pem;
  // PEM: the fleet CA's CRL(s); required (mosquitto refuses clients whose
  // issuer has no CRL once a crlfile is configured).
  std::string crl_pem;
  // Identities (certificate CNs) that may read and write every topic, e.g.
  // custosd's. They must not be device ids (IsDeviceIdentity false), so that
  // no device certificate can carry one; e.g. "custosd:control-plane".
  std::vector<std::string> privileged_identities;
  // The custos plug-in; empty runs without it (see the file comment).
  std::string plugin_path = BuiltBrokerPluginPath();
  // How long Start waits for the listener.
  int start_timeout_ms = 10000;
  // How long the destructor waits after SIGTERM before SIGKILL.
  int stop_timeout_ms = 5000;
  // Called once, from the watcher thread, if mosquitto exits without Stop
  // having been asked for; `wait_status` is waitpid's status.
  std::function<void(int wait_status)> on_unexpected_exit;
};

// A running mosquitto. Not copyable or movable; the methods are thread-safe.
class MosquittoBroker {
 public:
  // Writes the configuration, starts mosquitto and waits until its listener
  // accepts TCP connections. InvalidArgument for a missing CA, certificate,
  // key or CRL, or a privileged identity that is a device id; Unavailable
  // (quoting the end of mosquitto's log) if it exits or does not listen
  // within start_timeout_ms; the I/O error for an unwritable folder.
  static StatusOr<std::unique_ptr<MosquittoBroker>> Start(MosquittoBrokerConfig config);

  // Stops the broker (Stop).
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // The listener: host "127.0.0.1" and port.
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  // The process id of mosquitto.
  pid_t pid() const { return pid_; }
  // The folder and the files in it.
  const std::string& dir() const { return config_.dir; }
  std::string config_path() const { return config_.dir + "/mosquitto.conf"; }
  std::string log_path() const { return config_.dir + "/mosquitto.log"; }

  // True while mosquitto runs.
  bool running() const;

  // Replaces the CRL file atomically (write and rename). With the plug-in,
  // clients whose certificates it lists are refused and the connected ones
  // disconnected within about 100 ms; a CRL the plug-in cannot verify is
  // ignored (the previous one stays in force, the log says why).
  // InvalidArgument for an empty CRL; the I/O error otherwise.
  Status UpdateCrl(std::string_view crl_pem);

  // Sends SIGTERM, waits up to stop_timeout_ms, then SIGKILLs. Idempotent.
  void Stop();

 private:
  explicit MosquittoBroker(MosquittoBrokerConfig config);
  Status WriteFiles();
  Status Launch();
  Status WaitUntilListening();
  void Watch();

  MosquittoBrokerConfig config_;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::thread watcher_;
  mutable std::mutex mutex_;
  std::condition_variable exited_cv_;
  bool exited_ = false;
  int wait_status_ = 0;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace custos::net

#endif  // CUSTOS_NET_BROKER_PROCESS_H_
