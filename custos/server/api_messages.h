// File: custos/server/api_messages.h
//
// The bodies of custosd's HTTPS API (docs/api.md) as typed structs: a parser
// for every request body and query (the server's side), a writer for every
// request (the agent's and the simulator's side), and a writer and parser
// for every response, so that both ends of the API share one definition.
//
// The parsers take untrusted input. They never throw, bound every size and
// count before decoding, and fail with InvalidArgument naming the member
// that is missing, of the wrong type, malformed or out of range; nothing is
// returned unless every member checks. A parsed body is only well-formed:
// the enrollment and rotation documents inside are parsed by
// custos/identity/enrollment.h, and the CA still checks their signatures,
// tokens and proofs.
//
// Thread safety: the functions hold no state and may run on any thread.
#ifndef CUSTOS_SERVER_API_MESSAGES_H_
#define CUSTOS_SERVER_API_MESSAGES_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/identity/crl.h"
#include "custos/identity/enrollment.h"
#include "custos/identity/x509_certificate.h"
#include "custos/store/fleet_state.h"

namespace custos::server {

// Bounds the parsers enforce.
inline constexpr std::size_t kMaxApiBodyBytes = 64 * 1024;  // as the HTTPS server's limit
inline constexpr std::size_t kMaxCommandDevices = 10000;    // ids in one POST /v1/commands
inline constexpr std::size_t kMaxTokensPerRequest = 10000;  // POST /v1/tokens "count"
inline constexpr int64_t kMaxTokenLifetimeSeconds = 365LL * 24 * 3600;
inline constexpr int64_t kDefaultTokenLifetimeSeconds = 24 * 3600;
inline constexpr int kDefaultDevicePageSize = 100;
// The AEAD that protects telemetry end to end (FleetInfo.telemetry.aead).
inline constexpr std::string_view kTelemetryAead = "ascon-aead128";

// Command names of POST /v1/commands.
inline constexpr std::string_view kCommandRotate = "rotate";
inline constexpr std::string_view kCommandReport = "report";

// Parses `text` as one JSON object of at most `max_bytes` bytes nested at
// most 32 levels (net::ParseJsonBody). InvalidArgument otherwise. Never
// throws.
StatusOr<nlohmann::json> ParseJsonObject(std::string_view text,
                                         std::size_t max_bytes = kMaxApiBodyBytes);

// Checks that `spki` is the DER SubjectPublicKeyInfo of an X25519 key (the
// only form a telemetry key takes). InvalidArgument naming `field` otherwise.
Status CheckTelemetryKey(std::span<const uint8_t> spki, std::string_view field);

// ---- POST /v1/enroll ----------------------------------------------------

// {"request": <custos.enrollment.request object>,
//  "telemetry_key": "<base64 SPKI DER of the device's X25519 key>"}
struct EnrollBody {
  identity::EnrollmentRequest request;
  std::vector<uint8_t> telemetry_key;  // X25519 SPKI DER
};
StatusOr<EnrollBody> EnrollBodyFromJson(const nlohmann::json& body);
StatusOr<EnrollBody> ParseEnrollBody(std::string_view text);
// The body as JSON text (for clients).
std::string EnrollBodyToJson(const EnrollBody& body);

// ---- POST /v1/rotate ----------------------------------------------------

// {"request": <custos.rotation.request object>, "telemetry_key": optional}
struct RotateBody {
  identity::RotationRequest request;
  std::optional<std::vector<uint8_t>> telemetry_key;  // a new X25519 SPKI DER
};
StatusOr<RotateBody> RotateBodyFromJson(const nlohmann::json& body);
StatusOr<RotateBody> ParseRotateBody(std::string_view text);
std::string RotateBodyToJson(const RotateBody& body);

// ---- FleetInfo (GET /v1/fleet, and in enrollment/rotation answers) -------

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 0;  // 1..65535
};

