#include "daemon/orgcopy/subset.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ds::daemon::orgcopy {
namespace {

// One key table per table holds D and S: D's rows have `gen` (the down
// round that found them) and `via` (the down FK), the rows S adds as
// parents have `up` (the upward round) instead, so S never copies D.
std::string KeyTable(int t) { return absl::StrCat("pg_temp.ds_k_", t); }

// The rows the upward closure reached, before they join S: (table, row id).
constexpr char kClosureTable[] = "pg_temp.ds_up";

// The loading session's batches of row ids (BatchRowsSql), one row per
// selection statement and partition.
constexpr char kBatchTable[] = "pg_temp.ds_batch";

// A row's id in the key tables: its ctid, which identifies a row version
// for the whole snapshot. A partitioned table's rows live in several
// partitions, whose ctids repeat, so there it is (tableoid, ctid).
std::string RowId(const std::string& alias, const CatalogTable& table) {
  return table.partitioned ? absl::StrCat(alias, ".tableoid, ", alias, ".ctid")
                           : absl::StrCat(alias, ".ctid");
}

// "<alias>.ctid = ANY (ARRAY(SELECT rid FROM <keys> [WHERE gen = <gen>
// [AND <also>]]))":
// the rows whose ids `keys` holds. As an array, the planner reads them with
// a TID scan (the ids sorted, each page once, only the pages that hold
// them) instead of scanning the whole table for a semi-join. A partitioned
// table gets a TID scan per partition on all the ids, and the pairs that
// name another partition's row are then dropped by (tableoid, ctid).
std::string RowsIn(const std::string& alias, const CatalogTable& table, const std::string& keys,
                   int gen = -1, const std::string& also = "") {
  std::string where = gen >= 0 ? absl::StrCat(" WHERE gen = ", gen) : std::string();
  if (!also.empty()) absl::StrAppend(&where, where.empty() ? " WHERE " : " AND ", also);
  std::string out = absl::StrCat(alias, ".ctid = ANY (ARRAY(SELECT rid FROM ", keys, where, "))");
  if (table.partitioned) {
    absl::StrAppend(&out, " AND (", alias, ".tableoid, ", alias, ".ctid) IN (SELECT rel, rid FROM ",
                    keys, where, ")");
  }
  return out;
}

// "c.a = p.x AND c.b = p.y": rows of the child (alias `c`) joined to the
// parent row (alias `p`) they reference. Equality never holds for NULL, so
// a child whose FK has a NULL column (MATCH SIMPLE: it references nothing)
// joins no parent.
std::string JoinCondition(const OrgCopyForeignKey& fk, const std::string& c = "c",
                          const std::string& p = "p") {
  std::vector<std::string> terms;
  for (size_t i = 0; i < fk.child_columns.size(); ++i) {
    terms.push_back(absl::StrCat(c, ".", QuoteIdent(fk.child_columns[i]), " = ", p, ".",
                                 QuoteIdent(fk.parent_columns[i])));
  }
  return absl::StrJoin(terms, " AND ");
}

// "p.x, p.y" or "c.a, c.b": the FK's columns on one side.
std::string Columns(const std::string& alias, const std::vector<std::string>& columns) {
  std::vector<std::string> terms;
  for (const std::string& column : columns) {
    terms.push_back(absl::StrCat(alias, ".", QuoteIdent(column)));
  }
  return absl::StrJoin(terms, ", ");
}

// How AddNewRows leaves out the rows a key table holds already. The key
// tables have no index (keeping one up to date costs more than the joins),
// so either way it is one hash: kAntiJoin (NOT EXISTS) hashes the key
// table, the cheaper way when the new rows are as many or more; kExcept
// hashes the new rows and reads the held ones past them, the way when the
// key table dwarfs them (a late round's handful of tasks against 320,040
// held: 93-146 ms as an anti-join, 24-34 ms as EXCEPT).
enum class HeldCheck { kNone, kAntiJoin, kExcept };

// "INSERT INTO <keys> SELECT [rel, ]rid, <values> FROM (<rows>) x": the
// row ids that `rows` selects (as [rel, ]rid), less those `keys` holds
// (`held`), added with `values` for the columns after rid.
std::string AddNewRows(const CatalogTable& table, const std::string& keys, const std::string& rows,
                       const std::string& values, HeldCheck held) {
  const char* id = table.partitioned ? "rel, rid" : "rid";
  std::string out =
      absl::StrCat("INSERT INTO ", keys, " SELECT ", id, ", ", values, " FROM (", rows,
                   held == HeldCheck::kExcept ? absl::StrCat(" EXCEPT SELECT ", id, " FROM ", keys)
                                              : std::string(),
                   ") x");
  if (held == HeldCheck::kAntiJoin) {
    absl::StrAppend(&out, " WHERE NOT EXISTS (SELECT FROM ", keys, " k WHERE k.rid = x.rid",
                    table.partitioned ? " AND k.rel = x.rel" : "", ")");
  }
  return out;
}

bool Stopped(const SelectHooks& hooks) { return hooks.stop && hooks.stop(); }

absl::Status Cancelled() { return absl::CancelledError("the organization copy was cancelled"); }

// Tells the caller about the rows statement `stmt` added to `table`.
absl::Status Report(const SelectHooks& hooks, int table, int stmt, int64_t rows) {
  if (!hooks.on_rows || rows == 0) return absl::OkStatus();
  return hooks.on_rows(KeyBatch{table, stmt});
}

// Runs statement `stmt`, an INSERT into `table`'s key table, and reports
// the rows it added.
absl::StatusOr<int64_t> Insert(PgConnection& source, int table, int stmt, const std::string& sql,
                               const SelectHooks& hooks, std::string_view doing) {
  if (Stopped(hooks)) return Cancelled();
  PgResult r = source.Exec(sql);
  if (!r.ok()) return source.ErrorStatus(r, doing);
  if (absl::Status s = Report(hooks, table, stmt, r.affected_rows()); !s.ok()) return s;
  return r.affected_rows();
}

// "c.a IS NOT NULL AND c.b IS NOT NULL": the row references a parent
// through the FK (MATCH SIMPLE: a NULL column means it references none).
// With `positional`, the columns are named k0, k1, ... (KeyColumns).
std::string References(const OrgCopyForeignKey& fk, const std::string& c = "c",
                       bool positional = false) {
  std::vector<std::string> terms;
  for (size_t i = 0; i < fk.child_columns.size(); ++i) {
    terms.push_back(
        absl::StrCat(c, ".", positional ? absl::StrCat("k", i) : QuoteIdent(fk.child_columns[i]),
                     " IS NOT NULL"));
  }
  return absl::StrJoin(terms, " AND ");
}

// "p.x AS k0, p.y AS k1": one side of the FK's columns, named by position
// so that both sides compare by the same names.
std::string KeyColumns(const std::string& alias, const std::vector<std::string>& columns) {
  std::vector<std::string> terms;
  for (size_t i = 0; i < columns.size(); ++i) {
    terms.push_back(absl::StrCat(alias, ".", QuoteIdent(columns[i]), " AS k", i));
  }
  return absl::StrJoin(terms, ", ");
}

// "a.k0 = b.k0 AND a.k1 = b.k1", and "k0, k1".
std::string SameKey(size_t n, const std::string& a, const std::string& b) {
  std::vector<std::string> terms;
  for (size_t i = 0; i < n; ++i) terms.push_back(absl::StrCat(a, ".k", i, " = ", b, ".k", i));
  return absl::StrJoin(terms, " AND ");
}
std::string KeyNames(size_t n) {
  std::vector<std::string> terms;
  for (size_t i = 0; i < n; ++i) terms.push_back(absl::StrCat("k", i));
  return absl::StrJoin(terms, ", ");
}

// Statement `stmt` of upward round `gen` for FK `fk`: the parents of the
// child rows `wanted_rows` (a condition on alias c) that S lacks join it.
// Its key values are gathered once (w), their parent rows looked up
// through the parent's unique key (f), those S lacks added; a value that
// no parent row holds is a row of the source breaking the FK
// (SourceBreaksForeignKey). With `skip_held_values`, values whose
// parent S holds are dropped before the lookup, by a hash anti-join
// against S's rows of the parent (many child rows against them: a task's
// assignee, mostly a user of the organization); otherwise all are looked
// up and parents S holds are dropped by their row ids (few child rows:
// the late rounds), never reading S's parent rows.
absl::StatusOr<int64_t> AddParents(PgConnection& source, const Catalog& catalog,
                                   const CatalogForeignKey& fk, const std::string& wanted_rows,
                                   bool parent_held, bool skip_held_values, int gen, int stmt,
                                   const SelectHooks& hooks) {
  if (Stopped(hooks)) return Cancelled();
  const CatalogTable& child = catalog.tables[fk.child];
  const CatalogTable& parent = catalog.tables[fk.parent];
  const size_t n = fk.fk.child_columns.size();
  // No "IS NOT NULL" on the values here: it only cuts the planner's
  // guess for the TID scan (ten rows) further, to where it probed the
  // parent's index per value and tested each parent found against the
  // whole id array (13,333 favourite projects against 8,001 held projects:
  // 236 ms instead of 20). A NULL finds no parent in f and is no
  // violation (MATCH SIMPLE), so the check below leaves NULLs out.
  std::string w = absl::StrCat("SELECT DISTINCT ", KeyColumns("c", fk.fk.child_columns), " FROM ",
                               FromName(child), " c WHERE ", wanted_rows);
  if (skip_held_values) {
    absl::StrAppend(&w, " AND NOT EXISTS (SELECT FROM ", FromName(parent), " h WHERE ",
                    RowsIn("h", parent, KeyTable(fk.parent)), " AND ",
                    JoinCondition(fk.fk, "c", "h"), ")");
  }
  const std::string f =
      absl::StrCat("SELECT ", parent.partitioned ? "p.tableoid AS rel, " : "", "p.ctid AS rid, ",
                   KeyColumns("p", fk.fk.parent_columns), " FROM ", FromName(parent), " p WHERE (",
                   Columns("p", fk.fk.parent_columns), ") IN (SELECT ", KeyNames(n), " FROM w)");
  const std::string add =
      AddNewRows(parent, KeyTable(fk.parent),
                 absl::StrCat("SELECT ", parent.partitioned ? "f.rel, " : "", "f.rid FROM f"),
                 absl::StrCat("NULL, NULL, ", gen, ", ", stmt),
                 parent_held && !skip_held_values ? HeldCheck::kExcept : HeldCheck::kNone);
  PgResult r = source.Exec(
      absl::StrCat("WITH w AS MATERIALIZED (", w, "), f AS MATERIALIZED (", f, "), added AS (", add,
                   " RETURNING 1) SELECT (SELECT count(*) FROM added), (SELECT ROW(", KeyNames(n),
                   ")::text FROM w WHERE ", References(fk.fk, "w", /*positional=*/true),
                   " AND NOT EXISTS (SELECT FROM f WHERE ", SameKey(n, "f", "w"), ") LIMIT 1)"));
  if (!r.ok()) {
    return source.ErrorStatus(
        r, absl::StrCat("following ", fk.fk.name, " up to ", fk.fk.parent.Display()));
  }
  if (!r.IsNull(0, 1)) return SourceBreaksForeignKey(fk, r.Get(0, 1));
  const int64_t added = r.GetInt(0, 0);
  if (absl::Status s = Report(hooks, fk.parent, stmt, added); !s.ok()) return s;
  return added;
}

// The rest of the upward pass in one statement, from the parents the
// round `gen` added: a recursive query follows every FK up from each row,
// one row at a time (a TID fetch and a probe of the parent's unique index
// per FK), until no row adds a new one; then each table's rows that S does
// not hold yet join it as round gen + 1. Long chains of few rows (a guest
// user's favourite project in another organization, whose owner has a
// favourite project in a third, ...) cost a statement per link when run
// round by round; here they cost one statement in all. The walk does not
// stop at rows S already holds (the key tables have no index to tell), so
// it climbs their parents again: a row's ancestors are few, and they are
// dropped by one EXCEPT per table at the end (AddNewRows).
absl::Status CloseUpward(PgConnection& source, const Catalog& catalog,
                         const std::vector<int64_t>& seeds, int gen, int& stmt,
                         const SelectHooks& hooks) {
  const int n = static_cast<int>(catalog.tables.size());
  std::vector<std::string> seed_sql;
  for (int t = 0; t < n; ++t) {
    if (seeds[t] == 0) continue;
    seed_sql.push_back(absl::StrCat("SELECT ", t, ", ",
                                    catalog.tables[t].partitioned ? "rel" : "0::oid", ", rid FROM ",
                                    KeyTable(t), " WHERE up = ", gen));
  }
  std::vector<std::string> steps;
  for (const CatalogForeignKey& fk : catalog.foreign_keys) {
    const CatalogTable& child = catalog.tables[fk.child];
    const CatalogTable& parent = catalog.tables[fk.parent];
    steps.push_back(
        absl::StrCat("SELECT ", fk.parent, " AS t, ", parent.partitioned ? "p.tableoid" : "0::oid",
                     " AS rel, p.ctid AS rid FROM ", FromName(child), " c JOIN ", FromName(parent),
                     " p ON ", JoinCondition(fk.fk), " WHERE r.t = ", fk.child,
                     " AND c.ctid = r.rid", child.partitioned ? " AND c.tableoid = r.rel" : ""));
  }
  if (Stopped(hooks)) return Cancelled();
  PgResult reached = source.Exec(
      absl::StrCat("INSERT INTO ", kClosureTable, " WITH RECURSIVE r (t, rel, rid) AS (",
                   absl::StrJoin(seed_sql, " UNION ALL "),
                   " UNION SELECT x.t, x.rel, x.rid FROM r CROSS JOIN LATERAL (",
                   absl::StrJoin(steps, " UNION ALL "), ") x) SELECT t, rel, rid FROM r"));
  if (!reached.ok()) {
    return source.ErrorStatus(reached, "following the foreign keys up from the last parents");
  }

  std::vector<int64_t> added(n, 0);
  PgResult tables = source.Exec(absl::StrCat("SELECT DISTINCT t FROM ", kClosureTable));
  if (!tables.ok()) return source.ErrorStatus(tables, "reading the upward closure");
  for (int i = 0; i < tables.rows(); ++i) {
    const int t = static_cast<int>(tables.GetInt(i, 0));
    const CatalogTable& table = catalog.tables[t];
    ++stmt;
    absl::StatusOr<int64_t> joined =
        Insert(source, t, stmt,
               AddNewRows(table, KeyTable(t),
                          absl::StrCat("SELECT ", table.partitioned ? "u.rel, " : "", "u.rid FROM ",
                                       kClosureTable, " u WHERE u.t = ", t),
                          absl::StrCat("NULL, NULL, ", gen + 1, ", ", stmt), HeldCheck::kExcept),
               hooks, absl::StrCat("adding the parents found in ", table.name.Display()));
    if (!joined.ok()) return joined.status();
    added[t] = *joined;
  }

  // The walk's joins drop a value that no parent row holds without a word,
  // so the rows it started from and reached (few) have each FK looked up
  // once more, by the parent's unique key, for the first such value.
  std::vector<std::string> probes;
  for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
    const CatalogForeignKey& fk = catalog.foreign_keys[e];
    if (seeds[fk.child] == 0 && added[fk.child] == 0) continue;
    const CatalogTable& child = catalog.tables[fk.child];
    probes.push_back(absl::StrCat(
        "(SELECT ", e, ", ROW(", Columns("c", fk.fk.child_columns), ")::text FROM ",
        FromName(child), " c WHERE ",
        RowsIn("c", child, KeyTable(fk.child), /*gen=*/-1, absl::StrCat("up >= ", gen)), " AND ",
        References(fk.fk), " AND NOT EXISTS (SELECT FROM ", FromName(catalog.tables[fk.parent]),
        " p WHERE ", JoinCondition(fk.fk), ") LIMIT 1)"));
  }
  if (!probes.empty()) {
    if (Stopped(hooks)) return Cancelled();
    PgResult r = source.Exec(absl::StrJoin(probes, " UNION ALL "));
    if (!r.ok()) return source.ErrorStatus(r, "checking the last parents' foreign keys");
    if (r.rows() > 0) {
      return SourceBreaksForeignKey(catalog.foreign_keys[r.GetInt(0, 0)], r.Get(0, 1));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRootRow(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                          const std::string& organization_id) {
  const CatalogTable& root = catalog.tables[graph.root];
  const CatalogColumn& column = root.columns[graph.root_column];
  PgResult r = source.ExecParams(absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", FromName(root),
                                              " WHERE ", QuoteIdent(column.name), " = $1)"),
                                 {organization_id});
  if (!r.ok()) {
    // 22P02 and friends (class 22): the id is no value of the column's type.
    if (r.sqlstate().starts_with("22")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "organization id \"", organization_id, "\" is not a valid ", column.type,
          " (the type of ", root.name.Display(), ".", column.name, "): ", r.message()));
    }
    return source.ErrorStatus(r, "looking up the organization");
  }
  if (!r.GetBool(0, 0)) {
    return absl::NotFoundError(absl::StrCat("the source has no organization with ",
                                            root.name.Display(), ".", column.name, " = ",
                                            organization_id, "; nothing was touched"));
  }
  return absl::OkStatus();
}

