#include "daemon/providers/local/local_provider.h"

#include <libpq-fe.h>

#include <chrono>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "common/log.h"
#include "common/strings.h"
#include "daemon/pg/pg_pool.h"

namespace ds::daemon {
namespace {

constexpr const char* kMetaDatabase = "ds_meta";
constexpr const char* kMainBranch = "main";

// Timestamps as RFC 3339 in UTC, formatted by PostgreSQL.
constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string RandomId(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes(length, '\0');
  std::ifstream("/dev/urandom", std::ios::binary).read(bytes.data(), length);
  std::string out;
  for (char b : bytes) out.push_back(kAlphabet[static_cast<unsigned char>(b) % 36]);
  return out;
}

absl::Status NoSuchBranch(const std::string& name) {
  return absl::NotFoundError(
      StrCat("branch \"", name, "\" does not exist; `ds db branches` lists them"));
}

// The SCRAM verifier of a password, computed by libpq on the client side, so
// that the plain password never appears in SQL text (which PostgreSQL would
// write to its log if the statement failed).
absl::StatusOr<std::string> ScramVerifier(const std::string& conninfo, const char* role,
                                          const std::string& password) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why(TrimAsciiWhitespace(PQerrorMessage(conn)));
    PQfinish(conn);
    return absl::UnavailableError(StrCat("local PostgreSQL is unreachable: ", why));
  }
  char* encrypted = PQencryptPasswordConn(conn, password.c_str(), role, "scram-sha-256");
  std::string out = encrypted ? encrypted : "";
  if (encrypted) PQfreemem(encrypted);
  PQfinish(conn);
  if (out.empty()) return absl::InternalError("libpq could not compute a SCRAM verifier");
  return out;
}

// Turns a libpqxx exception into a Status the client can word.
absl::Status FromPqxx(const std::exception& e, std::string_view doing) {
  std::string what(TrimAsciiWhitespace(e.what()));
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return absl::UnavailableError(StrCat("local PostgreSQL is unreachable while ", doing, ": ",
                                         what));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    if (sql->sqlstate() == "53100") {
      return absl::ResourceExhaustedError(StrCat("the disk is full while ", doing,
                                                 "; nothing was changed (", what, ")"));
    }
  }
  return absl::InternalError(StrCat("local PostgreSQL failed while ", doing, ": ", what));
}

