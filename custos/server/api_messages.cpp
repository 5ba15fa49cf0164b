#include "custos/server/api_messages.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "custos/core/hex.h"
#include "custos/crypto/spki.h"
#include "custos/identity/x509_certificate.h"
#include "custos/net/https_json.h"

namespace custos::server {
namespace {

using Json = nlohmann::json;

// Largest base64 text accepted for a telemetry key (an X25519 SPKI is 44
// bytes, 60 characters of base64).
constexpr std::size_t kMaxTelemetryKeyText = 256;
constexpr std::size_t kMaxNameBytes = 128;

Status FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgumentError("'" + std::string(field) + "' " + std::string(problem));
}

// Rejects members other than `allowed` so that a misspelt member is an
// error, not silently ignored.
Status CheckMembers(const Json& object, std::initializer_list<std::string_view> allowed,
                    std::string_view where) {
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      return InvalidArgumentError("unknown member '" + item.key().substr(0, 64) + "' in " +
                                  std::string(where));
    }
  }
  return OkStatus();
}

const Json* Member(const Json& object, std::string_view name) {
  auto it = object.find(std::string(name));
  return it == object.end() ? nullptr : &*it;
}

StatusOr<std::string> RequiredString(const Json& object, std::string_view name,
                                     std::size_t max_bytes) {
  const Json* v = Member(object, name);
  if (v == nullptr) return FieldError(name, "is missing");
  if (!v->is_string()) return FieldError(name, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return FieldError(name, "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return s;
}

StatusOr<int64_t> RequiredInt(const Json& object, std::string_view name, int64_t min, int64_t max) {
  const Json* v = Member(object, name);
  if (v == nullptr) return FieldError(name, "is missing");
  if (!v->is_number_integer()) return FieldError(name, "must be an integer");
  int64_t value = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) {
      return FieldError(name, "must be at most " + std::to_string(max));
    }
    value = static_cast<int64_t>(u);
  } else {
    value = v->get<int64_t>();
  }
  if (value < min || value > max) {
    return FieldError(name,
                      "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

StatusOr<bool> RequiredBool(const Json& object, std::string_view name) {
  const Json* v = Member(object, name);
  if (v == nullptr) return FieldError(name, "is missing");
  if (!v->is_boolean()) return FieldError(name, "must be true or false");
  return v->get<bool>();
}

StatusOr<const Json*> RequiredObject(const Json& object, std::string_view name) {
  const Json* v = Member(object, name);
  if (v == nullptr) return FieldError(name, "is missing");
  if (!v->is_object()) return FieldError(name, "must be a JSON object");
  return v;
}

StatusOr<std::vector<uint8_t>> TelemetryKeyFrom(const Json& value, std::string_view field) {
  if (!value.is_string()) return FieldError(field, "must be a base64 string");
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() > kMaxTelemetryKeyText) return FieldError(field, "is too long");
  StatusOr<std::vector<uint8_t>> der = Base64Decode(text);
  if (!der.ok()) return FieldError(field, "is not valid base64");
  CUSTOS_RETURN_IF_ERROR(CheckTelemetryKey(*der, field));
  return *std::move(der);
}

Status CheckStatusName(std::string_view status, std::string_view field) {
  bool ok = !status.empty() && status.size() <= 32 && status[0] >= 'a' && status[0] <= 'z';
  for (char c : status) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) return FieldError(field, "must match [a-z][a-z0-9-]{0,31}");
  return OkStatus();
}

// The object member `name` serialized, for the identity parsers (which take
// document text).
StatusOr<std::string> DocumentText(const Json& body, std::string_view name) {
  CUSTOS_ASSIGN_OR_RETURN(const Json* doc, RequiredObject(body, name));
  std::string text = doc->dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > identity::kMaxMessageBytes) {
    return FieldError(name,
                      "is larger than " + std::to_string(identity::kMaxMessageBytes) + " bytes");
  }
  return text;
}

Status Prefix(const Status& status, std::string_view field) {
  return InvalidArgumentError("'" + std::string(field) + "': " + std::string(status.message()));
}

Json EndpointToJson(const Endpoint& e) { return Json{{"host", e.host}, {"port", e.port}}; }

