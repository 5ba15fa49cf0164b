// File: custos/agent/device_session.cpp
#include "custos/agent/device_session.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "custos/core/hex.h"
#include "custos/core/random.h"
#include "custos/identity/device_client.h"
#include "custos/identity/device_registry.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/soft_key_store.h"
#include "custos/net/broker_policy.h"
#include "custos/net/tls_key.h"

namespace custos::agent {
namespace {

using identity::Certificate;
using identity::SigningKey;

constexpr std::size_t kMaxStateFileBytes = 256 * 1024;

// The content of `path`; NotFound if it does not exist.
StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundError(path + " does not exist");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return UnavailableError("cannot read " + path + ": " + ec.message());
  if (size > kMaxStateFileBytes) return DataLossError(path + " is too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Pems(const std::vector<Certificate>& certs) {
  std::string pem;
  for (const Certificate& c : certs) pem += c.ToPem();
  return pem;
}

std::string KeyLabel(std::string_view device_id, int generation) {
  return "custos-device-" + std::string(device_id) + "-g" + std::to_string(generation);
}

StatusOr<std::string> RandomDeviceId() {
  std::array<uint8_t, 6> bytes{};
  CUSTOS_RETURN_IF_ERROR(FillRandom(bytes));
  return "dev-" + HexEncode(bytes);
}

bool SupportsX25519(keystore::KeyStore& store) {
  std::vector<keystore::KeyType> types = store.SupportedKeyTypes();
  return std::find(types.begin(), types.end(), keystore::KeyType::kX25519) != types.end();
}

}  // namespace

DeviceSession::~DeviceSession() = default;

StatusOr<std::unique_ptr<DeviceSession>> DeviceSession::Open(const DeviceFolderOptions& options) {
  if (options.dir.empty()) return InvalidArgumentError("a device folder is required");
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return UnavailableError("cannot create " + options.dir + ": " + ec.message());
  ::chmod(options.dir.c_str(), 0700);

  std::unique_ptr<DeviceSession> session(new DeviceSession());
  session->dir_ = options.dir;
  session->identity_key_type_ = options.identity_key_type;
  session->bootstrap_roots_ = options.bootstrap_roots;
  StatusOr<identity::DeviceState> loaded = identity::LoadDeviceState(options.dir);
  if (loaded.ok()) {
    session->state_ = *std::move(loaded);
    if (!options.device_id.empty() && options.device_id != session->state_.device_id) {
      return InvalidArgumentError("device id '" + options.device_id +
                                  "' differs from the folder's '" + session->state_.device_id +
                                  "'");
    }
    if (!options.store_uri.empty() && options.store_uri != session->state_.store_uri) {
      return InvalidArgumentError("key store '" + options.store_uri +
                                  "' differs from the folder's '" + session->state_.store_uri +
                                  "'");
    }
  } else if (loaded.status().code() == StatusCode::kNotFound) {
    if (options.device_id.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(session->state_.device_id, RandomDeviceId());
    } else {
      CUSTOS_RETURN_IF_ERROR(identity::ValidateDeviceId(options.device_id));
      session->state_.device_id = options.device_id;
    }
    session->state_.store_uri =
        options.store_uri.empty() ? "soft:" + options.dir + "/keys" : options.store_uri;
  } else {
    return loaded.status();
  }
  auto store = keystore::OpenKeyStore(session->state_.store_uri);
  if (!store.ok()) return Annotate(store.status(), "device key store");
  session->store_ = std::shared_ptr<keystore::KeyStore>(*std::move(store));
  session->store_mutex_ = std::make_shared<std::mutex>();
  if (SupportsX25519(*session->store_)) {
    session->telemetry_store_ = session->store_;
    session->telemetry_store_mutex_ = session->store_mutex_;
  } else {
    auto telemetry = keystore::OpenKeyStore("soft:" + options.dir + "/telemetry-keys");
    if (!telemetry.ok()) return Annotate(telemetry.status(), "telemetry key store");
    session->telemetry_store_ = std::shared_ptr<keystore::KeyStore>(*std::move(telemetry));
    session->telemetry_store_mutex_ = std::make_shared<std::mutex>();
  }
  session->device_id_ = session->state_.device_id;
  session->telemetry_topic_ = net::DeviceTelemetryTopic(session->device_id_);
  session->commands_topic_ = net::DeviceCommandsTopic(session->device_id_);

  const std::string fleet_path = options.dir + "/" + std::string(kFleetInfoFile);
  if (StatusOr<std::string> text = ReadSmallFile(fleet_path); text.ok()) {
    auto fleet = server::ParseFleetInfo(*text);
    if (!fleet.ok())
      return DataLossError(fleet_path + ": " + std::string(fleet.status().message()));
    session->fleet_ = *std::move(fleet);
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  const std::string seq_path = options.dir + "/" + std::string(kSequenceFile);
  if (StatusOr<std::string> text = ReadSmallFile(seq_path); text.ok()) {
    uint64_t reserved = 0;
    const char* end = text->data() + text->size();
    while (end > text->data() && (end[-1] == '\n' || end[-1] == ' ')) --end;
    auto [ptr, err] = std::from_chars(text->data(), end, reserved);
    if (err != std::errc() || ptr != end) return DataLossError(seq_path + " is corrupt");
    // Everything up to the reservation may have been used before a crash.
    session->seq_ = reserved;
    session->seq_reserved_ = reserved;
  } else if (text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }

  std::lock_guard<std::mutex> lock(session->mutex_);
  // A rotation interrupted by a crash: its new key has no certificate.
  if (!session->state_.pending_key_label.empty()) {
    (void)session->store_->Destroy(session->state_.pending_key_label);
    session->state_.pending_key_label.clear();
    session->state_.pending_key_type.clear();
  }
  if (!session->state_.certificate_pem.empty() && session->fleet_.has_value()) {
    CUSTOS_RETURN_IF_ERROR(session->EnsureTelemetryKeyLocked());
    CUSTOS_RETURN_IF_ERROR(session->DeriveChannelLocked());
  }
  return session;
}

StatusOr<std::unique_ptr<DeviceSession>> DeviceSession::CreateInMemory(
    std::string_view device_id, std::vector<identity::Certificate> bootstrap_roots,
    keystore::KeyType identity_key_type) {
  CUSTOS_RETURN_IF_ERROR(identity::ValidateDeviceId(device_id));
  std::unique_ptr<DeviceSession> session(new DeviceSession());
  session->identity_key_type_ = identity_key_type;
  session->bootstrap_roots_ = std::move(bootstrap_roots);
  session->state_.device_id = std::string(device_id);
  session->state_.store_uri = "soft:mem";
  session->store_ = std::shared_ptr<keystore::KeyStore>(keystore::NewInMemorySoftKeyStore());
  session->store_mutex_ = std::make_shared<std::mutex>();
  session->telemetry_store_ = session->store_;
  session->telemetry_store_mutex_ = session->store_mutex_;
  session->device_id_ = std::string(device_id);
  session->telemetry_topic_ = net::DeviceTelemetryTopic(device_id);
  session->commands_topic_ = net::DeviceCommandsTopic(device_id);
  return session;
}

bool DeviceSession::enrolled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return channel_.has_value() && !state_.certificate_pem.empty();
}

bool DeviceSession::has_birth_certificate() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !state_.birth_certificate_pem.empty();
}

