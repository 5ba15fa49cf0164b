// File: custos/net/telemetry_channel.h
//
// End-to-end protection of telemetry and commands between one device and the
// control plane (custosd), so that the MQTT broker in between never sees
// plaintext (docs/formats/telemetry.md).
//
// Each side holds an X25519 key in its own key store: the device its own,
// custosd its "custosd-telemetry" key. Both derive the same 16-byte
// Ascon-AEAD128 channel key with KeyStore::DeriveSharedKey (X25519 +
// HKDF-SHA-256), bound to the device id and to both public keys:
//
//   salt = "custos-telemetry-v1"
//   info = "custos telemetry" || 0x00 || device_id || 0x00
//          || SHA-256(device_spki) || SHA-256(custosd_spki)
//   key id (uint32) = first 4 bytes, big-endian, of
//          SHA-256(device_spki || custosd_spki)
//
// A sealed message is a custos envelope (docs/formats/envelope.md: version 1,
// algorithm id 0x0001 = ascon-aead128, the key id, a 16-byte random nonce,
// ciphertext || tag) whose associated data is the envelope header followed
// by the UTF-8 MQTT topic, so a message cannot be replayed on another
// device's topic or in the other direction.
//
// The plaintexts are small JSON documents: TelemetryMessage (device ->
// custosd, on devices/<id>/telemetry) and CommandMessage (custosd -> device,
// on devices/<id>/commands). Their parsers never trust input: size, version,
// field types and ranges are checked, and errors say which field is wrong.
//
// Example (device side):
//   CUSTOS_ASSIGN_OR_RETURN(auto channel, TelemetryChannel::Derive(
//       store, "telemetry", device_spki, custosd_spki, device_id, true));
//   CUSTOS_ASSIGN_OR_RETURN(auto sealed, channel.Seal(AsBytes(json), topic));
#ifndef CUSTOS_NET_TELEMETRY_CHANNEL_H_
#define CUSTOS_NET_TELEMETRY_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/keystore/key_store.h"
#include "custos/lwc/aead.h"

