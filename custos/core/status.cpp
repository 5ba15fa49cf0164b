#include "custos/core/status.h"

#include <string>

namespace custos {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

Status InvalidArgumentError(std::string_view m) { return absl::InvalidArgumentError(ToAbsl(m)); }
Status UnauthenticatedError(std::string_view m) { return absl::UnauthenticatedError(ToAbsl(m)); }
Status PermissionDeniedError(std::string_view m) {
  return absl::PermissionDeniedError(ToAbsl(m));
}
Status FailedPreconditionError(std::string_view m) {
  return absl::FailedPreconditionError(ToAbsl(m));
}
Status UnavailableError(std::string_view m) { return absl::UnavailableError(ToAbsl(m)); }
Status DataLossError(std::string_view m) { return absl::DataLossError(ToAbsl(m)); }
Status InternalError(std::string_view m) { return absl::InternalError(ToAbsl(m)); }
Status NotFoundError(std::string_view m) { return absl::NotFoundError(ToAbsl(m)); }
Status OutOfRangeError(std::string_view m) { return absl::OutOfRangeError(ToAbsl(m)); }
Status UnimplementedError(std::string_view m) { return absl::UnimplementedError(ToAbsl(m)); }
Status ResourceExhaustedError(std::string_view m) {
  return absl::ResourceExhaustedError(ToAbsl(m));
}
Status AlreadyExistsError(std::string_view m) { return absl::AlreadyExistsError(ToAbsl(m)); }
Status DeadlineExceededError(std::string_view m) { return absl::DeadlineExceededError(ToAbsl(m)); }

Status Annotate(const Status& status, std::string_view context) {
  if (status.ok()) return status;
  std::string message(context);
  message += ": ";
  message += std::string(status.message());
  return Status(status.code(), message);
}

}  // namespace custos
