// The migration lock: a session advisory lock per database and tracking
// table, so that two runs (two ds, or ds and another dsd) never apply the
// same migration. It is taken by polling pg_try_advisory_lock: a session
// blocked in pg_advisory_lock would hold a snapshot that CREATE INDEX
// CONCURRENTLY in the holder waits for. While it waits it names the
// holder. It is released when the session ends or goes back to the pool.
#ifndef DS_DAEMON_MIGRATE_MIGRATION_LOCK_H_
#define DS_DAEMON_MIGRATE_MIGRATION_LOCK_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/jobs/jobs.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

// The lock's key for a tracking table (its quoted, qualified name) in
// `database`; computed here rather than by the server to save a round trip.
int64_t MigrationLockKey(std::string_view database, std::string_view qualified_table);

struct LockResult {
  bool acquired = false;
  bool cancelled = false;
  std::string error;  // when neither
};

// Takes the lock on `conn`, polling until `timeout` has passed or the job
// is cancelled. `session_setup` (SQL, may be empty) rides on the first try:
// one round trip for both. Reports the holder through `ctx` (a log line and
// a "lock" progress) each time it changes.
LockResult TakeMigrationLock(PgConnection& conn, std::string_view qualified_table,
                             std::chrono::milliseconds timeout, JobContext& ctx,
                             std::string session_setup);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_MIGRATION_LOCK_H_
