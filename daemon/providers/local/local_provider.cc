#include "daemon/providers/local/local_provider.h"

#include <sys/random.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "common/strings.h"
#include "daemon/pg/pg_pool.h"

namespace ds::daemon {
namespace {

constexpr const char* kMetaDatabase = "ds_meta";
constexpr const char* kMainBranch = "main";
// The one role every branch had before each got its own (see the header).
constexpr const char* kRetiredOwnerRole = "ds_owner";
// Idle metadata connections kept: one per concurrent write or listing is
// plenty; more only hold backends.
constexpr size_t kMaxIdleConnections = 4;

// Timestamps as RFC 3339 in UTC, formatted by PostgreSQL.
constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string RandomId(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes(length, '\0');
  // getrandom opens no fd (an ifstream's would lack close-on-exec).
  size_t got = 0;
  while (got < length) {
    ssize_t n = ::getrandom(bytes.data() + got, length - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string out;
  for (char b : bytes) out.push_back(kAlphabet[static_cast<unsigned char>(b) % 36]);
  return out;
}

absl::Status NoSuchBranch(const std::string& name) {
  return absl::NotFoundError(
      StrCat("branch \"", name, "\" does not exist; `ds db branches` lists them"));
}

// A failed statement as a Status the client can word.
absl::Status FromPg(const PgConnection& conn, const PgResult& r, std::string_view doing) {
  const std::string what = conn.ErrorText(r);
  if (conn.Broken()) {
    return absl::UnavailableError(
        StrCat("local PostgreSQL is unreachable while ", doing, ": ", what));
  }
  if (r.sqlstate() == "53100") {
    return absl::ResourceExhaustedError(
        StrCat("the disk is full while ", doing, "; nothing was changed (", what, ")"));
  }
  return absl::InternalError(StrCat("local PostgreSQL failed while ", doing, ": ", what));
}

}  // namespace

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

// --- snapshot ---------------------------------------------------------------

const LocalProvider::Row* LocalProvider::Snapshot::Find(std::string_view name) const {
  for (const Row& r : rows) {
    if (r.info.name == name) return &r;
  }
  return nullptr;
}

const LocalProvider::Row* LocalProvider::Snapshot::FindId(std::string_view id) const {
  for (const Row& r : rows) {
    if (r.info.id == id) return &r;
  }
  return nullptr;
}

const LocalProvider::Row* LocalProvider::Snapshot::Default() const {
  for (const Row& r : rows) {
    if (r.info.is_default) return &r;
  }
  return nullptr;
}

LocalProvider::LocalProvider(LocalClusterOptions cluster_options, std::string project_name)
    : cluster_(std::move(cluster_options)),
      project_name_(std::move(project_name)),
      passwords_(cluster_.data_dir() / "pg.roles") {}

LocalProvider::~LocalProvider() {
  if (first_loader_.joinable()) first_loader_.join();
}

LocalProvider::SnapshotPtr LocalProvider::Current() const {
  std::lock_guard lock(snapshot_mu_);
  return snapshot_;
}

void LocalProvider::Install(SnapshotPtr next) {
  SnapshotPtr old;  // freed outside the lock
  {
    std::lock_guard lock(snapshot_mu_);
    old = std::move(snapshot_);
    snapshot_ = std::move(next);
  }
  snapshot_cv_.notify_all();
}

// --- metadata connections ---------------------------------------------------

LocalProvider::Lease::~Lease() {
  if (owner_ && conn_) owner_->GiveBack(std::move(conn_), generation_);
}

absl::StatusOr<LocalProvider::Lease> LocalProvider::Connection() {
  uint64_t generation = 0;
  for (;;) {
    std::unique_ptr<PgConnection> conn;
    {
      std::lock_guard lock(idle_mu_);
      generation = generation_;
      if (idle_.empty()) break;
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    // PostgreSQL restarted behind dsd's back (pg_ctl restart, a backend
    // terminated by hand): its idle sessions are gone. Never hand one out.
    if (conn->LooksAlive()) return Lease(this, std::move(conn), generation);
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> opened =
      PgConnection::Open(cluster_.SuperuserConninfo(kMetaDatabase), "dsd");
  if (!opened.ok()) return opened.status();
  return Lease(this, std::move(*opened), generation);
}

void LocalProvider::GiveBack(std::unique_ptr<PgConnection> conn, uint64_t generation) {
  // A connection not kept closes when `conn` goes, after the lock.
  if (conn->Broken() || conn->InTransaction()) return;
  std::lock_guard lock(idle_mu_);
  if (generation != generation_ || idle_.size() >= kMaxIdleConnections) return;
  idle_.push_back(std::move(conn));
}

void LocalProvider::DropConnections() {
  std::vector<std::unique_ptr<PgConnection>> closing;
  {
    std::lock_guard lock(idle_mu_);
    closing.swap(idle_);
    ++generation_;
  }
}

// --- loading ----------------------------------------------------------------

absl::Status LocalProvider::Bootstrap() {
  absl::StatusOr<std::unique_ptr<PgConnection>> admin =
      PgConnection::Open(cluster_.SuperuserConninfo("postgres"), "dsd");
  if (!admin.ok()) return admin.status();
  PgConnection& a = **admin;
  const std::string doing = "setting up the local project";
  for (const char* db : {kMainBranch, kMetaDatabase}) {
    PgResult r = a.ExecParams("SELECT 1 FROM pg_database WHERE datname = $1", {db});
    if (!r.ok()) return FromPg(a, r, doing);
    if (r.rows() > 0) continue;
    common::LogInfo("setting up the local project: creating database ", db);
    // Owned by the superuser; main gets its role in SecureBranches.
    r = a.Exec(StrCat("CREATE DATABASE ", QuoteIdent(db)));
    if (!r.ok()) return FromPg(a, r, doing);
  }
  // The metadata is dsd's alone: no branch role may even connect to it.
  PgResult r = a.Exec(StrCat("REVOKE ALL ON DATABASE ", kMetaDatabase, " FROM PUBLIC"));
  if (!r.ok()) return FromPg(a, r, doing);
  absl::StatusOr<std::unique_ptr<PgConnection>> meta =
      PgConnection::Open(cluster_.SuperuserConninfo(kMetaDatabase), "dsd");
  if (!meta.ok()) return meta.status();
  PgConnection& m = **meta;
  // One transaction: a half-made metadata schema is never seen.
  for (const auto& [sql, params] :
       std::vector<std::pair<std::string, std::vector<std::optional<std::string>>>>{
           {"BEGIN", {}},
           {"CREATE TABLE IF NOT EXISTS project ("
            " id text PRIMARY KEY, name text NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())",
            {}},
           {"CREATE TABLE IF NOT EXISTS branches ("
            " id text PRIMARY KEY,"
            " name text NOT NULL UNIQUE,"
            " database text NOT NULL UNIQUE,"
            " parent_id text REFERENCES branches(id) ON DELETE SET NULL,"
            " created_at timestamptz NOT NULL DEFAULT now(),"
            " created_by text NOT NULL DEFAULT '',"
            " protected boolean NOT NULL DEFAULT false,"
            " is_default boolean NOT NULL DEFAULT false,"
            " expires_at timestamptz,"
            " last_activity timestamptz)",
            {}},
           // NULL until the branch's role owns its database (SecureBranches).
           {"ALTER TABLE branches ADD COLUMN IF NOT EXISTS role text", {}},
           {"INSERT INTO project (id, name) SELECT $1, $2"
            " WHERE NOT EXISTS (SELECT 1 FROM project)",
            {StrCat("local-", RandomId(8)), project_name_}},
           {"INSERT INTO branches (id, name, database, protected, is_default, created_by)"
            " VALUES ($1, $2, $2, true, true, 'ds') ON CONFLICT (name) DO NOTHING",
            {StrCat("br-", RandomId(12)), kMainBranch}},
           {"COMMIT", {}}}) {
    r = params.empty() ? m.Exec(sql) : m.ExecParams(sql, params);
    if (!r.ok()) return FromPg(m, r, doing);  // closing the connection rolls back
  }
  return absl::OkStatus();
}

absl::Status LocalProvider::SampleActivity(PgConnection& c) {
  PgResult r = c.Exec(
      "SELECT b.id, d.xact_commit + d.xact_rollback, d.numbackends"
      " FROM branches b JOIN pg_stat_database d ON d.datname = b.database");
  if (!r.ok()) return FromPg(c, r, "sampling branch activity");
  std::map<std::string, int64_t> seen;
  std::string used;  // a text[] literal of branch ids (br-<alphanumerics>)
  for (int i = 0; i < r.rows(); ++i) {
    const std::string id(r.Get(i, 0));
    const int64_t transactions = r.GetInt(i, 1, 0);
    auto before = transactions_seen_.find(id);
    const bool moved = before != transactions_seen_.end() && before->second != transactions;
    if (moved || r.GetInt(i, 2, 0) > 0) StrAppend(&used, used.empty() ? "" : ",", id);
    seen[id] = transactions;
  }
  transactions_seen_ = std::move(seen);
  if (used.empty()) return absl::OkStatus();
  PgResult u = c.ExecParams("UPDATE branches SET last_activity = now() WHERE id = ANY($1::text[])",
                            {StrCat("{", used, "}")});
  if (!u.ok()) return FromPg(c, u, "recording branch activity");
  return absl::OkStatus();
}

absl::Status LocalProvider::GiveToRole(const std::string& database, const std::string& from_role,
                                       const std::string& role) {
  absl::StatusOr<std::string> password = passwords_.GetOrCreate(role);
  if (!password.ok()) return password.status();
  {
    absl::StatusOr<Lease> conn = Connection();
    if (!conn.ok()) return conn.status();
    if (absl::Status s = EnsureLoginRole(**conn, role, *password); !s.ok()) return s;
  }
  // A connection of its own: the objects to hand over are in `database`.
  // It closes before anyone copies, renames or drops that database (each
  // waits a few seconds for a closing session to go).
  absl::StatusOr<std::unique_ptr<PgConnection>> in_db =
      PgConnection::Open(cluster_.SuperuserConninfo(database), "dsd");
  if (!in_db.ok()) return in_db.status();
  return HandOverDatabase(**in_db, from_role, role);
}

void LocalProvider::DropRole(const std::string& role) {
  if (role.empty()) return;
  absl::StatusOr<Lease> conn = Connection();
  if (!conn.ok()) {
    common::LogWarning("role ", role, " was left behind: ", conn.status().message());
    return;
  }
  absl::StatusOr<std::string> notice = DropBranchRole(**conn, role);
  if (!notice.ok()) {
    common::LogWarning("role ", role, " was left behind: ", notice.status().message());
    return;
  }
  if (!notice->empty()) common::LogWarning(*notice);
  passwords_.Remove(role);
}

absl::Status LocalProvider::SecureBranches() {
  absl::StatusOr<Lease> conn = Connection();
  if (!conn.ok()) return conn.status();
  PgConnection& c = **conn;
  const std::string doing = "giving each local branch its own role";
  PgResult r = c.ExecParams("SELECT 1 FROM pg_roles WHERE rolname = $1", {kRetiredOwnerRole});
  if (!r.ok()) return FromPg(c, r, doing);
  const bool retire_owner = r.rows() > 0;
  if (retire_owner) {
    // Its password is in every .env this cluster ever wrote: stop it first,
    // and end the sessions that logged in with it.
    common::LogWarning("retiring the shared role ", kRetiredOwnerRole,
                       ": every local branch gets a role of its own");
    r = c.Exec(StrCat("ALTER ROLE ", kRetiredOwnerRole, " NOLOGIN PASSWORD NULL"));
    if (!r.ok()) return FromPg(c, r, doing);
    r = c.ExecParams(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1",
        {kRetiredOwnerRole});
    if (!r.ok()) return FromPg(c, r, doing);
  }
  r = c.Exec(
      "SELECT b.id, b.name, b.database, d.oid IS NOT NULL FROM branches b"
      " LEFT JOIN pg_database d ON d.datname = b.database WHERE b.role IS NULL"
      " ORDER BY b.created_at");
  if (!r.ok()) return FromPg(c, r, doing);
  for (int i = 0; i < r.rows(); ++i) {
    const std::string id(r.Get(i, 0));
    const std::string name(r.Get(i, 1));
    const std::string database(r.Get(i, 2));
    if (!r.GetBool(i, 3)) {
      // Dropped behind ds's back: nothing to give, and no reason to keep
      // every other branch from loading.
      common::LogWarning("branch ", name, " has no database ", database, "; it gets no role");
      continue;
    }
    // Derived, not random: an upgrade interrupted after this point makes
    // the same name next time.
    const std::string role = RoleNameForBranch(name, id);
    if (absl::Status s = GiveToRole(database, retire_owner ? kRetiredOwnerRole : "", role);
        !s.ok()) {
      return s;
    }
    PgResult set = c.ExecParams("UPDATE branches SET role = $1 WHERE id = $2", {role, id});
    if (!set.ok()) return FromPg(c, set, doing);
    common::LogInfo("branch ", name, " now has its own role, ", role);
  }
  if (!retire_owner) return absl::OkStatus();
  // What ds_owner still holds outside the branches (databases a user made
  // with it, grants) goes to the superuser, so the role can be dropped.
  r = c.Exec(
      "SELECT datname FROM pg_database WHERE datallowconn AND datname <> 'template0' ORDER BY 1");
  if (!r.ok()) return FromPg(c, r, doing);
  for (int i = 0; i < r.rows(); ++i) {
    const std::string database(r.Get(i, 0));
    absl::StatusOr<std::unique_ptr<PgConnection>> db =
        PgConnection::Open(cluster_.SuperuserConninfo(database), "dsd");
    if (!db.ok()) return db.status();
    PgResult clear =
        (*db)->Exec(StrCat("REASSIGN OWNED BY ", kRetiredOwnerRole, " TO ",
                           LocalCluster::kSuperuser, "; DROP OWNED BY ", kRetiredOwnerRole));
    if (!clear.ok()) return FromPg(**db, clear, doing);
  }
  r = c.Exec(StrCat("DROP ROLE ", kRetiredOwnerRole));
  if (!r.ok()) return FromPg(c, r, doing);
  std::error_code ec;
  std::filesystem::remove(cluster_.data_dir() / "pg.owner", ec);
  common::LogInfo("dropped the shared role ", kRetiredOwnerRole,
                  "; workspaces point at their branch again with `ds db set target-db --branch`");
  return absl::OkStatus();
}

absl::StatusOr<LocalProvider::SnapshotPtr> LocalProvider::Reload() {
  std::lock_guard lock(load_mu_);
  absl::StatusOr<Lease> conn = Connection();
  if (!conn.ok()) return conn.status();
  PgConnection& c = **conn;
  auto next = std::make_shared<Snapshot>();
  PgResult p =
      c.Exec(StrCat("SELECT id, to_char(created_at AT TIME ZONE 'UTC', ", kIso, ") FROM project"));
  if (!p.ok()) return FromPg(c, p, "opening the branch metadata");
  if (p.rows() != 1) {
    return absl::FailedPreconditionError("the local project's metadata holds no project");
  }
  if (absl::Status sampled = SampleActivity(c); !sampled.ok()) {
    common::LogWarning("local: cannot sample branch activity: ", sampled.message());
  }
  next->project_id = std::string(p.Get(0, 0));
  next->project_created_at = std::string(p.Get(0, 1));
  PgResult r = c.Exec(
      StrCat("SELECT b.id, b.name, b.database, coalesce(b.parent_id, ''), coalesce(p.name, ''),"
             " to_char(b.created_at AT TIME ZONE 'UTC', ",
             kIso,
             "), b.created_by,"
             " b.protected, b.is_default,"
             " coalesce(to_char(b.expires_at AT TIME ZONE 'UTC', ",
             kIso,
             "), ''),"
             " coalesce(to_char(greatest(b.last_activity,"
             "   (SELECT max(a.state_change) FROM pg_stat_activity a WHERE a.datname = b.database))"
             "   AT TIME ZONE 'UTC', ",
             kIso,
             "), ''),"
             " coalesce((SELECT pg_database_size(d.oid) FROM pg_database d"
             "   WHERE d.datname = b.database), -1),"
             " coalesce(b.role, '')"
             " FROM branches b LEFT JOIN branches p ON p.id = b.parent_id"
             " ORDER BY b.created_at, b.name"));
  if (!r.ok()) return FromPg(c, r, "reading the branch list");
  for (int i = 0; i < r.rows(); ++i) {
    Row out;
    out.info.id = std::string(r.Get(i, 0));
    out.info.name = std::string(r.Get(i, 1));
    out.database = std::string(r.Get(i, 2));
    out.info.parent_id = std::string(r.Get(i, 3));
    out.info.parent_name = std::string(r.Get(i, 4));
    out.info.created_at = std::string(r.Get(i, 5));
    out.info.created_by = std::string(r.Get(i, 6));
    out.info.is_protected = r.GetBool(i, 7);
    out.info.is_default = r.GetBool(i, 8);
    out.info.expires_at = std::string(r.Get(i, 9));
    out.info.last_activity = std::string(r.Get(i, 10));
    out.info.size_bytes = r.GetInt(i, 11, -1);
    out.role = std::string(r.Get(i, 12));
    out.info.project_id = next->project_id;
    next->by_database[out.database] = next->rows.size();
    next->rows.push_back(std::move(out));
  }
  next->loaded_at = std::chrono::steady_clock::now();
  next->loaded_unix_ms = common::UnixMillisNow();
  Install(next);
  return SnapshotPtr(std::move(next));
}

absl::Status LocalProvider::Ready() {
  absl::StatusOr<std::string> notice = cluster_.EnsureRunning();
  if (!notice.ok()) return notice.status();
  if (!notice->empty()) {
    AddNotice(*notice);
    DropConnections();  // a restarted server dropped them
    // Sizes and activity may have changed while it was down; the branches
    // did not (they change only through here).
    if (Current()) return Reload().status();
  }
  if (Current()) return absl::OkStatus();
  std::lock_guard lock(first_load_mu_);
  if (Current()) return absl::OkStatus();
  // The first load of this dsd: create what is missing (first use, or an
  // interrupted one) and give every branch its role (a new main, or a
  // cluster from before branch roles), before any branch is handed out.
  if (absl::Status s = Bootstrap(); !s.ok()) return s;
  if (absl::Status s = SecureBranches(); !s.ok()) return s;
  return Reload().status();
}

LocalProvider::SnapshotPtr LocalProvider::WaitForFirstLoad(absl::Status* why_not) {
  std::unique_lock lock(snapshot_mu_);
  if (!snapshot_ && !first_loading_) {
    // An earlier attempt that failed has finished (it cleared the flag as
    // its last step); join it before starting the next.
    if (first_loader_.joinable()) first_loader_.join();
    first_loading_ = true;
    first_loader_ = std::thread([this] {
      absl::Status loaded = Ready();
      {
        std::lock_guard done(snapshot_mu_);
        first_loading_ = false;
        first_load_error_ = loaded;
      }
      snapshot_cv_.notify_all();
    });
  }
  snapshot_cv_.wait_for(lock, kFirstLoadWait, [this] { return snapshot_ || !first_loading_; });
  if (!snapshot_) {
    *why_not = first_loading_
                   ? absl::UnavailableError(StrCat(
                         "the local branches are not loaded yet (local PostgreSQL is starting; "
                         "waited ",
                         kFirstLoadWait.count(), " s); ask again in a moment"))
                   : first_load_error_;
  }
  return snapshot_;
}

absl::Status LocalProvider::CheckProject(const Snapshot& s, const std::string& project_id) const {
  if (project_id.empty() || project_id == s.project_id || project_id == project_name_) {
    return absl::OkStatus();
  }
  return absl::NotFoundError(StrCat("project \"", project_id,
                                    "\" does not exist; the local "
                                    "provider has one project, \"",
                                    project_name_, "\""));
}

// --- sessions and copies ----------------------------------------------------

absl::Status LocalProvider::BusyError(PgConnection& conn, const std::string& database,
                                      const std::string& branch) {
  const std::string idle(kIdleApplicationName);
  // dsd's own idle job connections (pg_pool.h) never make a branch busy:
  // they are closed, and the caller's retry finds them gone.
  PgResult r = conn.ExecParams(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE datname = $1 AND application_name = $2 AND state = 'idle'",
      {database, idle});
  if (!r.ok()) return FromPg(conn, r, "listing sessions");
  r = conn.ExecParams(
      "SELECT pid, coalesce(nullif(application_name, ''), 'unnamed client'),"
      " coalesce(host(client_addr), 'local socket'),"
      " to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
      " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
      " AND application_name <> $2 ORDER BY backend_start",
      {database, idle});
  if (!r.ok()) return FromPg(conn, r, "listing sessions");
  if (r.rows() == 0) return absl::OkStatus();
  std::vector<std::string> sessions;
  for (int i = 0; i < r.rows(); ++i) {
    sessions.push_back(StrCat(r.Get(i, 1), " from ", r.Get(i, 2), " since ", r.Get(i, 3),
                              " UTC (pid ", r.Get(i, 0), ")"));
  }
  std::vector<std::string_view> views(sessions.begin(), sessions.end());
  return absl::FailedPreconditionError(
      StrCat("branch \"", branch, "\" is in use by ", sessions.size(),
             sessions.size() == 1 ? " session: " : " sessions: ", Join(views, "; "),
             ". Close them, or pass --force to terminate them"));
}

absl::Status LocalProvider::TerminateSessions(PgConnection& conn, const std::string& database) {
  PgResult r = conn.ExecParams(
      "SELECT pg_terminate_backend(pid), pid, coalesce(application_name, '')"
      " FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      {database});
  if (!r.ok()) return FromPg(conn, r, "terminating sessions");
  for (int i = 0; i < r.rows(); ++i) {
    common::LogWarning("--force: terminated session pid ", r.Get(i, 1), " (", r.Get(i, 2),
                       ") on database ", database);
  }
  return absl::OkStatus();
}

absl::Status LocalProvider::CreateDatabase(const std::string& database,
                                           const std::string& template_db,
                                           const std::string& parent_branch, bool force) {
  absl::StatusOr<Lease> conn = Connection();
  if (!conn.ok()) return conn.status();
  PgConnection& c = **conn;
  const std::string sql =
      // Owned by the superuser, as every branch database (branch_roles.h).
      StrCat("CREATE DATABASE ", QuoteIdent(database), " TEMPLATE ", QuoteIdent(template_db),
             " STRATEGY FILE_COPY");
  // PostgreSQL refuses a template others are connected to (55006).
  // Terminated sessions take a moment to go away: retry for up to 5 s.
  for (int attempt = 0; attempt < 50; ++attempt) {
    PgResult r = c.Exec(sql);
    if (r.ok()) return absl::OkStatus();
    if (r.sqlstate() != "55006") {
      return FromPg(c, r, StrCat("copying branch \"", parent_branch, "\""));
    }
    if (!force) {
      if (absl::Status busy = BusyError(c, template_db, parent_branch); !busy.ok()) return busy;
    } else if (absl::Status s = TerminateSessions(c, template_db); !s.ok()) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::FailedPreconditionError(
      StrCat("branch \"", parent_branch, "\" stayed busy for 5 s; try again"));
}

void LocalProvider::AddNotice(std::string notice) {
  std::lock_guard lock(notes_mu_);
  notices_.push_back(std::move(notice));
}

void LocalProvider::NotifyChanged() {
  std::function<void()> listener;
  {
    std::lock_guard lock(notes_mu_);
    listener = listener_;
  }
  if (listener) listener();
}

// --- reads ------------------------------------------------------------------

CachedInventory LocalProvider::Cached() {
  CachedInventory out;
  SnapshotPtr s = Current();
  if (!s) return out;
  out.as_of_unix_ms = s->loaded_unix_ms;
  CachedProject& p = out.projects.emplace_back();
  p.project = {s->project_id, project_name_, "local", s->project_created_at};
  for (const Row& r : s->rows) p.branches.push_back(r.info);
  return out;
}

absl::Status LocalProvider::RefreshAll() {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return Reload().status();
}

absl::Status LocalProvider::SetExpiry(const std::string& project_id, const std::string& name,
                                      const std::string& expires_at) {
  if (!expires_at.empty()) {
    if (absl::Status e = CheckExpiry(expires_at, /*max_days=*/0); !e.ok()) return e;
  }
  if (absl::Status s = Ready(); !s.ok()) return s;
  if (absl::Status bad = CheckProject(*Current(), project_id); !bad.ok()) return bad;
  std::shared_lock writing(writes_);
  NameLocks::Held held = names_.Lock({name}, {});
  absl::StatusOr<SnapshotPtr> s = Reload();
  if (!s.ok()) return s.status();
  const Row* row = (*s)->Find(name);
  if (!row) return NoSuchBranch(name);
  if (!expires_at.empty()) {
    int children = 0;
    for (const Row& other : (*s)->rows) children += other.info.parent_id == row->info.id;
    if (absl::Status allowed =
            CheckExpiryAllowed(name, row->info.is_default, row->info.is_protected, children);
        !allowed.ok()) {
      return allowed;
    }
  }
  {
    absl::StatusOr<Lease> conn = Connection();
    if (!conn.ok()) return conn.status();
    PgResult r = (*conn)->ExecParams(
        "UPDATE branches SET expires_at = NULLIF($2, '')::timestamptz WHERE id = $1",
        {row->info.id, expires_at});
    if (!r.ok()) return FromPg(**conn, r, StrCat("setting the expiry of \"", name, "\""));
  }
  if (absl::StatusOr<SnapshotPtr> fresh = Reload(); !fresh.ok()) return fresh.status();
  NotifyChanged();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ProjectInfo>> LocalProvider::ListProjects() {
  if (absl::Status s = Ready(); !s.ok()) return s;
  SnapshotPtr s = Current();
  return std::vector<ProjectInfo>{{s->project_id, project_name_, "local", s->project_created_at}};
}

absl::StatusOr<std::vector<BranchInfo>> LocalProvider::ListBranches(const std::string& project_id) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  SnapshotPtr s = Current();
  if (absl::Status bad = CheckProject(*s, project_id); !bad.ok()) return bad;
  // Branches change only through this provider, which reloads on every
  // change; what the snapshot can miss is sizes and activity, and a couple
  // of seconds' staleness there is worth answering without a query.
  if (std::chrono::steady_clock::now() - s->loaded_at >= kListFreshFor) {
    absl::StatusOr<SnapshotPtr> fresh = Reload();
    if (!fresh.ok()) return fresh.status();
    s = *fresh;
  }
  std::vector<BranchInfo> out;
  out.reserve(s->rows.size());
  for (const Row& r : s->rows) out.push_back(r.info);
  return out;
}

std::optional<std::vector<BranchInfo>> LocalProvider::CachedBranches(
    const std::string& project_id) {
  SnapshotPtr s = Current();
  if (!s || !CheckProject(*s, project_id).ok()) return std::nullopt;
  std::vector<BranchInfo> out;
  out.reserve(s->rows.size());
  for (const Row& r : s->rows) out.push_back(r.info);
  return out;
}

absl::StatusOr<std::string> LocalProvider::ConnectionUri(const std::string& project_id,
                                                         const std::string& branch,
                                                         const std::string& database,
                                                         const std::string& role) {
  // Ready starts the cluster when it is down: whoever asks for a URI is
  // about to connect. When it runs, that is one stat() and no query.
  if (absl::Status s = Ready(); !s.ok()) return s;
  SnapshotPtr s = Current();
  if (absl::Status bad = CheckProject(*s, project_id); !bad.ok()) return bad;
  const Row* row = s->Find(branch);
  if (!row) return NoSuchBranch(branch);
  if (!role.empty() && role != row->role) {
    return absl::NotFoundError(StrCat("role \"", role, "\" does not exist on branch \"", branch,
                                      "\"; each local branch has one role, here ", row->role));
  }
  return UriFor(*row, database);
}

absl::StatusOr<std::string> LocalProvider::UriFor(const Row& row, const std::string& database) {
  if (row.role.empty()) {
    return absl::InternalError(StrCat("branch \"", row.info.name, "\" has no role yet"));
  }
  absl::StatusOr<std::string> password = passwords_.Get(row.role);
  if (!password.ok() && absl::IsNotFound(password.status())) {
    // Its file was removed by hand: a new password, set on the role too.
    password = passwords_.GetOrCreate(row.role);
    if (!password.ok()) return password.status();
    absl::StatusOr<Lease> conn = Connection();
    if (!conn.ok()) return conn.status();
    if (absl::Status s = EnsureLoginRole(**conn, row.role, *password); !s.ok()) return s;
    common::LogWarning("the password of role ", row.role, " was missing; it has a new one");
  }
  if (!password.ok()) return password.status();
  return StrCat("postgresql://", row.role, ":", *password, "@127.0.0.1:", cluster_.port(), "/",
                PercentEncode(database.empty() ? row.database : database));
}

bool LocalProvider::OurHost(const common::ConnInfo& conn) const {
  return conn.host == "127.0.0.1" || conn.host == "localhost" || conn.host == "::1" ||
         conn.host == cluster_.socket_dir().string();
}

bool LocalProvider::ResolveMayWait(const common::ConnInfo& conn) {
  return OurHost(conn) && !Current();
}

absl::StatusOr<std::optional<BranchLocation>> LocalProvider::Resolve(const common::ConnInfo& conn) {
  // Decide from the address alone before anything else: most strings are
  // not ours, and the host says so without reading a file.
  if (!OurHost(conn)) return std::nullopt;
  // The port in memory once the cluster ran; the file only before that.
  const int port = cluster_.port() ? cluster_.port() : cluster_.RecordedPort();
  if (port == 0 || conn.port != std::to_string(port)) return std::nullopt;
  SnapshotPtr s = Current();
  if (!s) {
    absl::Status why_not;
    s = WaitForFirstLoad(&why_not);
    if (!s) {
      return why_not.ok() ? absl::UnavailableError("the local branches are not loaded yet")
                          : why_not;
    }
  }
  auto it = s->by_database.find(conn.dbname);
  if (it == s->by_database.end()) {
    return absl::NotFoundError(
        StrCat("database \"", conn.dbname, "\" on the local cluster is not a ds branch"));
  }
  const Row& row = s->rows[it->second];
  return BranchLocation{"local",       s->project_id,         project_name_,      row.info.id,
                        row.info.name, row.info.is_protected, row.info.is_default};
}

absl::Status LocalProvider::PrepareToConnect(const common::ConnInfo& conn) {
  if (!OurHost(conn)) return absl::OkStatus();
  const int port = cluster_.port() ? cluster_.port() : cluster_.RecordedPort();
  if (port == 0 || conn.port != std::to_string(port)) return absl::OkStatus();
  if (absl::Status s = Ready(); !s.ok()) return s;
  if (conn.user != kRetiredOwnerRole) return absl::OkStatus();
  // Better than "password authentication failed": say what changed.
  SnapshotPtr s = Current();
  auto it = s->by_database.find(conn.dbname);
  const std::string branch =
      it == s->by_database.end() ? "<branch>" : s->rows[it->second].info.name;
  return absl::FailedPreconditionError(
      StrCat("this connection string logs in as ", kRetiredOwnerRole,
             ", the role all local branches shared before each got its own; point the "
             "workspace at the branch again: `ds db set target-db --branch ",
             branch, "` (source-db for a source)"));
}

std::vector<std::string> LocalProvider::TakeNotices() {
  std::lock_guard lock(notes_mu_);
  std::vector<std::string> out;
  out.swap(notices_);
  return out;
}

void LocalProvider::SetChangeListener(std::function<void()> listener) {
  std::lock_guard lock(notes_mu_);
  listener_ = std::move(listener);
}

// --- writes -----------------------------------------------------------------

absl::StatusOr<BranchInfo> LocalProvider::CreateBranch(const std::string& project_id,
                                                       const std::string& name,
                                                       const CreateBranchOptions& options) {
  if (absl::Status s = ValidateBranchName(name); !s.ok()) return s;
  if (!options.expires_at.empty()) {
    if (absl::Status e = CheckExpiry(options.expires_at, /*max_days=*/0); !e.ok()) return e;
  }
  if (absl::Status s = Ready(); !s.ok()) return s;
  SnapshotPtr s = Current();
  if (absl::Status bad = CheckProject(*s, project_id); !bad.ok()) return bad;
  // The default branch is never deleted, so its name read here holds.
  std::string parent_name = options.parent;
  if (parent_name.empty() && s->Default()) parent_name = s->Default()->info.name;

  std::shared_lock writing(writes_);
  NameLocks::Held held = names_.Lock({name}, {parent_name});
  // With the names held, what the metadata says about them cannot change
  // until we are done; read it as it is now.
  absl::StatusOr<SnapshotPtr> fresh = Reload();
  if (!fresh.ok()) return fresh.status();
  s = *fresh;
  if (s->Find(name))
    return absl::AlreadyExistsError(StrCat("branch \"", name, "\" already exists"));
  const Row* parent = s->Find(parent_name);
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
  if (absl::Status copied =
          CreateDatabase(database, parent->database, parent->info.name, options.force);
      !copied.ok()) {
    return copied;
  }
  const std::string role = RoleNameForBranch(name, id);
  {
    absl::Status recorded = GiveToRole(database, parent->role, role);
    absl::StatusOr<Lease> conn = Connection();
    if (recorded.ok() && !conn.ok()) recorded = conn.status();
    if (recorded.ok()) {
      PgResult r = (*conn)->ExecParams(
          "INSERT INTO branches (id, name, database, parent_id, created_by, expires_at, role)"
          " VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::timestamptz, $7)",
          {id, name, database, parent->info.id, options.created_by, options.expires_at, role});
      if (!r.ok()) recorded = FromPg(**conn, r, StrCat("recording branch \"", name, "\""));
    }
    if (!recorded.ok()) {
      // No database without metadata: drop the copy and its role (on a
      // connection that works, if the failure was the connection).
      if (absl::StatusOr<Lease> c = Connection(); c.ok()) {
        (void)(*c)->Exec(StrCat("DROP DATABASE IF EXISTS ", QuoteIdent(database)));
      }
      DropRole(role);
      return recorded;
    }
  }
  common::LogInfo("created branch ", name, " (", id, ") from ", parent->info.name);
  fresh = Reload();
  if (!fresh.ok()) return fresh.status();
  const Row* made = (*fresh)->FindId(id);
  if (!made) return absl::InternalError(StrCat("branch \"", name, "\" vanished after creation"));
  BranchInfo result = made->info;
  if (options.connection_uri) {
    absl::StatusOr<std::string> uri = UriFor(*made);
    if (!uri.ok()) return uri.status();
    result.connection_uri = std::move(*uri);
  }
  NotifyChanged();
  return result;
}

absl::Status LocalProvider::DeleteBranch(const std::string& project_id, const std::string& name,
                                         bool force) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  if (absl::Status bad = CheckProject(*Current(), project_id); !bad.ok()) return bad;
  std::shared_lock writing(writes_);
  // Waits for a create of this name, and for copies that use it as parent.
  NameLocks::Held held = names_.Lock({name}, {});
  absl::StatusOr<SnapshotPtr> s = Reload();
  if (!s.ok()) return s.status();
  const Row* row = (*s)->Find(name);
  if (!row) return NoSuchBranch(name);
  if (row->info.is_default) {
    return absl::PermissionDeniedError(
        StrCat("\"", name, "\" is the default branch; ds never deletes it"));
  }
  if (row->info.is_protected) {
    return absl::PermissionDeniedError(
        StrCat("branch \"", name, "\" is protected; ds never deletes protected branches"));
  }
  absl::StatusOr<Lease> conn = Connection();
  if (!conn.ok()) return conn.status();
  PgConnection& c = **conn;
  if (!force) {
    if (absl::Status busy = BusyError(c, row->database, name); !busy.ok()) return busy;
  }
  const std::string doing = StrCat("deleting branch \"", name, "\"");
  // Sessions that were just terminated take a moment to go: retry for 5 s.
  for (int attempt = 0;; ++attempt) {
    PgResult r = c.Exec(StrCat("DROP DATABASE IF EXISTS ", QuoteIdent(row->database),
                               force ? " WITH (FORCE)" : ""));
    if (r.ok()) break;
    if (r.sqlstate() != "55006") return FromPg(c, r, doing);
    if (absl::Status busy = BusyError(c, row->database, name); !busy.ok()) return busy;
    if (attempt == 50) {
      return absl::FailedPreconditionError(
          StrCat("branch \"", name, "\" stayed busy for 5 s; try again"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  PgResult r = c.ExecParams("DELETE FROM branches WHERE id = $1", {row->info.id});
  if (!r.ok()) return FromPg(c, r, doing);
  DropRole(row->role);
  common::LogInfo("deleted branch ", name, " (", row->info.id, ")");
  (void)Reload();
  NotifyChanged();
  return absl::OkStatus();
}

absl::Status LocalProvider::ResetBranch(const std::string& project_id, const std::string& name,
                                        bool force) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  if (absl::Status bad = CheckProject(*Current(), project_id); !bad.ok()) return bad;
  std::shared_lock writing(writes_);
  // The parent is known only from the metadata, which may change between
  // reading it and holding its name (it was deleted, say): read again with
  // the names held and start over if it did.
  for (int attempt = 0;; ++attempt) {
    SnapshotPtr before = Current();
    const Row* row = before->Find(name);
    if (!row) return NoSuchBranch(name);
    const Row* parent_before = before->FindId(row->info.parent_id);
    const std::string parent_name = parent_before ? parent_before->info.name : "";
    NameLocks::Held held = names_.Lock({name}, {parent_name});
    absl::StatusOr<SnapshotPtr> s = Reload();
    if (!s.ok()) return s.status();
    row = (*s)->Find(name);
    if (!row) return NoSuchBranch(name);
    if (row->info.is_default || row->info.is_protected) {
      return absl::PermissionDeniedError(StrCat(
          "branch \"", name, "\" is ", row->info.is_default ? "the default branch" : "protected",
          "; ds never resets it"));
    }
    const Row* parent = (*s)->FindId(row->info.parent_id);
    if (!parent) {
      return absl::FailedPreconditionError(
          StrCat("branch \"", name, "\" has no parent to reset from"));
    }
    if (parent->info.name != parent_name) {
      if (attempt < 3) continue;
      return absl::AbortedError(
          StrCat("the parent of branch \"", name, "\" kept changing; try again"));
    }
    // Copy the parent first; only once that worked is the old data dropped,
    // so a failed copy leaves the branch as it was.
    const std::string fresh = StrCat("ds_reset_", row->info.id);
    if (absl::Status copied = CreateDatabase(fresh, parent->database, parent->info.name, force);
        !copied.ok()) {
      return copied;
    }
    absl::StatusOr<Lease> conn = Connection();
    if (!conn.ok()) return conn.status();
    PgConnection& c = **conn;
    const std::string doing = StrCat("resetting branch \"", name, "\"");
    if (absl::Status given = GiveToRole(fresh, parent->role, row->role); !given.ok()) {
      (void)c.Exec(StrCat("DROP DATABASE ", QuoteIdent(fresh)));
      return given;
    }
    if (!force) {
      if (absl::Status busy = BusyError(c, row->database, name); !busy.ok()) {
        (void)c.Exec(StrCat("DROP DATABASE ", QuoteIdent(fresh)));
        return busy;
      }
    }
    PgResult r =
        c.Exec(StrCat("DROP DATABASE ", QuoteIdent(row->database), force ? " WITH (FORCE)" : ""));
    if (!r.ok()) return FromPg(c, r, doing);
    r = c.Exec(
        StrCat("ALTER DATABASE ", QuoteIdent(fresh), " RENAME TO ", QuoteIdent(row->database)));
    if (!r.ok()) return FromPg(c, r, doing);
    common::LogInfo("reset branch ", name, " to the current data of ", parent->info.name);
    (void)Reload();
    NotifyChanged();
    return absl::OkStatus();
  }
}

absl::Status LocalProvider::StopCluster() {
  std::unique_lock writing(writes_);
  DropConnections();
  return cluster_.Stop();
}

}  // namespace ds::daemon