namespace {

// The key tables, made before the snapshot's transaction (see OpenSnapshot).
absl::Status CreateKeyTables(PgConnection& source, const Catalog& catalog, const CopyGraph& graph) {
  // Temp tables live in the session's local buffers, 8 MB by default: a
  // million keys would spill to disk and be read back every round. The
  // size can only change before the session first touches a temp table,
  // so it is set here, with room for the hash joins over the key tables.
  // Both are ceilings, taken only as the key tables grow. JIT is off: the
  // planner cannot see the key tables' sizes, and its guesses for the
  // recursive walk (CloseUpward) cross the JIT thresholds, so the server
  // compiled for seconds a statement that runs in milliseconds.
  std::string ddl = "SET temp_buffers = '256MB'; SET work_mem = '64MB'; SET jit = off;";
  for (size_t t = 0; t < graph.in_copy.size(); ++t) {
    if (!graph.in_copy[t]) continue;
    absl::StrAppend(&ddl, "CREATE TEMP TABLE ", KeyTable(t),
                    catalog.tables[t].partitioned
                        ? absl::StrCat(" (rel oid, rid tid, gen int, via int, up int, stmt int); ",
                                       "CREATE INDEX ON ", KeyTable(t), " (rel, rid);")
                        : " (rid tid, gen int, via int, up int, stmt int);");
  }
  absl::StrAppend(&ddl, "CREATE TEMP TABLE ", kClosureTable, " (t int, rel oid, rid tid);");
  PgResult r = source.Exec(ddl);
  if (!r.ok()) return source.ErrorStatus(r, "creating the key tables in the source");
  return absl::OkStatus();
}

}  // namespace

