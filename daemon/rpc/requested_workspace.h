// The workspace a request names. Every request that acts for a workspace
// carries a ds.v1.WorkspaceRef; GetCurrentRequest and GetConfigRequest also
// keep their older `workspace_dir` and `overrides` fields (deprecated) for
// clients that predate `workspace`.
#ifndef DS_DAEMON_RPC_REQUESTED_WORKSPACE_H_
#define DS_DAEMON_RPC_REQUESTED_WORKSPACE_H_

#include "ds/v1/common.pb.h"

namespace ds::daemon {

// `workspace` when the request has one, else the deprecated fields.
template <typename Request>
v1::WorkspaceRef RequestedWorkspace(const Request& req) {
  if (req.has_workspace()) return req.workspace();
  v1::WorkspaceRef ref;
  ref.set_workspace_dir(req.workspace_dir());
  *ref.mutable_overrides() = req.overrides();
  return ref;
}

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_REQUESTED_WORKSPACE_H_
