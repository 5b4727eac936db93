#include "daemon/pg/pg_conn.h"

#include <libpq-fe.h>

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
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
std::string_view PgResult::Get(int row, int col) const {
  return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
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