StatusOr<Endpoint> ParseEndpoint(const Json& parent, std::string_view name) {
  CUSTOS_ASSIGN_OR_RETURN(const Json* obj, RequiredObject(parent, name));
  Endpoint e;
  CUSTOS_ASSIGN_OR_RETURN(e.host, RequiredString(*obj, "host", 255));
  CUSTOS_ASSIGN_OR_RETURN(int64_t port, RequiredInt(*obj, "port", 1, 65535));
  e.port = static_cast<int>(port);
  return e;
}

std::string PercentEncode(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

struct ReasonName {
  identity::RevocationReason reason;
  std::string_view name;
};
constexpr ReasonName kReasons[] = {
    {identity::RevocationReason::kUnspecified, "unspecified"},
    {identity::RevocationReason::kKeyCompromise, "key-compromise"},
    {identity::RevocationReason::kAffiliationChanged, "affiliation-changed"},
    {identity::RevocationReason::kSuperseded, "superseded"},
    {identity::RevocationReason::kCessationOfOperation, "cessation-of-operation"},
    {identity::RevocationReason::kPrivilegeWithdrawn, "privilege-withdrawn"},
};

StatusOr<Json> ParseText(std::string_view text) { return ParseJsonObject(text); }

}  // namespace

StatusOr<Json> ParseJsonObject(std::string_view text, std::size_t max_bytes) {
  return net::ParseJsonBody(text, max_bytes);
}

Status CheckTelemetryKey(std::span<const uint8_t> spki, std::string_view field) {
  std::optional<crypto::RawPublicKey> raw = crypto::SplitSpki(spki);
  if (!raw.has_value() || raw->algorithm != crypto::SpkiAlgorithm::kX25519) {
    return FieldError(field, "is not the DER SubjectPublicKeyInfo of an X25519 key");
  }
  return OkStatus();
}

// ---- enroll / rotate --------------------------------------------------------

StatusOr<EnrollBody> EnrollBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(CheckMembers(body, {"request", "telemetry_key"}, "the enroll body"));
  CUSTOS_ASSIGN_OR_RETURN(std::string text, DocumentText(body, "request"));
  StatusOr<identity::EnrollmentRequest> request = identity::ParseEnrollmentRequest(text);
  if (!request.ok()) return Prefix(request.status(), "request");
  const Json* key = Member(body, "telemetry_key");
  if (key == nullptr) return FieldError("telemetry_key", "is missing");
  EnrollBody out;
  out.request = *std::move(request);
  CUSTOS_ASSIGN_OR_RETURN(out.telemetry_key, TelemetryKeyFrom(*key, "telemetry_key"));
  return out;
}

StatusOr<EnrollBody> ParseEnrollBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return EnrollBodyFromJson(body);
}