std::optional<server::FleetInfo> DeviceSession::fleet() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fleet_;
}

std::string DeviceSession::certificate_serial() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_.certificate_pem.empty()) return "";
  auto cert = Certificate::FromPem(state_.certificate_pem);
  return cert.ok() ? cert->serial_hex() : "";
}

uint64_t DeviceSession::last_sequence() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seq_;
}

Status DeviceSession::EnsureTelemetryKeyLocked() {
  std::lock_guard<std::mutex> store_lock(*telemetry_store_mutex_);
  auto found = telemetry_store_->Find(kTelemetryKeyLabel);
  if (!found.ok()) {
    if (found.status().code() != StatusCode::kNotFound) return found.status();
    CUSTOS_RETURN_IF_ERROR(
        telemetry_store_->Generate(keystore::KeyType::kX25519, kTelemetryKeyLabel).status());
  } else if (found->type != keystore::KeyType::kX25519) {
    return FailedPreconditionError("the key '" + std::string(kTelemetryKeyLabel) +
                                   "' is not an x25519 key");
  }
  CUSTOS_ASSIGN_OR_RETURN(telemetry_spki_, telemetry_store_->ExportPublicKey(kTelemetryKeyLabel));
  return OkStatus();
}

Status DeviceSession::DeriveChannelLocked() {
  if (!fleet_.has_value()) return FailedPreconditionError("the device has no fleet information");
  if (fleet_->telemetry_aead != net::kTelemetryAeadName) {
    return InvalidArgumentError("the fleet protects telemetry with '" + fleet_->telemetry_aead +
                                "'; this agent speaks " + std::string(net::kTelemetryAeadName));
  }
  std::lock_guard<std::mutex> store_lock(*telemetry_store_mutex_);
  CUSTOS_ASSIGN_OR_RETURN(
      net::TelemetryChannel channel,
      net::TelemetryChannel::Derive(*telemetry_store_, kTelemetryKeyLabel, telemetry_spki_,
                                    fleet_->telemetry_key, device_id_, /*own_is_device=*/true));
  channel_ = std::move(channel);
  return OkStatus();
}