std::string PercentEncodePath(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

struct LocalProvider::MetaConnection {
  explicit MetaConnection(const std::string& conninfo) : conn(conninfo) {}
  pqxx::connection conn;
};

struct LocalProvider::Row {
  BranchInfo info;
  std::string database;
};

std::string DatabaseNameForBranch(const std::string& branch_name, const std::string& branch_id) {
  static const char* kReserved[] = {"postgres", "template0", "template1", kMetaDatabase};
  bool reserved = false;
  for (const char* r : kReserved) reserved |= branch_name == r;
  if (branch_name.size() <= 63 && !reserved && !branch_name.starts_with("ds_reset_")) {
    return branch_name;
  }
  // Cut at a UTF-8 character boundary, then make it unique with the id.
  size_t cut = std::min<size_t>(branch_name.size(), 40);
  while (cut > 0 && (static_cast<unsigned char>(branch_name[cut]) & 0xC0) == 0x80) --cut;
  return StrCat(branch_name.substr(0, cut), "_", branch_id);
}

LocalProvider::LocalProvider(LocalClusterOptions cluster_options, std::string project_name)
    : cluster_(std::move(cluster_options)), project_name_(std::move(project_name)) {}

LocalProvider::~LocalProvider() = default;

absl::Status LocalProvider::BootstrapLocked() {
  common::LogInfo("setting up the local project: owner role, main branch, metadata");
  try {
    pqxx::connection admin(cluster_.SuperuserConninfo("postgres"));
    pqxx::nontransaction n(admin);
    if (n.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", LocalCluster::kOwnerRole)
            .empty()) {
      absl::StatusOr<std::string> verifier = ScramVerifier(
          cluster_.SuperuserConninfo("postgres"), LocalCluster::kOwnerRole,
          cluster_.owner_password());
      if (!verifier.ok()) return verifier.status();
      n.exec0(StrCat("CREATE ROLE ", LocalCluster::kOwnerRole, " LOGIN CREATEDB PASSWORD ",
                     n.quote(*verifier)));
    }
    for (const char* db : {kMainBranch, kMetaDatabase}) {
      if (n.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", db).empty()) {
        n.exec0(StrCat("CREATE DATABASE ", n.quote_name(db),
                       db == kMetaDatabase ? "" : StrCat(" OWNER ", LocalCluster::kOwnerRole)));
      }
    }
    pqxx::connection meta(cluster_.SuperuserConninfo(kMetaDatabase));
    pqxx::work w(meta);
    w.exec0(
        "CREATE TABLE IF NOT EXISTS project ("
        " id text PRIMARY KEY, name text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now())");
    w.exec0(
        "CREATE TABLE IF NOT EXISTS branches ("
        " id text PRIMARY KEY,"
        " name text NOT NULL UNIQUE,"
        " database text NOT NULL UNIQUE,"
        " parent_id text REFERENCES branches(id) ON DELETE SET NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " created_by text NOT NULL DEFAULT '',"
        " protected boolean NOT NULL DEFAULT false,"
        " is_default boolean NOT NULL DEFAULT false,"
        " expires_at timestamptz,"
        " last_activity timestamptz)");
    if (w.exec("SELECT 1 FROM project").empty()) {
      w.exec_params0("INSERT INTO project (id, name) VALUES ($1, $2)",
                     StrCat("local-", RandomId(8)), project_name_);
    }
    w.exec_params0(
        "INSERT INTO branches (id, name, database, protected, is_default, created_by)"
        " VALUES ($1, $2, $2, true, true, 'ds') ON CONFLICT (name) DO NOTHING",
        StrCat("br-", RandomId(12)), kMainBranch);
    w.commit();
  } catch (const std::exception& e) {
    return FromPqxx(e, "setting up the local project");
  }
  return absl::OkStatus();
}

absl::Status LocalProvider::ReadyLocked() {
  absl::StatusOr<std::string> notice = cluster_.EnsureRunning();
  if (!notice.ok()) {
    meta_holder_.reset();
    return notice.status();
  }
  if (!notice->empty()) {
    notices_.push_back(*notice);
    meta_holder_.reset();  // a restarted server dropped our connection
    listed_.clear();
  }
  if (meta_holder_ && meta_holder_->conn.is_open()) return absl::OkStatus();
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      meta_holder_ = std::make_unique<MetaConnection>(cluster_.SuperuserConninfo(kMetaDatabase));
      pqxx::nontransaction n(meta_holder_->conn);
      pqxx::row p = n.exec1(StrCat("SELECT id, to_char(created_at AT TIME ZONE 'UTC', ", kIso,
                                   ") FROM project"));
      project_id_ = p[0].as<std::string>();
      project_created_at_ = p[1].as<std::string>();
      break;
    } catch (const std::exception& e) {
      meta_holder_.reset();
      if (attempt > 0) return FromPqxx(e, "opening the branch metadata");
      // First use (or an interrupted first use): create what is missing.
      if (absl::Status s = BootstrapLocked(); !s.ok()) return s;
    }
  }
  absl::StatusOr<std::vector<Row>> rows = LoadRowsLocked();
  return rows.status();
}

