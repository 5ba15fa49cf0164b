// File: custos/net/telemetry_channel.cpp
#include "custos/net/telemetry_channel.h"

#include <array>
#include <limits>
#include <utility>

#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/core/secret_bytes.h"
#include "custos/crypto/envelope.h"
#include "custos/crypto/openssl_hash.h"
#include "custos/identity/x509_certificate.h"
#include "custos/lwc/ascon.h"
#include "custos/net/https_json.h"

namespace custos::net {
namespace {

constexpr std::size_t kNonceSize = 16;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kHeaderSize = crypto::kEnvelopeFixedHeaderSize + kNonceSize;
constexpr std::size_t kMaxProfileChars = 64;
constexpr std::size_t kCommandIdHexChars = 32;

// The telemetry message types, and the commands, this version knows.
constexpr std::array<std::string_view, 2> kTelemetryTypes = {"telemetry", "report"};
constexpr std::array<std::string_view, 2> kCommands = {"rotate", "report"};

template <std::size_t N>
bool OneOf(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::string_view known : names) {
    if (known == name) return true;
  }
  return false;
}

template <std::size_t N>
std::string NameList(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += "\"" + std::string(name) + "\"";
  }
  return out;
}

std::vector<uint8_t> Sha256(std::span<const uint8_t> a, std::span<const uint8_t> b = {}) {
  auto hash = crypto::NewSha256();
  hash->Update(a);
  hash->Update(b);
  return hash->Final();
}

// Parses `text` as a JSON object of at most kMaxTelemetryPlaintextBytes;
// `what` names the message in errors.
StatusOr<nlohmann::json> ParseObject(std::string_view text, std::string_view what) {
  if (text.size() > kMaxTelemetryPlaintextBytes) {
    return InvalidArgumentError(std::string(what) + " of " + std::to_string(text.size()) +
                                " bytes exceeds the limit of " +
                                std::to_string(kMaxTelemetryPlaintextBytes));
  }
  auto parsed = ParseJsonBody(text, kMaxTelemetryPlaintextBytes);
  if (!parsed.ok()) {
    // ParseJsonBody speaks of a "request body"; say what this is instead.
    std::string message(parsed.status().message());
    const std::string_view prefix = "request body";
    if (message.rfind(prefix, 0) == 0) message = std::string(what) + message.substr(prefix.size());
    return InvalidArgumentError(message);
  }
  return std::move(parsed).value();
}

Status CheckVersion(const nlohmann::json& object, std::string_view what) {
  auto it = object.find("v");
  if (it == object.end() || !it->is_number_integer() ||
      it->get<int64_t>() != kTelemetryFormatVersion) {
    return InvalidArgumentError(std::string(what) + ": \"v\" must be " +
                                std::to_string(kTelemetryFormatVersion) +
                                " (unsupported or missing version)");
  }
  return OkStatus();
}

StatusOr<std::string> StringField(const nlohmann::json& object, std::string_view what,
                                  const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return InvalidArgumentError(std::string(what) + ": \"" + name + "\" must be a string");
  }
  return it->get<std::string>();
}

// A non-negative integer field (JSON integers only; 1.5 and "3" are refused).
StatusOr<uint64_t> UnsignedField(const nlohmann::json& object, std::string_view what,
                                 const char* name, uint64_t max) {
  auto it = object.find(name);
  bool ok = it != object.end() &&
            (it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0));
  if (ok && it->get<uint64_t>() > max) ok = false;
  if (!ok) {
    return InvalidArgumentError(std::string(what) + ": \"" + name +
                                "\" must be an integer from 0 to " + std::to_string(max));
  }
  return it->get<uint64_t>();
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

constexpr uint64_t kMaxTime = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

}  // namespace