StatusOr<std::vector<Certificate>> DeviceSession::TrustedRootsLocked() const {
  if (!state_.roots_pem.empty()) return identity::ParseCertificatePemBundle(state_.roots_pem);
  return bootstrap_roots_;
}

StatusOr<std::vector<Certificate>> DeviceSession::ClientChainLocked() const {
  if (state_.certificate_pem.empty()) {
    return FailedPreconditionError("device '" + device_id_ + "' is not enrolled");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                          identity::ParseCertificatePemBundle(state_.certificate_pem));
  if (!state_.chain_pem.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(std::vector<Certificate> rest,
                            identity::ParseCertificatePemBundle(state_.chain_pem));
    chain.insert(chain.end(), rest.begin(), rest.end());
  }
  return chain;
}

Status DeviceSession::SaveLocked() {
  if (dir_.empty()) return OkStatus();
  CUSTOS_RETURN_IF_ERROR(identity::SaveDeviceState(dir_, state_));
  if (fleet_.has_value()) {
    CUSTOS_RETURN_IF_ERROR(
        identity::WriteFileAtomically(dir_ + "/" + std::string(kFleetInfoFile),
                                      server::FleetInfoToJson(*fleet_).dump() + "\n", 0600));
  }
  return OkStatus();
}

Status DeviceSession::InstallLocked(const server::EnrollReply& reply, const std::string& key_label,
                                    const std::string& key_type, int64_t now_s) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<Certificate> trusted, TrustedRootsLocked());
  StatusOr<identity::DeviceCredentials> accepted = [&] {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    return identity::AcceptEnrollmentResponse(reply.response, SigningKey{store_.get(), key_label},
                                              device_id_, trusted, now_s);
  }();
  if (!accepted.ok()) return accepted.status();
  const identity::DeviceCredentials& creds = *accepted;
  identity::DeviceState next = state_;
  next.key_label = key_label;
  next.key_type = key_type;
  next.certificate_pem = creds.certificate.ToPem();
  next.chain_pem = Pems(creds.chain);
  // Keep the roots trusted so far, add the ones reached through them.
  std::string roots = state_.roots_pem.empty() ? Pems(trusted) : state_.roots_pem;
  for (const Certificate& root : creds.roots) {
    const std::string pem = root.ToPem();
    if (roots.find(pem) == std::string::npos) roots += pem;
  }
  next.roots_pem = roots;
  next.pending_key_label.clear();
  next.pending_key_type.clear();

  // The telemetry channel with the (possibly new) fleet key.
  std::optional<server::FleetInfo> old_fleet = fleet_;
  std::optional<net::TelemetryChannel> old_channel = channel_;
  fleet_ = reply.fleet;
  if (Status derived = DeriveChannelLocked(); !derived.ok()) {
    fleet_ = old_fleet;
    channel_ = old_channel;
    return derived;
  }
  identity::DeviceState old_state = std::move(state_);
  state_ = std::move(next);
  if (Status saved = SaveLocked(); !saved.ok()) {
    state_ = std::move(old_state);
    fleet_ = old_fleet;
    channel_ = old_channel;
    return saved;
  }
  return OkStatus();
}

