// File: custos/agent/api_calls.cpp
#include "custos/agent/api_calls.h"

#include <charconv>

namespace custos::agent {
namespace {

StatusCode CodeFromName(std::string_view name, int http_status) {
  static constexpr std::pair<std::string_view, StatusCode> kNames[] = {
      {"invalid_argument", StatusCode::kInvalidArgument},
      {"unauthenticated", StatusCode::kUnauthenticated},
      {"permission_denied", StatusCode::kPermissionDenied},
      {"not_found", StatusCode::kNotFound},
      {"already_exists", StatusCode::kAlreadyExists},
      {"failed_precondition", StatusCode::kFailedPrecondition},
      {"resource_exhausted", StatusCode::kResourceExhausted},
      {"unavailable", StatusCode::kUnavailable},
      {"deadline_exceeded", StatusCode::kDeadlineExceeded},
      {"unimplemented", StatusCode::kUnimplemented},
      {"out_of_range", StatusCode::kOutOfRange},
      {"internal", StatusCode::kInternal},
  };
  for (const auto& [known, code] : kNames) {
    if (known == name) return code;
  }
  switch (http_status) {
    case 400:
    case 413:
    case 415:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 429:
    case 503:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

StatusOr<ServerUrl> ParseServerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("server URL '" + std::string(url) +
                                "' must start with https:// (e.g. https://127.0.0.1:8443)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("server URL '" + std::string(url) + "' names no port");
  }
  ServerUrl out;
  out.host = std::string(rest.substr(0, colon));
  if (out.host != "127.0.0.1" && out.host != "localhost") {
    return InvalidArgumentError("server URL '" + std::string(url) +
                                "': the API listens on loopback (127.0.0.1 or localhost)");
  }
  std::string_view port = rest.substr(colon + 1);
  auto [ptr, err] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (err != std::errc() || ptr != port.data() + port.size() || out.port < 1 || out.port > 65535) {
    return InvalidArgumentError("server URL '" + std::string(url) + "' has a bad port");
  }
  return out;
}

Status StatusOfResult(const net::HttpsResult& result, std::string_view what) {
  if (result.status >= 200 && result.status < 300) return OkStatus();
  std::string code_name;
  std::string message = "HTTP " + std::to_string(result.status);
  if (StatusOr<server::ErrorReply> error = server::ParseErrorReply(result.body); error.ok()) {
    code_name = error->code;
    message = error->message;
  }
  return Status(
      CodeFromName(code_name, result.status),
      std::string(what) + ": " + message + " (HTTP " + std::to_string(result.status) + ")");
}

Status EnrollOverApi(DeviceSession& session, net::HttpsClient& client, const SecretBytes& token,
                     int64_t now_s) {
  CUSTOS_ASSIGN_OR_RETURN(std::string body, session.EnrollBody(token, now_s));
  StatusOr<net::HttpsResult> result = client.Post("/v1/enroll", body);
  Status status = result.status();
  if (status.ok()) status = StatusOfResult(*result, "POST /v1/enroll");
  if (!status.ok()) {
    session.AbandonEnrollment();
    return status;
  }
  return session.AcceptEnrollReply(result->body, now_s);
}

Status RotateOverApi(DeviceSession& session, int api_port, int64_t now_s) {
  // The client presents the current (old) certificate: make it before the
  // rotation starts.
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<net::HttpsClient> client,
                          session.ApiClient(api_port, /*mutual=*/true, /*keep_alive=*/false));
  CUSTOS_ASSIGN_OR_RETURN(std::string body, session.BeginRotation(now_s));
  StatusOr<net::HttpsResult> result = client->Post("/v1/rotate", body);
  Status status = result.status();
  if (status.ok()) status = StatusOfResult(*result, "POST /v1/rotate");
  if (!status.ok()) {
    session.AbandonRotation();
    return status;
  }
  return session.AcceptRotationReply(result->body, now_s);
}

StatusOr<server::FleetInfo> FetchFleet(net::HttpsClient& client) {
  CUSTOS_ASSIGN_OR_RETURN(net::HttpsResult result, client.Get("/v1/fleet"));
  CUSTOS_RETURN_IF_ERROR(StatusOfResult(result, "GET /v1/fleet"));
  return server::ParseFleetInfo(result.body);
}

std::string BearerHeader(const SecretBytes& operator_token) {
  return "Bearer " +
         std::string(reinterpret_cast<const char*>(operator_token.data()), operator_token.size());
}

StatusOr<std::vector<SecretBytes>> MintTokens(net::HttpsClient& client,
                                              const SecretBytes& operator_token, int count,
                                              int64_t lifetime_s) {
  server::TokensBody body;
  body.count = count;
  body.lifetime_s = lifetime_s;
  CUSTOS_ASSIGN_OR_RETURN(
      net::HttpsResult result,
      client.Post("/v1/tokens", server::TokensBodyToJson(body), "application/json",
                  {{"Authorization", BearerHeader(operator_token)}}));
  CUSTOS_RETURN_IF_ERROR(StatusOfResult(result, "POST /v1/tokens"));
  CUSTOS_ASSIGN_OR_RETURN(server::TokensReply reply, server::ParseTokensReply(result.body));
  if (reply.tokens.size() != static_cast<std::size_t>(count)) {
    return InternalError("POST /v1/tokens returned " + std::to_string(reply.tokens.size()) +
                         " tokens, asked for " + std::to_string(count));
  }
  return std::move(reply.tokens);
}

}  // namespace custos::agent