std::string TelemetryMessageToJson(const TelemetryMessage& message) {
  nlohmann::ordered_json out;
  out["v"] = kTelemetryFormatVersion;
  out["type"] = message.type;
  out["device"] = message.device;
  out["seq"] = message.seq;
  out["sent_us"] = message.sent_us;
  out["profile"] = message.profile;
  out["values"] = message.values.is_object() ? message.values : nlohmann::json::object();
  // Invalid UTF-8 in a string is replaced rather than thrown on.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusOr<TelemetryMessage> ParseTelemetryMessage(std::string_view json) {
  constexpr std::string_view kWhat = "telemetry message";
  CUSTOS_ASSIGN_OR_RETURN(nlohmann::json object, ParseObject(json, kWhat));
  CUSTOS_RETURN_IF_ERROR(CheckVersion(object, kWhat));
  TelemetryMessage message;
  CUSTOS_ASSIGN_OR_RETURN(message.type, StringField(object, kWhat, "type"));
  if (!OneOf(kTelemetryTypes, message.type)) {
    return InvalidArgumentError("telemetry message: \"type\" must be one of " +
                                NameList(kTelemetryTypes));
  }
  CUSTOS_ASSIGN_OR_RETURN(message.device, StringField(object, kWhat, "device"));
  if (!identity::ValidateDeviceId(message.device).ok()) {
    return InvalidArgumentError("telemetry message: \"device\" is not a valid device id");
  }
  CUSTOS_ASSIGN_OR_RETURN(
      message.seq, UnsignedField(object, kWhat, "seq", std::numeric_limits<uint64_t>::max()));
  if (message.seq == 0) {
    return InvalidArgumentError("telemetry message: \"seq\" must be at least 1");
  }
  CUSTOS_ASSIGN_OR_RETURN(uint64_t sent_us, UnsignedField(object, kWhat, "sent_us", kMaxTime));
  message.sent_us = static_cast<int64_t>(sent_us);
  if (auto it = object.find("profile"); it != object.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxProfileChars) {
      return InvalidArgumentError("telemetry message: \"profile\" must be a string of at most " +
                                  std::to_string(kMaxProfileChars) + " characters");
    }
    message.profile = it->get<std::string>();
  }
  if (auto it = object.find("values"); it != object.end()) {
    if (!it->is_object()) {
      return InvalidArgumentError("telemetry message: \"values\" must be a JSON object");
    }
    message.values = std::move(*it);
  }
  return message;
}

std::string CommandMessageToJson(const CommandMessage& message) {
  nlohmann::ordered_json out;
  out["v"] = kTelemetryFormatVersion;
  out["id"] = message.id;
  out["command"] = message.command;
  out["issued_ms"] = message.issued_ms;
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusOr<CommandMessage> ParseCommandMessage(std::string_view json) {
  constexpr std::string_view kWhat = "command message";
  CUSTOS_ASSIGN_OR_RETURN(nlohmann::json object, ParseObject(json, kWhat));
  CUSTOS_RETURN_IF_ERROR(CheckVersion(object, kWhat));
  CommandMessage message;
  CUSTOS_ASSIGN_OR_RETURN(message.id, StringField(object, kWhat, "id"));
  if (message.id.size() != kCommandIdHexChars || !IsLowerHex(message.id)) {
    return InvalidArgumentError("command message: \"id\" must be 32 lowercase hex digits");
  }
  CUSTOS_ASSIGN_OR_RETURN(message.command, StringField(object, kWhat, "command"));
  if (!OneOf(kCommands, message.command)) {
    return InvalidArgumentError("command message: \"command\" must be one of " +
                                NameList(kCommands));
  }
  CUSTOS_ASSIGN_OR_RETURN(uint64_t issued_ms, UnsignedField(object, kWhat, "issued_ms", kMaxTime));
  message.issued_ms = static_cast<int64_t>(issued_ms);
  return message;
}

StatusOr<std::string> NewCommandId() {
  std::array<uint8_t, kCommandIdHexChars / 2> bytes{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(bytes));
  return HexEncode(bytes);
}

uint32_t TelemetryKeyId(std::span<const uint8_t> device_spki,
                        std::span<const uint8_t> custosd_spki) {
  std::vector<uint8_t> digest = Sha256(device_spki, custosd_spki);
  return (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8) |
         uint32_t{digest[3]};
}

StatusOr<TelemetryChannel> TelemetryChannel::Derive(
    keystore::KeyStore& store, std::string_view own_label, std::span<const uint8_t> device_spki,
    std::span<const uint8_t> custosd_spki, std::string_view device_id, bool own_is_device) {
  if (!identity::ValidateDeviceId(device_id).ok()) {
    return InvalidArgumentError("telemetry channel: \"" + std::string(device_id.substr(0, 64)) +
                                "\" is not a valid device id");
  }
  if (device_spki.empty() || custosd_spki.empty()) {
    return InvalidArgumentError("telemetry channel: a public key is empty");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> own_spki, store.ExportPublicKey(own_label));
  std::span<const uint8_t> expected_own = own_is_device ? device_spki : custosd_spki;
  if (!std::equal(own_spki.begin(), own_spki.end(), expected_own.begin(), expected_own.end())) {
    return FailedPreconditionError(
        "telemetry channel: the key \"" + std::string(own_label) + "\" is not the " +
        (own_is_device ? "device's" : "control plane's") + " telemetry key given");
  }
  std::span<const uint8_t> peer = own_is_device ? custosd_spki : device_spki;

  // "custos telemetry" 0x00 device_id 0x00 SHA-256(device_spki) SHA-256(custosd_spki),
  // built as a string (GCC 12's -Wstringop-overflow misfires on the vector
  // inserts under -fsanitize=thread).
  const std::vector<uint8_t> device_hash = Sha256(device_spki);
  const std::vector<uint8_t> custosd_hash = Sha256(custosd_spki);
  std::string info_text("custos telemetry");
  info_text.push_back('\0');
  info_text.append(device_id);
  info_text.push_back('\0');
  info_text.append(reinterpret_cast<const char*>(device_hash.data()), device_hash.size());
  info_text.append(reinterpret_cast<const char*>(custosd_hash.data()), custosd_hash.size());
  std::span<const uint8_t> info = AsBytes(info_text);

  CUSTOS_ASSIGN_OR_RETURN(SecretBytes key,
                          store.DeriveSharedKey(own_label, peer, AsBytes(kTelemetryKdfSalt), info,
                                                lwc::kAsconAead128KeySize));
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<lwc::NonceAead> aead, lwc::NewAsconAead128(key.span()));
  return TelemetryChannel(std::shared_ptr<const lwc::NonceAead>(std::move(aead)),
                          TelemetryKeyId(device_spki, custosd_spki), std::string(device_id));
}