std::string EnrollBodyToJson(const EnrollBody& body) {
  Json j{{"request", Json::parse(identity::EnrollmentRequestToJson(body.request), nullptr, false)},
         {"telemetry_key", Base64Encode(body.telemetry_key)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<RotateBody> RotateBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(CheckMembers(body, {"request", "telemetry_key"}, "the rotate body"));
  CUSTOS_ASSIGN_OR_RETURN(std::string text, DocumentText(body, "request"));
  StatusOr<identity::RotationRequest> request = identity::ParseRotationRequest(text);
  if (!request.ok()) return Prefix(request.status(), "request");
  RotateBody out;
  out.request = *std::move(request);
  const Json* key = Member(body, "telemetry_key");
  if (key != nullptr && !key->is_null()) {
    CUSTOS_ASSIGN_OR_RETURN(out.telemetry_key, TelemetryKeyFrom(*key, "telemetry_key"));
  }
  return out;
}

StatusOr<RotateBody> ParseRotateBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return RotateBodyFromJson(body);
}

std::string RotateBodyToJson(const RotateBody& body) {
  Json j{{"request", Json::parse(identity::RotationRequestToJson(body.request), nullptr, false)}};
  if (body.telemetry_key.has_value()) j["telemetry_key"] = Base64Encode(*body.telemetry_key);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- fleet --------------------------------------------------------------------

Json FleetInfoToJson(const FleetInfo& info) {
  return Json{
      {"ca_name", info.ca_name},
      {"api", EndpointToJson(info.api)},
      {"mqtt", EndpointToJson(info.mqtt)},
      {"telemetry", {{"aead", info.telemetry_aead}, {"key", Base64Encode(info.telemetry_key)}}}};
}

StatusOr<FleetInfo> FleetInfoFromJson(const Json& value) {
  if (!value.is_object()) return InvalidArgumentError("fleet info must be a JSON object");
  FleetInfo info;
  CUSTOS_ASSIGN_OR_RETURN(info.ca_name, RequiredString(value, "ca_name", 64));
  CUSTOS_ASSIGN_OR_RETURN(info.api, ParseEndpoint(value, "api"));
  CUSTOS_ASSIGN_OR_RETURN(info.mqtt, ParseEndpoint(value, "mqtt"));
  CUSTOS_ASSIGN_OR_RETURN(const Json* telemetry, RequiredObject(value, "telemetry"));
  CUSTOS_ASSIGN_OR_RETURN(info.telemetry_aead, RequiredString(*telemetry, "aead", 64));
  if (info.telemetry_aead != kTelemetryAead) {
    return FieldError("telemetry.aead", "names an unsupported AEAD");
  }
  const Json* key = Member(*telemetry, "key");
  if (key == nullptr) return FieldError("telemetry.key", "is missing");
  CUSTOS_ASSIGN_OR_RETURN(info.telemetry_key, TelemetryKeyFrom(*key, "telemetry.key"));
  return info;
}

StatusOr<FleetInfo> ParseFleetInfo(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  return FleetInfoFromJson(value);
}

std::string EnrollReplyToJson(const EnrollReply& reply) {
  Json j{
      {"response", Json::parse(identity::EnrollmentResponseToJson(reply.response), nullptr, false)},
      {"fleet", FleetInfoToJson(reply.fleet)}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<EnrollReply> ParseEnrollReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  CUSTOS_ASSIGN_OR_RETURN(std::string doc, DocumentText(value, "response"));
  StatusOr<identity::EnrollmentResponse> response = identity::ParseEnrollmentResponse(doc);
  if (!response.ok()) return Prefix(response.status(), "response");
  CUSTOS_ASSIGN_OR_RETURN(const Json* fleet, RequiredObject(value, "fleet"));
  StatusOr<FleetInfo> info = FleetInfoFromJson(*fleet);
  if (!info.ok()) return Prefix(info.status(), "fleet");
  return EnrollReply{*std::move(response), *std::move(info)};
}

// ---- health -------------------------------------------------------------------

Json HealthInfoToJson(const HealthInfo& info) {
  return Json{{"status", info.status},
              {"broker", info.broker},
              {"database", info.database},
              {"uptime_s", info.uptime_s}};
}

StatusOr<HealthInfo> ParseHealthInfo(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  HealthInfo info;
  CUSTOS_ASSIGN_OR_RETURN(info.status, RequiredString(value, "status", 32));
  CUSTOS_ASSIGN_OR_RETURN(info.broker, RequiredString(value, "broker", 32));
  CUSTOS_ASSIGN_OR_RETURN(info.database, RequiredString(value, "database", 32));
  CUSTOS_ASSIGN_OR_RETURN(info.uptime_s, RequiredInt(value, "uptime_s", 0, INT64_MAX));
  return info;
}

// ---- devices --------------------------------------------------------------------

StatusOr<DeviceListQuery> ParseDeviceListQuery(
    const std::multimap<std::string, std::string>& params) {
  DeviceListQuery query;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) return FieldError(name, "is given more than once");
    if (name == "after") {
      if (!value.empty() && !identity::ValidateDeviceId(value).ok()) {
        return FieldError("after", "is not a device id");
      }
      query.after = value;
    } else if (name == "limit") {
      int limit = 0;
      bool ok = !value.empty() && value.size() <= 4;
      for (char c : value) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) limit = limit * 10 + (c - '0');
      }
      if (!ok || limit < 1 || limit > store::kMaxPageSize) {
        return FieldError(
            "limit", "must be an integer between 1 and " + std::to_string(store::kMaxPageSize));
      }
      query.limit = limit;
    } else if (name == "status") {
      CUSTOS_RETURN_IF_ERROR(CheckStatusName(value, "status"));
      query.status = value;
    } else {
      return InvalidArgumentError("unknown query parameter '" + name.substr(0, 64) + "'");
    }
  }
  return query;
}

