// Applies a Drizzle folder to a database the way drizzle's migrator does,
// so that ds and drizzle-kit can take turns on one database, without
// drizzle's failures:
//
//  - the same tracking table and rows ("drizzle"."__drizzle_migrations":
//    hash = SHA-256 of the file, created_at = the journal's `when`, plus
//    `name` when the table has drizzle 1.0's columns); never a NULL
//    created_at; ds's own bookkeeping in "<schema>"."__ds_migrations_log";
//  - a session advisory lock, taken by polling so that a waiter holds no
//    snapshot (CREATE INDEX CONCURRENTLY would wait for it), naming the
//    holder while it waits;
//  - pending migrations matched one by one (migration_plan.h), so
//    out-of-order entries and edited files are reported, not skipped;
//  - every pending migration in one transaction, as drizzle does, except
//    files marked `-- ds:no-transaction`, which run on their own;
//  - errors that name the file, the statement and the position.
#ifndef DS_DAEMON_MIGRATE_MIGRATOR_H_
#define DS_DAEMON_MIGRATE_MIGRATOR_H_

#include <chrono>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/migrate/drizzle_folder_cache.h"
#include "daemon/migrate/migration_plan.h"
#include "daemon/pg/pg_pool.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

inline constexpr std::string_view kDefaultMigrationsSchema = "drizzle";
inline constexpr std::string_view kDefaultMigrationsTable = "__drizzle_migrations";

struct MigrateOptions {
  std::string conninfo;  // holds the password: never logged or stored
  std::string target_redacted;
  std::filesystem::path dir;
  std::string schema = std::string(kDefaultMigrationsSchema);
  std::string table = std::string(kDefaultMigrationsTable);
  PlanOptions plan;
  std::chrono::milliseconds lock_timeout{60000};
  // For ds's log table; the job id there and in application_name is the
  // context's.
  std::string applied_by;  // "alice via ds (pid 4242)"
  // Reuses idle connections when set; a job that succeeded hands its
  // connection back, a failed or cancelled one closes it.
  PgConnectionPool* pool = nullptr;
  // Reuses the parsed folder of an earlier run when no file changed.
  DrizzleFolderCache* folders = nullptr;
};

// The status of every migration, read-only: creates nothing, takes no lock.
absl::StatusOr<v1::MigrationStatusResponse> InspectMigrations(const MigrateOptions& options);

// The migrate job: read the folder, connect, lock, read the tracking
// table, plan, apply, each a step reported through `ctx` (the JobContext
// seam: a JobManager's job in dsd, a fake in the tests). Cancelling through
// `ctx` interrupts the running statement. Exit codes: 0 applied or nothing
// to do, 1 failed or refused, 130 cancelled.
JobOutcome RunMigrations(const MigrateOptions& options, JobContext& ctx);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_MIGRATOR_H_
