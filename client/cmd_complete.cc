// `ds completion SHELL`, and the hidden `ds __complete branches|jobs` that the
// scripts call at Tab time.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "client/commands.h"
#include "client/completion.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/output.h"

namespace ds::client {

int RunCompletion(const Invocation& inv) {
  absl::StatusOr<std::string> script = CompletionScript(*inv.root, inv.options.shell);
  if (!script.ok()) return PrintError(std::string(script.status().message()), kExitUsage);
  std::cout << *script;
  return kExitOk;
}

// One word per line. A Tab press must neither start dsd (and with it the
// local cluster) nor wait on a network: without a running dsd this prints
// nothing and exits 0, and dsd answers from memory (cached_only).
int RunCompleteWords(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = DaemonClient::Connect(
      inv.paths,
      {.spawn = false, .restart_on_skew = false, .state_dir_override = inv.global.state_dir});
  if (!client.ok()) return kExitOk;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  std::string out;
  if (inv.options.shell == "jobs") {
    v1::ListJobsRequest req;
    v1::ListJobsResponse resp;
    if (grpc::Status s = client->jobs().List(&ctx, req, &resp); !s.ok()) return ReportRpcError(s);
    for (const v1::Job& j : resp.jobs()) out += j.id() + "\n";
  } else {
    absl::StatusOr<v1::WorkspaceRef> workspace = BuildWorkspaceRef(inv.global);
    if (!workspace.ok()) return ReportStatus(workspace.status());
    v1::ListBranchesRequest req;
    *req.mutable_workspace() = std::move(*workspace);
    req.set_project(inv.options.project);
    req.set_cached_only(true);
    v1::ListBranchesResponse resp;
    if (grpc::Status s = client->branches().ListBranches(&ctx, req, &resp); !s.ok()) {
      return ReportRpcError(s);
    }
    for (const v1::Branch& b : resp.branches()) out += b.name() + "\n";
  }
  std::cout << out;
  return kExitOk;
}

}  // namespace ds::client
