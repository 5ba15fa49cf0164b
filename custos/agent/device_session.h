// File: custos/agent/device_session.h
//
// DeviceSession: everything one device knows and every message it builds or
// handles, independent of the transport that moves the messages. The
// `custos agent` process (one device, a threaded MQTT client, agent.h) and
// the fleet simulator (thousands of devices on one MQTT event loop,
// custos/sim) drive the same DeviceSession:
//
//   identity  the device id, its identity key in its KeyStore (the private
//             key never leaves it), its operational certificate and the
//             fleet roots (identity::DeviceState), and FleetInfo;
//   enroll    EnrollBody() -> POST /v1/enroll -> AcceptEnrollReply();
//   rotate    BeginRotation() (a new key in the store) -> POST /v1/rotate
//             over mTLS with the old certificate -> AcceptRotationReply()
//             (switch key and certificate) -> reconnect MQTT with the new
//             one -> DestroyRetiredKey();
//   telemetry SealTelemetry() numbers (strictly increasing, also across
//             restarts of a persisted device) and seals a message for
//             devices/<id>/telemetry;
//   commands  OpenCommand() opens and checks a sealed command from
//             devices/<id>/commands (too old or already seen: refused).
//
// Persistence: a session opened on a folder (Open) keeps its state there
// (DIR/device.json, DIR/fleet.json, DIR/telemetry.seq) and writes it after
// every change; an in-memory session (CreateInMemory, for the simulator)
// writes nothing.
//
// Telemetry key: an X25519 key labelled kTelemetryKeyLabel in the device's
// store, or, when that store cannot hold X25519 keys (Debian 12's SoftHSM2),
// in a software store DIR/telemetry-keys.
//
// Thread safety: every method may be called from any thread; an internal
// mutex serialises them, and every use of the key store happens under the
// store mutex that the session also hands to the TLS keys it makes, so a
// TLS handshake on another thread never uses the store concurrently.
#ifndef CUSTOS_AGENT_DEVICE_SESSION_H_
#define CUSTOS_AGENT_DEVICE_SESSION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/manufacture.h"
#include "custos/identity/x509_certificate.h"
#include "custos/keystore/key_store.h"
#include "custos/net/https_server.h"
#include "custos/net/telemetry_channel.h"
#include "custos/net/tls_context.h"
#include "custos/server/api_messages.h"

namespace custos::agent {

// The label of the device's X25519 telemetry key.
inline constexpr std::string_view kTelemetryKeyLabel = "custos-telemetry";
// Files of a device folder besides identity::kDeviceStateFile.
inline constexpr std::string_view kFleetInfoFile = "fleet.json";
inline constexpr std::string_view kSequenceFile = "telemetry.seq";
// How many sequence numbers a persisted session reserves per write.
inline constexpr uint64_t kSequenceReserveBlock = 1000;
// How many command ids a session remembers to refuse repeats.
inline constexpr std::size_t kRememberedCommands = 256;

// How to open a device folder.
struct DeviceFolderOptions {
  std::string dir;  // the device folder (created if missing)
  // The key store for a new device (default "soft:<dir>/keys"); an existing
  // device keeps the one in its state, and a different value is refused.
  std::string store_uri;
  // The device id for a new device; an existing device keeps its own, and a
  // different value is refused. Empty: "dev-" and 12 random hex digits.
  std::string device_id;
  // The fleet roots to trust for the API before enrollment (--roots).
  std::vector<identity::Certificate> bootstrap_roots;
  keystore::KeyType identity_key_type = keystore::KeyType::kEcdsaP256;
};

// What SealTelemetry produced.
struct SealedTelemetry {
  uint64_t seq = 0;
  std::vector<uint8_t> payload;  // the sealed envelope for devices/<id>/telemetry
};

class DeviceSession {
 public:
  // Opens (or starts) the device in folder `options.dir`. Errors: the key
  // store's (wrong passphrase, missing token, ...), DataLoss for a corrupt
  // state file, InvalidArgument for conflicting ids or stores.
  static StatusOr<std::unique_ptr<DeviceSession>> Open(const DeviceFolderOptions& options);

  // A device `device_id` with a fresh in-memory software store ("soft:mem")
  // and no folder: nothing is persisted. `bootstrap_roots` as above.
  static StatusOr<std::unique_ptr<DeviceSession>> CreateInMemory(
      std::string_view device_id, std::vector<identity::Certificate> bootstrap_roots,
      keystore::KeyType identity_key_type = keystore::KeyType::kEcdsaP256);

  ~DeviceSession();
  DeviceSession(const DeviceSession&) = delete;
  DeviceSession& operator=(const DeviceSession&) = delete;

  const std::string& device_id() const { return device_id_; }
  // devices/<id>/telemetry and devices/<id>/commands.
  const std::string& telemetry_topic() const { return telemetry_topic_; }
  const std::string& commands_topic() const { return commands_topic_; }

  // True once the device holds an operational certificate, FleetInfo and a
  // telemetry channel (after AcceptEnrollReply, or Open of an enrolled
  // folder).
  bool enrolled() const;
  // True if the device was manufactured (has a birth certificate), so it can
  // enroll without a token.
  bool has_birth_certificate() const;
  // The fleet as the control plane described it; nullopt before enrollment.
  std::optional<server::FleetInfo> fleet() const;
  // The serial (hex) of the current operational certificate; "" if none.
  std::string certificate_serial() const;
  // The last telemetry sequence number used (0 if none yet).
  uint64_t last_sequence() const;

  // ---- enrollment -------------------------------------------------------

