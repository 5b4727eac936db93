#include "daemon/providers/local/branch_roles.h"

#include <vector>

#include "common/atomic_file.h"
#include "common/paths.h"
#include "common/strings.h"
#include "daemon/providers/local/local_cluster.h"

namespace ds::daemon {
namespace {

bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status Failed(PgConnection& conn, const PgResult& r, std::string_view doing) {
  return conn.ErrorStatus(r, doing);
}

}  // namespace

std::string RoleNameForBranch(std::string_view branch_name, std::string_view branch_id) {
  std::string out = "ds_";
  size_t taken = 0;
  for (char c : branch_name) {
    if (taken == 32) break;
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    // One "_" for a run of others, so "a - b" reads "a_b", not "a___b".
    if (!LowerAlnum(lower)) {
      if (out.back() == '_') continue;
      lower = '_';
    }
    out.push_back(lower);
    ++taken;
  }
  if (out.back() != '_') out.push_back('_');
  // Every id starts "br-" (local_provider.cc): that part tells nothing apart.
  if (branch_id.starts_with("br-")) branch_id.remove_prefix(3);
  size_t id_chars = 0;
  for (char c : branch_id) {
    if (id_chars == 20) break;
    if (LowerAlnum(c)) {
      out.push_back(c);
      ++id_chars;
    }
  }
  if (id_chars == 0) out += "x";  // never a trailing "_" alone
  return out;
}

absl::StatusOr<std::string> RolePasswords::LoadLocked(const std::string& role) {
  if (auto it = cache_.find(role); it != cache_.end()) return it->second;
  absl::StatusOr<std::string> text = common::ReadFile(dir_ / role);
  if (!text.ok()) return text.status();
  std::string password(TrimAsciiWhitespace(*text));
  cache_[role] = password;
  return password;
}

absl::StatusOr<std::string> RolePasswords::Get(const std::string& role) {
  std::lock_guard lock(mu_);
  return LoadLocked(role);
}

absl::StatusOr<std::string> RolePasswords::GetOrCreate(const std::string& role) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::string> known = LoadLocked(role);
  if (known.ok() || !absl::IsNotFound(known.status())) return known;
  if (absl::Status s = common::EnsurePrivateDir(dir_); !s.ok()) return s;
  std::string password = GeneratePassword();
  if (absl::Status s = common::ReplaceFileAtomically(dir_ / role, password + "\n", 0600); !s.ok()) {
    return s;
  }
  cache_[role] = password;
  return password;
}

void RolePasswords::Remove(const std::string& role) {
  std::lock_guard lock(mu_);
  cache_.erase(role);
  std::error_code ec;
  std::filesystem::remove(dir_ / role, ec);
}

absl::Status EnsureLoginRole(PgConnection& admin, const std::string& role,
                             const std::string& password) {
  const std::string doing = StrCat("creating role ", role);
  absl::StatusOr<std::string> verifier = admin.ScramVerifier(role, password);
  if (!verifier.ok()) return verifier.status();
  const std::string attributes =
      StrCat(" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ",
             admin.QuoteLiteral(*verifier));
  PgResult r = admin.ExecParams("SELECT 1 FROM pg_roles WHERE rolname = $1", {role});
  if (!r.ok()) return Failed(admin, r, doing);
  if (r.rows() == 0) {
    r = admin.Exec(StrCat("CREATE ROLE ", QuoteIdent(role), attributes));
    if (r.ok()) return absl::OkStatus();
    if (r.sqlstate() != "42710") return Failed(admin, r, doing);  // made meanwhile: set it
  }
  r = admin.Exec(StrCat("ALTER ROLE ", QuoteIdent(role), attributes));
  if (!r.ok()) return Failed(admin, r, doing);
  return absl::OkStatus();
}

absl::Status HandOverDatabase(PgConnection& db, const std::string& from_role,
                              const std::string& to_role) {
  const std::string doing = StrCat("giving database ", db.Database(), " to role ", to_role);
  auto fail = [&](const PgResult& r) {
    absl::Status s = Failed(db, r, doing);
    (void)db.Exec("ROLLBACK");
    return s;
  };
  PgResult r = db.Exec("BEGIN");
  if (!r.ok()) return fail(r);
  if (!from_role.empty() && from_role != to_role) {
    r = db.ExecParams("SELECT 1 FROM pg_roles WHERE rolname = $1", {from_role});
    if (!r.ok()) return fail(r);
    if (r.rows() > 0) {
      // REASSIGN OWNED also moves the databases the role owns (shared
      // objects): note them and give them back, so only this database's
      // objects change hands.
      r = db.ExecParams(
          "SELECT d.datname FROM pg_database d JOIN pg_roles o ON o.oid = d.datdba"
          " WHERE o.rolname = $1 AND d.datname <> current_database()",
          {from_role});
      if (!r.ok()) return fail(r);
      std::vector<std::string> owned;
      for (int i = 0; i < r.rows(); ++i) owned.emplace_back(r.Get(i, 0));
      r = db.Exec(StrCat("REASSIGN OWNED BY ", QuoteIdent(from_role), " TO ", QuoteIdent(to_role)));
      if (!r.ok()) return fail(r);
      for (const std::string& other : owned) {
        r = db.Exec(
            StrCat("ALTER DATABASE ", QuoteIdent(other), " OWNER TO ", QuoteIdent(from_role)));
        if (!r.ok()) return fail(r);
      }
    }
  }
  // A user may have dropped public; then there is nothing to give.
  r = db.Exec("SELECT 1 FROM pg_namespace WHERE nspname = 'public'");
  if (!r.ok()) return fail(r);
  std::string sql;
  if (r.rows() > 0) sql = StrCat("ALTER SCHEMA public OWNER TO ", QuoteIdent(to_role), "; ");
  // The database itself is dsd's: its owner could drop or rename it, and
  // only dsd may, so that the branch list and the cluster never disagree.
  const std::string database = QuoteIdent(db.Database());
  StrAppend(&sql, "ALTER DATABASE ", database, " OWNER TO CURRENT_USER; REVOKE ALL ON DATABASE ",
            database, " FROM PUBLIC; GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ", database,
            " TO ", QuoteIdent(to_role));
  r = db.Exec(sql);
  if (!r.ok()) return fail(r);
  r = db.Exec("COMMIT");
  if (!r.ok()) return fail(r);
  return absl::OkStatus();
}

absl::StatusOr<std::string> DropBranchRole(PgConnection& admin, const std::string& role) {
  PgResult r = admin.Exec(StrCat("DROP ROLE IF EXISTS ", QuoteIdent(role)));
  if (r.ok()) return std::string();
  if (r.sqlstate() != "2BP01") return Failed(admin, r, StrCat("dropping role ", role));
  // Objects or privileges elsewhere still name it (something a user
  // granted it by hand): keep the role, but not its login.
  const std::string why = admin.ErrorText(r);
  r = admin.Exec(StrCat("ALTER ROLE ", QuoteIdent(role), " NOLOGIN PASSWORD NULL"));
  if (!r.ok()) return Failed(admin, r, StrCat("disabling role ", role));
  return StrCat("role ", role, " was kept, without its login, because ", why);
}

}  // namespace ds::daemon