absl::Status OpenSnapshot(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                          std::string* exported) {
  if (absl::Status s = CreateKeyTables(source, catalog, graph); !s.ok()) return s;
  PgResult r = source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!r.ok()) return source.ErrorStatus(r, "opening the source snapshot");
  if (exported) {
    // Where a snapshot cannot be exported, the snapshot is opened again
    // without it and `exported` left empty: the copy then reads on one
    // session only.
    r = source.Exec("SELECT pg_export_snapshot()");
    exported->clear();
    if (r.ok()) {
      *exported = std::string(r.Get(0, 0));
    } else {
      r = source.Exec("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (!r.ok()) return source.ErrorStatus(r, "opening the source snapshot");
    }
  }
  return absl::OkStatus();
}

absl::Status OpenImportedSnapshot(PgConnection& source, const std::string& snapshot) {
  // EXTERNAL: the arrays are stored as they come, not compressed first
  // (row ids barely compress, and the tasks' 320,000 are 3 MB). JIT off as
  // on the selecting session: the planner cannot see an array's length,
  // and a root leaf's scan crosses the JIT thresholds.
  PgResult r = source.Exec(absl::StrCat("SET jit = off; CREATE TEMP TABLE ", kBatchTable,
                                        " (stmt int, rel oid, part int, rids tid[]); ALTER TABLE ",
                                        kBatchTable, " ALTER rids SET STORAGE EXTERNAL"));
  if (!r.ok()) return source.ErrorStatus(r, "creating the batch table in the source");
  r = source.Exec(
      absl::StrCat("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ",
                   source.QuoteLiteral(snapshot)));
  if (!r.ok()) return source.ErrorStatus(r, "importing the source snapshot");
  return absl::OkStatus();
}

