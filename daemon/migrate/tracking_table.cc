#include "daemon/migrate/tracking_table.h"

#include <cstdlib>
#include <map>
#include <optional>

#include "common/strings.h"
#include "common/version.h"

namespace ds::daemon {

TrackingTable NameTrackingTable(const std::string& schema, const std::string& table) {
  TrackingTable t;
  t.schema = schema;
  t.table = table;
  t.qualified = StrCat(QuoteIdent(schema), ".", QuoteIdent(table));
  t.log_qualified = StrCat(QuoteIdent(schema), ".", QuoteIdent(kDsLogTable));
  return t;
}

absl::Status SqlError(std::string_view what, const PgResult& r, const PgConnection& conn) {
  std::string msg = r.message();
  if (msg.empty()) msg = conn.ErrorMessage();
  return absl::InternalError(StrCat(what, ": ", msg));
}

absl::Status DescribeTrackingTable(PgConnection& conn, TrackingTable* t) {
  PgResult r = conn.ExecParams(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      {t->qualified});
  if (!r.ok()) return SqlError(StrCat("cannot read the columns of ", t->qualified), r, conn);
  t->exists = r.rows() > 0;
  if (!t->exists) return absl::OkStatus();
  std::map<std::string, std::string> cols;
  std::vector<std::string> listed;
  for (int i = 0; i < r.rows(); ++i) {
    cols[std::string(r.Get(i, 0))] = std::string(r.Get(i, 1));
    listed.push_back(StrCat(r.Get(i, 0), " ", r.Get(i, 1)));
  }
  bool known = cols.count("id") && cols.count("hash") && cols.count("created_at") &&
               cols["created_at"] == "bigint";
  for (const auto& [name, type] : cols) {
    if (name != "id" && name != "hash" && name != "created_at" && name != "name" &&
        name != "applied_at") {
      known = false;
    }
  }
  if (!known) {
    std::vector<std::string_view> v(listed.begin(), listed.end());
    return absl::FailedPreconditionError(
        StrCat("the tracking table ", t->qualified, " has columns (", Join(v, ", "),
               ") and not drizzle's (id, hash, created_at bigint[, name, applied_at]); nothing was "
               "applied. Point --schema/--table at drizzle's tracking table, or move this table "
               "out of the way"));
  }
  t->has_name = cols.count("name") > 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AppliedRow>> ReadAppliedRows(PgConnection& conn,
                                                        const TrackingTable& t) {
  std::vector<AppliedRow> rows;
  if (!t.exists) return rows;
  PgResult r = conn.Exec(StrCat("SELECT id, hash, created_at", t.has_name ? ", name" : "", " FROM ",
                                t.qualified, " ORDER BY id"));
  if (!r.ok()) return SqlError(StrCat("cannot read ", t.qualified), r, conn);
  for (int i = 0; i < r.rows(); ++i) {
    AppliedRow row;
    row.id = std::strtoll(std::string(r.Get(i, 0)).c_str(), nullptr, 10);
    row.hash = std::string(r.Get(i, 1));
    if (!r.IsNull(i, 2))
      row.created_at = std::strtoll(std::string(r.Get(i, 2)).c_str(), nullptr, 10);
    if (t.has_name && !r.IsNull(i, 3)) row.name = std::string(r.Get(i, 3));
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::Status EnsureTrackingTables(PgConnection& conn, TrackingTable* t, bool drizzle_v1_shape) {
  std::string sql = StrCat("BEGIN; CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(t->schema), "; ");
  if (!t->exists) {
    StrAppend(
        &sql, "CREATE TABLE IF NOT EXISTS ", t->qualified,
        " (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint",
        drizzle_v1_shape ? ", name text, applied_at timestamp with time zone DEFAULT now()" : "",
        "); ");
  }
  StrAppend(&sql, "CREATE TABLE IF NOT EXISTS ", t->log_qualified,
            " (id bigserial PRIMARY KEY, name text NOT NULL, hash text NOT NULL, "
            "created_at bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
            "duration_ms bigint NOT NULL, applied_by text NOT NULL, job_id text NOT NULL, "
            "ds_version text NOT NULL, note text NOT NULL DEFAULT ''); COMMIT;");
  PgResult r = conn.Exec(sql);
  if (!r.ok()) {
    conn.Exec("ROLLBACK");
    return SqlError(StrCat("cannot create the tracking table ", t->qualified), r, conn);
  }
  if (!t->exists) {
    t->exists = true;
    t->has_name = drizzle_v1_shape;
  }
  return absl::OkStatus();
}

namespace {

absl::Status InsertDrizzleRows(PgConnection& conn, const TrackingTable& t,
                               const std::vector<AppliedMigration>& applied) {
  std::vector<std::optional<std::string>> params;
  std::string sql =
      StrCat("INSERT INTO ", t.qualified,
             t.has_name ? " (hash, created_at, name) VALUES " : " (hash, created_at) VALUES ");
  for (size_t i = 0; i < applied.size(); ++i) {
    const DrizzleMigration& m = *applied[i].m;
    size_t n = params.size();
    StrAppend(&sql, i ? ", " : "", "($", n + 1, ", $", n + 2, "::bigint",
              t.has_name ? StrCat(", $", n + 3) : "", ")");
    params.push_back(m.hash);
    params.push_back(std::to_string(m.when));
    if (t.has_name) params.push_back(m.name);
  }
  PgResult r = conn.ExecParams(sql, params);
  if (!r.ok()) return SqlError(StrCat("cannot record the migrations in ", t.qualified), r, conn);
  return absl::OkStatus();
}

absl::Status InsertLogRows(PgConnection& conn, const TrackingTable& t, const AppliedBy& by,
                           const std::vector<AppliedMigration>& applied) {
  std::vector<std::optional<std::string>> params;
  std::string sql = StrCat("INSERT INTO ", t.log_qualified,
                           " (name, hash, created_at, duration_ms, applied_by, job_id, "
                           "ds_version, note) VALUES ");
  const std::string version(common::Version());
  for (size_t i = 0; i < applied.size(); ++i) {
    const AppliedMigration& a = applied[i];
    size_t n = params.size();
    StrAppend(&sql, i ? ", " : "", "(");
    for (size_t k = 1; k <= 8; ++k) {
      StrAppend(&sql, k > 1 ? ", " : "", "$", n + k, k == 3 || k == 4 ? "::bigint" : "");
    }
    StrAppend(&sql, ")");
    for (std::string v : {a.m->tag, a.m->hash, std::to_string(a.m->when),
                          std::to_string(a.duration_ms), by.who, by.job_id, version, a.note}) {
      params.push_back(std::move(v));
    }
  }
  PgResult r = conn.ExecParams(sql, params);
  if (!r.ok())
    return SqlError(StrCat("cannot record the migrations in ", t.log_qualified), r, conn);
  return absl::OkStatus();
}

}  // namespace

absl::Status RecordApplied(PgConnection& conn, const TrackingTable& t, const AppliedBy& by,
                           const std::vector<AppliedMigration>& applied) {
  if (applied.empty()) return absl::OkStatus();
  if (absl::Status s = InsertDrizzleRows(conn, t, applied); !s.ok()) return s;
  return InsertLogRows(conn, t, by, applied);
}

}  // namespace ds::daemon