// {"ca_name": S, "api": {"host","port"}, "mqtt": {"host","port"},
//  "telemetry": {"aead": "ascon-aead128", "key": "<base64 SPKI DER>"}}
struct FleetInfo {
  std::string ca_name;
  Endpoint api;
  Endpoint mqtt;
  std::string telemetry_aead{kTelemetryAead};
  std::vector<uint8_t> telemetry_key;  // custosd's X25519 SPKI DER
};
nlohmann::json FleetInfoToJson(const FleetInfo& info);
StatusOr<FleetInfo> FleetInfoFromJson(const nlohmann::json& value);
StatusOr<FleetInfo> ParseFleetInfo(std::string_view text);

// 201/200 answer of enrollment and rotation:
// {"response": <custos.enrollment.response object>, "fleet": FleetInfo}
struct EnrollReply {
  identity::EnrollmentResponse response;
  FleetInfo fleet;
};
std::string EnrollReplyToJson(const EnrollReply& reply);
StatusOr<EnrollReply> ParseEnrollReply(std::string_view text);

// ---- GET /v1/health -------------------------------------------------------

struct HealthInfo {
  std::string status = "ok";       // "ok" | "degraded"
  std::string broker = "running";  // "running" | "down"
  std::string database = "ok";     // "ok" | "error"
  int64_t uptime_s = 0;
};
nlohmann::json HealthInfoToJson(const HealthInfo& info);
StatusOr<HealthInfo> ParseHealthInfo(std::string_view text);

// ---- GET /v1/devices ------------------------------------------------------

// ?after=ID&limit=N&status=S, each optional; limit 1..store::kMaxPageSize
// (default 100); status matches [a-z][a-z0-9-]{0,31}; after is a device id
// or empty. A repeated or unknown parameter is refused.
struct DeviceListQuery {
  std::string after;
  int limit = kDefaultDevicePageSize;
  std::optional<std::string> status;
};
StatusOr<DeviceListQuery> ParseDeviceListQuery(
    const std::multimap<std::string, std::string>& params);
// "?after=..&limit=..[&status=..]" (percent-encoded), for clients.
std::string DeviceListQueryString(const DeviceListQuery& query);

// DeviceJson: {"id","status","certificate_serial","enrolled_at_ms",
// "last_seen_ms","revoked","revoked_at_ms"}.
nlohmann::json DeviceToJson(const store::DeviceRecord& device);
StatusOr<store::DeviceRecord> ParseDeviceJson(const nlohmann::json& value);

// {"devices": [DeviceJson...], "next_after": S}
struct DeviceListReply {
  std::vector<store::DeviceRecord> devices;
  std::string next_after;
};
std::string DeviceListReplyToJson(const DeviceListReply& reply);
StatusOr<DeviceListReply> ParseDeviceListReply(std::string_view text);

// ---- GET /v1/devices/{id} -------------------------------------------------

// One certificate of a device.
struct CertificateJson {
  std::string serial;
  int64_t not_after = 0;  // unix seconds
  std::string method;     // "token", "birth-certificate", "rotation", ...
  bool revoked = false;
};

// {"device": DeviceJson, "telemetry": {"message_count","last_sequence",
//  "first_at_ms","last_at_ms","latest": {...}} | null,
//  "certificates": [{"serial","not_after","method","revoked"}...]}
struct DeviceStatusReply {
  store::DeviceRecord device;
  std::optional<store::TelemetrySummary> telemetry;
  std::vector<CertificateJson> certificates;
};
std::string DeviceStatusReplyToJson(const DeviceStatusReply& reply);
StatusOr<DeviceStatusReply> ParseDeviceStatusReply(std::string_view text);

// ---- POST /v1/devices/{id}/revoke ---------------------------------------

// {"reason": "key-compromise" | "superseded" | "cessation-of-operation" |
//  "affiliation-changed" | "privilege-withdrawn" | "unspecified"}, optional
// (default unspecified).
struct RevokeBody {
  identity::RevocationReason reason = identity::RevocationReason::kUnspecified;
};
StatusOr<RevokeBody> RevokeBodyFromJson(const nlohmann::json& body);
StatusOr<RevokeBody> ParseRevokeBody(std::string_view text);
std::string RevokeBodyToJson(const RevokeBody& body);
// The API name of `reason` ("key-compromise", ...).
std::string_view RevocationReasonApiName(identity::RevocationReason reason);

