// A PostgreSQL connection for jobs, on raw libpq rather than libpqxx,
// because a migration needs what libpqxx keeps to itself: the simple query
// protocol per chunk (one drizzle chunk may hold several statements, and an
// empty chunk is fine), every field of an error (SQLSTATE, position), the
// transaction status after a chunk, and a cancel handle that another thread
// may use while a statement runs.
#ifndef DS_DAEMON_PG_PG_CONN_H_
#define DS_DAEMON_PG_PG_CONN_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct pg_conn;
struct pg_result;
struct pg_cancel;

namespace ds::daemon {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r);
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  // Commands, queries and empty queries succeed.
  bool ok() const;
  int rows() const;
  bool IsNull(int row, int col) const;
  std::string_view Get(int row, int col) const;

  // Error fields; empty when absent.
  std::string sqlstate() const;
  std::string message() const;  // the primary message, one line
  std::string detail() const;
  std::string hint() const;
  int position() const;  // 1-based character offset in the statement, 0 if none

 private:
  pg_result* r_ = nullptr;
};

class PgConnection {
 public:
  // Connects with libpq (URI or key=value). `application_name` is what
  // pg_stat_activity shows, so that a waiting migrator can name the holder
  // of its lock. Errors are kUnavailable (cannot reach the server) or
  // kPermissionDenied (login refused); the message never holds the password.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(const std::string& conninfo,
                                                            const std::string& application_name,
                                                            int connect_timeout_seconds = 10);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Simple query protocol: `sql` may hold several statements.
  PgResult Exec(std::string_view sql);
  // Extended protocol with text parameters (nullopt = NULL).
  PgResult ExecParams(const std::string& sql,
                      const std::vector<std::optional<std::string>>& params);

  // Asks the server to cancel whatever this connection runs. Safe from any
  // thread, also while Exec blocks; a no-op after Close.
  void Cancel();
  // True inside a transaction block (also a failed one).
  bool InTransaction() const;
  bool Broken() const;
  int BackendPid() const;
  int ServerVersion() const;     // e.g. 150018; no round trip
  std::string Database() const;  // the database connected to; no round trip
  // The connection-level error text (when Exec returned no result fields).
  std::string ErrorMessage() const;

 private:
  PgConnection() = default;
  pg_conn* conn_ = nullptr;
  std::mutex cancel_mu_;
  pg_cancel* cancel_ = nullptr;
};

// Quotes an identifier for SQL ("my""table").
std::string QuoteIdent(std::string_view ident);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PG_PG_CONN_H_
