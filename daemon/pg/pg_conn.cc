#include "daemon/pg/pg_conn.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstdlib>

#include "common/conninfo.h"
#include "common/strings.h"

namespace ds::daemon {

PgResult::PgResult(pg_result* r) : r_(r) {}
PgResult::PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}
PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

bool PgResult::ok() const {
  if (!r_) return false;
  switch (PQresultStatus(r_)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:  // a comment-only or empty drizzle chunk
      return true;
    default: return false;
  }
}

int PgResult::rows() const { return r_ ? PQntuples(r_) : 0; }
int PgResult::columns() const { return r_ ? PQnfields(r_) : 0; }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
std::string_view PgResult::Get(int row, int col) const {
  return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}
bool PgResult::GetBool(int row, int col) const { return Get(row, col) == "t"; }

namespace {
int64_t ParseInt(std::string_view s, int64_t fallback) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return (r.ec == std::errc() && r.ptr == s.data() + s.size()) ? v : fallback;
}
}  // namespace

int64_t PgResult::GetInt(int row, int col, int64_t fallback) const {
  return IsNull(row, col) ? fallback : ParseInt(Get(row, col), fallback);
}
int64_t PgResult::affected_rows() const {
  if (!r_) return -1;
  const char* n = PQcmdTuples(r_);
  return (n && *n) ? ParseInt(n, -1) : -1;
}

namespace {
std::string Field(const pg_result* r, int field) {
  if (!r) return "";
  const char* v = PQresultErrorField(r, field);
  return v ? v : "";
}
}  // namespace

std::string PgResult::sqlstate() const { return Field(r_, PG_DIAG_SQLSTATE); }
std::string PgResult::detail() const { return Field(r_, PG_DIAG_MESSAGE_DETAIL); }
std::string PgResult::hint() const { return Field(r_, PG_DIAG_MESSAGE_HINT); }
int PgResult::position() const {
  std::string p = Field(r_, PG_DIAG_STATEMENT_POSITION);
  return p.empty() ? 0 : std::atoi(p.c_str());
}
std::string PgResult::message() const {
  std::string m = Field(r_, PG_DIAG_MESSAGE_PRIMARY);
  if (m.empty() && r_) m = std::string(TrimAsciiWhitespace(PQresultErrorMessage(r_)));
  return m;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(
    const std::string& conninfo, const std::string& application_name, int connect_timeout_seconds) {
  // Later keywords win: the caller's string may set its own timeout, but
  // the application name is always ours (lock-holder messages rely on it).
  std::string timeout = std::to_string(connect_timeout_seconds);
  const char* keys[] = {"connect_timeout", "dbname", "application_name", nullptr};
  const char* values[] = {timeout.c_str(), conninfo.c_str(), application_name.c_str(), nullptr};
  std::unique_ptr<PgConnection> c(new PgConnection());
  c->conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c->conn_) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(c->conn_) != CONNECTION_OK) {
    // libpq's message may span lines ("...failed: Connection refused\n\tIs
    // the server running..."): one line reads better in an error.
    std::string why;
    for (char ch : TrimAsciiWhitespace(PQerrorMessage(c->conn_))) {
      bool space = ch == '\n' || ch == '\t' || ch == '\r';
      if (space && (why.empty() || why.back() == ' ')) continue;
      why.push_back(space ? ' ' : ch);
    }
    why = common::ScrubSecrets(why);
    std::string where = common::RedactConnectionString(conninfo);
    if (why.find("password authentication failed") != std::string::npos ||
        why.find("no pg_hba.conf entry") != std::string::npos ||
        why.find("no password supplied") != std::string::npos) {
      return absl::PermissionDeniedError(
          StrCat("the database refused the login (", where, "): ", why,
                 "; check the user and password in the connection string"));
    }
    if (why.find("does not exist") != std::string::npos) {
      return absl::NotFoundError(StrCat("cannot connect to ", where, ": ", why));
    }
    const bool hinted = why.find("Is the server running") != std::string::npos;
    return absl::UnavailableError(StrCat("cannot connect to ", where, ": ", why,
                                         hinted ? "" : " (is the server running and reachable?)"));
  }
  c->cancel_ = PQgetCancel(c->conn_);
  return c;
}

PgConnection::~PgConnection() {
  {
    std::lock_guard lock(cancel_mu_);
    if (cancel_) PQfreeCancel(cancel_);
    cancel_ = nullptr;
  }
  if (conn_) PQfinish(conn_);
}

PgResult PgConnection::Exec(std::string_view sql) {
  return PgResult(PQexec(conn_, std::string(sql).c_str()));
}

PgResult PgConnection::ExecParams(const std::string& sql,
                                  const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return PgResult(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
}

PgResult PgConnection::ExecBinaryParams(const std::string& sql,
                                        const std::vector<std::string>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const std::string& p : params) {
    values.push_back(p.data());
    lengths.push_back(static_cast<int>(p.size()));
    formats.push_back(1);
  }
  return PgResult(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), lengths.data(), formats.data(), 0));
}

std::string PgConnection::ErrorText(const PgResult& r) const {
  std::string m = r.message();
  return m.empty() ? ErrorMessage() : m;
}

