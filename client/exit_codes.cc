#include "client/exit_codes.h"

#include <grpcpp/support/status.h>

#include <string>

#include "common/strings.h"

namespace ds::client {

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return kExitOk;
    case absl::StatusCode::kInvalidArgument: return kExitUsage;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return kExitUnreachable;
    case absl::StatusCode::kCancelled: return kExitCancelled;
    default: return kExitFailed;
  }
}

absl::Status FromRpc(const grpc::Status& status) {
  // dsd never sends these two (daemon/rpc/rpc_status.h): they are gRPC's
  // own words for a connection that broke or an answer that never came.
  switch (status.error_code()) {
    case grpc::StatusCode::OK: return absl::OkStatus();
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(
          StrCat("lost the connection to dsd: ", status.error_message(), "; see `ds daemon logs`"));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::DeadlineExceededError("dsd did not answer in time; see `ds daemon logs`");
    default:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
  }
}

}  // namespace ds::client