// {"device": ID, "revoked_certificates": N, "crl_number": N}
struct RevokeReply {
  std::string device;
  int64_t revoked_certificates = 0;
  int64_t crl_number = 0;
};
std::string RevokeReplyToJson(const RevokeReply& reply);
StatusOr<RevokeReply> ParseRevokeReply(std::string_view text);

// ---- POST /v1/commands ----------------------------------------------------

// {"command": "rotate"|"report", "devices": [IDs] | "all"}; 1 to
// kMaxCommandDevices distinct valid device ids, or "all".
struct CommandsBody {
  std::string command;
  bool all = false;
  std::vector<std::string> devices;  // empty when `all`
};
StatusOr<CommandsBody> CommandsBodyFromJson(const nlohmann::json& body);
StatusOr<CommandsBody> ParseCommandsBody(std::string_view text);
std::string CommandsBodyToJson(const CommandsBody& body);

// ---- POST /v1/tokens ------------------------------------------------------

// {"count": 1..10000, "device_id": optional, "lifetime_s": optional
// 1..kMaxTokenLifetimeSeconds (default one day)}
struct TokensBody {
  int count = 1;
  std::string device_id;  // "" : not bound to a device
  int64_t lifetime_s = kDefaultTokenLifetimeSeconds;
};
StatusOr<TokensBody> TokensBodyFromJson(const nlohmann::json& body);
StatusOr<TokensBody> ParseTokensBody(std::string_view text);
std::string TokensBodyToJson(const TokensBody& body);

// {"tokens": [S...], "expires_at": unix_s}
struct TokensReply {
  std::vector<SecretBytes> tokens;
  int64_t expires_at = 0;
};
std::string TokensReplyToJson(const TokensReply& reply);
StatusOr<TokensReply> ParseTokensReply(std::string_view text);

// ---- POST /v1/manufacturers, GET /v1/manufacturers -------------------------

// {"certificate_pem": "<PEM of one manufacturer root CA certificate>"}. The
// parser refuses text that is not PEM, more than one certificate, a
// malformed certificate and a certificate that is not a CA, naming
// "certificate_pem"; at most identity::kMaxCertificateBytes of PEM.
struct ManufacturerBody {
  identity::Certificate certificate;
};
StatusOr<ManufacturerBody> ManufacturerBodyFromJson(const nlohmann::json& body);
StatusOr<ManufacturerBody> ParseManufacturerBody(std::string_view text);
std::string ManufacturerBodyToJson(const ManufacturerBody& body);

// A trusted manufacturer root: {"subject", "fingerprint", "not_after"}.
struct ManufacturerJson {
  std::string subject;      // RFC 2253 subject name
  std::string fingerprint;  // SHA-256 of the DER, lowercase hex
  int64_t not_after = 0;    // unix seconds
};
// The ManufacturerJson of `root`.
ManufacturerJson ManufacturerJsonOf(const identity::Certificate& root);

// 201 answer of POST /v1/manufacturers:
// {"subject": S, "fingerprint": HEX, "manufacturers": N (trusted now)}
struct TrustManufacturerReply {
  std::string subject;
  std::string fingerprint;
  int64_t manufacturers = 0;
};
std::string TrustManufacturerReplyToJson(const TrustManufacturerReply& reply);
StatusOr<TrustManufacturerReply> ParseTrustManufacturerReply(std::string_view text);

// {"manufacturers": [ManufacturerJson...]}
struct ManufacturerListReply {
  std::vector<ManufacturerJson> manufacturers;
};
std::string ManufacturerListReplyToJson(const ManufacturerListReply& reply);
StatusOr<ManufacturerListReply> ParseManufacturerListReply(std::string_view text);

// ---- errors -----------------------------------------------------------------

// {"error": {"code": C, "message": M}}
struct ErrorReply {
  std::string code;
  std::string message;
};
StatusOr<ErrorReply> ParseErrorReply(std::string_view text);

}  // namespace custos::server

#endif  // CUSTOS_SERVER_API_MESSAGES_H_
