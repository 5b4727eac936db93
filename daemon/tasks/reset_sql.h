// The SQL steps of `ds db reset` that are not migrations or the copy: who
// else is connected, ending those sessions, which schemas are the user's,
// dropping them and re-creating an empty `public`. Each takes a connection
// to the target; the reset job (reset_task.cc) orders them.
#ifndef DS_DAEMON_TASKS_RESET_SQL_H_
#define DS_DAEMON_TASKS_RESET_SQL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

// The other client sessions on the connection's database, grouped:
// "psql × 2", "node (role app_rw)". Empty when there are none.
absl::StatusOr<std::vector<std::string>> OtherSessions(PgConnection& conn);

struct TerminateReport {
  std::map<std::string, int> ended;  // by application_name
  // Sessions this role may not end (another role's, on a managed server):
  // "pid 4242 node (role app_rw): permission denied".
  std::vector<std::string> not_ended;
  int ended_total() const;
  std::string Summary() const;  // "ended 3 sessions: psql × 2, node × 1"
};

// Ends every other client session on the connection's database, waiting up
// to 5 s for each to go. A session the role may not end is reported, not
// an error: the drop that follows fails with a lock timeout naming it if
// it is in the way.
absl::StatusOr<TerminateReport> TerminateOtherSessions(PgConnection& conn);

// The user schemas of the database: not pg_*, not information_schema, not
// an extension's own schema. Sorted.
absl::StatusOr<std::vector<std::string>> UserSchemas(PgConnection& conn);

struct SchemaChoice {
  std::vector<std::string> drop;
  std::vector<std::string> keep;
};

// Splits `schemas` by the reset_keep_schemas list (comma-separated). public
// and the migrations schema are never kept: a kept tracking table would make
// the re-run apply nothing, and public is what the migrations build.
absl::StatusOr<SchemaChoice> ChooseSchemas(const std::vector<std::string>& schemas,
                                           const std::string& keep_setting,
                                           const std::string& migrations_schema);

// In one transaction: DROP SCHEMA … CASCADE for each of `drop`, then
// CREATE SCHEMA public with PostgreSQL's default owner and grants (owned by
// pg_database_owner, USAGE for PUBLIC, from 15 on). Waits at most
// `lock_timeout_ms` for a lock; errors name the schema and what to do.
absl::Status DropSchemasAndRecreatePublic(PgConnection& conn, const std::vector<std::string>& drop,
                                          int lock_timeout_ms = 30000);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_RESET_SQL_H_