absl::Status PgConnection::ErrorStatus(const PgResult& r, std::string_view doing) const {
  if (r.ok()) return absl::OkStatus();
  std::string message = StrCat(doing, ": ", ErrorText(r));
  const std::string code = r.sqlstate();
  if (Broken() || code.starts_with("08")) return absl::UnavailableError(message);
  if (code == "57014") return absl::CancelledError(message);
  if (code.starts_with("53")) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

namespace {
// Reads the results left after a COPY (or any statement) until libpq has
// none; returns the last one, which holds the outcome.
PgResult DrainResults(pg_conn* conn) {
  PgResult last;
  while (pg_result* r = PQgetResult(conn)) {
    ExecStatusType status = PQresultStatus(r);
    last = PgResult(r);
    // A COPY state here means the caller's protocol went wrong; reading on
    // would never end.
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) break;
  }
  return last;
}
}  // namespace

absl::StatusOr<int64_t> PgConnection::CopyOut(
    const std::string& sql, const std::function<absl::Status(std::string_view)>& sink) {
  PgResult started(PQexec(conn_, sql.c_str()));
  if (!started.r_ || PQresultStatus(started.r_) != PGRES_COPY_OUT) {
    if (!started.ok()) return ErrorStatus(started, "COPY TO STDOUT failed");
    return absl::InvalidArgumentError("CopyOut needs a COPY ... TO STDOUT statement");
  }
  absl::Status stopped;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, /*async=*/0);
    if (n < 0) break;  // -1: done, -2: failed; the result says which
    if (stopped.ok()) {
      stopped = sink(std::string_view(buf, static_cast<size_t>(n)));
      // The server stops sending once the cancel arrives; what it sent
      // before is read and dropped below, so the connection stays usable.
      if (!stopped.ok()) Cancel();
    }
    PQfreemem(buf);
  }
  PgResult done = DrainResults(conn_);
  if (!stopped.ok()) return stopped;
  if (!done.ok()) return ErrorStatus(done, "COPY TO STDOUT failed");
  return done.affected_rows();
}

absl::Status PgConnection::BeginCopyIn(const std::string& sql) {
  PgResult started(PQexec(conn_, sql.c_str()));
  if (started.r_ && PQresultStatus(started.r_) == PGRES_COPY_IN) return absl::OkStatus();
  if (!started.ok()) return ErrorStatus(started, "COPY FROM STDIN failed");
  return absl::InvalidArgumentError("BeginCopyIn needs a COPY ... FROM STDIN statement");
}

absl::Status PgConnection::PutCopyData(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(StrCat("COPY FROM STDIN: sending failed: ", ErrorMessage()));
}

absl::StatusOr<int64_t> PgConnection::EndCopyIn(std::string_view abort) {
  const std::string reason(abort);
  if (PQputCopyEnd(conn_, reason.empty() ? nullptr : reason.c_str()) != 1) {
    (void)DrainResults(conn_);
    return absl::UnavailableError(StrCat("COPY FROM STDIN: ending failed: ", ErrorMessage()));
  }
  PgResult done = DrainResults(conn_);
  if (!done.ok()) return ErrorStatus(done, "COPY FROM STDIN failed");
  if (!reason.empty()) return absl::InternalError("COPY FROM STDIN: the abort was ignored");
  return done.affected_rows();
}

std::string PgConnection::QuoteLiteral(std::string_view text) const {
  char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
  if (!quoted) return "";
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

absl::StatusOr<std::string> PgConnection::ScramVerifier(const std::string& role,
                                                        const std::string& password) {
  char* verifier = PQencryptPasswordConn(conn_, password.c_str(), role.c_str(), "scram-sha-256");
  if (!verifier) {
    return absl::InternalError(
        StrCat("libpq could not compute a SCRAM verifier: ", ErrorMessage()));
  }
  std::string out = verifier;
  PQfreemem(verifier);
  return out;
}

absl::StatusOr<int64_t> CopyBetween(PgConnection& from, const std::string& copy_out_sql,
                                    PgConnection& to, const std::string& copy_in_sql) {
  if (absl::Status s = to.BeginCopyIn(copy_in_sql); !s.ok()) return s;
  absl::StatusOr<int64_t> sent =
      from.CopyOut(copy_out_sql, [&to](std::string_view chunk) { return to.PutCopyData(chunk); });
  if (!sent.ok()) {
    // The target keeps nothing; its own error (if any) is the same story.
    (void)to.EndCopyIn("the source of this COPY failed");
    return sent.status();
  }
  return to.EndCopyIn();
}

void PgConnection::Cancel() {
  std::lock_guard lock(cancel_mu_);
  if (!cancel_) return;
  char err[256];
  (void)PQcancel(cancel_, err, sizeof err);
}

bool PgConnection::InTransaction() const {
  PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool PgConnection::Broken() const { return PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::LooksAlive() {
  if (!conn_ || Broken() || PQisBusy(conn_) != 0) return false;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0) return false;
  int ready = ::poll(&p, 1, 0);
  if (ready == 0) return true;  // nothing arrived: as healthy as it was
  // Something arrived while nobody asked. It may be harmless (a notice), but
  // it is usually the server saying goodbye; a fresh connection is cheaper
  // than finding out. Reading it lets libpq notice an end of stream.
  (void)PQconsumeInput(conn_);
  return false;
}
int PgConnection::BackendPid() const { return PQbackendPID(conn_); }
int PgConnection::ServerVersion() const { return PQserverVersion(conn_); }
std::string PgConnection::Database() const {
  const char* db = PQdb(conn_);
  return db ? db : "";
}
std::string PgConnection::ErrorMessage() const {
  return common::ScrubSecrets(TrimAsciiWhitespace(PQerrorMessage(conn_)));
}

std::string QuoteIdent(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace ds::daemon
