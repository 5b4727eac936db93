// What a failing migration statement looks like in ds's output: the file,
// which statement, PostgreSQL's message and fields, and the line and
// column in the file, so that the user can go straight to it.
#ifndef DS_DAEMON_MIGRATE_STATEMENT_FAILURE_H_
#define DS_DAEMON_MIGRATE_STATEMENT_FAILURE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "daemon/migrate/drizzle_folder.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

// "<file> failed at statement 2 of 3: <message> (SQLSTATE x)", then the
// statement, its position in the file, PostgreSQL's detail and hint, and
// for a statement that cannot run in a transaction, how to run it outside
// one. `result` is statement `index`'s (0-based) of `m`.
std::string StatementFailure(const DrizzleMigration& m, size_t index, const PgResult& result,
                             const PgConnection& conn, bool in_transaction);

// Where PostgreSQL's 1-based character `position` falls in `statement`,
// counted from `first_line` (the statement's line in its file): "12:5".
std::string PositionInFile(std::string_view statement, int position, int first_line);

// A statement on one line, whitespace collapsed, cut to `max` characters.
std::string ShortenStatement(std::string_view statement, size_t max = 160);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_STATEMENT_FAILURE_H_
