#include "daemon/tasks/org_checks.h"

#include "common/strings.h"
#include "daemon/tasks/reset_sql.h"
#include "daemon/workspace/workspace.h"

namespace ds::daemon {
namespace {

absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const ResolvedDatabase& db,
                                                      std::string_view role,
                                                      const std::string& application_name) {
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Open(db.conninfo, application_name);
  if (!conn.ok()) {
    return absl::FailedPreconditionError(
        StrCat("cannot connect to the ", role, " (", db.origin, "): ", conn.status().message()));
  }
  return conn;
}

// Two strings may name one server differently (a socket and 127.0.0.1, a
// host alias): the server's own identity settles it. Neon branches of one
// project share a system identifier, so Neon endpoints are compared by id
// instead (CheckTargetIsNotSource). Skipped when the role may not read it.
absl::Status CheckSameServer(PgConnection& target, PgConnection& source,
                             const OrgEndpoints& endpoints) {
  if (!endpoints.target.info.neon_endpoint_id.empty() ||
      !endpoints.source.info.neon_endpoint_id.empty()) {
    return absl::OkStatus();
  }
  constexpr char kIdentity[] =
      "SELECT (SELECT system_identifier FROM pg_control_system())::text, current_database()";
  PgResult t = target.Exec(kIdentity);
  PgResult s = source.Exec(kIdentity);
  if (!t.ok() || !s.ok() || t.rows() != 1 || s.rows() != 1) return absl::OkStatus();
  if (t.Get(0, 0) == s.Get(0, 0) && t.Get(0, 1) == s.Get(0, 1)) {
    return absl::FailedPreconditionError(
        StrCat("the target is the source (the same server and database ", t.Get(0, 1),
               ", reached two ways): ", endpoints.target.redacted,
               "; point the target at your own branch or the source at the database to copy from"));
  }
  return absl::OkStatus();
}

absl::Status CheckRootRow(PgConnection& source, const OrgRoot& root,
                          const OrgEndpoints& endpoints) {
  PgResult r = source.ExecParams(
      StrCat("SELECT EXISTS (SELECT 1 FROM ", QuoteIdent(root.schema), ".", QuoteIdent(root.table),
             " WHERE ", QuoteIdent(root.column), "::text = $1)"),
      {endpoints.organization});
  if (!r.ok()) {
    if (r.sqlstate() == "42P01" || r.sqlstate() == "42703") {
      return absl::FailedPreconditionError(
          StrCat("the source (", endpoints.source.origin, ") has no ", root.Qualified(), ".",
                 root.column, ": is it the database to copy organizations from?"));
    }
    return source.ErrorStatus(r, "looking up the organization in the source");
  }
  if (!r.GetBool(0, 0)) {
    return absl::NotFoundError(StrCat("organization ", endpoints.organization,
                                      " does not exist in the source (", root.Qualified(), " in ",
                                      endpoints.source.redacted,
                                      "); check -o or the `organization` setting"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string OrgRoot::Qualified() const { return StrCat(schema, ".", table); }

absl::StatusOr<OrgRoot> OrgRootFromConfig(const common::Config& config) {
  OrgRoot root;
  std::string_view table = config.Get("org_root_table");
  std::vector<std::string_view> parts = Split(table, '.');
  if (table.empty() || parts.size() > 2 || parts.front().empty() || parts.back().empty()) {
    return absl::InvalidArgumentError(StrCat("org_root_table must be schema.table or table, got '",
                                             table, "' (",
                                             config.OriginOf("org_root_table").location, ")"));
  }
  if (parts.size() == 2) root.schema = std::string(parts[0]);
  root.table = std::string(parts.back());
  root.column = config.Get("org_root_column");
  if (root.column.empty()) return absl::InvalidArgumentError("org_root_column must not be empty");
  return root;
}

absl::StatusOr<CheckedEndpoints> CheckOrgEndpoints(const OrgEndpoints& endpoints,
                                                   const OrgRoot& root,
                                                   const std::string& application_name,
                                                   v1::ResetPlan* plan) {
  plan->set_target(endpoints.target.redacted);
  if (endpoints.target.branch)
    *plan->mutable_target_branch() = ToBranchRef(*endpoints.target.branch);
  plan->set_source(endpoints.source.redacted);
  if (endpoints.source.branch)
    *plan->mutable_source_branch() = ToBranchRef(*endpoints.source.branch);
  plan->set_organization(endpoints.organization);
  plan->set_confirm_name(endpoints.target.ConfirmName());
  if (!endpoints.target.branch) {
    plan->add_warnings(StrCat("no provider knows the target (", endpoints.target.unresolved_reason,
                              "): ds cannot tell whether it is a protected branch"));
  }

  if (absl::Status s = CheckTargetIsNotSource(endpoints.target, endpoints.source); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTargetWritable(endpoints.target, endpoints.config); !s.ok()) return s;
  CheckedEndpoints out;
  absl::StatusOr<std::unique_ptr<PgConnection>> target =
      Connect(endpoints.target, "target", application_name);
  if (!target.ok()) return target.status();
  out.target = std::move(*target);
  absl::StatusOr<std::unique_ptr<PgConnection>> source =
      Connect(endpoints.source, "source", application_name);
  if (!source.ok()) return source.status();
  out.source = std::move(*source);
  if (absl::Status s = CheckSameServer(*out.target, *out.source, endpoints); !s.ok()) return s;
  if (absl::Status s = CheckRootRow(*out.source, root, endpoints); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> sessions = OtherSessions(*out.target);
  if (!sessions.ok()) return sessions.status();
  for (const std::string& s : *sessions) plan->add_target_sessions(s);
  return out;
}

}  // namespace ds::daemon