std::string DeviceListQueryString(const DeviceListQuery& query) {
  std::string out = "?limit=" + std::to_string(query.limit);
  if (!query.after.empty()) out += "&after=" + PercentEncode(query.after);
  if (query.status.has_value()) out += "&status=" + PercentEncode(*query.status);
  return out;
}

Json DeviceToJson(const store::DeviceRecord& d) {
  return Json{{"id", d.id},
              {"status", d.status},
              {"certificate_serial", d.certificate_serial},
              {"enrolled_at_ms", d.enrolled_at_ms},
              {"last_seen_ms", d.last_seen_ms},
              {"revoked", d.revoked},
              {"revoked_at_ms", d.revoked_at_ms}};
}

StatusOr<store::DeviceRecord> ParseDeviceJson(const Json& value) {
  if (!value.is_object()) return InvalidArgumentError("a device must be a JSON object");
  store::DeviceRecord d;
  CUSTOS_ASSIGN_OR_RETURN(d.id, RequiredString(value, "id", kMaxNameBytes));
  CUSTOS_ASSIGN_OR_RETURN(d.status, RequiredString(value, "status", 32));
  CUSTOS_ASSIGN_OR_RETURN(d.certificate_serial, RequiredString(value, "certificate_serial", 64));
  CUSTOS_ASSIGN_OR_RETURN(d.enrolled_at_ms, RequiredInt(value, "enrolled_at_ms", 0, INT64_MAX));
  CUSTOS_ASSIGN_OR_RETURN(d.last_seen_ms, RequiredInt(value, "last_seen_ms", 0, INT64_MAX));
  CUSTOS_ASSIGN_OR_RETURN(d.revoked, RequiredBool(value, "revoked"));
  CUSTOS_ASSIGN_OR_RETURN(d.revoked_at_ms, RequiredInt(value, "revoked_at_ms", 0, INT64_MAX));
  return d;
}

std::string DeviceListReplyToJson(const DeviceListReply& reply) {
  Json devices = Json::array();
  for (const store::DeviceRecord& d : reply.devices) devices.push_back(DeviceToJson(d));
  return Json{{"devices", std::move(devices)}, {"next_after", reply.next_after}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<DeviceListReply> ParseDeviceListReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseJsonObject(text, 16 * 1024 * 1024));
  const Json* devices = Member(value, "devices");
  if (devices == nullptr || !devices->is_array()) return FieldError("devices", "must be an array");
  DeviceListReply reply;
  for (const Json& d : *devices) {
    CUSTOS_ASSIGN_OR_RETURN(store::DeviceRecord record, ParseDeviceJson(d));
    reply.devices.push_back(std::move(record));
  }
  CUSTOS_ASSIGN_OR_RETURN(reply.next_after, RequiredString(value, "next_after", kMaxNameBytes));
  return reply;
}

