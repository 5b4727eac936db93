// `ds setup` and the branch commands: `ds db create-branch | delete-branch |
// list-projects | branches | set target-db | set source-db`.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/confirm.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "client/picker.h"
#include "client/session.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/strings.h"

namespace ds::client {
namespace {

template <typename Response>
void PrintNotices(const Response& resp) {
  for (const std::string& n : resp.notices()) std::cerr << "ds: note: " << n << "\n";
}

// One BranchService call with the slow deadline; prints the provider's
// notices when it succeeds.
template <typename Request, typename Response>
grpc::Status CallBranches(Session& s,
                          grpc::Status (v1::BranchService::Stub::*method)(grpc::ClientContext*,
                                                                          const Request&,
                                                                          Response*),
                          const Request& req, Response* resp) {
  grpc::ClientContext ctx;
  SlowDeadline(ctx);
  grpc::Status st = (s.client.branches().*method)(&ctx, req, resp);
  if (st.ok()) PrintNotices(*resp);
  return st;
}

std::string HumanSize(int64_t bytes) {
  if (bytes < 0) return "-";
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? StrCat(bytes, " B") : absl::StrFormat("%.1f %s", v, units[u]);
}

bool StdinIsTerminal() { return ::isatty(STDIN_FILENO) != 0; }

// Branch `name` as ListBranches reports it (of `project`, else the
// workspace's project); nullopt when there is none.
absl::StatusOr<std::optional<v1::Branch>> FindBranch(Session& s, const std::string& project,
                                                     const std::string& name) {
  v1::ListBranchesRequest req;
  *req.mutable_workspace() = s.workspace;
  req.set_project(project);
  v1::ListBranchesResponse resp;
  grpc::ClientContext ctx;
  SlowDeadline(ctx);
  if (grpc::Status st = s.client.branches().ListBranches(&ctx, req, &resp); !st.ok()) {
    return absl::FailedPreconditionError(st.error_message());
  }
  for (const v1::Branch& b : resp.branches()) {
    if (b.name() == name) return b;
  }
  return std::nullopt;
}

// The .env variables that point at `branch`: this workspace's, as
// "/w/.env (DB_CONNECTION_STRING)", and those of every other workspace dsd
// has served, as ".env of /other (DB_CONNECTION_STRING)" (what `ds db
// audit` knows, from dsd's cache; a dsd without it adds nothing).
absl::StatusOr<std::vector<std::string>> EnvFilesPointingAt(Session& s, const v1::Branch& branch) {
  v1::GetCurrentRequest req;
  *req.mutable_workspace() = s.workspace;
  v1::GetCurrentResponse current;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  if (grpc::Status st = s.client.workspace().GetCurrent(&ctx, req, &current); !st.ok()) {
    return absl::FailedPreconditionError(st.error_message());
  }
  std::vector<std::string> out;
  for (const v1::DatabaseTarget* t : {&current.target(), &current.source()}) {
    const v1::BranchRef& b = t->branch();
    if (t->resolved() && b.provider() == branch.provider() &&
        b.project_id() == branch.project_id() && b.branch_id() == branch.id()) {
      out.push_back(StrCat(current.env_file(), " (", t->variable(), ")"));
    }
  }
  v1::AuditRequest audit;
  *audit.mutable_workspace() = s.workspace;
  audit.set_project(branch.project_id());
  v1::AuditResponse report;
  grpc::ClientContext audit_ctx;
  audit_ctx.set_deadline(UnaryDeadline());
  if (!s.client.branches().Audit(&audit_ctx, audit, &report).ok()) return out;
  const std::string own = StrCat(s.workspace.workspace_dir(), " (");
  for (const v1::AuditBranch& a : report.branches()) {
    const v1::Branch& b = a.branch();
    if (b.provider() != branch.provider() || b.project_id() != branch.project_id() ||
        b.id() != branch.id()) {
      continue;
    }
    for (const std::string& by : a.targeted_by()) {
      if (!by.starts_with(own)) out.push_back(StrCat(".env of ", by));
    }
  }
  return out;
}

// Calls `call(allow_protected)`; when dsd wants a confirmation the request
// lacked (a protected or default branch), applies the confirmation rule and
// calls again with it. `action` is what is confirmed ("migrate it").
// Returns the last call's status, or the confirmation's refusal as `refused`.
grpc::Status WithConfirmation(const Invocation& inv, std::string_view action,
                              const std::function<grpc::Status(bool)>& call,
                              absl::Status* refused) {
  grpc::Status st = call(inv.options.yes);
  std::optional<std::string> reason = ConfirmationRefusal(st);
  if (!reason || inv.options.yes) return st;
  *refused = ConfirmActionOnTerminal({.action = std::string(action),
                                      .reason = *reason,
                                      .env_files = {},
                                      .stdin_is_tty = StdinIsTerminal(),
                                      .yes = false});
  if (!refused->ok()) return st;
  return call(true);
}

int SetDatabase(const Invocation& inv, v1::DatabaseRole role) {
  const char* what = role == v1::DATABASE_ROLE_TARGET ? "target-db" : "source-db";
  const bool previous = inv.options.name == "-";
  if (!inv.options.name.empty() && !previous) {
    return PrintError(StrCat("`ds db set ", what, "` takes `-` (the previous value) or --branch ",
                             "NAME, not \"", inv.options.name, "\""),
                      kExitUsage);
  }
  if (previous && (!inv.options.branch.empty() || !inv.options.target.empty())) {
    return PrintError("give `-` or a branch (--branch, --target), not both", kExitUsage);
  }
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<std::string> name = BranchName(*s, inv, inv.options.branch);
  if (!name.ok()) return ReportStatus(name.status());
  std::string project = inv.options.project;
  if (name->empty() && !previous) {
    if (!Interactive()) {
      return PrintError(StrCat("`ds db set ", what,
                               "` needs --branch NAME when not run on a "
                               "terminal"),
                        kExitUsage);
    }
    absl::StatusOr<std::vector<v1::Branch>> all = AllBranches(*s, project);
    if (!all.ok()) return ReportStatus(all.status());
    std::vector<PickerItem> items;
    size_t initial = 0;
    for (size_t i = 0; i < all->size(); ++i) {
      const v1::Branch& b = (*all)[i];
      bool current = role == v1::DATABASE_ROLE_TARGET ? b.is_target() : b.is_source();
      if (current) initial = i;
      items.push_back(
          {b.name(), StrCat(b.provider(), " · ", b.project_id(), current ? " · current" : "")});
    }
    std::optional<size_t> chosen = Pick(
        StrCat("Choose the ", what == std::string("target-db") ? "target" : "source", " database"),
        items, initial);
    if (!chosen) {
      std::cerr << "ds: aborted; .env was not changed\n";
      return kExitFailed;
    }
    *name = (*all)[*chosen].name();
    project = (*all)[*chosen].project_id();
  }
  v1::SetDatabaseRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_role(role);
  req.set_project(project);
  req.set_branch(*name);
  req.set_previous(previous);
  v1::SetDatabaseResponse resp;
  absl::Status refused;
  grpc::Status st = WithConfirmation(
      inv, "point .env at it",
      [&](bool allow) {
        req.set_allow_protected(allow);
        return CallBranches(*s, &v1::BranchService::Stub::SetDatabase, req, &resp);
      },
      &refused);
  if (!refused.ok()) return ReportUnconfirmed(refused, ".env was not changed");
  if (!st.ok()) return ReportRpcError(st);
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  std::cout << resp.variable() << " in " << resp.env_file() << " now points to "
            << (resp.branch().name().empty() ? std::string("a database no provider knows")
                                             : StrCat("branch ", resp.branch().name()))
            << "\n  " << resp.redacted_uri() << "\n"
            << "Restart your backend so it connects to the new database.\n";
  return kExitOk;
}

// Creates the branch (or finds it) and points .env at it; `ds setup` and
// `ds db create-branch` both end here.
int CreateAndSwitch(Session& s, const Invocation& inv, v1::CreateBranchRequest req) {
  // The streaming call, so that a long copy or Neon's operations show as
  // they happen: one live line on a terminal, plain lines otherwise (stdout,
  // like migrate's progress: stderr is for the one error line), nothing
  // extra with --json.
  v1::CreateBranchResponse resp;
  auto call = [&](bool allow) -> grpc::Status {
    req.set_allow_protected(allow);
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    std::unique_ptr<grpc::ClientReader<v1::CreateBranchEvent>> reader =
        s.client.branches().CreateBranchStream(&ctx, req);
    const bool live = !inv.options.json && StdoutIsTerminal();
    bool shown = false;
    v1::CreateBranchEvent ev;
    while (reader->Read(&ev)) {
      if (ev.has_result()) {
        resp = std::move(*ev.mutable_result());
      } else if (live) {
        std::cout << "\r\x1b[K" << ev.progress() << std::flush;
        shown = true;
      } else if (!inv.options.json) {
        std::cout << ev.progress() << "\n";
      }
    }
    if (shown) std::cout << "\r\x1b[K" << std::flush;
    return reader->Finish();
  };
  absl::Status refused;
  grpc::Status st = WithConfirmation(inv, "point .env at it", call, &refused);
  if (!refused.ok()) return ReportUnconfirmed(refused, ".env was not changed");
  if (!st.ok()) return ReportRpcError(st);
  PrintNotices(resp);
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  const v1::Branch& b = resp.branch();
  if (resp.existed()) {
    std::cout << "Branch " << b.name() << " already exists; switched " << resp.variable() << " in "
              << resp.env_file() << " to it\n";
  } else {
    std::cout << "Created branch " << b.name() << " from " << b.parent_name() << " ("
              << b.provider() << " project " << b.project_id() << ")\n"
              << resp.variable() << " in " << resp.env_file() << " points to it\n";
  }
  return kExitOk;
}

}  // namespace

int RunSetup(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<NamingConfig> n = LoadNaming(*s);
  if (!n.ok()) return ReportStatus(n.status());
  v1::CreateBranchRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_name(common::BranchForStage(n->pattern, n->developer, "local"));
  req.set_switch_env(true);
  req.set_created_by(n->developer);
  return CreateAndSwitch(*s, inv, req);
}

int RunCreateBranch(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<std::string> name = BranchName(*s, inv, inv.options.name);
  if (!name.ok()) return ReportStatus(name.status());
  if (name->empty()) {
    if (!Interactive()) {
      return PrintError("give the new branch a name: `ds db create-branch NAME`", kExitUsage);
    }
    std::optional<std::string> typed = Prompt("Name of the new branch: ");
    if (!typed || TrimAsciiWhitespace(*typed).empty()) {
      std::cerr << "ds: aborted; nothing was created\n";
      return kExitFailed;
    }
    *name = std::string(TrimAsciiWhitespace(*typed));
  }
  absl::StatusOr<NamingConfig> naming = LoadNaming(*s);
  v1::CreateBranchRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_project(inv.options.project);
  req.set_name(*name);
  req.set_parent(inv.options.parent);
  req.set_force(inv.options.force);
  req.set_switch_env(true);
  req.set_created_by(naming.ok() ? naming->developer : "");
  req.set_expires_in(inv.options.expires_in);
  return CreateAndSwitch(*s, inv, req);
}

int RunDeleteBranch(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<std::string> name = BranchName(*s, inv, inv.options.name);
  if (!name.ok()) return ReportStatus(name.status());
  std::string project = inv.options.project;
  if (name->empty()) {
    if (!Interactive()) {
      return PrintError("name the branch to delete: `ds db delete-branch NAME`", kExitUsage);
    }
    absl::StatusOr<std::vector<v1::Branch>> all = AllBranches(*s, project);
    if (!all.ok()) return ReportStatus(all.status());
    std::vector<v1::Branch> deletable;
    std::vector<PickerItem> items;
    for (const v1::Branch& b : *all) {
      if (b.is_default() || b.protected_()) continue;  // never offered
      deletable.push_back(b);
      items.push_back({b.name(), StrCat(b.project_id(), b.is_target() ? " · in .env" : "")});
    }
    if (items.empty()) {
      return PrintError(
          "there is no branch that may be deleted (main and protected branches "
          "never are)",
          kExitFailed);
    }
    std::optional<size_t> chosen = Pick("Delete which branch?", items);
    if (!chosen) {
      std::cerr << "ds: aborted; nothing was deleted\n";
      return kExitFailed;
    }
    *name = deletable[*chosen].name();
    project = deletable[*chosen].project_id();
  }
  // A branch dsd will refuse anyway (missing, default, protected) is not
  // worth a question: its answer says why.
  absl::StatusOr<std::optional<v1::Branch>> found = FindBranch(*s, project, *name);
  if (!found.ok()) return ReportStatus(found.status());
  if (*found && !(*found)->is_default() && !(*found)->protected_()) {
    absl::StatusOr<std::vector<std::string>> pointing = EnvFilesPointingAt(*s, **found);
    if (!pointing.ok()) return ReportStatus(pointing.status());
    if (absl::Status c =
            ConfirmActionOnTerminal({.action = StrCat("delete branch ", *name, " and all its data"),
                                     .reason = "",
                                     .env_files = *pointing,
                                     .stdin_is_tty = StdinIsTerminal(),
                                     .yes = inv.options.yes});
        !c.ok()) {
      return ReportUnconfirmed(c, "nothing was deleted");
    }
  }
  v1::DeleteBranchRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_project(project);
  req.set_name(*name);
  req.set_force(inv.options.force);
  v1::DeleteBranchResponse resp;
  if (grpc::Status st = CallBranches(*s, &v1::BranchService::Stub::DeleteBranch, req, &resp);
      !st.ok()) {
    return ReportRpcError(st);
  }
  std::cout << "Deleted branch " << *name << "\n";
  for (int i = 0; i < resp.dangling_variables_size(); ++i) {
    const bool source =
        i < resp.dangling_roles_size() && resp.dangling_roles(i) == v1::DATABASE_ROLE_SOURCE;
    std::cerr << "ds: warning: " << resp.dangling_variables(i)
              << " in .env still points to the deleted branch; run `"
              << common::SetDbCommand(source ? common::DbRole::kSource : common::DbRole::kTarget)
              << "`\n";
  }
  return kExitOk;
}

int RunListProjects(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  v1::ListProjectsRequest req;
  *req.mutable_workspace() = s->workspace;
  v1::ListProjectsResponse resp;
  if (grpc::Status st = CallBranches(*s, &v1::BranchService::Stub::ListProjects, req, &resp);
      !st.ok()) {
    return ReportRpcError(st);
  }
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "REGION", "ID", "CREATED"}};
  for (const v1::Project& p : resp.projects()) {
    rows.push_back({p.name(), p.region(), p.id(), p.created_at()});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunBranches(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  v1::ListBranchesRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_project(inv.options.project);
  v1::ListBranchesResponse resp;
  if (grpc::Status st = CallBranches(*s, &v1::BranchService::Stub::ListBranches, req, &resp);
      !st.ok()) {
    return ReportRpcError(st);
  }
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "PARENT", "CREATED", "SIZE", "PROTECTED", ".ENV"}};
  for (const v1::Branch& b : resp.branches()) {
    std::string env = b.is_target() && b.is_source() ? "target, source"
                      : b.is_target()                ? "target"
                      : b.is_source()                ? "source"
                                                     : "";
    rows.push_back({b.name() + (b.is_default() ? " (default)" : ""),
                    b.parent_name().empty() ? "-" : b.parent_name(), b.created_at(),
                    HumanSize(b.size_bytes()), b.protected_() ? "yes" : "no", env});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunDbHistory(const Invocation& inv) {
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  v1::ListDatabaseHistoryRequest req;
  *req.mutable_workspace() = s->workspace;
  v1::ListDatabaseHistoryResponse resp;
  grpc::ClientContext ctx;
  SlowDeadline(ctx);
  if (grpc::Status st = s->client.branches().ListDatabaseHistory(&ctx, req, &resp); !st.ok()) {
    return ReportRpcError(st);
  }
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  if (resp.entries().empty()) {
    std::cout << "ds has not changed the database variables in " << resp.env_file() << " yet\n";
    return kExitOk;
  }
  std::cout << "Values of the database variables in " << resp.env_file()
            << ", newest first (* = now):\n";
  std::vector<std::vector<std::string>> rows = {{"", "WHEN", "VARIABLE", "BRANCH", "DATABASE"}};
  for (const v1::DatabaseHistoryEntry& e : resp.entries()) {
    rows.push_back({e.current() ? "*" : "",
                    common::FormatUnixMillis(e.unix_ms(), "%Y-%m-%d %H:%M:%S"), e.variable(),
                    e.branch().branch_name().empty() ? "-" : e.branch().branch_name(),
                    e.redacted_uri()});
  }
  PrintTable(rows);
  std::cout << "`ds db set target-db -` (or source-db) switches back to the value before.\n";
  return kExitOk;
}

int RunSetTargetDb(const Invocation& inv) { return SetDatabase(inv, v1::DATABASE_ROLE_TARGET); }
int RunSetSourceDb(const Invocation& inv) { return SetDatabase(inv, v1::DATABASE_ROLE_SOURCE); }

}  // namespace ds::client
