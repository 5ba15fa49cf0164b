// File: custos/agent/api_calls.h
//
// The device side's calls of custosd's HTTPS API (docs/api.md), blocking,
// over a net::HttpsClient: enrollment and rotation of a DeviceSession, the
// fleet description, and the operator's token minting (for the simulator and
// tests). Error answers become a Status with the server's code and message.
//
// Thread safety: each call uses the given client only (HttpsClient is not
// thread-safe: one per thread) and the session (thread-safe).
#ifndef CUSTOS_AGENT_API_CALLS_H_
#define CUSTOS_AGENT_API_CALLS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/agent/device_session.h"
#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"
#include "custos/net/https_server.h"
#include "custos/server/api_messages.h"

namespace custos::agent {

// A server URL as `--server` takes it: "https://127.0.0.1:PORT" or
// "https://localhost:PORT" (the API listens on loopback). InvalidArgument
// naming the problem otherwise.
struct ServerUrl {
  std::string host;
  int port = 0;
};
StatusOr<ServerUrl> ParseServerUrl(std::string_view url);

// The Status of an API answer: OK for a 2xx status; otherwise the code
// named by the error body (docs/api.md), or one derived from the HTTP
// status, with the server's message and `what` (e.g. "POST /v1/enroll").
Status StatusOfResult(const net::HttpsResult& result, std::string_view what);

// Enrolls `session` through POST /v1/enroll on `client` (a client without a
// certificate, keep-alive allowed), with `token` or, if empty, the birth
// certificate. On any failure the session is left as it was.
Status EnrollOverApi(DeviceSession& session, net::HttpsClient& client, const SecretBytes& token,
                     int64_t now_s);

// Rotates `session`'s key and certificate through POST /v1/rotate over
// mutual TLS with the current certificate, on a fresh connection to
// 127.0.0.1:`api_port`. On success the new key and certificate are current
// and the old key is retired (DeviceSession::DestroyRetiredKey); on failure
// the session is left as it was.
Status RotateOverApi(DeviceSession& session, int api_port, int64_t now_s);

// GET /v1/fleet.
StatusOr<server::FleetInfo> FetchFleet(net::HttpsClient& client);

// POST /v1/tokens with the operator bearer token: `count` (1..10000) one-time
// enrollment tokens valid for `lifetime_s` seconds.
StatusOr<std::vector<SecretBytes>> MintTokens(net::HttpsClient& client,
                                              const SecretBytes& operator_token, int count,
                                              int64_t lifetime_s = 3600);

// The "Authorization" header value for `operator_token`.
std::string BearerHeader(const SecretBytes& operator_token);

}  // namespace custos::agent

#endif  // CUSTOS_AGENT_API_CALLS_H_