  // The body of POST /v1/enroll: makes the identity key (unless the device
  // has one) and the telemetry key (unless present), and a request with
  // `token` or, when `token` is empty, the birth certificate.
  // InvalidArgument when there is neither; the store's errors otherwise.
  StatusOr<std::string> EnrollBody(const SecretBytes& token, int64_t now_s);

  // Checks and installs the 201 body of POST /v1/enroll: the certificate
  // must be for this device and key and chain to the fleet roots (the
  // bootstrap roots, when given, must contain the chain's root); then
  // derives the telemetry channel with the fleet's key and persists.
  // InvalidArgument / Unauthenticated naming the problem; on error a key
  // EnrollBody made is destroyed and nothing changes.
  Status AcceptEnrollReply(std::string_view reply_json, int64_t now_s);

  // Forgets a failed enrollment attempt (destroys a key EnrollBody made).
  void AbandonEnrollment();

  // ---- rotation ---------------------------------------------------------

  // Makes a new identity key and returns the body of POST /v1/rotate, signed
  // by the current key. FailedPrecondition if not enrolled. The current key
  // and certificate stay in use until AcceptRotationReply.
  StatusOr<std::string> BeginRotation(int64_t now_s);

  // Installs the 200 body of POST /v1/rotate: the new certificate and key
  // become current (persisted); the old key is kept as the retired key
  // until DestroyRetiredKey, so a connection made with it can still close
  // cleanly. On error the new key is destroyed and nothing changes.
  Status AcceptRotationReply(std::string_view reply_json, int64_t now_s);

  // Forgets a failed rotation (destroys the new key).
  void AbandonRotation();

  // Destroys the key retired by the last rotation, if any (call after the
  // MQTT connection runs with the new certificate).
  Status DestroyRetiredKey();

  // ---- transport --------------------------------------------------------

  // A TLS client context for the broker: the fleet roots, server name
  // "localhost", the current certificate chain, and the current key through
  // the store (net::MakeKeyStorePrivateKey). FailedPrecondition if not
  // enrolled. The context keeps the store alive.
  // `verifier` (optional) replaces the PeerVerifier made from the roots, so
  // that many devices of one fleet can share one.
  StatusOr<net::SslCtxPtr> MqttTlsContext(std::shared_ptr<net::PeerVerifier> verifier = nullptr);

  // An HTTPS client for the API on 127.0.0.1:`port`, verifying the server
  // against the fleet roots (or the bootstrap roots before enrollment);
  // with `mutual`, presenting the current certificate (FailedPrecondition if
  // not enrolled).
  StatusOr<std::unique_ptr<net::HttpsClient>> ApiClient(int port, bool mutual,
                                                        bool keep_alive = true);

  // A PeerVerifier over the fleet roots (or the bootstrap roots).
  StatusOr<std::shared_ptr<net::PeerVerifier>> ServerVerifier() const;

  // ---- telemetry and commands -------------------------------------------

  // Builds the next message (`type` "telemetry" or "report", the profile
  // name, `values`), gives it the next sequence number and seals it for
  // telemetry_topic(), stamped with `now_us` (Unix microseconds).
  // FailedPrecondition if not enrolled; a persisted session may return the
  // error of writing its sequence reservation.
  StatusOr<SealedTelemetry> SealTelemetry(std::string_view type, std::string_view profile,
                                          nlohmann::json values, int64_t now_us);

  // Opens a payload received on commands_topic() and checks it: NotFound /
  // Unauthenticated / InvalidArgument if it does not open or parse,
  // FailedPrecondition if issued more than net::kMaxCommandAgeMs before
  // `now_ms`, AlreadyExists if its id was seen. A returned command is
  // remembered, so it is handed out once.
  StatusOr<net::CommandMessage> OpenCommand(std::span<const uint8_t> payload, int64_t now_ms);

 private:
  DeviceSession() = default;

  // Helpers that expect mutex_ held.
  Status EnsureTelemetryKeyLocked();
  Status DeriveChannelLocked();
  // Parses a reply and installs it for the key of the attempt in progress.
  Status InstallReplyLocked(std::string_view reply_json, int64_t now_s);
  Status InstallLocked(const server::EnrollReply& reply, const std::string& key_label,
                       const std::string& key_type, int64_t now_s);
  Status SaveLocked();
  StatusOr<std::vector<identity::Certificate>> TrustedRootsLocked() const;
  StatusOr<std::vector<identity::Certificate>> ClientChainLocked() const;

  mutable std::mutex mutex_;
  std::string dir_;  // "" : in memory
  std::string device_id_;
  std::string telemetry_topic_;
  std::string commands_topic_;
  keystore::KeyType identity_key_type_ = keystore::KeyType::kEcdsaP256;
  std::shared_ptr<keystore::KeyStore> store_;
  std::shared_ptr<std::mutex> store_mutex_;
  // The store of the telemetry key: store_ or a separate software store.
  std::shared_ptr<keystore::KeyStore> telemetry_store_;
  std::shared_ptr<std::mutex> telemetry_store_mutex_;
  identity::DeviceState state_;
  std::vector<identity::Certificate> bootstrap_roots_;
  std::optional<server::FleetInfo> fleet_;
  std::vector<uint8_t> telemetry_spki_;
  std::optional<net::TelemetryChannel> channel_;
  // Enrollment/rotation in progress: a key made for it.
  std::string attempt_key_label_;
  std::string attempt_key_type_;
  int attempt_generation_ = 0;
  std::string retired_key_label_;
  // Sequence numbers: last used, and reserved up to (persisted).
  uint64_t seq_ = 0;
  uint64_t seq_reserved_ = 0;
  std::deque<std::string> seen_order_;
  std::set<std::string, std::less<>> seen_commands_;
};

}  // namespace custos::agent

#endif  // CUSTOS_AGENT_DEVICE_SESSION_H_