std::string DeviceStatusReplyToJson(const DeviceStatusReply& reply) {
  Json telemetry = nullptr;
  if (reply.telemetry.has_value()) {
    const store::TelemetrySummary& t = *reply.telemetry;
    Json latest = Json::parse(t.latest_json, nullptr, false);
    if (latest.is_discarded()) latest = nullptr;
    telemetry = Json{{"message_count", t.message_count},
                     {"last_sequence", t.last_sequence},
                     {"first_at_ms", t.first_at_ms},
                     {"last_at_ms", t.last_at_ms},
                     {"latest", std::move(latest)}};
  }
  Json certificates = Json::array();
  for (const CertificateJson& c : reply.certificates) {
    certificates.push_back(Json{{"serial", c.serial},
                                {"not_after", c.not_after},
                                {"method", c.method},
                                {"revoked", c.revoked}});
  }
  return Json{{"device", DeviceToJson(reply.device)},
              {"telemetry", std::move(telemetry)},
              {"certificates", std::move(certificates)}}
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<DeviceStatusReply> ParseDeviceStatusReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseJsonObject(text, 1024 * 1024));
  DeviceStatusReply reply;
  const Json* device = Member(value, "device");
  if (device == nullptr) return FieldError("device", "is missing");
  CUSTOS_ASSIGN_OR_RETURN(reply.device, ParseDeviceJson(*device));
  const Json* telemetry = Member(value, "telemetry");
  if (telemetry != nullptr && telemetry->is_object()) {
    store::TelemetrySummary t;
    t.device_id = reply.device.id;
    CUSTOS_ASSIGN_OR_RETURN(t.message_count,
                            RequiredInt(*telemetry, "message_count", 0, INT64_MAX));
    CUSTOS_ASSIGN_OR_RETURN(t.last_sequence,
                            RequiredInt(*telemetry, "last_sequence", 0, INT64_MAX));
    CUSTOS_ASSIGN_OR_RETURN(t.first_at_ms, RequiredInt(*telemetry, "first_at_ms", 0, INT64_MAX));
    CUSTOS_ASSIGN_OR_RETURN(t.last_at_ms, RequiredInt(*telemetry, "last_at_ms", 0, INT64_MAX));
    const Json* latest = Member(*telemetry, "latest");
    if (latest != nullptr && !latest->is_null()) t.latest_json = latest->dump();
    reply.telemetry = std::move(t);
  } else if (telemetry != nullptr && !telemetry->is_null()) {
    return FieldError("telemetry", "must be an object or null");
  }
  const Json* certificates = Member(value, "certificates");
  if (certificates == nullptr || !certificates->is_array()) {
    return FieldError("certificates", "must be an array");
  }
  for (const Json& c : *certificates) {
    if (!c.is_object()) return FieldError("certificates", "must hold objects");
    CertificateJson cert;
    CUSTOS_ASSIGN_OR_RETURN(cert.serial, RequiredString(c, "serial", 64));
    CUSTOS_ASSIGN_OR_RETURN(cert.not_after, RequiredInt(c, "not_after", INT64_MIN, INT64_MAX));
    CUSTOS_ASSIGN_OR_RETURN(cert.method, RequiredString(c, "method", 64));
    CUSTOS_ASSIGN_OR_RETURN(cert.revoked, RequiredBool(c, "revoked"));
    reply.certificates.push_back(std::move(cert));
  }
  return reply;
}

// ---- revoke -------------------------------------------------------------------

std::string_view RevocationReasonApiName(identity::RevocationReason reason) {
  for (const ReasonName& r : kReasons) {
    if (r.reason == reason) return r.name;
  }
  return "unspecified";
}

StatusOr<RevokeBody> RevokeBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(CheckMembers(body, {"reason"}, "the revoke body"));
  RevokeBody out;
  const Json* reason = Member(body, "reason");
  if (reason == nullptr || reason->is_null()) return out;
  if (!reason->is_string()) return FieldError("reason", "must be a string");
  const std::string& name = reason->get_ref<const std::string&>();
  for (const ReasonName& r : kReasons) {
    if (r.name == name) {
      out.reason = r.reason;
      return out;
    }
  }
  std::string valid;
  for (const ReasonName& r : kReasons) valid += (valid.empty() ? "" : ", ") + std::string(r.name);
  return FieldError("reason", "must be one of " + valid);
}

StatusOr<RevokeBody> ParseRevokeBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return RevokeBodyFromJson(body);
}

