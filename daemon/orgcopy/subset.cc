#include "daemon/orgcopy/subset.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ds::daemon::orgcopy {
namespace {

// One key table per table holds D and S: D's rows have `gen` (the down
// round that found them) and `via` (the down FK), the rows S adds as
// parents have `up` (the upward round) instead, so S never copies D.
std::string KeyTable(int t) { return absl::StrCat("pg_temp.ds_k_", t); }

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

// "c.a = p.x AND c.b = p.y": rows of the child joined to the parent row
// they reference. Equality never holds for NULL, so a child whose FK has a
// NULL column (MATCH SIMPLE: it references nothing) joins no parent.
std::string JoinCondition(const OrgCopyForeignKey& fk) {
  std::vector<std::string> terms;
  for (size_t i = 0; i < fk.child_columns.size(); ++i) {
    terms.push_back(absl::StrCat("c.", QuoteIdent(fk.child_columns[i]), " = p.",
                                 QuoteIdent(fk.parent_columns[i])));
  }
  return absl::StrJoin(terms, " AND ");
}

absl::StatusOr<int64_t> Insert(PgConnection& source, const std::string& sql, JobContext* ctx,
                               std::string_view doing) {
  if (ctx && ctx->cancelled()) return absl::CancelledError("the organization copy was cancelled");
  PgResult r = source.Exec(sql);
  if (!r.ok()) return source.ErrorStatus(r, doing);
  return r.affected_rows();
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

absl::Status OpenSnapshot(PgConnection& source, const Catalog& catalog, const CopyGraph& graph) {
  std::string ddl;
  for (size_t t = 0; t < graph.in_copy.size(); ++t) {
    if (!graph.in_copy[t]) continue;
    absl::StrAppend(&ddl, "CREATE TEMP TABLE ", KeyTable(t),
                    catalog.tables[t].partitioned
                        ? " (rel oid, rid tid, gen int, via int, up int, PRIMARY KEY (rel, rid));"
                        : " (rid tid PRIMARY KEY, gen int, via int, up int);");
  }
  PgResult r = source.Exec(ddl);
  if (!r.ok()) return source.ErrorStatus(r, "creating the key tables in the source");
  r = source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!r.ok()) return source.ErrorStatus(r, "opening the source snapshot");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> SelectRows(PgConnection& source, const Catalog& catalog,
                                                const CopyGraph& graph,
                                                const std::string& organization_id,
                                                JobContext* ctx) {
  const int n = static_cast<int>(catalog.tables.size());
  const CatalogTable& root = catalog.tables[graph.root];
  PgResult seed = source.ExecParams(
      absl::StrCat("INSERT INTO ", KeyTable(graph.root), " SELECT ", RowId("r", root),
                   ", 0, NULL, NULL FROM ", FromName(root), " r WHERE ",
                   QuoteIdent(root.columns[graph.root_column].name), " = $1"),
      {organization_id});
  if (!seed.ok()) return source.ErrorStatus(seed, "selecting the organization's row");
  if (seed.affected_rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("the source has no organization with ", root.name.Display(), ".",
                     root.columns[graph.root_column].name, " = ", organization_id));
  }

  // Semi-naive fixpoints: each round joins only the rows the previous round
  // found, so a chain of depth k costs k rounds of small joins.
  std::vector<int64_t> found(n, 0);
  found[graph.root] = seed.affected_rows();
  // Rows each down FK brought into D (each row once: the first FK to find
  // it is its `via`). Their parent through that FK is in D already, so the
  // upward pass need not look for it.
  std::vector<int64_t> came_via(catalog.foreign_keys.size(), 0);
  std::vector<int64_t> in_d = found;
  for (int gen = 1;; ++gen) {
    std::vector<int64_t> next(n, 0);
    bool any = false;
    for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      if (!graph.down[e] || found[fk.parent] == 0) continue;
      const CatalogTable& child = catalog.tables[fk.child];
      const CatalogTable& parent = catalog.tables[fk.parent];
      absl::StatusOr<int64_t> added =
          Insert(source,
                 absl::StrCat("INSERT INTO ", KeyTable(fk.child), " SELECT ", RowId("c", child),
                              ", ", gen, ", ", e, ", NULL FROM ", FromName(child), " c JOIN ",
                              FromName(parent), " p ON ", JoinCondition(fk.fk), " WHERE ",
                              RowsIn("p", parent, KeyTable(fk.parent), gen - 1),
                              " ON CONFLICT DO NOTHING"),
                 ctx, absl::StrCat("following ", fk.fk.name, " down to ", fk.fk.child.Display()));
      if (!added.ok()) return added.status();
      next[fk.child] += *added;
      in_d[fk.child] += *added;
      came_via[e] += *added;
      any = any || *added > 0;
    }
    found = std::move(next);
    if (!any) break;
  }

  // S starts as D (the rows the key tables hold); then parents, round by
  // round: round 1 reads D (up IS NULL), round k the parents of round k-1.
  found = std::move(in_d);
  for (int gen = 1;; ++gen) {
    std::vector<int64_t> next(n, 0);
    bool any = false;
    for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      // Round 1 reads D: nothing to do when all of the child's D rows came
      // down through this very FK.
      if (found[fk.child] == 0 || (gen == 1 && found[fk.child] == came_via[e])) continue;
      const CatalogTable& child = catalog.tables[fk.child];
      const CatalogTable& parent = catalog.tables[fk.parent];
      absl::StatusOr<int64_t> added = Insert(
          source,
          absl::StrCat("INSERT INTO ", KeyTable(fk.parent), " SELECT ", RowId("p", parent),
                       ", NULL, NULL, ", gen, " FROM ", FromName(child), " c JOIN ",
                       FromName(parent), " p ON ", JoinCondition(fk.fk), " WHERE ",
                       RowsIn("c", child, KeyTable(fk.child), /*gen=*/-1,
                              absl::StrCat(gen == 1 ? "up IS NULL" : absl::StrCat("up = ", gen - 1),
                                           " AND via IS DISTINCT FROM ", e)),
                       " ON CONFLICT DO NOTHING"),
          ctx, absl::StrCat("following ", fk.fk.name, " up to ", fk.fk.parent.Display()));
      if (!added.ok()) return added.status();
      next[fk.parent] += *added;
      any = any || *added > 0;
    }
    found = std::move(next);
    if (!any) break;
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

std::string SelectedRowsFilter(const Catalog& catalog, int table) {
  return RowsIn("c", catalog.tables[table], KeyTable(table));
}

std::string SelectedRowsSql(const Catalog& catalog, int table, const std::string& select_list) {
  const CatalogTable& t = catalog.tables[table];
  return absl::StrCat("SELECT ", select_list, " FROM ", FromName(t), " t WHERE ",
                      RowsIn("t", t, KeyTable(table)));
}

}  // namespace ds::daemon::orgcopy
