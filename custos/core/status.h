// File: custos/core/status.h
//
// The one error currency of custos: absl::Status and absl::StatusOr<T>, under
// custos names, with factories that take std::string_view.
//
// Codes (see STYLE.md): malformed input -> InvalidArgument; a signature, tag or
// proof that does not verify -> Unauthenticated (no detail of which check
// failed); policy deny -> PermissionDenied; wrong state -> FailedPrecondition;
// transient I/O -> Unavailable; corrupt stored state -> DataLoss; a bug ->
// Internal. Messages never carry key bytes or plaintext.
#ifndef CUSTOS_CORE_STATUS_H_
#define CUSTOS_CORE_STATUS_H_

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace custos {

using Status = absl::Status;
using StatusCode = absl::StatusCode;
template <typename T>
using StatusOr = absl::StatusOr<T>;

// Returns the OK status.
inline Status OkStatus() { return absl::OkStatus(); }

// Each factory returns a non-OK status with the given code and message.
Status InvalidArgumentError(std::string_view message);
Status UnauthenticatedError(std::string_view message);
Status PermissionDeniedError(std::string_view message);
Status FailedPreconditionError(std::string_view message);
Status UnavailableError(std::string_view message);
Status DataLossError(std::string_view message);
Status InternalError(std::string_view message);
Status NotFoundError(std::string_view message);
Status OutOfRangeError(std::string_view message);
Status UnimplementedError(std::string_view message);
Status ResourceExhaustedError(std::string_view message);
Status AlreadyExistsError(std::string_view message);
Status DeadlineExceededError(std::string_view message);

// Returns `status` with `context + ": "` put in front of its message; OK stays OK.
Status Annotate(const Status& status, std::string_view context);

}  // namespace custos

// Early-return helpers. These two are macros because a function cannot return
// from its caller; they are the only macros of the error path.
#define CUSTOS_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::custos::Status custos_status_ = (expr);        \
    if (!custos_status_.ok()) return custos_status_; \
  } while (false)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` and `statusor` are declarations.
#define CUSTOS_STATUS_CONCAT_INNER_(a, b) a##b
#define CUSTOS_STATUS_CONCAT_(a, b) CUSTOS_STATUS_CONCAT_INNER_(a, b)
#define CUSTOS_ASSIGN_OR_RETURN(lhs, expr) \
  CUSTOS_ASSIGN_OR_RETURN_IMPL_(CUSTOS_STATUS_CONCAT_(custos_statusor_, __LINE__), lhs, expr)
#define CUSTOS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // CUSTOS_CORE_STATUS_H_