StatusOr<std::vector<uint8_t>> TelemetryChannel::Seal(std::span<const uint8_t> plaintext,
                                                      std::string_view topic) const {
  if (plaintext.size() > kMaxTelemetryPlaintextBytes) {
    return InvalidArgumentError("telemetry plaintext of " + std::to_string(plaintext.size()) +
                                " bytes exceeds the limit of " +
                                std::to_string(kMaxTelemetryPlaintextBytes));
  }
  std::vector<uint8_t> out(kHeaderSize + plaintext.size() + kTagSize);
  out[0] = crypto::kEnvelopeVersion;
  out[1] = static_cast<uint8_t>(kTelemetryAeadAlgorithmId >> 8);
  out[2] = static_cast<uint8_t>(kTelemetryAeadAlgorithmId & 0xff);
  out[3] = static_cast<uint8_t>(key_id_ >> 24);
  out[4] = static_cast<uint8_t>(key_id_ >> 16);
  out[5] = static_cast<uint8_t>(key_id_ >> 8);
  out[6] = static_cast<uint8_t>(key_id_);
  out[7] = static_cast<uint8_t>(kNonceSize);
  std::span<uint8_t> nonce(out.data() + crypto::kEnvelopeFixedHeaderSize, kNonceSize);
  CUSTOS_RETURN_IF_ERROR(FillRandom(nonce));
  std::vector<uint8_t> ad(out.begin(), out.begin() + kHeaderSize);
  ad.insert(ad.end(), topic.begin(), topic.end());
  std::span<uint8_t> body(out.data() + kHeaderSize, plaintext.size() + kTagSize);
  CUSTOS_RETURN_IF_ERROR(aead_->SealInto(nonce, ad, plaintext, body));
  return out;
}

StatusOr<uint32_t> SealedKeyId(std::span<const uint8_t> sealed) {
  if (sealed.size() > kMaxSealedTelemetryBytes) {
    return InvalidArgumentError("sealed telemetry of " + std::to_string(sealed.size()) +
                                " bytes exceeds the limit of " +
                                std::to_string(kMaxSealedTelemetryBytes));
  }
  CUSTOS_ASSIGN_OR_RETURN(crypto::EnvelopeView view, crypto::ParseEnvelope(sealed));
  if (view.algorithm_id != kTelemetryAeadAlgorithmId) {
    return InvalidArgumentError("sealed telemetry names algorithm id " +
                                std::to_string(view.algorithm_id) + ", expected ascon-aead128");
  }
  if (view.nonce.size() != kNonceSize) {
    return InvalidArgumentError("sealed telemetry has a nonce of " +
                                std::to_string(view.nonce.size()) + " bytes, expected 16");
  }
  if (view.ciphertext_and_tag.size() < kTagSize) {
    return InvalidArgumentError("sealed telemetry is shorter than its tag");
  }
  return view.key_id;
}

StatusOr<std::vector<uint8_t>> TelemetryChannel::Open(std::span<const uint8_t> sealed,
                                                      std::string_view topic) const {
  CUSTOS_ASSIGN_OR_RETURN(uint32_t key_id, SealedKeyId(sealed));
  if (key_id != key_id_) {
    return NotFoundError("sealed telemetry names key id " + std::to_string(key_id) +
                         ", this channel's is " + std::to_string(key_id_));
  }
  std::span<const uint8_t> header = sealed.first(kHeaderSize);
  std::span<const uint8_t> nonce = sealed.subspan(crypto::kEnvelopeFixedHeaderSize, kNonceSize);
  std::span<const uint8_t> body = sealed.subspan(kHeaderSize);
  std::vector<uint8_t> ad(header.begin(), header.end());
  ad.insert(ad.end(), topic.begin(), topic.end());
  std::vector<uint8_t> plaintext(body.size() - kTagSize);
  Status opened = aead_->OpenInto(nonce, ad, body, plaintext);
  if (!opened.ok()) return UnauthenticatedError("authentication failed");
  return plaintext;
}

}  // namespace custos::net