std::string KeysCopyOutSql(const Catalog& catalog, const KeyBatch& batch) {
  return absl::StrCat("COPY (SELECT ", catalog.tables[batch.table].partitioned ? "rel, " : "",
                      "rid FROM ", KeyTable(batch.table), " WHERE stmt = ", batch.stmt,
                      ") TO STDOUT");
}

std::string StoreBatchSql(const KeyBatch& batch, const RowIdArray& ids) {
  return absl::StrCat("INSERT INTO ", kBatchTable, " VALUES (", batch.stmt, ", ", ids.partition,
                      ", ", ids.part, ", $1::tid[])");
}

absl::Status NamePartitions(PgConnection& source, const std::vector<RowIdArray>& ids,
                            absl::flat_hash_map<uint32_t, std::string>& names) {
  std::vector<uint32_t> missing;
  for (const RowIdArray& array : ids) {
    if (array.partition != 0 && !names.contains(array.partition) &&
        std::find(missing.begin(), missing.end(), array.partition) == missing.end()) {
      missing.push_back(array.partition);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  PgResult r = source.ExecParams(
      "SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
      "ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[])",
      {absl::StrCat("{", absl::StrJoin(missing, ","), "}")});
  if (!r.ok()) return source.ErrorStatus(r, "naming the partitions");
  for (int i = 0; i < r.rows(); ++i) {
    names[static_cast<uint32_t>(r.GetInt(i, 0))] = std::string(r.Get(i, 1));
  }
  for (uint32_t oid : missing) {
    if (!names.contains(oid)) {
      return absl::InternalError(absl::StrCat("the source has no partition with oid ", oid));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> SelectRows(PgConnection& source, const Catalog& catalog,
                                                const CopyGraph& graph,
                                                const std::string& organization_id,
                                                int64_t walk_below, const SelectHooks& hooks) {
  const int n = static_cast<int>(catalog.tables.size());
  // Numbers the statements that add rows, in the key tables' `stmt`.
  int stmt = 0;
  const CatalogTable& root = catalog.tables[graph.root];
  PgResult seed = source.ExecParams(
      absl::StrCat("INSERT INTO ", KeyTable(graph.root), " SELECT ", RowId("r", root),
                   ", 0, NULL, NULL, ", stmt, " FROM ", FromName(root), " r WHERE ",
                   QuoteIdent(root.columns[graph.root_column].name), " = $1"),
      {organization_id});
  if (!seed.ok()) return source.ErrorStatus(seed, "selecting the organization's row");
  if (seed.affected_rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("the source has no organization with ", root.name.Display(), ".",
                     root.columns[graph.root_column].name, " = ", organization_id));
  }
  if (absl::Status s = Report(hooks, graph.root, stmt, seed.affected_rows()); !s.ok()) return s;

  // Semi-naive fixpoints: each round joins only the rows the previous round
  // found, so a chain of depth k costs k rounds of small joins.
  std::vector<int64_t> found(n, 0);
  found[graph.root] = seed.affected_rows();
  // Rows each key table holds: an empty one needs no check for rows it has.
  std::vector<int64_t> held = found;
  // Rows each down FK brought into D (each row once: the first FK to find
  // it is its `via`). Their parent through that FK is in D already, so the
  // upward pass need not look for it.
  std::vector<int64_t> came_via(catalog.foreign_keys.size(), 0);
  for (int gen = 1;; ++gen) {
    std::vector<int64_t> next(n, 0);
    bool any = false;
    for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      if (!graph.down[e] || found[fk.parent] == 0) continue;
      if (!hooks.read_elsewhere.empty() && hooks.read_elsewhere[fk.child]) continue;
      const CatalogTable& child = catalog.tables[fk.child];
      const CatalogTable& parent = catalog.tables[fk.parent];
      // Each child row joins at most one parent row (the FK references a
      // unique key), so one statement never finds a row twice. The first
      // round's parents are the root rows: named by the root column's
      // value, not their ids, the planner carries the value over the join
      // (org_id = 1) and a table without an index on the FK is scanned
      // with that filter instead of probing a hash per row.
      const std::string parents =
          gen == 1 && fk.parent == graph.root
              ? absl::StrCat("p.", QuoteIdent(root.columns[graph.root_column].name), " = ",
                             source.QuoteLiteral(organization_id))
              : RowsIn("p", parent, KeyTable(fk.parent), gen - 1);
      ++stmt;
      absl::StatusOr<int64_t> added =
          Insert(source, fk.child, stmt,
                 AddNewRows(child, KeyTable(fk.child),
                            absl::StrCat("SELECT ", child.partitioned ? "c.tableoid AS rel, " : "",
                                         "c.ctid AS rid FROM ", FromName(child), " c JOIN ",
                                         FromName(parent), " p ON ", JoinCondition(fk.fk),
                                         " WHERE ", parents),
                            absl::StrCat(gen, ", ", e, ", NULL, ", stmt),
                            held[fk.child] == 0                     ? HeldCheck::kNone
                            : held[fk.child] > 4 * found[fk.parent] ? HeldCheck::kExcept
                                                                    : HeldCheck::kAntiJoin),
                 hooks, absl::StrCat("following ", fk.fk.name, " down to ", fk.fk.child.Display()));
      if (!added.ok()) return added.status();
      next[fk.child] += *added;
      held[fk.child] += *added;
      came_via[e] += *added;
      any = any || *added > 0;
    }
    found = std::move(next);
    if (!any) break;
  }

  // S starts as D (the rows the key tables hold); then parents, round by
  // round: round 1 reads D (up IS NULL), round k the parents of round k-1
  // (AddParents). A row's FK values are looked up in the round after the
  // one that added it, except through the FK it came down by: that one
  // joined its parent, in D.
  found = held;
  for (int gen = 1;; ++gen) {
    std::vector<int64_t> next(n, 0);
    bool any = false;
    for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      // Round 1 reads D: nothing to do when all of the child's D rows came
      // down through this very FK.
      if (found[fk.child] == 0 || (gen == 1 && found[fk.child] == came_via[e])) continue;
      const CatalogTable& child = catalog.tables[fk.child];
      std::string wanted_rows =
          RowsIn("c", child, KeyTable(fk.child), /*gen=*/-1,
                 absl::StrCat(gen == 1 ? "up IS NULL" : absl::StrCat("up = ", gen - 1),
                              " AND via IS DISTINCT FROM ", e));
      ++stmt;
      // The rows this statement reads: round 1 leaves out those that came
      // down through this FK (of the 40,002 reads of D's events in the
      // bench, 40,001 came by event_id, one by user_id).
      const int64_t reading = found[fk.child] - (gen == 1 ? came_via[e] : 0);
      absl::StatusOr<int64_t> added =
          AddParents(source, catalog, fk, wanted_rows, held[fk.parent] > 0,
                     held[fk.parent] > 0 && reading * 4 >= held[fk.parent], gen, stmt, hooks);
      if (!added.ok()) return added.status();
      next[fk.parent] += *added;
      held[fk.parent] += *added;
      any = any || *added > 0;
    }
    if (!any) break;
    int64_t new_parents = 0;
    for (int64_t rows : next) new_parents += rows;
    if (new_parents < walk_below) {
      if (absl::Status s = CloseUpward(source, catalog, next, gen, stmt, hooks); !s.ok()) return s;
      break;
    }
    found = std::move(next);
  }

  std::vector<std::string> counts;
  for (int t = 0; t < n; ++t) {
    if (graph.in_copy[t]) {
      counts.push_back(absl::StrCat("SELECT ", t, ", count(*) FROM ", KeyTable(t)));
    }
  }
  std::vector<int64_t> rows(n, 0);
  if (counts.empty()) return rows;
  PgResult r = source.Exec(absl::StrJoin(counts, " UNION ALL "));
  if (!r.ok()) return source.ErrorStatus(r, "counting the selected rows");
  for (int i = 0; i < r.rows(); ++i) rows[r.GetInt(i, 0)] = r.GetInt(i, 1);
  return rows;
}

std::string RootLeafRowsSql(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                            int table, const std::string& organization_id,
                            const std::string& select_list) {
  const CatalogForeignKey& fk = catalog.foreign_keys[graph.root_leaves.at(table)];
  const CatalogTable& root = catalog.tables[graph.root];
  return absl::StrCat("SELECT ", select_list, " FROM ", FromName(catalog.tables[table]),
                      " t WHERE (", Columns("t", fk.fk.child_columns), ") IN (SELECT ",
                      Columns("p", fk.fk.parent_columns), " FROM ", FromName(root), " p WHERE p.",
                      QuoteIdent(root.columns[graph.root_column].name), " = ",
                      source.QuoteLiteral(organization_id), ")");
}

std::string SelectedRowsSql(const Catalog& catalog, int table, const std::string& select_list) {
  const CatalogTable& t = catalog.tables[table];
  return absl::StrCat("SELECT ", select_list, " FROM ", FromName(t), " t WHERE ",
                      RowsIn("t", t, KeyTable(table)));
}

std::string BatchRowsSql(const CatalogTable& table, const std::string& select_list,
                         const KeyBatch& batch, const RowIdArray& ids,
                         const std::string& partition_name) {
  // The array is a scalar subquery's value, so the planner reads it with a
  // TID scan without looking inside it (an array literal it estimated
  // element by element, for seconds).
  return absl::StrCat("SELECT ", select_list, " FROM ",
                      ids.partition == 0 ? FromName(table) : absl::StrCat("ONLY ", partition_name),
                      " t WHERE t.ctid = ANY ((SELECT rids FROM ", kBatchTable,
                      " WHERE stmt = ", batch.stmt, " AND rel = ", ids.partition,
                      " AND part = ", ids.part, ")::tid[])");
}

}  // namespace ds::daemon::orgcopy