StatusOr<std::string> DeviceSession::EnrollBody(const SecretBytes& token, int64_t now_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Certificate> birth_chain;
  if (token.empty()) {
    if (state_.birth_certificate_pem.empty()) {
      return InvalidArgumentError("device '" + device_id_ +
                                  "' needs an enrollment token (it has no birth certificate)");
    }
    CUSTOS_ASSIGN_OR_RETURN(
        birth_chain,
        identity::ParseCertificatePemBundle(state_.birth_certificate_pem + state_.birth_chain_pem));
  }
  // Forget an earlier unfinished attempt.
  if (!attempt_key_label_.empty() && attempt_key_label_ != state_.key_label) {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    (void)store_->Destroy(attempt_key_label_);
  }
  attempt_key_label_.clear();
  std::string label = state_.key_label;
  std::string key_type = state_.key_type;
  int generation = state_.key_generation;
  {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    if (!label.empty() && store_->Find(label).status().code() == StatusCode::kNotFound) {
      // The identity key is gone (zeroized): enroll with a new one.
      label.clear();
      ++generation;
    }
    if (label.empty()) {
      label = KeyLabel(device_id_, generation);
      (void)store_->Destroy(label);
      CUSTOS_RETURN_IF_ERROR(store_->Generate(identity_key_type_, label).status());
      key_type = std::string(keystore::KeyTypeName(identity_key_type_));
      attempt_key_label_ = label;
    }
  }
  attempt_key_type_ = key_type;
  attempt_generation_ = generation;
  Status telemetry = EnsureTelemetryKeyLocked();
  StatusOr<identity::EnrollmentRequest> request = InternalError("no request built");
  if (!telemetry.ok()) {
    request = telemetry;
  } else {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    request = identity::BuildEnrollmentRequest(SigningKey{store_.get(), label}, device_id_, token,
                                               birth_chain, now_s);
  }
  if (!request.ok()) {
    if (!attempt_key_label_.empty()) {
      std::lock_guard<std::mutex> store_lock(*store_mutex_);
      (void)store_->Destroy(attempt_key_label_);
      attempt_key_label_.clear();
    }
    return request.status();
  }
  // Remember which key this attempt certifies (also when it is the old one).
  if (attempt_key_label_.empty()) attempt_key_label_ = label;
  server::EnrollBody body{*std::move(request), telemetry_spki_};
  return server::EnrollBodyToJson(body);
}

Status DeviceSession::InstallReplyLocked(std::string_view reply_json, int64_t now_s) {
  StatusOr<server::EnrollReply> reply = server::ParseEnrollReply(reply_json);
  if (!reply.ok()) return reply.status();
  return InstallLocked(*reply, attempt_key_label_, attempt_key_type_, now_s);
}

Status DeviceSession::AcceptEnrollReply(std::string_view reply_json, int64_t now_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (attempt_key_label_.empty()) {
    return FailedPreconditionError("no enrollment is in progress (call EnrollBody first)");
  }
  Status installed = InstallReplyLocked(reply_json, now_s);
  if (!installed.ok()) {
    lock.unlock();
    AbandonEnrollment();
    return installed;
  }
  state_.key_generation = attempt_generation_;
  attempt_key_label_.clear();
  return SaveLocked();
}

