// `ds db ...` commands.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "client/commands.h"
#include "client/current_format.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/config.h"
#include "common/strings.h"

namespace ds::client {
namespace {

constexpr int kLabelWidth = 10;  // "Project:  " as in the documented output

std::string Field(std::string_view label, std::string_view value) {
  std::string l = StrCat(label, ":");
  l.resize(std::max<size_t>(kLabelWidth, l.size() + 1), ' ');
  return StrCat(l, value, "\n");
}

std::string HostLine(const v1::ConnectionSummary& c) {
  if (c.host().empty()) return "(libpq default: local socket)";
  return HostPort(c.host(), c.port());
}

// One "TARGET DB (VAR)" block; returns false when the value is unusable.
bool PrintTarget(std::string_view title, common::DbRole role, const v1::DatabaseTarget& t,
                 const v1::GetCurrentResponse& r, std::string& out) {
  StrAppend(&out, Bold(StrCat(title, " (", t.variable(), ")")), "\n");
  if (!t.is_set()) {
    std::string where = r.env_file_exists() ? StrCat("not set in ", r.env_file())
                                            : StrCat("not set: ", r.env_file(), " does not exist");
    StrAppend(&out, where, "; run `", common::SetDbCommand(role), "` to choose one\n");
    return true;
  }
  if (!t.error().empty()) {
    StrAppend(&out, Field("Error", t.error()));
    return false;
  }
  const v1::ConnectionSummary& c = t.connection();
  if (t.resolved()) {
    StrAppend(&out,
              Field("Project", t.branch().project_name().empty() ? t.branch().project_id()
                                                                 : t.branch().project_name()));
    StrAppend(&out, Field("Branch", t.branch().branch_name()));
    StrAppend(&out, Field("Host", HostLine(c)));
    StrAppend(&out, Field("Provider", t.branch().provider()));
    return true;
  }
  StrAppend(&out, Field("Project", "(not resolved)"));
  StrAppend(&out, Field("Branch", "(not resolved)"));
  StrAppend(&out, Field("Host", HostLine(c)));
  StrAppend(&out, Field("Database", c.database().empty() ? "(default)" : c.database()));
  StrAppend(&out, Field("User", c.user().empty() ? "(default)" : c.user()));
  if (!c.neon_endpoint_id().empty()) StrAppend(&out, Field("Endpoint", c.neon_endpoint_id()));
  StrAppend(&out, Dim(StrCat("Note:     ", t.unresolved_reason())), "\n");
  return true;
}

}  // namespace

int RunDbCurrent(const Invocation& inv) {
  const std::string& format = inv.options.format;
  if (!format.empty()) {
    // A bad template is a usage error, told before dsd is asked anything.
    if (absl::StatusOr<FormattedCurrent> check = FormatCurrent(format, {}); !check.ok()) {
      return PrintError(std::string(check.status().message()), kExitUsage);
    }
  }
  absl::StatusOr<v1::WorkspaceRef> workspace = BuildWorkspaceRef(inv.global);
  if (!workspace.ok()) return ReportStatus(workspace.status());

  absl::StatusOr<DaemonClient> client =
      DaemonClient::Connect(inv.paths, {.state_dir_override = inv.global.state_dir});
  if (!client.ok()) return ReportStatus(client.status());

  v1::GetCurrentRequest req;
  *req.mutable_workspace() = std::move(*workspace);
  v1::GetCurrentResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  if (grpc::Status s = client->workspace().GetCurrent(&ctx, req, &resp); !s.ok()) {
    return ReportRpcError(s);
  }

  bool usable = (!resp.target().is_set() || resp.target().error().empty()) &&
                (!resp.source().is_set() || resp.source().error().empty());
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return usable ? kExitOk : kExitFailed;
  }
  if (!format.empty()) {
    absl::StatusOr<FormattedCurrent> line = FormatCurrent(format, resp);
    if (!line.ok()) return PrintError(std::string(line.status().message()), kExitFailed);
    // Nothing at all when unset, so that `$(ds db current --format ...)` in
    // a prompt shows nothing rather than an empty line.
    if (!line->text.empty()) std::cout << line->text << "\n";
    return kExitOk;
  }
  std::string out;
  PrintTarget("TARGET DB", common::DbRole::kTarget, resp.target(), resp, out);
  out.push_back('\n');
  PrintTarget("SOURCE DB", common::DbRole::kSource, resp.source(), resp, out);
  std::cout << out;
  return usable ? kExitOk : kExitFailed;
}

}  // namespace ds::client
