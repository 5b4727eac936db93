// absl::Status (used below the RPC layer) to grpc::Status (on the wire), and
// running blocking work for a unary call off gRPC's threads.
#ifndef DS_DAEMON_RPC_RPC_STATUS_H_
#define DS_DAEMON_RPC_RPC_STATUS_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/usage_error.h"
#include "daemon/sys/work_pool.h"

namespace ds::daemon {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // On the wire UNAVAILABLE means "dsd cannot be reached" (gRPC's own code
  // for a dead socket), and ds words it so. Something dsd cannot reach (a
  // database, the cluster, Neon) is a failed precondition of the request.
  // DEADLINE_EXCEEDED likewise is the caller's own deadline passing.
  if (s.code() == absl::StatusCode::kUnavailable ||
      s.code() == absl::StatusCode::kDeadlineExceeded) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string(s.message()));
  }
  // INVALID_ARGUMENT on the wire means the request itself is wrong (gRPC:
  // "regardless of the state of the system"), and ds exits 2 for it. A
  // malformed file that dsd read (.env, ds.toml, a journal) is state: a
  // failed precondition, exit 1. See common/usage_error.h.
  if (s.code() == absl::StatusCode::kInvalidArgument && !common::IsUsageError(s)) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string(s.message()));
  }
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Runs `work` (returning absl::StatusOr<Response>) on the pool and finishes
// the call with its result: callback reactors must never block.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* Offload(WorkPool& pool, grpc::CallbackServerContext* ctx, Response* resp,
                                  Work work) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  pool.Post([reactor, resp, work = std::move(work)] {
    absl::StatusOr<Response> r = work();
    if (r.ok()) {
      resp->Swap(&*r);
      reactor->Finish(grpc::Status::OK);
    } else {
      reactor->Finish(ToGrpcStatus(r.status()));
    }
  });
  return reactor;
}

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_RPC_STATUS_H_