absl::StatusOr<std::vector<LocalProvider::Row>> LocalProvider::LoadRowsLocked() {
  std::vector<Row> rows;
  try {
    pqxx::nontransaction n(meta_holder_->conn);
    pqxx::result r = n.exec(StrCat(
        "SELECT b.id, b.name, b.database, coalesce(b.parent_id, ''), coalesce(p.name, ''),"
        " to_char(b.created_at AT TIME ZONE 'UTC', ", kIso, "), b.created_by,"
        " b.protected, b.is_default,"
        " coalesce(to_char(b.expires_at AT TIME ZONE 'UTC', ", kIso, "), ''),"
        " coalesce(to_char(greatest(b.last_activity,"
        "   (SELECT max(a.state_change) FROM pg_stat_activity a WHERE a.datname = b.database))"
        "   AT TIME ZONE 'UTC', ", kIso, "), ''),"
        " coalesce((SELECT pg_database_size(d.oid) FROM pg_database d"
        "   WHERE d.datname = b.database), -1)"
        " FROM branches b LEFT JOIN branches p ON p.id = b.parent_id"
        " ORDER BY b.created_at, b.name"));
    for (const pqxx::row& row : r) {
      Row out;
      out.info.id = row[0].as<std::string>();
      out.info.name = row[1].as<std::string>();
      out.database = row[2].as<std::string>();
      out.info.parent_id = row[3].as<std::string>();
      out.info.parent_name = row[4].as<std::string>();
      out.info.created_at = row[5].as<std::string>();
      out.info.created_by = row[6].as<std::string>();
      out.info.is_protected = row[7].as<bool>();
      out.info.is_default = row[8].as<bool>();
      out.info.expires_at = row[9].as<std::string>();
      out.info.last_activity = row[10].as<std::string>();
      out.info.size_bytes = row[11].as<int64_t>();
      out.info.project_id = project_id_;
      rows.push_back(std::move(out));
    }
  } catch (const std::exception& e) {
    meta_holder_.reset();
    return FromPqxx(e, "reading the branch list");
  }
  by_database_.clear();
  listed_.clear();
  for (const Row& r : rows) {
    by_database_.push_back({r.database, {r.info.id, r.info.name}});
    listed_.push_back(r.info);
  }
  listed_at_ = std::chrono::steady_clock::now();
  return rows;
}

absl::Status LocalProvider::CheckProjectLocked(const std::string& project_id) const {
  if (project_id.empty() || project_id == project_id_ || project_id == project_name_) {
    return absl::OkStatus();
  }
  return absl::NotFoundError(StrCat("project \"", project_id, "\" does not exist; the local "
                                    "provider has one project, \"", project_name_, "\" (",
                                    project_id_, ")"));
}

absl::Status LocalProvider::BusyErrorLocked(const std::string& database,
                                            const std::string& branch) {
  std::vector<std::string> sessions;
  try {
    pqxx::nontransaction n(meta_holder_->conn);
    // dsd's own idle job connections (pg_pool.h) never make a branch busy:
    // they are closed, and the caller's retry finds them gone.
    const std::string idle(kIdleApplicationName);
    n.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND application_name = $2 AND state = 'idle'",
        database, idle);
    pqxx::result r = n.exec_params(
        "SELECT pid, coalesce(nullif(application_name, ''), 'unnamed client'),"
        " coalesce(host(client_addr), 'local socket'),"
        " to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
        " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        " AND application_name <> $2 ORDER BY backend_start",
        database, idle);
    for (const pqxx::row& row : r) {
      sessions.push_back(StrCat(row[1].as<std::string>(), " from ", row[2].as<std::string>(),
                                " since ", row[3].as<std::string>(), " UTC (pid ",
                                row[0].as<std::string>(), ")"));
    }
  } catch (const std::exception& e) {
    return FromPqxx(e, "listing sessions");
  }
  if (sessions.empty()) return absl::OkStatus();
  std::vector<std::string_view> views(sessions.begin(), sessions.end());
  return absl::FailedPreconditionError(StrCat(
      "branch \"", branch, "\" is in use by ", sessions.size(),
      sessions.size() == 1 ? " session: " : " sessions: ", Join(views, "; "),
      ". Close them, or pass --force to terminate them"));
}