void DeviceSession::AbandonEnrollment() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!attempt_key_label_.empty() && attempt_key_label_ != state_.key_label) {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    (void)store_->Destroy(attempt_key_label_);
  }
  attempt_key_label_.clear();
}

StatusOr<std::string> DeviceSession::BeginRotation(int64_t now_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!channel_.has_value() || state_.certificate_pem.empty()) {
    return FailedPreconditionError("device '" + device_id_ + "' is not enrolled");
  }
  CUSTOS_ASSIGN_OR_RETURN(Certificate old_cert, Certificate::FromPem(state_.certificate_pem));
  CUSTOS_ASSIGN_OR_RETURN(keystore::KeyType type, keystore::KeyTypeFromName(state_.key_type));
  std::lock_guard<std::mutex> store_lock(*store_mutex_);
  if (!attempt_key_label_.empty() && attempt_key_label_ != state_.key_label) {
    (void)store_->Destroy(attempt_key_label_);
  }
  const std::string label = KeyLabel(device_id_, state_.key_generation + 1);
  (void)store_->Destroy(label);
  CUSTOS_RETURN_IF_ERROR(store_->Generate(type, label).status());
  attempt_key_label_ = label;
  attempt_key_type_ = std::string(keystore::KeyTypeName(type));
  attempt_generation_ = state_.key_generation + 1;
  StatusOr<identity::RotationRequest> request = identity::BuildRotationRequest(
      SigningKey{store_.get(), state_.key_label}, old_cert, SigningKey{store_.get(), label}, now_s);
  if (!request.ok()) {
    (void)store_->Destroy(label);
    attempt_key_label_.clear();
    return request.status();
  }
  server::RotateBody body{*std::move(request), std::nullopt};
  return server::RotateBodyToJson(body);
}

Status DeviceSession::AcceptRotationReply(std::string_view reply_json, int64_t now_s) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (attempt_key_label_.empty() || attempt_key_label_ == state_.key_label) {
    return FailedPreconditionError("no rotation is in progress (call BeginRotation first)");
  }
  const std::string old_label = state_.key_label;
  Status installed = InstallReplyLocked(reply_json, now_s);
  if (!installed.ok()) {
    lock.unlock();
    AbandonRotation();
    return installed;
  }
  state_.key_generation = attempt_generation_;
  attempt_key_label_.clear();
  retired_key_label_ = old_label;
  return SaveLocked();
}

void DeviceSession::AbandonRotation() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!attempt_key_label_.empty() && attempt_key_label_ != state_.key_label) {
    std::lock_guard<std::mutex> store_lock(*store_mutex_);
    (void)store_->Destroy(attempt_key_label_);
  }
  attempt_key_label_.clear();
}

Status DeviceSession::DestroyRetiredKey() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (retired_key_label_.empty()) return OkStatus();
  std::lock_guard<std::mutex> store_lock(*store_mutex_);
  Status destroyed = store_->Destroy(retired_key_label_);
  if (destroyed.code() == StatusCode::kNotFound) destroyed = OkStatus();
  if (destroyed.ok()) retired_key_label_.clear();
  return destroyed;
}

StatusOr<std::shared_ptr<net::PeerVerifier>> DeviceSession::ServerVerifier() const {
  std::vector<Certificate> roots;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CUSTOS_ASSIGN_OR_RETURN(roots, TrustedRootsLocked());
  }
  if (roots.empty()) {
    return FailedPreconditionError("device '" + device_id_ +
                                   "' trusts no fleet root yet (give the fleet's roots.pem)");
  }
  return net::PeerVerifier::Create(std::move(roots));
}

