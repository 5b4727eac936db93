// absl::Status (used below the RPC layer) to grpc::Status (on the wire).
#ifndef DS_DAEMON_RPC_STATUS_H_
#define DS_DAEMON_RPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace ds::daemon {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_STATUS_H_
