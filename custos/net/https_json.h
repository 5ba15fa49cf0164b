// File: custos/net/https_json.h
//
// The request-body and error-body helpers of the HTTPS API (docs/api.md):
// bounded JSON parsing that never throws, and the JSON error body
// {"error": {"code": "...", "message": "..."}}.
#ifndef CUSTOS_NET_HTTPS_JSON_H_
#define CUSTOS_NET_HTTPS_JSON_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::net {

// Default limits of a request body.
inline constexpr std::size_t kDefaultMaxBodyBytes = 64 * 1024;
inline constexpr int kMaxJsonDepth = 32;

// Parses `body` as one JSON object. InvalidArgument naming the problem for
// a body longer than `max_bytes`, nested deeper than kMaxJsonDepth,
// malformed JSON (with the byte offset), or a top-level value that is not an
// object. Never throws.
StatusOr<nlohmann::json> ParseJsonBody(std::string_view body,
                                       std::size_t max_bytes = kDefaultMaxBodyBytes);

// The API error code of `code`: "invalid_argument", "not_found",
// "unauthenticated", ... (absl's names in lowercase).
std::string ErrorCodeName(StatusCode code);
// The HTTP status for `code`: 400 InvalidArgument/OutOfRange, 401
// Unauthenticated, 403 PermissionDenied, 404 NotFound, 409 AlreadyExists /
// FailedPrecondition, 413 ResourceExhausted, 429 -, 501 Unimplemented, 503
// Unavailable, 504 DeadlineExceeded, 500 otherwise.
int HttpStatusOf(StatusCode code);
// {"error":{"code":code,"message":message}} as compact JSON text.
std::string ErrorBody(std::string_view code, std::string_view message);

}  // namespace custos::net

#endif  // CUSTOS_NET_HTTPS_JSON_H_
