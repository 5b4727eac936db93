// drizzle's tracking table ("drizzle"."__drizzle_migrations") and ds's log
// table beside it ("drizzle"."__ds_migrations_log"): finding them, checking
// their shape, reading the applied rows, creating them, and recording
// applied migrations in both. The runner (migrator.cc) and the read-only
// status share it.
#ifndef DS_DAEMON_MIGRATE_TRACKING_TABLE_H_
#define DS_DAEMON_MIGRATE_TRACKING_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/migrate/drizzle_folder.h"
#include "daemon/migrate/migration_plan.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

inline constexpr std::string_view kDsLogTable = "__ds_migrations_log";

struct TrackingTable {
  std::string schema, table;
  std::string qualified;      // "drizzle"."__drizzle_migrations"
  std::string log_qualified;  // "drizzle"."__ds_migrations_log"
  bool exists = false;
  bool has_name = false;  // drizzle 1.0's shape
};

// The names only; DescribeTrackingTable fills in the rest.
TrackingTable NameTrackingTable(const std::string& schema, const std::string& table);

// Finds the table and checks that its columns are drizzle's: id, hash,
// created_at, and optionally name and applied_at (drizzle 1.0). A table of
// another shape is kFailedPrecondition, naming its columns.
absl::Status DescribeTrackingTable(PgConnection& conn, TrackingTable* t);

// The table's rows by id; none when it does not exist.
absl::StatusOr<std::vector<AppliedRow>> ReadAppliedRows(PgConnection& conn, const TrackingTable& t);

// Creates drizzle's table (in the shape the folder's drizzle version uses)
// and ds's log table, committed before any migration runs so that
// no-transaction files can record themselves.
absl::Status EnsureTrackingTables(PgConnection& conn, TrackingTable* t, bool drizzle_v1_shape);

// "<what>: <the server's message>".
absl::Status SqlError(std::string_view what, const PgResult& r, const PgConnection& conn);

// A migration the runner applied, for the two tables.
struct AppliedMigration {
  const DrizzleMigration* m;
  int64_t duration_ms;
  std::string note;  // "applied out of order", or empty
};

// Who applied migrations, for ds's log table.
struct AppliedBy {
  std::string who;  // "alice via ds (pid 4242)"
  std::string job_id;
};

// Inserts drizzle's rows and ds's log rows for `applied`, in order: two
// statements however many migrations (a 500-file run would otherwise spend
// a thousand round trips here). Runs in whatever transaction is open.
absl::Status RecordApplied(PgConnection& conn, const TrackingTable& t, const AppliedBy& by,
                           const std::vector<AppliedMigration>& applied);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_TRACKING_TABLE_H_
