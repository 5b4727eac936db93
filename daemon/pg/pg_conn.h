// dsd's one PostgreSQL layer, on raw libpq: jobs, the local provider's
// metadata and branch copies, and (next) the organization copy use it.
// libpq rather than libpqxx because a migration needs what libpqxx keeps to
// itself: the simple query protocol per chunk (one drizzle chunk may hold
// several statements, and an empty chunk is fine), every field of an error
// (SQLSTATE, position), the transaction status after a chunk, and a cancel
// handle that another thread may use while a statement runs.
//
// A PgConnection is used by one thread at a time (Cancel excepted).
#ifndef DS_DAEMON_PG_PG_CONN_H_
#define DS_DAEMON_PG_PG_CONN_H_

#include <cstdint>
#include <functional>
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
  int columns() const;
  bool IsNull(int row, int col) const;
  // The text of a field ("" for NULL); valid while this result lives.
  std::string_view Get(int row, int col) const;
  // Typed reads of a text field: "t"/"f", a decimal integer. An unparsable
  // or NULL field reads as false / `fallback`.
  bool GetBool(int row, int col) const;
  int64_t GetInt(int row, int col, int64_t fallback = 0) const;
  // The row count of a command ("INSERT 0 3", "COPY 3": 3); -1 if none.
  int64_t affected_rows() const;

  // Error fields; empty when absent.
  std::string sqlstate() const;
  std::string message() const;  // the primary message, one line
  std::string detail() const;
  std::string hint() const;
  int position() const;  // 1-based character offset in the statement, 0 if none

 private:
  friend class PgConnection;  // reads the result status of COPY
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
  // Extended protocol with text parameters (nullopt = NULL). One statement.
  PgResult ExecParams(const std::string& sql,
                      const std::vector<std::optional<std::string>>& params);
  // Extended protocol with binary parameters: each in the binary format
  // (the type's send/recv) of the type `sql` casts its $n to. One statement.
  PgResult ExecBinaryParams(const std::string& sql, const std::vector<std::string>& params);

  // The error of a failed result as a Status: kUnavailable when the
  // connection is gone, kCancelled for a cancelled statement,
  // kResourceExhausted for SQLSTATE class 53 (disk full, out of memory),
  // else kInternal. The message is "<doing>: <server message>".
  absl::Status ErrorStatus(const PgResult& r, std::string_view doing) const;
  // The primary message of a failed result, else the connection's error
  // (a result without fields: the server went away). One line.
  std::string ErrorText(const PgResult& r) const;

  // COPY ... TO STDOUT: runs `sql` and hands each data row to `sink` as the
  // server sends it (text or binary, as the statement asks). A sink error
  // stops the COPY (the server is asked to cancel it; the connection stays
  // usable) and is returned. Returns the number of rows copied.
  absl::StatusOr<int64_t> CopyOut(const std::string& sql,
                                  const std::function<absl::Status(std::string_view)>& sink);
  // COPY ... FROM STDIN in three steps: BeginCopyIn runs `sql`; PutCopyData
  // sends bytes in COPY format (any split: rows may span calls); EndCopyIn
  // finishes it and returns the rows stored, or, with a non-empty `abort`,
  // makes the server fail the COPY with that message (nothing is stored).
  // Between BeginCopyIn and EndCopyIn only PutCopyData may be called; a
  // failed PutCopyData still needs EndCopyIn. A server-side error (bad
  // data, a constraint) surfaces only at EndCopyIn: libpq offers no way to
  // see it earlier, and the server drops what arrives after it.
  absl::Status BeginCopyIn(const std::string& sql);
  absl::Status PutCopyData(std::string_view data);
  absl::StatusOr<int64_t> EndCopyIn(std::string_view abort = "");

  // `text` as a string literal for this connection's server (libpq's
  // PQescapeLiteral), for statements that take no parameters (CREATE ROLE
  // ... PASSWORD).
  std::string QuoteLiteral(std::string_view text) const;
  // The SCRAM-SHA-256 verifier of `password` for `role`, computed by libpq
  // on this side, so that the password itself never travels in SQL text
  // (PostgreSQL logs the text of a failed statement).
  absl::StatusOr<std::string> ScramVerifier(const std::string& role, const std::string& password);

  // Asks the server to cancel whatever this connection runs. Safe from any
  // thread, also while Exec blocks; a no-op after Close.
  void Cancel();
  // True inside a transaction block (also a failed one).
  bool InTransaction() const;
  bool Broken() const;
  // For an idle connection, without a round trip: false when libpq knows it
  // is broken, or when the server sent something unasked (the end of the
  // stream after a restart, or its last error: a terminated backend). A
  // pool checks this before handing an idle connection out.
  bool LooksAlive();
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

// Streams `copy_out_sql` (COPY ... TO STDOUT) of `from` into `copy_in_sql`
// (COPY ... FROM STDIN) of `to`, row by row, without holding the data.
// The two statements must agree on the format. `to` stores all or nothing:
// a failing source aborts the COPY IN; a target that refuses a row fails
// the whole COPY when the source has been read (see EndCopyIn). Returns the
// rows stored by `to`.
absl::StatusOr<int64_t> CopyBetween(PgConnection& from, const std::string& copy_out_sql,
                                    PgConnection& to, const std::string& copy_in_sql);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PG_PG_CONN_H_