std::string RevokeBodyToJson(const RevokeBody& body) {
  return Json{{"reason", RevocationReasonApiName(body.reason)}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

std::string RevokeReplyToJson(const RevokeReply& reply) {
  return Json{{"device", reply.device},
              {"revoked_certificates", reply.revoked_certificates},
              {"crl_number", reply.crl_number}}
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<RevokeReply> ParseRevokeReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  RevokeReply reply;
  CUSTOS_ASSIGN_OR_RETURN(reply.device, RequiredString(value, "device", kMaxNameBytes));
  CUSTOS_ASSIGN_OR_RETURN(reply.revoked_certificates,
                          RequiredInt(value, "revoked_certificates", 0, INT64_MAX));
  CUSTOS_ASSIGN_OR_RETURN(reply.crl_number, RequiredInt(value, "crl_number", 0, INT64_MAX));
  return reply;
}

// ---- commands -------------------------------------------------------------------

StatusOr<CommandsBody> CommandsBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(CheckMembers(body, {"command", "devices"}, "the commands body"));
  CommandsBody out;
  CUSTOS_ASSIGN_OR_RETURN(out.command, RequiredString(body, "command", 32));
  if (out.command != kCommandRotate && out.command != kCommandReport) {
    return FieldError("command", "must be \"rotate\" or \"report\"");
  }
  const Json* devices = Member(body, "devices");
  if (devices == nullptr) return FieldError("devices", "is missing");
  if (devices->is_string()) {
    if (devices->get_ref<const std::string&>() != "all") {
      return FieldError("devices", "must be \"all\" or an array of device ids");
    }
    out.all = true;
    return out;
  }
  if (!devices->is_array())
    return FieldError("devices", "must be \"all\" or an array of device ids");
  if (devices->empty() || devices->size() > kMaxCommandDevices) {
    return FieldError("devices",
                      "must hold 1 to " + std::to_string(kMaxCommandDevices) + " device ids");
  }
  std::set<std::string> seen;
  for (const Json& id : *devices) {
    if (!id.is_string()) return FieldError("devices", "must hold strings");
    const std::string& s = id.get_ref<const std::string&>();
    if (!identity::ValidateDeviceId(s).ok()) {
      return FieldError("devices", "holds an invalid device id");
    }
    if (!seen.insert(s).second) return FieldError("devices", "holds a device id twice");
    out.devices.push_back(s);
  }
  return out;
}

StatusOr<CommandsBody> ParseCommandsBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return CommandsBodyFromJson(body);
}

std::string CommandsBodyToJson(const CommandsBody& body) {
  Json j{{"command", body.command}};
  if (body.all) {
    j["devices"] = "all";
  } else {
    j["devices"] = body.devices;
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- tokens ---------------------------------------------------------------------

StatusOr<TokensBody> TokensBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(
      CheckMembers(body, {"count", "device_id", "lifetime_s"}, "the tokens body"));
  TokensBody out;
  CUSTOS_ASSIGN_OR_RETURN(
      int64_t count, RequiredInt(body, "count", 1, static_cast<int64_t>(kMaxTokensPerRequest)));
  out.count = static_cast<int>(count);
  const Json* device = Member(body, "device_id");
  if (device != nullptr && !device->is_null()) {
    CUSTOS_ASSIGN_OR_RETURN(out.device_id, RequiredString(body, "device_id", kMaxNameBytes));
    if (!identity::ValidateDeviceId(out.device_id).ok()) {
      return FieldError("device_id", "is not a valid device id");
    }
  }
  const Json* lifetime = Member(body, "lifetime_s");
  if (lifetime != nullptr && !lifetime->is_null()) {
    CUSTOS_ASSIGN_OR_RETURN(out.lifetime_s,
                            RequiredInt(body, "lifetime_s", 1, kMaxTokenLifetimeSeconds));
  }
  return out;
}

StatusOr<TokensBody> ParseTokensBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return TokensBodyFromJson(body);
}

