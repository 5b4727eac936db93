#include "daemon/tasks/reset_sql.h"

#include <algorithm>
#include <set>

#include "common/strings.h"

namespace ds::daemon {
namespace {

// backend_type is NULL in rows of other roles' sessions (unless the role may
// read all statistics): those are client sessions too.
constexpr char kOtherSessions[] =
    "SELECT pid, coalesce(nullif(application_name, ''), '(no application_name)'), "
    "coalesce(usename::text, ''), usename = current_user "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND coalesce(backend_type, 'client backend') = 'client backend' ORDER BY pid";

}  // namespace

absl::StatusOr<std::vector<std::string>> OtherSessions(PgConnection& conn) {
  PgResult r = conn.Exec(kOtherSessions);
  if (!r.ok()) return conn.ErrorStatus(r, "listing the sessions on the target");
  std::map<std::string, int> groups;
  for (int i = 0; i < r.rows(); ++i) {
    std::string key(r.Get(i, 1));
    if (!r.GetBool(i, 3)) StrAppend(&key, " (role ", r.Get(i, 2), ")");
    ++groups[key];
  }
  std::vector<std::string> out;
  for (const auto& [name, n] : groups) out.push_back(StrCat(name, " × ", n));
  return out;
}

int TerminateReport::ended_total() const {
  int n = 0;
  for (const auto& [name, count] : ended) n += count;
  return n;
}

std::string TerminateReport::Summary() const {
  std::string out;
  if (ended.empty()) {
    out = "no other sessions to end";
  } else {
    std::vector<std::string> parts;
    for (const auto& [name, n] : ended) parts.push_back(StrCat(name, " × ", n));
    int total = ended_total();
    out = StrCat("ended ", total, total == 1 ? " session: " : " sessions: ",
                 Join(std::vector<std::string_view>(parts.begin(), parts.end()), ", "));
  }
  if (!not_ended.empty()) {
    StrAppend(&out, "; could not end ", not_ended.size(), ": ",
              Join(std::vector<std::string_view>(not_ended.begin(), not_ended.end()), ", "));
  }
  return out;
}

absl::StatusOr<TerminateReport> TerminateOtherSessions(PgConnection& conn) {
  PgResult r = conn.Exec(kOtherSessions);
  if (!r.ok()) return conn.ErrorStatus(r, "listing the sessions on the target");
  TerminateReport report;
  for (int i = 0; i < r.rows(); ++i) {
    std::string pid(r.Get(i, 0));
    std::string app(r.Get(i, 1));
    std::string who =
        StrCat("pid ", pid, " ", app, r.GetBool(i, 3) ? "" : StrCat(" (role ", r.Get(i, 2), ")"));
    // One statement per session: a refusal (another role's session) must
    // not stop the others from ending.
    PgResult t = conn.ExecParams("SELECT pg_terminate_backend($1::int, 5000)", {pid});
    if (!t.ok()) {
      if (conn.Broken()) return conn.ErrorStatus(t, "ending the other sessions");
      if (t.sqlstate() == "57014") return conn.ErrorStatus(t, "ending the other sessions");
      report.not_ended.push_back(StrCat(who, ": ", t.message()));
    } else if (!t.GetBool(0, 0)) {
      // false: gone already, or still there after 5 s (a warning says which).
      PgResult still = conn.ExecParams(
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND datname = current_database()",
          {pid});
      if (still.ok() && still.rows() > 0) {
        report.not_ended.push_back(StrCat(who, ": still running 5 s after it was told to end"));
      }
    } else {
      ++report.ended[app];
    }
  }
  return report;
}

absl::StatusOr<std::vector<std::string>> UserSchemas(PgConnection& conn) {
  PgResult r = conn.Exec(
      "SELECT n.nspname FROM pg_namespace n "
      "WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' "
      "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass "
      "AND d.objid = n.oid AND d.deptype = 'e') ORDER BY 1");
  if (!r.ok()) return conn.ErrorStatus(r, "listing the target's schemas");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

absl::StatusOr<SchemaChoice> ChooseSchemas(const std::vector<std::string>& schemas,
                                           const std::string& keep_setting,
                                           const std::string& migrations_schema) {
  std::set<std::string, std::less<>> keep;
  for (std::string_view item : SplitSkipEmpty(keep_setting, ',')) {
    item = TrimAsciiWhitespace(item);
    if (item.empty()) continue;
    if (item == "public" || item == migrations_schema) {
      return absl::InvalidArgumentError(
          StrCat("reset_keep_schemas lists ", item, ", which a reset must drop (",
                 item == "public" ? "the migrations re-create it"
                                  : "it holds the migrations tracking table",
                 "); remove it from reset_keep_schemas"));
    }
    keep.emplace(item);
  }
  SchemaChoice out;
  for (const std::string& s : schemas) (keep.contains(s) ? out.keep : out.drop).push_back(s);
  return out;
}

absl::Status DropSchemasAndRecreatePublic(PgConnection& conn, const std::vector<std::string>& drop,
                                          int lock_timeout_ms) {
  auto fail = [&](const PgResult& r, std::string_view doing) -> absl::Status {
    absl::Status s = conn.ErrorStatus(r, doing);
    conn.Exec("ROLLBACK");
    if (r.sqlstate() == "55P03") {
      return absl::FailedPreconditionError(
          StrCat(s.message(),
                 "; other sessions hold locks on the target (see the terminate "
                 "step): end them, then re-run the reset"));
    }
    if (r.sqlstate() == "42501") {
      return absl::PermissionDeniedError(
          StrCat(s.message(), "; drop it as its owner, or keep it with reset_keep_schemas"));
    }
    return s;
  };
  PgResult r = conn.Exec(StrCat("BEGIN; SET LOCAL lock_timeout = ", lock_timeout_ms));
  if (!r.ok()) return fail(r, "starting the drop");
  for (const std::string& schema : drop) {
    r = conn.Exec(StrCat("DROP SCHEMA ", QuoteIdent(schema), " CASCADE"));
    if (!r.ok()) return fail(r, StrCat("dropping schema ", schema));
  }
  // PostgreSQL 15's initdb state of public; before 15, PUBLIC could create
  // in it too. The owner is pg_database_owner only for a role that owns the
  // database (Neon's owner role does); another role keeps it itself.
  r = conn.Exec("SELECT pg_has_role('pg_database_owner', 'MEMBER')");
  bool database_owner = r.ok() && r.rows() == 1 && r.GetBool(0, 0);
  std::string create =
      conn.ServerVersion() >= 150000
          ? StrCat("CREATE SCHEMA public", database_owner ? " AUTHORIZATION pg_database_owner" : "",
                   "; GRANT USAGE ON SCHEMA public TO PUBLIC")
          : "CREATE SCHEMA public; GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC";
  StrAppend(&create, "; COMMENT ON SCHEMA public IS 'standard public schema'");
  r = conn.Exec(create);
  if (!r.ok()) return fail(r, "re-creating schema public");
  r = conn.Exec("COMMIT");
  if (!r.ok()) return fail(r, "committing the drop");
  return absl::OkStatus();
}

}  // namespace ds::daemon
