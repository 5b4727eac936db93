#include "daemon/migrate/migration_lock.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "daemon/migrate/drizzle_folder.h"

namespace ds::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Who holds the advisory lock `key`: "pid 123 (ds migrate, job 4)".
std::string LockHolder(PgConnection& conn, const std::string& key) {
  PgResult r = conn.ExecParams(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, '') "
      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      "AND l.classid = (($1::bigint >> 32) & 4294967295)::oid "
      "AND l.objid = ($1::bigint & 4294967295)::oid LIMIT 1",
      {key});
  if (!r.ok() || r.rows() == 0) return "another session";
  std::string who = StrCat("pid ", r.Get(0, 0));
  std::string app(r.Get(0, 1));
  std::string user(r.Get(0, 2));
  if (!app.empty() || !user.empty()) {
    StrAppend(&who, " (", app.empty() ? "no application_name" : app,
              user.empty() ? "" : StrCat(", user ", user), ")");
  }
  return who;
}

std::string GaveUpMessage(std::chrono::milliseconds timeout, const std::string& holder) {
  return StrCat("gave up after ",
                absl::StrFormat("%g", static_cast<double>(timeout.count()) / 1000.0),
                " s waiting for the migration lock held by ", holder,
                "; another migration is running on this database (see `ds jobs list`), or raise "
                "--lock-timeout");
}

}  // namespace

int64_t MigrationLockKey(std::string_view database, std::string_view qualified_table) {
  std::string digest = Sha256Hex(StrCat("ds db migrate\n", database, "\n", qualified_table));
  return static_cast<int64_t>(std::stoull(digest.substr(0, 16), nullptr, 16));
}

LockResult TakeMigrationLock(PgConnection& conn, std::string_view qualified_table,
                             std::chrono::milliseconds timeout, JobContext& ctx,
                             std::string session_setup) {
  LockResult out;
  const std::string key = std::to_string(MigrationLockKey(conn.Database(), qualified_table));
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string last_holder;
  auto interval = std::chrono::milliseconds(20);
  for (;;) {
    if (ctx.cancelled()) {
      out.cancelled = true;
      return out;
    }
    PgResult r = conn.Exec(StrCat(session_setup, "SELECT pg_try_advisory_lock(", key, ")"));
    session_setup.clear();
    if (!r.ok()) {
      out.error = StrCat("cannot take the migration lock: ", r.message());
      return out;
    }
    if (r.Get(0, 0) == "t") {
      out.acquired = true;
      return out;
    }
    std::string holder = LockHolder(conn, key);
    if (holder != last_holder) {
      ctx.Log("info",
              StrCat("waiting for the migration lock on ", qualified_table, ", held by ", holder));
      ctx.Progress(0, 0, "lock", StrCat("waiting for the migration lock held by ", holder));
      last_holder = holder;
    }
    if (Clock::now() >= deadline) {
      out.error = GaveUpMessage(timeout, holder);
      return out;
    }
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(250));
  }
}

}  // namespace ds::daemon
