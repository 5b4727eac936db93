#include "client/session.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "client/display_width.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/config.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// Branch operations copy databases and may start the cluster first.
constexpr auto kSlowDeadline = std::chrono::minutes(30);

// The developer name: the `developer` setting, else a slug of
// `git config user.name` (asked here, in the workspace, where git sees the
// user's repository config), else the login name dsd defaulted to.
std::string GitUserSlug(const std::string& workspace) {
  std::string cmd = StrCat("git -C '", workspace, "' config user.name 2>/dev/null");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[256] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  return Slug(std::string_view(buf, n));
}

}  // namespace

absl::StatusOr<Session> Open(const Invocation& inv) {
  absl::StatusOr<v1::WorkspaceRef> ws = BuildWorkspaceRef(inv.global);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<DaemonClient> client =
      DaemonClient::Connect(inv.paths, {.state_dir_override = inv.global.state_dir});
  if (!client.ok()) return client.status();
  return Session{std::move(*client), std::move(*ws)};
}

void SlowDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kSlowDeadline);
}

absl::StatusOr<NamingConfig> LoadNaming(Session& s) {
  v1::GetConfigRequest req;
  *req.mutable_workspace() = s.workspace;
  v1::GetConfigResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  grpc::Status st = s.client.workspace().GetConfig(&ctx, req, &resp);
  if (!st.ok()) return FromRpc(st);
  NamingConfig n;
  for (const v1::ConfigValue& v : resp.values()) {
    if (v.key() == "developer") {
      n.developer = v.value();
      if (v.origin().kind() == v1::Origin::KIND_DEFAULT) {
        if (std::string git = GitUserSlug(s.workspace.workspace_dir()); !git.empty()) {
          n.developer = git;
        }
      }
    } else if (v.key() == "stage") {
      n.stage = v.value();
    } else if (v.key() == "branch_pattern") {
      n.pattern = v.value();
    }
  }
  if (n.developer.empty()) {
    return absl::FailedPreconditionError(
        "cannot tell your developer name; set it with `developer = \"you\"` in ds.toml");
  }
  return n;
}

// Prints rows as columns padded to the widest cell, measured in terminal
// columns (not bytes), so non-ASCII names line up.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      line += i + 1 < rows[r].size() ? PadToWidth(rows[r][i], width[i] + 2) : rows[r][i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    StrAppend(&out, r == 0 ? Bold(line) : line, "\n");
  }
  std::cout << out;
}

absl::StatusOr<std::vector<v1::Branch>> AllBranches(Session& s, const std::string& project) {
  std::vector<v1::Branch> out;
  std::vector<std::string> projects;
  if (!project.empty()) {
    projects.push_back(project);
  } else {
    v1::ListProjectsRequest req;
    *req.mutable_workspace() = s.workspace;
    v1::ListProjectsResponse resp;
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    if (grpc::Status st = s.client.branches().ListProjects(&ctx, req, &resp); !st.ok()) {
      return FromRpc(st);
    }
    for (const v1::Project& p : resp.projects()) projects.push_back(p.id());
  }
  for (const std::string& p : projects) {
    v1::ListBranchesRequest req;
    *req.mutable_workspace() = s.workspace;
    req.set_project(p);
    v1::ListBranchesResponse resp;
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    if (grpc::Status st = s.client.branches().ListBranches(&ctx, req, &resp); !st.ok()) {
      return FromRpc(st);
    }
    for (const v1::Branch& b : resp.branches()) out.push_back(b);
  }
  return out;
}

// The branch a command is about: the positional name, else --target's
// stage branch, else (on a terminal) what `ask` returns.
absl::StatusOr<std::string> BranchName(Session& s, const Invocation& inv,
                                       const std::string& explicit_name) {
  if (!explicit_name.empty() && !inv.options.target.empty()) {
    return absl::InvalidArgumentError("give a branch name or --target, not both");
  }
  if (!explicit_name.empty()) return explicit_name;
  if (!inv.options.target.empty()) {
    absl::StatusOr<NamingConfig> n = LoadNaming(s);
    if (!n.ok()) return n.status();
    return common::BranchForStage(n->pattern, n->developer, inv.options.target);
  }
  return std::string();
}

}  // namespace ds::client
