// `ds config show`.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "client/commands.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/strings.h"

namespace ds::client {
namespace {

std::string_view KindName(v1::Origin::Kind kind) {
  switch (kind) {
    case v1::Origin::KIND_DEFAULT: return "default";
    case v1::Origin::KIND_USER_CONFIG: return "user config";
    case v1::Origin::KIND_WORKSPACE_TOML: return "ds.toml";
    case v1::Origin::KIND_DOTENV: return ".env";
    case v1::Origin::KIND_ENVIRONMENT: return "environment";
    case v1::Origin::KIND_FLAG: return "flag";
    default: return "?";
  }
}

}  // namespace

int RunConfigShow(const Invocation& inv) {
  absl::StatusOr<v1::WorkspaceRef> workspace = BuildWorkspaceRef(inv.global);
  if (!workspace.ok()) return ReportStatus(workspace.status());
  absl::StatusOr<DaemonClient> client =
      DaemonClient::Connect(inv.paths, {.state_dir_override = inv.global.state_dir});
  if (!client.ok()) return ReportStatus(client.status());

  v1::GetConfigRequest req;
  *req.mutable_workspace() = std::move(*workspace);
  v1::GetConfigResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  if (grpc::Status s = client->workspace().GetConfig(&ctx, req, &resp); !s.ok()) {
    return ReportRpcError(s);
  }
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  std::string out;
  for (const v1::ConfigValue& v : resp.values()) {
    StrAppend(&out, Dim(StrCat("(", KindName(v.origin().kind()), ": ",
                                           v.origin().location(), ")")),
                    " ", v.key(), " = ", v.value(), "\n");
  }
  std::cout << out;
  return kExitOk;
}

}  // namespace ds::client