absl::Status LocalProvider::TerminateSessionsLocked(const std::string& database) {
  try {
    pqxx::nontransaction n(meta_holder_->conn);
    pqxx::result r = n.exec_params(
        "SELECT pg_terminate_backend(pid), pid, coalesce(application_name, '')"
        " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database);
    for (const pqxx::row& row : r) {
      common::LogWarning("--force: terminated session pid ", row[1].as<std::string>(), " (",
                         row[2].as<std::string>(), ") on database ", database);
    }
  } catch (const std::exception& e) {
    return FromPqxx(e, "terminating sessions");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalProvider::CreateDatabaseLocked(const std::string& database,
                                                                const std::string& template_db,
                                                                const std::string& parent_branch,
                                                                bool force) {
  // Terminated sessions take a moment to go away: retry for up to 5 s.
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      pqxx::nontransaction n(meta_holder_->conn);
      n.exec0(StrCat("CREATE DATABASE ", n.quote_name(database), " TEMPLATE ",
                     n.quote_name(template_db), " STRATEGY FILE_COPY OWNER ",
                     LocalCluster::kOwnerRole));
      return database;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55006") return FromPqxx(e, StrCat("copying branch \"", parent_branch, "\""));
      if (!force) {
        absl::Status busy = BusyErrorLocked(template_db, parent_branch);
        if (!busy.ok()) return busy;
      } else if (absl::Status s = TerminateSessionsLocked(template_db); !s.ok()) {
        return s;
      }
    } catch (const std::exception& e) {
      meta_holder_.reset();
      return FromPqxx(e, StrCat("copying branch \"", parent_branch, "\""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::FailedPreconditionError(StrCat("branch \"", parent_branch,
                                              "\" stayed busy for 5 s; try again"));
}

void LocalProvider::NotifyChanged() {
  std::function<void()> listener;
  {
    // Called with mu_ held by the mutating method; copy under it.
    listener = listener_;
  }
  if (listener) listener();
}

absl::StatusOr<std::vector<LocalProvider::Row>> LocalProvider::ReadyRowsLocked(
    const std::string& project_id) {
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  if (absl::Status s = CheckProjectLocked(project_id); !s.ok()) return s;
  return LoadRowsLocked();
}

const LocalProvider::Row* LocalProvider::FindRow(const std::vector<Row>& rows,
                                                 const std::string& name) {
  for (const Row& r : rows) {
    if (r.info.name == name) return &r;
  }
  return nullptr;
}

absl::StatusOr<std::vector<ProjectInfo>> LocalProvider::ListProjects() {
  std::lock_guard lock(mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  return std::vector<ProjectInfo>{{project_id_, project_name_, "local", project_created_at_}};
}

absl::StatusOr<std::vector<BranchInfo>> LocalProvider::ListBranches(const std::string& project_id) {
  std::lock_guard lock(mu_);
  // Branches change only through this provider, which reloads the list on
  // every change; what the cache can miss is sizes and activity, and a
  // couple of seconds' staleness there is worth answering without a query.
  if (!listed_.empty() && std::chrono::steady_clock::now() - listed_at_ < kListFreshFor) {
    if (absl::Status s = ReadyLocked(); !s.ok()) return s;
    if (absl::Status s = CheckProjectLocked(project_id); !s.ok()) return s;
    if (!listed_.empty()) return listed_;  // ReadyLocked may have dropped it
  }
  absl::StatusOr<std::vector<Row>> rows = ReadyRowsLocked(project_id);
  if (!rows.ok()) return rows.status();
  return listed_;
}

absl::StatusOr<BranchInfo> LocalProvider::CreateBranch(const std::string& project_id,
                                                       const std::string& name,
                                                       const CreateBranchOptions& options) {
  if (absl::Status s = ValidateBranchName(name); !s.ok()) return s;
  std::unique_lock lock(mu_);
  absl::StatusOr<std::vector<Row>> rows = ReadyRowsLocked(project_id);
  if (!rows.ok()) return rows.status();
  const Row* parent = nullptr;
  for (const Row& r : *rows) {
    if (r.info.name == name) {
      return absl::AlreadyExistsError(StrCat("branch \"", name, "\" already exists"));
    }
    if (options.parent.empty() ? r.info.is_default : r.info.name == options.parent) parent = &r;
  }
  if (!parent) {
    return absl::NotFoundError(StrCat("parent branch \"", options.parent,
                                      "\" does not exist; `ds db branches` lists them"));
  }
  const std::string id = StrCat("br-", RandomId(12));
  const std::string database = DatabaseNameForBranch(name, id);
  if (options.progress) {
    options.progress(StrCat("copying ", parent->info.name,
                            parent->info.size_bytes > 0
                                ? StrCat(" (", parent->info.size_bytes / (1024 * 1024), " MiB)")
                                : "",
                            " to ", name));
  }
  absl::StatusOr<std::string> created =
      CreateDatabaseLocked(database, parent->database, parent->info.name, options.force);
  if (!created.ok()) return created.status();
  try {
    pqxx::work w(meta_holder_->conn);
    w.exec_params0(
        "INSERT INTO branches (id, name, database, parent_id, created_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        id, name, database, parent->info.id, options.created_by);
    w.commit();
  } catch (const std::exception& e) {
    // No metadata without a database, and no database without metadata.
    try {
      pqxx::nontransaction n(meta_holder_->conn);
      n.exec0(StrCat("DROP DATABASE IF EXISTS ", n.quote_name(database)));
    } catch (const std::exception&) {
    }
    return FromPqxx(e, StrCat("recording branch \"", name, "\""));
  }
  common::LogInfo("created branch ", name, " (", id, ") from ", parent->info.name);
  rows = LoadRowsLocked();
  if (!rows.ok()) return rows.status();
  BranchInfo result;
  for (Row& r : *rows) {
    if (r.info.id == id) result = r.info;
  }
  NotifyChanged();
  return result;
}

absl::Status LocalProvider::DeleteBranch(const std::string& project_id, const std::string& name,
                                         bool force) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::vector<Row>> rows = ReadyRowsLocked(project_id);
  if (!rows.ok()) return rows.status();
  const Row* row = FindRow(*rows, name);
  if (!row) return NoSuchBranch(name);
  if (row->info.is_default) {
    return absl::PermissionDeniedError(
        StrCat("\"", name, "\" is the default branch; ds never deletes it"));
  }
  if (row->info.is_protected) {
    return absl::PermissionDeniedError(
        StrCat("branch \"", name, "\" is protected; ds never deletes protected branches"));
  }
  if (!force) {
    if (absl::Status busy = BusyErrorLocked(row->database, name); !busy.ok()) return busy;
  }
  // Sessions that were just terminated take a moment to go: retry for 5 s.
  for (int attempt = 0;; ++attempt) {
    try {
      pqxx::nontransaction n(meta_holder_->conn);
      n.exec0(StrCat("DROP DATABASE IF EXISTS ", n.quote_name(row->database),
                     force ? " WITH (FORCE)" : ""));
      n.exec_params0("DELETE FROM branches WHERE id = $1", row->info.id);
      break;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55006") return FromPqxx(e, StrCat("deleting branch \"", name, "\""));
      if (absl::Status busy = BusyErrorLocked(row->database, name); !busy.ok()) return busy;
      if (attempt == 50) {
        return absl::FailedPreconditionError(
            StrCat("branch \"", name, "\" stayed busy for 5 s; try again"));
      }
    } catch (const std::exception& e) {
      meta_holder_.reset();
      return FromPqxx(e, StrCat("deleting branch \"", name, "\""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  common::LogInfo("deleted branch ", name, " (", row->info.id, ")");
  (void)LoadRowsLocked();
  NotifyChanged();
  return absl::OkStatus();
}

absl::Status LocalProvider::ResetBranch(const std::string& project_id, const std::string& name,
                                        bool force) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::vector<Row>> rows = ReadyRowsLocked(project_id);
  if (!rows.ok()) return rows.status();
  const Row* row = FindRow(*rows, name);
  const Row* parent = nullptr;
  if (!row) return NoSuchBranch(name);
  if (row->info.is_default || row->info.is_protected) {
    return absl::PermissionDeniedError(StrCat("branch \"", name, "\" is ",
                                              row->info.is_default ? "the default branch"
                                                                   : "protected",
                                              "; ds never resets it"));
  }
  for (const Row& r : *rows) {
    if (r.info.id == row->info.parent_id) parent = &r;
  }
  if (!parent) {
    return absl::FailedPreconditionError(
        StrCat("branch \"", name, "\" has no parent to reset from"));
  }
  // Copy the parent first; only once that worked is the old data dropped,
  // so a failed copy leaves the branch as it was.
  const std::string fresh = StrCat("ds_reset_", row->info.id);
  absl::StatusOr<std::string> copied =
      CreateDatabaseLocked(fresh, parent->database, parent->info.name, force);
  if (!copied.ok()) return copied.status();
  try {
    pqxx::nontransaction n(meta_holder_->conn);
    if (!force) {
      if (absl::Status busy = BusyErrorLocked(row->database, name); !busy.ok()) {
        n.exec0(StrCat("DROP DATABASE ", n.quote_name(fresh)));
        return busy;
      }
    }
    n.exec0(StrCat("DROP DATABASE ", n.quote_name(row->database), force ? " WITH (FORCE)" : ""));
    n.exec0(StrCat("ALTER DATABASE ", n.quote_name(fresh), " RENAME TO ",
                   n.quote_name(row->database)));
  } catch (const std::exception& e) {
    return FromPqxx(e, StrCat("resetting branch \"", name, "\""));
  }
  common::LogInfo("reset branch ", name, " to the current data of ", parent->info.name);
  NotifyChanged();
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalProvider::ConnectionUri(const std::string& project_id,
                                                         const std::string& branch,
                                                         const std::string& database,
                                                         const std::string& role) {
  std::lock_guard lock(mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  if (absl::Status s = CheckProjectLocked(project_id); !s.ok()) return s;
  if (!role.empty() && role != LocalCluster::kOwnerRole) {
    return absl::NotFoundError(StrCat("role \"", role, "\" does not exist on local branches; "
                                      "every branch is owned by ", LocalCluster::kOwnerRole));
  }
  for (const auto& [db, who] : by_database_) {
    if (who.second == branch) {
      return StrCat("postgresql://", LocalCluster::kOwnerRole, ":", cluster_.owner_password(),
                    "@127.0.0.1:", cluster_.port(), "/",
                    PercentEncodePath(database.empty() ? db : database));
    }
  }
  return NoSuchBranch(branch);
}

absl::StatusOr<std::optional<BranchLocation>> LocalProvider::Resolve(
    const common::ConnInfo& conn) {
  // Decide from the address alone before starting anything: most strings
  // are not ours, and the host says so without reading a file.
  const bool our_host = conn.host == "127.0.0.1" || conn.host == "localhost" ||
                        conn.host == "::1" || conn.host == cluster_.socket_dir().string();
  if (!our_host) return std::nullopt;
  // The port in memory once the cluster ran; the file only before that.
  const int port = cluster_.port() ? cluster_.port() : cluster_.RecordedPort();
  if (port == 0 || conn.port != std::to_string(port)) return std::nullopt;
  std::lock_guard lock(mu_);
  if (by_database_.empty() || !meta_holder_) {
    if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  }
  for (const auto& [db, who] : by_database_) {
    if (db == conn.dbname) {
      return BranchLocation{"local", project_id_, project_name_, who.first, who.second};
    }
  }
  return absl::NotFoundError(StrCat("database \"", conn.dbname,
                                    "\" on the local cluster is not a ds branch"));
}

std::vector<std::string> LocalProvider::TakeNotices() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.swap(notices_);
  return out;
}

void LocalProvider::SetChangeListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

absl::Status LocalProvider::StopCluster() {
  std::lock_guard lock(mu_);
  meta_holder_.reset();
  by_database_.clear();
  return cluster_.Stop();
}

}  // namespace ds::daemon