namespace custos::net {

// The version ("v") every message of this format carries.
inline constexpr int kTelemetryFormatVersion = 1;
// Largest JSON plaintext of a telemetry or command message, in bytes.
inline constexpr std::size_t kMaxTelemetryPlaintextBytes = 16 * 1024;
// Envelope overhead of a sealed message: 8-byte fixed header, 16-byte nonce,
// 16-byte tag.
inline constexpr std::size_t kTelemetrySealOverhead = 8 + 16 + 16;
// Largest sealed message Open accepts.
inline constexpr std::size_t kMaxSealedTelemetryBytes =
    kMaxTelemetryPlaintextBytes + kTelemetrySealOverhead;
// The algorithm id of ascon-aead128 (docs/formats/algorithms.md).
inline constexpr uint16_t kTelemetryAeadAlgorithmId = 0x0001;
// The algorithm name in FleetInfo ("telemetry": {"aead": ...}).
inline constexpr std::string_view kTelemetryAeadName = "ascon-aead128";
// HKDF salt of the channel key.
inline constexpr std::string_view kTelemetryKdfSalt = "custos-telemetry-v1";
// Commands older than this are ignored by devices.
inline constexpr int64_t kMaxCommandAgeMs = 5 * 60 * 1000;

// One telemetry message (device -> custosd). JSON form:
//   {"v": 1, "type": "telemetry"|"report", "device": ID, "seq": N,
//    "sent_us": unix microseconds, "profile": "sensor"|..., "values": {...}}
struct TelemetryMessage {
  std::string type = "telemetry";  // "telemetry" or "report"
  std::string device;              // the sending device's id
  uint64_t seq = 0;                // >= 1, strictly increasing per device
  int64_t sent_us = 0;             // Unix time in microseconds when sealed
  std::string profile;             // behaviour profile, e.g. "sensor"; may be empty
  nlohmann::json values = nlohmann::json::object();  // a JSON object
};

// The JSON text of `message` (compact, keys in a fixed order). Does not
// validate; ParseTelemetryMessage(TelemetryMessageToJson(m)) succeeds for
// every message that follows the field comments above.
std::string TelemetryMessageToJson(const TelemetryMessage& message);

// Parses and validates a telemetry message. InvalidArgument naming the
// problem for: more than kMaxTelemetryPlaintextBytes, malformed JSON, a
// non-object, "v" other than 1, an unknown "type", a "device" that is not a
// device id, "seq" not an integer >= 1, "sent_us" not a non-negative integer,
// "profile" not a string of at most 64 characters, "values" not an object.
// Unknown extra fields are ignored (forward compatibility).
StatusOr<TelemetryMessage> ParseTelemetryMessage(std::string_view json);

// One command (custosd -> device). JSON form:
//   {"v": 1, "id": "<32 lowercase hex>", "command": "rotate"|"report",
//    "issued_ms": unix ms}
struct CommandMessage {
  std::string id;       // 32 lowercase hex digits, unique per command
  std::string command;  // "rotate" or "report"
  int64_t issued_ms = 0;
};

// The JSON text of `message`. Does not validate.
std::string CommandMessageToJson(const CommandMessage& message);

// Parses and validates a command. InvalidArgument naming the problem for:
// oversize input, malformed JSON, "v" other than 1, an "id" that is not 32
// lowercase hex digits, an unknown "command", "issued_ms" not a non-negative
// integer. Whether a command is too old or already seen is the receiver's
// decision (kMaxCommandAgeMs).
StatusOr<CommandMessage> ParseCommandMessage(std::string_view json);

// A fresh random command id (32 lowercase hex digits).
StatusOr<std::string> NewCommandId();

// The key id of the channel between `device_spki` and `custosd_spki`: the
// first 4 bytes, big-endian, of SHA-256(device_spki || custosd_spki).
uint32_t TelemetryKeyId(std::span<const uint8_t> device_spki,
                        std::span<const uint8_t> custosd_spki);

// The key between one device and custosd. Immutable after Derive; Seal and
// Open are safe to call from many threads at once. Copies share the key
// (held in a NonceAead that wipes it on destruction).
class TelemetryChannel {
 public:
  // Derives the channel key. `store` holds the caller's own X25519 key under
  // `own_label`; `own_is_device` says whether that is the device's key (then
  // the peer is custosd_spki) or custosd's (then the peer is device_spki).
  // The own public key must equal the matching SPKI argument
  // (FailedPrecondition otherwise). InvalidArgument for a bad device id or
  // SPKI; errors of the store (NotFound for a missing label) pass through.
  // Uses `store` only during the call (KeyStore is not thread-safe: the
  // caller serialises access to it).
  static StatusOr<TelemetryChannel> Derive(keystore::KeyStore& store, std::string_view own_label,
                                           std::span<const uint8_t> device_spki,
                                           std::span<const uint8_t> custosd_spki,
                                           std::string_view device_id, bool own_is_device);

  // The key id written into every sealed message.
  uint32_t key_id() const { return key_id_; }
  // The device id this channel is bound to.
  const std::string& device_id() const { return device_id_; }

  // Seals `plaintext` (at most kMaxTelemetryPlaintextBytes; InvalidArgument
  // otherwise) for `topic` with a fresh random nonce.
  StatusOr<std::vector<uint8_t>> Seal(std::span<const uint8_t> plaintext,
                                      std::string_view topic) const;

  // Opens a message sealed for `topic`. InvalidArgument for a malformed or
  // oversize envelope or another algorithm; NotFound if it names another key
  // id; Unauthenticated ("authentication failed") if the tag does not verify
  // (wrong key, topic or any changed byte). Plaintext is released only after
  // the tag verifies.
  StatusOr<std::vector<uint8_t>> Open(std::span<const uint8_t> sealed,
                                      std::string_view topic) const;

 private:
  TelemetryChannel(std::shared_ptr<const lwc::NonceAead> aead, uint32_t key_id,
                   std::string device_id)
      : aead_(std::move(aead)), key_id_(key_id), device_id_(std::move(device_id)) {}

  std::shared_ptr<const lwc::NonceAead> aead_;
  uint32_t key_id_ = 0;
  std::string device_id_;
};

// The key id a sealed message names (to pick the channel that opens it).
// InvalidArgument if `sealed` is not a well-formed version-1 ascon-aead128
// envelope of at most kMaxSealedTelemetryBytes.
StatusOr<uint32_t> SealedKeyId(std::span<const uint8_t> sealed);

}  // namespace custos::net

#endif  // CUSTOS_NET_TELEMETRY_CHANNEL_H_