std::string TokensBodyToJson(const TokensBody& body) {
  Json j{{"count", body.count}, {"lifetime_s", body.lifetime_s}};
  if (!body.device_id.empty()) j["device_id"] = body.device_id;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string TokensReplyToJson(const TokensReply& reply) {
  Json tokens = Json::array();
  for (const SecretBytes& t : reply.tokens) {
    tokens.push_back(std::string(reinterpret_cast<const char*>(t.data()), t.size()));
  }
  return Json{{"tokens", std::move(tokens)}, {"expires_at", reply.expires_at}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<TokensReply> ParseTokensReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseJsonObject(text, 4 * 1024 * 1024));
  const Json* tokens = Member(value, "tokens");
  if (tokens == nullptr || !tokens->is_array()) return FieldError("tokens", "must be an array");
  TokensReply reply;
  for (const Json& t : *tokens) {
    if (!t.is_string()) return FieldError("tokens", "must hold strings");
    const std::string& s = t.get_ref<const std::string&>();
    reply.tokens.emplace_back(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  CUSTOS_ASSIGN_OR_RETURN(reply.expires_at, RequiredInt(value, "expires_at", 0, INT64_MAX));
  return reply;
}

// ---- manufacturers --------------------------------------------------------------

StatusOr<ManufacturerBody> ManufacturerBodyFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgumentError("the body must be a JSON object");
  CUSTOS_RETURN_IF_ERROR(CheckMembers(body, {"certificate_pem"}, "the manufacturer body"));
  CUSTOS_ASSIGN_OR_RETURN(std::string pem,
                          RequiredString(body, "certificate_pem", identity::kMaxCertificateBytes));
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  const std::size_t first = pem.find(kBegin);
  if (first == std::string::npos) {
    return FieldError("certificate_pem",
                      "is not a PEM certificate (no " + std::string(kBegin) + " line)");
  }
  if (pem.find(kBegin, first + kBegin.size()) != std::string::npos) {
    return FieldError("certificate_pem",
                      "holds more than one certificate (give the manufacturer's root only)");
  }
  StatusOr<identity::Certificate> certificate = identity::Certificate::FromPem(pem);
  if (!certificate.ok()) return Prefix(certificate.status(), "certificate_pem");
  if (!certificate->is_ca()) {
    return FieldError("certificate_pem",
                      "is not a CA certificate (basicConstraints cA is not set)");
  }
  return ManufacturerBody{*std::move(certificate)};
}

StatusOr<ManufacturerBody> ParseManufacturerBody(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json body, ParseText(text));
  return ManufacturerBodyFromJson(body);
}

std::string ManufacturerBodyToJson(const ManufacturerBody& body) {
  return Json{{"certificate_pem", body.certificate.ToPem()}}.dump(-1, ' ', false,
                                                                  Json::error_handler_t::replace);
}

ManufacturerJson ManufacturerJsonOf(const identity::Certificate& root) {
  return ManufacturerJson{root.subject_name(), HexEncode(root.fingerprint_sha256()),
                          root.not_after()};
}

std::string TrustManufacturerReplyToJson(const TrustManufacturerReply& reply) {
  return Json{{"subject", reply.subject},
              {"fingerprint", reply.fingerprint},
              {"manufacturers", reply.manufacturers}}
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

StatusOr<TrustManufacturerReply> ParseTrustManufacturerReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  TrustManufacturerReply reply;
  CUSTOS_ASSIGN_OR_RETURN(reply.subject, RequiredString(value, "subject", 4096));
  CUSTOS_ASSIGN_OR_RETURN(reply.fingerprint, RequiredString(value, "fingerprint", 64));
  CUSTOS_ASSIGN_OR_RETURN(reply.manufacturers, RequiredInt(value, "manufacturers", 0, INT64_MAX));
  return reply;
}

std::string ManufacturerListReplyToJson(const ManufacturerListReply& reply) {
  Json list = Json::array();
  for (const ManufacturerJson& m : reply.manufacturers) {
    list.push_back(
        Json{{"subject", m.subject}, {"fingerprint", m.fingerprint}, {"not_after", m.not_after}});
  }
  return Json{{"manufacturers", std::move(list)}}.dump(-1, ' ', false,
                                                       Json::error_handler_t::replace);
}

StatusOr<ManufacturerListReply> ParseManufacturerListReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseJsonObject(text, 4 * 1024 * 1024));
  const Json* list = Member(value, "manufacturers");
  if (list == nullptr || !list->is_array()) return FieldError("manufacturers", "must be an array");
  ManufacturerListReply reply;
  for (const Json& m : *list) {
    if (!m.is_object()) return FieldError("manufacturers", "must hold objects");
    ManufacturerJson entry;
    CUSTOS_ASSIGN_OR_RETURN(entry.subject, RequiredString(m, "subject", 4096));
    CUSTOS_ASSIGN_OR_RETURN(entry.fingerprint, RequiredString(m, "fingerprint", 64));
    CUSTOS_ASSIGN_OR_RETURN(entry.not_after, RequiredInt(m, "not_after", INT64_MIN, INT64_MAX));
    reply.manufacturers.push_back(std::move(entry));
  }
  return reply;
}

StatusOr<ErrorReply> ParseErrorReply(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Json value, ParseText(text));
  CUSTOS_ASSIGN_OR_RETURN(const Json* error, RequiredObject(value, "error"));
  ErrorReply reply;
  CUSTOS_ASSIGN_OR_RETURN(reply.code, RequiredString(*error, "code", 64));
  CUSTOS_ASSIGN_OR_RETURN(reply.message, RequiredString(*error, "message", 4096));
  return reply;
}

}  // namespace custos::server
