// `custos device ...`: enrollment tokens, the device side of enrollment and
// rotation, and revocation. See docs/identity.md and docs/cli.md.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/custos/commands.h"
#include "apps/custos/identity_cli.h"
#include "custos/core/hex.h"
#include "custos/identity/device_client.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/fleet_ca.h"
#include "custos/identity/manufacture.h"
#include "custos/identity/tokens.h"
#include "custos/keystore/open_key_store.h"
#include "custos/keystore/tamper_monitor.h"

namespace custos::cli {
namespace {

using identity::Certificate;
using identity::DeviceState;
using identity::FleetCa;
using identity::SigningKey;

const FlagSpec kDataFlag{"data", true, "the CA folder", "DIR"};
const FlagSpec kJsonFlag{"json", false, "print JSON"};
const FlagSpec kDirFlag{"dir", true, "the device's state folder (device.json, cert.pem, ...)",
                        "DIR"};

StatusOr<int64_t> TtlSeconds(const CommandContext& ctx) {
  return ctx.flags.GetInt("ttl-seconds", identity::kDefaultTokenLifetimeSeconds, 1,
                          366LL * 24 * 3600);
}

std::string TokenString(const SecretBytes& token) {
  return std::string(token.data(), token.data() + token.size());
}

// --- add / tokens ------------------------------------------------------------

int IssueTokens(CommandContext& ctx, std::size_t count, const std::string& device_id) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  StatusOr<int64_t> ttl = TtlSeconds(ctx);
  if (!ttl.ok()) return UsageError(ctx, std::string(ttl.status().message()));
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  const int64_t now = NowSeconds();
  StatusOr<std::vector<SecretBytes>> tokens = (*ca)->IssueTokens(count, device_id, *ttl, now);
  if (!tokens.ok()) return ErrorExit(ctx, tokens.status());
  if (ctx.flags.Has("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const SecretBytes& token : *tokens) list.push_back(TokenString(token));
    nlohmann::json out = {{"tokens", list}, {"expires_at", now + *ttl}};
    if (!device_id.empty()) out["device_id"] = device_id;
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  for (const SecretBytes& token : *tokens) std::cout << TokenString(token) << "\n";
  std::cerr << "custos " << ctx.command << ": " << tokens->size() << " one-time token(s)"
            << (device_id.empty() ? "" : " for device '" + device_id + "'") << ", valid until "
            << FormatTime(now + *ttl) << "; only their SHA-256 hashes are stored\n";
  return kExitOk;
}

int Add(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> id = RequireFlag(ctx, "id", rc);
  if (!id) return rc;
  if (Status valid = identity::ValidateDeviceId(*id); !valid.ok()) {
    return UsageError(ctx, "--id: " + std::string(valid.message()));
  }
  return IssueTokens(ctx, 1, *id);
}

int Tokens(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> count_text = RequireFlag(ctx, "count", rc);
  if (!count_text) return rc;
  char* end = nullptr;
  const long count = std::strtol(count_text->c_str(), &end, 10);
  if (count_text->empty() || *end != '\0' || count < 1 || count > 10000) {
    return UsageError(ctx, "--count: expected 1..10000, got '" + *count_text + "'");
  }
  return IssueTokens(ctx, static_cast<std::size_t>(count), "");
}

// --- the device side ---------------------------------------------------------------

struct DeviceSide {
  DeviceState state;
  std::unique_ptr<keystore::KeyStore> store;
  bool existing_state = false;
};

// Loads the device folder, or starts a new state from --id and --store.
StatusOr<DeviceSide> LoadDevice(const CommandContext& ctx, const std::string& dir) {
  DeviceSide side;
  StatusOr<DeviceState> state = identity::LoadDeviceState(dir);
  if (state.ok()) {
    side.state = *std::move(state);
    side.existing_state = true;
    if (std::optional<std::string> id = ctx.flags.Get("id"); id && *id != side.state.device_id) {
      return InvalidArgumentError("--id '" + *id + "' differs from the device folder's '" +
                                  side.state.device_id + "'");
    }
  } else if (state.status().code() == StatusCode::kNotFound) {
    std::optional<std::string> id = ctx.flags.Get("id");
    std::optional<std::string> uri = ctx.flags.Get("store");
    if (!id || !uri) {
      return InvalidArgumentError(dir + " holds no device yet: give --id and --store");
    }
    CUSTOS_RETURN_IF_ERROR(identity::ValidateDeviceId(*id));
    side.state.device_id = *id;
    side.state.store_uri = *uri;
  } else {
    return state.status();
  }
  if (std::optional<std::string> uri = ctx.flags.Get("store");
      uri && side.existing_state && *uri != side.state.store_uri) {
    return InvalidArgumentError("--store differs from the device folder's store '" +
                                side.state.store_uri + "'");
  }
  StatusOr<std::unique_ptr<keystore::KeyStore>> store =
      keystore::OpenKeyStore(side.state.store_uri);
  if (!store.ok()) {
    return Status(store.status().code() == StatusCode::kInvalidArgument
                      ? StatusCode::kInvalidArgument
                      : store.status().code(),
                  "device key store: " + std::string(store.status().message()));
  }
  side.store = *std::move(store);
  return side;
}

std::string KeyLabel(const DeviceState& state, int generation) {
  return "custos-device-" + state.device_id + "-g" + std::to_string(generation);
}

std::string Pems(const std::vector<Certificate>& certs) {
  std::string pem;
  for (const Certificate& c : certs) pem += c.ToPem();
  return pem;
}

// Checks a response for `key` and stores it in the state.
Status Install(DeviceSide& side, const identity::EnrollmentResponse& response,
               const std::string& key_label, const std::string& key_type, int64_t now) {
  std::vector<Certificate> trusted;
  if (!side.state.roots_pem.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(trusted, identity::ParseCertificatePemBundle(side.state.roots_pem));
  }
  CUSTOS_ASSIGN_OR_RETURN(
      identity::DeviceCredentials creds,
      identity::AcceptEnrollmentResponse(response, SigningKey{side.store.get(), key_label},
                                         side.state.device_id, trusted, now));
  side.state.key_label = key_label;
  side.state.key_type = key_type;
  side.state.certificate_pem = creds.certificate.ToPem();
  side.state.chain_pem = Pems(creds.chain);
  // A device keeps the roots it trusted and adds the new ones it reached
  // through them.
  std::string roots = side.state.roots_pem;
  for (const Certificate& root : creds.roots) {
    const std::string pem = root.ToPem();
    if (roots.find(pem) == std::string::npos) roots += pem;
  }
  side.state.roots_pem = roots;
  side.state.pending_key_label.clear();
  side.state.pending_key_type.clear();
  return OkStatus();
}

int PrintEnrolled(const CommandContext& ctx, const DeviceSide& side, const std::string& dir) {
  StatusOr<Certificate> cert = Certificate::FromPem(side.state.certificate_pem);
  if (!cert.ok()) return ErrorExit(ctx, cert.status());
  if (ctx.flags.Has("json")) {
    nlohmann::json out = {{"device_id", side.state.device_id}, {"serial", cert->serial_hex()},
                          {"key_label", side.state.key_label}, {"key_type", side.state.key_type},
                          {"not_after", cert->not_after()},    {"dir", dir}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "Device '" << side.state.device_id << "' holds certificate " << cert->serial_hex()
            << " (" << side.state.key_type << " key '" << side.state.key_label << "', until "
            << FormatTime(cert->not_after()) << ") in " << dir << "/cert.pem\n";
  return kExitOk;
}

// A successful enrollment ends the "needs re-enrollment" state a tamper
// response left (custos keys zeroize): in the device folder and, for a
// soft:DIR store, in DIR, where zeroize records it by default.
void ClearTamperMarkers(const DeviceSide& side, const std::string& dir) {
  (void)keystore::ClearReenrollment(dir);
  const std::string& uri = side.state.store_uri;
  if (uri.rfind("soft:", 0) == 0 && uri != "soft:mem") {
    (void)keystore::ClearReenrollment(uri.substr(5, uri.find('?') - 5));
  }
}

// Hands `request_json` to the CA in --data, or writes it to --request-out.
// Returns the response document, or nullopt when the request was written.
StatusOr<std::optional<std::string>> Deliver(const CommandContext& ctx,
                                             const std::string& request_json) {
  std::optional<std::string> data = ctx.flags.Get("data");
  std::optional<std::string> out = ctx.flags.Get("request-out");
  if (data.has_value() == out.has_value()) {
    return InvalidArgumentError("give exactly one of --data CA_DIR and --request-out FILE");
  }
  if (out) {
    CUSTOS_RETURN_IF_ERROR(WriteOutput(*out, request_json + "\n", 0600));
    return std::optional<std::string>();
  }
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<FleetCa> ca, OpenCaFolder(*data));
  CUSTOS_ASSIGN_OR_RETURN(std::string response, ca->HandleMessage(request_json, NowSeconds()));
  return std::optional<std::string>(std::move(response));
}

int Enroll(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> dir = RequireFlag(ctx, "dir", rc);
  if (!dir) return rc;
  StatusOr<DeviceSide> side = LoadDevice(ctx, *dir);
  if (!side.ok()) return ErrorExit(ctx, side.status());
  if (!side->state.certificate_pem.empty() && !ctx.flags.Has("token")) {
    return Failure(ctx, "device '" + side->state.device_id +
                            "' is already enrolled; use 'device rotate', or a token to "
                            "enroll again");
  }
  SecretBytes token;
  if (std::optional<std::string> text = ctx.flags.Get("token")) {
    token = SecretBytes(AsBytes(*text));
    SecureWipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text->data()), text->size()));
    if (Status syntax = identity::CheckTokenSyntax(token.span()); !syntax.ok()) {
      return UsageError(ctx, "--token: " + std::string(syntax.message()));
    }
  }
  std::vector<Certificate> birth_chain;
  if (token.empty()) {
    if (side->state.birth_certificate_pem.empty()) {
      return UsageError(ctx, "give --token TOKEN, or a --dir made by 'custos manufacture'");
    }
    StatusOr<std::vector<Certificate>> chain = identity::ParseCertificatePemBundle(
        side->state.birth_certificate_pem + side->state.birth_chain_pem);
    if (!chain.ok()) return ErrorExit(ctx, chain.status());
    birth_chain = *std::move(chain);
  }
  // The identity key: the manufactured one, or a new one of --key-type.
  std::string label = side->state.key_label;
  std::string key_type = side->state.key_type;
  bool generated = false;
  int generation = side->state.key_generation;
  if (!label.empty() && !token.empty() &&
      side->store->Find(label).status().code() == StatusCode::kNotFound) {
    // The identity key is gone (zeroized after tamper): enroll with a new one.
    label.clear();
    ++generation;
  }
  if (label.empty()) {
    StatusOr<keystore::KeyType> type = IdentityKeyType(ctx, keystore::KeyType::kEcdsaP256);
    if (!type.ok()) return UsageError(ctx, std::string(type.status().message()));
    label = KeyLabel(side->state, generation);
    StatusOr<keystore::KeyInfo> made = side->store->Generate(*type, label);
    if (!made.ok()) return ErrorExit(ctx, made.status());
    generated = true;
    key_type = std::string(keystore::KeyTypeName(*type));
  }
  // Nothing partial: a key made here is destroyed again if enrollment fails.
  auto fail = [&](const Status& status) {
    if (generated) (void)side->store->Destroy(label);
    return ErrorExit(ctx, status);
  };
  const int64_t now = NowSeconds();
  StatusOr<identity::EnrollmentRequest> request = identity::BuildEnrollmentRequest(
      SigningKey{side->store.get(), label}, side->state.device_id, token, birth_chain, now);
  if (!request.ok()) return fail(request.status());
  StatusOr<std::optional<std::string>> response =
      Deliver(ctx, identity::EnrollmentRequestToJson(*request));
  if (!response.ok()) return fail(response.status());
  if (!response->has_value()) {
    side->state.pending_key_label = label;
    side->state.pending_key_type = key_type;
    if (Status saved = identity::SaveDeviceState(*dir, side->state); !saved.ok()) {
      return fail(saved);
    }
    std::cout << "Wrote the enrollment request to " << *ctx.flags.Get("request-out")
              << "; give the CA's answer to 'custos device install'\n";
    return kExitOk;
  }
  StatusOr<identity::EnrollmentResponse> parsed = identity::ParseEnrollmentResponse(**response);
  if (!parsed.ok()) return fail(parsed.status());
  if (Status installed = Install(*side, *parsed, label, key_type, now); !installed.ok()) {
    return fail(installed);
  }
  side->state.key_generation = generation;
  if (Status saved = identity::SaveDeviceState(*dir, side->state); !saved.ok()) {
    return fail(saved);
  }
  ClearTamperMarkers(*side, *dir);
  return PrintEnrolled(ctx, *side, *dir);
}

int InstallResponse(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> dir = RequireFlag(ctx, "dir", rc);
  if (!dir) return rc;
  std::optional<std::string> path = RequireFlag(ctx, "response", rc);
  if (!path) return rc;
  StatusOr<std::string> text = ReadTextFile(*path, identity::kMaxMessageBytes);
  if (!text.ok()) return UsageError(ctx, "--response: " + std::string(text.status().message()));
  StatusOr<identity::EnrollmentResponse> response = identity::ParseEnrollmentResponse(*text);
  if (!response.ok()) return ErrorExit(ctx, response.status());
  StatusOr<DeviceSide> side = LoadDevice(ctx, *dir);
  if (!side.ok()) return ErrorExit(ctx, side.status());
  if (side->state.pending_key_label.empty()) {
    return Failure(ctx, "device '" + side->state.device_id + "' awaits no response");
  }
  const std::string old_label = side->state.key_label;
  const std::string new_label = side->state.pending_key_label;
  if (Status installed =
          Install(*side, *response, new_label, side->state.pending_key_type, NowSeconds());
      !installed.ok()) {
    return ErrorExit(ctx, installed);
  }
  if (old_label != new_label && !old_label.empty()) ++side->state.key_generation;
  if (Status saved = identity::SaveDeviceState(*dir, side->state); !saved.ok()) {
    return ErrorExit(ctx, saved);
  }
  // After a rotation the old key has no use left.
  if (!old_label.empty() && old_label != new_label) (void)side->store->Destroy(old_label);
  ClearTamperMarkers(*side, *dir);
  return PrintEnrolled(ctx, *side, *dir);
}

int RotateKey(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> dir = RequireFlag(ctx, "dir", rc);
  if (!dir) return rc;
  StatusOr<DeviceSide> side = LoadDevice(ctx, *dir);
  if (!side.ok()) return ErrorExit(ctx, side.status());
  if (side->state.certificate_pem.empty()) {
    return Failure(ctx, "device '" + side->state.device_id + "' is not enrolled yet");
  }
  StatusOr<Certificate> old_cert = Certificate::FromPem(side->state.certificate_pem);
  if (!old_cert.ok()) return ErrorExit(ctx, old_cert.status());
  StatusOr<keystore::KeyType> current = keystore::KeyTypeFromName(side->state.key_type);
  if (!current.ok()) return ErrorExit(ctx, current.status());
  StatusOr<keystore::KeyType> type = IdentityKeyType(ctx, *current);
  if (!type.ok()) return UsageError(ctx, std::string(type.status().message()));
  if (!side->state.pending_key_label.empty()) {
    (void)side->store->Destroy(side->state.pending_key_label);  // an abandoned attempt
  }
  const std::string new_label = KeyLabel(side->state, side->state.key_generation + 1);
  (void)side->store->Destroy(new_label);
  StatusOr<keystore::KeyInfo> made = side->store->Generate(*type, new_label);
  if (!made.ok()) return ErrorExit(ctx, made.status());
  auto fail = [&](const Status& status) {
    (void)side->store->Destroy(new_label);
    return ErrorExit(ctx, status);
  };
  const int64_t now = NowSeconds();
  StatusOr<identity::RotationRequest> request =
      identity::BuildRotationRequest(SigningKey{side->store.get(), side->state.key_label},
                                     *old_cert, SigningKey{side->store.get(), new_label}, now);
  if (!request.ok()) return fail(request.status());
  StatusOr<std::optional<std::string>> response =
      Deliver(ctx, identity::RotationRequestToJson(*request));
  if (!response.ok()) return fail(response.status());
  const std::string type_name(keystore::KeyTypeName(*type));
  if (!response->has_value()) {
    side->state.pending_key_label = new_label;
    side->state.pending_key_type = type_name;
    if (Status saved = identity::SaveDeviceState(*dir, side->state); !saved.ok()) {
      return fail(saved);
    }
    std::cout << "Wrote the rotation request to " << *ctx.flags.Get("request-out")
              << "; give the CA's answer to 'custos device install'\n";
    return kExitOk;
  }
  StatusOr<identity::EnrollmentResponse> parsed = identity::ParseEnrollmentResponse(**response);
  if (!parsed.ok()) return fail(parsed.status());
  const std::string old_label = side->state.key_label;
  if (Status installed = Install(*side, *parsed, new_label, type_name, now); !installed.ok()) {
    return fail(installed);
  }
  ++side->state.key_generation;
  if (Status saved = identity::SaveDeviceState(*dir, side->state); !saved.ok()) {
    return fail(saved);
  }
  (void)side->store->Destroy(old_label);
  return PrintEnrolled(ctx, *side, *dir);
}

// --- revoke / show -------------------------------------------------------------

StatusOr<identity::RevocationReason> ReasonFlag(const CommandContext& ctx) {
  const std::string name = ctx.flags.Get("reason").value_or("unspecified");
  if (name == "unspecified") return identity::RevocationReason::kUnspecified;
  if (name == "key-compromise") return identity::RevocationReason::kKeyCompromise;
  if (name == "superseded") return identity::RevocationReason::kSuperseded;
  if (name == "cessation") return identity::RevocationReason::kCessationOfOperation;
  return InvalidArgumentError(
      "--reason: expected unspecified, key-compromise, superseded or cessation, got '" + name +
      "'");
}

int Revoke(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  std::optional<std::string> id = RequireFlag(ctx, "id", rc);
  if (!id) return rc;
  StatusOr<identity::RevocationReason> reason = ReasonFlag(ctx);
  if (!reason.ok()) return UsageError(ctx, std::string(reason.status().message()));
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  StatusOr<std::size_t> count = (*ca)->RevokeDevice(*id, *reason, NowSeconds());
  if (!count.ok()) return ErrorExit(ctx, count.status());
  std::cout << "Revoked " << *count << " certificate(s) of device '" << *id
            << "'; run 'custos ca crl' to publish a new CRL\n";
  return kExitOk;
}

int Show(CommandContext& ctx) {
  int rc = kExitOk;
  std::optional<std::string> data = RequireFlag(ctx, "data", rc);
  if (!data) return rc;
  std::optional<std::string> id = RequireFlag(ctx, "id", rc);
  if (!id) return rc;
  StatusOr<std::unique_ptr<FleetCa>> ca = OpenCaFolder(*data);
  if (!ca.ok()) return ErrorExit(ctx, ca.status());
  const int64_t now = NowSeconds();
  StatusOr<identity::DeviceStatus> status = (*ca)->ShowDevice(*id, now);
  if (!status.ok()) return ErrorExit(ctx, status.status());
  auto state_of = [&](const identity::IssuedCertificateRecord& r) -> std::string {
    if (r.revoked && r.revocation_effective_at <= now) return "revoked";
    if (r.not_after <= now) return "expired";
    if (r.revoked) return "superseded (valid until " + FormatTime(r.revocation_effective_at) + ")";
    return "valid";
  };
  if (ctx.flags.Has("json")) {
    nlohmann::json certs = nlohmann::json::array();
    for (const identity::IssuedCertificateRecord& r : status->certificates) {
      nlohmann::json c = {{"serial", r.serial},
                          {"key_type", r.key_type},
                          {"issuer_key_type", r.issuer_key_type},
                          {"method", r.method},
                          {"issued_at", r.issued_at},
                          {"not_before", r.not_before},
                          {"not_after", r.not_after},
                          {"fingerprint_sha256", r.fingerprint},
                          {"revoked", r.revoked && r.revocation_effective_at <= now},
                          {"state", state_of(r)}};
      if (!r.replaces.empty()) c["replaces"] = r.replaces;
      if (r.revoked) {
        c["revocation"] = {{"recorded_at", r.revoked_at},
                           {"effective_at", r.revocation_effective_at},
                           {"reason", r.revocation_reason}};
      }
      certs.push_back(std::move(c));
    }
    nlohmann::json out = {{"device_id", status->device_id},
                          {"active_serial", status->active_serial},
                          {"certificates", std::move(certs)}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "device " << status->device_id << ": "
            << (status->active_serial.empty() ? "no valid certificate"
                                              : "active certificate " + status->active_serial)
            << "\n";
  for (const identity::IssuedCertificateRecord& r : status->certificates) {
    std::cout << "  " << r.serial << "  " << r.key_type << "  " << r.method << "  until "
              << FormatTime(r.not_after) << "  " << state_of(r) << "\n";
  }
  return kExitOk;
}

std::vector<Subcommand> Subcommands() {
  const FlagSpec ttl{"ttl-seconds", true, "token lifetime in seconds (default 86400)", "SECONDS"};
  const FlagSpec deliver_data{"data", true, "hand the request to the CA in this folder", "DIR"};
  const FlagSpec request_out{"request-out", true,
                             "write the request to FILE instead (answer with 'device install')",
                             "FILE"};
  const FlagSpec store{"store", true, "the device's key store (new device folders only)", "URI"};
  const FlagSpec key_type{"key-type", true, "identity key type: ecdsa-p256 (default) or ed25519",
                          "TYPE"};
  return {
      {"add",
       "custos device add --data DIR --id ID [--ttl-seconds S] [--json]",
       "issue a one-time enrollment token bound to device ID",
       {kDataFlag, {"id", true, "the device id", "ID"}, ttl, kJsonFlag},
       Add},
      {"tokens",
       "custos device tokens --data DIR --count N [--ttl-seconds S] [--json]",
       "issue N one-time enrollment tokens for any device",
       {kDataFlag, {"count", true, "how many tokens (1..10000)", "N"}, ttl, kJsonFlag},
       Tokens},
      {"enroll",
       "custos device enroll --dir DEVICE_DIR [--id ID --store URI] [--key-type TYPE] "
       "[--token TOKEN] (--data CA_DIR | --request-out FILE) [--json]",
       "enroll a device: key in its store, CSR, token or birth certificate",
       {kDirFlag,
        {"id", true, "the device id (new device folders)", "ID"},
        store,
        key_type,
        {"token", true, "a one-time token (otherwise the birth certificate is used)", "TOKEN"},
        deliver_data,
        request_out,
        kJsonFlag},
       Enroll},
      {"install",
       "custos device install --dir DEVICE_DIR --response FILE [--json]",
       "check and install the CA's response to a request written with --request-out",
       {kDirFlag, {"response", true, "the response document", "FILE"}, kJsonFlag},
       InstallResponse},
      {"rotate",
       "custos device rotate --dir DEVICE_DIR [--key-type TYPE] (--data CA_DIR | "
       "--request-out FILE) [--json]",
       "replace the device key: proves both keys, gets a new certificate",
       {kDirFlag, key_type, deliver_data, request_out, kJsonFlag},
       RotateKey},
      {"revoke",
       "custos device revoke --data DIR --id ID "
       "[--reason unspecified|key-compromise|superseded|cessation]",
       "revoke every certificate of a device, effective now",
       {kDataFlag,
        {"id", true, "the device id", "ID"},
        {"reason", true, "the CRL reason (default unspecified)", "REASON"}},
       Revoke},
      {"show",
       "custos device show --data DIR --id ID [--json]",
       "what the CA knows about a device",
       {kDataFlag, {"id", true, "the device id", "ID"}, kJsonFlag},
       Show},
  };
}

}  // namespace

int RunDevice(const std::vector<std::string>& args) {
  return DispatchIdentity("device",
                          "Device enrollment, key rotation and revocation against a fleet CA.",
                          Subcommands(), args);
}

}  // namespace custos::cli