StatusOr<net::SslCtxPtr> DeviceSession::MqttTlsContext(
    std::shared_ptr<net::PeerVerifier> verifier) {
  std::vector<Certificate> chain;
  std::string label;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CUSTOS_ASSIGN_OR_RETURN(chain, ClientChainLocked());
    label = state_.key_label;
  }
  if (verifier == nullptr) {
    CUSTOS_ASSIGN_OR_RETURN(verifier, ServerVerifier());
  }
  CUSTOS_ASSIGN_OR_RETURN(net::EvpPkeyPtr key,
                          net::MakeKeyStorePrivateKey(store_, label, store_mutex_));
  net::TlsClientOptions options;
  options.server_verifier = std::move(verifier);
  options.server_name = "localhost";
  options.chain = std::move(chain);
  options.key = key.get();
  return net::MakeClientContext(options);
}

StatusOr<std::unique_ptr<net::HttpsClient>> DeviceSession::ApiClient(int port, bool mutual,
                                                                     bool keep_alive) {
  net::HttpsClientOptions options;
  options.port = port;
  options.keep_alive = keep_alive;
  CUSTOS_ASSIGN_OR_RETURN(options.server_verifier, ServerVerifier());
  net::EvpPkeyPtr key;
  if (mutual) {
    std::string label;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      CUSTOS_ASSIGN_OR_RETURN(options.chain, ClientChainLocked());
      label = state_.key_label;
    }
    CUSTOS_ASSIGN_OR_RETURN(key, net::MakeKeyStorePrivateKey(store_, label, store_mutex_));
    options.key = key.get();
  }
  return net::HttpsClient::Create(options);
}

StatusOr<SealedTelemetry> DeviceSession::SealTelemetry(std::string_view type,
                                                       std::string_view profile,
                                                       nlohmann::json values, int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!channel_.has_value()) {
    return FailedPreconditionError("device '" + device_id_ + "' is not enrolled");
  }
  if (!dir_.empty() && seq_ + 1 > seq_reserved_) {
    // Reserve a block ahead, so a restart continues above every number used.
    const uint64_t reserve = seq_ + kSequenceReserveBlock;
    CUSTOS_RETURN_IF_ERROR(identity::WriteFileAtomically(dir_ + "/" + std::string(kSequenceFile),
                                                         std::to_string(reserve) + "\n", 0600));
    seq_reserved_ = reserve;
  }
  net::TelemetryMessage message;
  message.type = std::string(type);
  message.device = device_id_;
  message.seq = seq_ + 1;
  message.sent_us = now_us;
  message.profile = std::string(profile);
  message.values = values.is_object() ? std::move(values) : nlohmann::json::object();
  const std::string json = net::TelemetryMessageToJson(message);
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                          channel_->Seal(AsBytes(json), telemetry_topic_));
  seq_ = message.seq;
  return SealedTelemetry{message.seq, std::move(sealed)};
}

StatusOr<net::CommandMessage> DeviceSession::OpenCommand(std::span<const uint8_t> payload,
                                                         int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!channel_.has_value()) {
    return FailedPreconditionError("device '" + device_id_ + "' is not enrolled");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, channel_->Open(payload, commands_topic_));
  CUSTOS_ASSIGN_OR_RETURN(net::CommandMessage command,
                          net::ParseCommandMessage(std::string_view(
                              reinterpret_cast<const char*>(plaintext.data()), plaintext.size())));
  if (now_ms - command.issued_ms > net::kMaxCommandAgeMs) {
    return FailedPreconditionError("command " + command.id + " was issued " +
                                   std::to_string((now_ms - command.issued_ms) / 1000) +
                                   " s ago (older than 5 minutes): ignored");
  }
  if (seen_commands_.count(command.id) != 0) {
    return AlreadyExistsError("command " + command.id + " was already received: ignored");
  }
  seen_commands_.insert(command.id);
  seen_order_.push_back(command.id);
  if (seen_order_.size() > kRememberedCommands) {
    seen_commands_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return command;
}

}  // namespace custos::agent
