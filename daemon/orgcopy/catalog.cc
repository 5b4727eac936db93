#include "daemon/orgcopy/catalog.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ds::daemon::orgcopy {
namespace {

// User tables: every ordinary or partitioned table outside the system
// schemas. Partitions are read and written through their partitioned
// parent (COPY into the parent routes each row), so they are left out, and
// so are the FKs PostgreSQL clones onto them.
constexpr char kUserTables[] = R"sql(
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%')sql";

absl::StatusOr<PgResult> Query(PgConnection& conn, const std::string& sql, std::string_view doing) {
  PgResult r = conn.Exec(sql);
  if (!r.ok()) return conn.ErrorStatus(r, doing);
  return r;
}

uint32_t Oid(const PgResult& r, int row, int col) {
  return static_cast<uint32_t>(r.GetInt(row, col));
}

}  // namespace

const CatalogColumn* CatalogTable::Column(const std::string& column) const {
  for (const CatalogColumn& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

std::vector<std::string> CatalogTable::CopyableColumns() const {
  std::vector<std::string> out;
  for (const CatalogColumn& c : columns) {
    if (!c.generated) out.push_back(c.name);
  }
  return out;
}

int Catalog::Find(const OrgCopyTable& name) const {
  for (size_t i = 0; i < tables.size(); ++i) {
    if (tables[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string QuotedName(const OrgCopyTable& table) {
  return absl::StrCat(QuoteIdent(table.schema), ".", QuoteIdent(table.name));
}

std::string FromName(const CatalogTable& table) {
  return absl::StrCat(table.partitioned ? "" : "ONLY ", QuotedName(table.name));
}

absl::Status SourceBreaksForeignKey(const CatalogForeignKey& fk, std::string_view key) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the source violates foreign key ", fk.fk.name, " of ", fk.fk.child.Display(), ": (",
      absl::StrJoin(fk.fk.child_columns, ", "), ") = ", std::string(key), " references no row of ",
      fk.fk.parent.Display(), "; fix the source's rows (nothing was guessed or copied)"));
}

absl::StatusOr<Catalog> ReadCatalog(PgConnection& conn) {
  Catalog catalog;
  std::map<uint32_t, int> by_oid;

  absl::StatusOr<PgResult> tables = Query(conn,
                                          absl::StrCat(R"sql(
      SELECT c.oid, n.nspname, c.relname, c.relkind = 'p', pg_has_role(c.relowner, 'USAGE'),
             has_table_privilege(c.oid, 'REFERENCES')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid IN ()sql",
                                                       kUserTables, R"sql()
      ORDER BY n.nspname, c.relname)sql"),
                                          "reading the tables");
  if (!tables.ok()) return tables.status();
  for (int i = 0; i < tables->rows(); ++i) {
    CatalogTable t;
    t.oid = Oid(*tables, i, 0);
    t.name = {std::string(tables->Get(i, 1)), std::string(tables->Get(i, 2))};
    t.partitioned = tables->GetBool(i, 3);
    t.owned = tables->GetBool(i, 4);
    t.may_reference = tables->GetBool(i, 5);
    by_oid[t.oid] = static_cast<int>(catalog.tables.size());
    catalog.tables.push_back(std::move(t));
  }

  absl::StatusOr<PgResult> columns = Query(conn,
                                           absl::StrCat(R"sql(
      SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
             a.atthasdef, a.attgenerated <> '', a.attidentity <> ''
      FROM pg_attribute a
      WHERE a.attrelid IN ()sql",
                                                        kUserTables, R"sql()
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum)sql"),
                                           "reading the columns");
  if (!columns.ok()) return columns.status();
  for (int i = 0; i < columns->rows(); ++i) {
    auto it = by_oid.find(Oid(*columns, i, 0));
    if (it == by_oid.end()) continue;
    catalog.tables[it->second].columns.push_back(CatalogColumn{
        .name = std::string(columns->Get(i, 1)),
        .type = std::string(columns->Get(i, 2)),
        .not_null = columns->GetBool(i, 3),
        .has_default = columns->GetBool(i, 4),
        .generated = columns->GetBool(i, 5),
        .identity = columns->GetBool(i, 6),
    });
  }

  // Row keys: the primary key first, else the unique key with the fewest
  // columns among those on plain NOT NULL columns without a predicate.
  absl::StatusOr<PgResult> keys = Query(conn,
                                        absl::StrCat(R"sql(
      SELECT i.indrelid, i.indexrelid, a.attname
      FROM pg_index i
      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid IN ()sql",
                                                     kUserTables, R"sql()
        AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) u(attnum)
                        JOIN pg_attribute b ON b.attrelid = i.indrelid AND b.attnum = u.attnum
                        WHERE u.attnum = 0 OR NOT b.attnotnull)
      ORDER BY i.indrelid, NOT i.indisprimary, i.indnatts, i.indexrelid, k.ord)sql"),
                                        "reading the keys");
  if (!keys.ok()) return keys.status();
  std::map<int, uint32_t> chosen_index;  // table -> the first index listed
  for (int i = 0; i < keys->rows(); ++i) {
    auto it = by_oid.find(Oid(*keys, i, 0));
    if (it == by_oid.end()) continue;
    auto [chosen, _] = chosen_index.emplace(it->second, Oid(*keys, i, 1));
    if (chosen->second == Oid(*keys, i, 1)) {
      catalog.tables[it->second].row_key.emplace_back(keys->Get(i, 2));
    }
  }

  // FKs, one row per column pair in key order. Constraints cloned onto
  // partitions (conparentid <> 0) are the parent's, so they are left out.
  absl::StatusOr<PgResult> fks =
      Query(conn,
            absl::StrCat(R"sql(
      SELECT c.oid, c.conname, c.conrelid, c.confrelid, c.condeferrable, c.confmatchtype = 'f',
             ca.attname, pa.attname, ca.attnotnull
      FROM pg_constraint c
      CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(child_att, parent_att, ord)
      JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child_att
      JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.parent_att
      WHERE c.contype = 'f' AND c.conparentid = 0
        AND c.conrelid IN ()sql",
                         kUserTables, R"sql() AND c.confrelid IN ()sql", kUserTables, R"sql()
      ORDER BY c.conrelid, c.conname, c.oid, k.ord)sql"),
            "reading the foreign keys");
  if (!fks.ok()) return fks.status();
  uint32_t current_fk = 0;
  bool skipping = false;
  for (int i = 0; i < fks->rows(); ++i) {
    uint32_t oid = Oid(*fks, i, 0);
    if (i == 0 || oid != current_fk) {
      current_fk = oid;
      auto child = by_oid.find(Oid(*fks, i, 2));
      auto parent = by_oid.find(Oid(*fks, i, 3));
      skipping = child == by_oid.end() || parent == by_oid.end();
      if (skipping) continue;
      CatalogForeignKey fk;
      fk.child = child->second;
      fk.parent = parent->second;
      fk.match_full = fks->GetBool(i, 5);
      fk.fk.name = std::string(fks->Get(i, 1));
      fk.fk.child = catalog.tables[fk.child].name;
      fk.fk.parent = catalog.tables[fk.parent].name;
      fk.fk.deferrable = fks->GetBool(i, 4);
      fk.fk.not_null = true;
      catalog.foreign_keys.push_back(std::move(fk));
    }
    if (skipping) continue;
    OrgCopyForeignKey& fk = catalog.foreign_keys.back().fk;
    fk.child_columns.emplace_back(fks->Get(i, 6));
    fk.parent_columns.emplace_back(fks->Get(i, 7));
    if (!fks->GetBool(i, 8)) fk.not_null = false;
  }
  return catalog;
}

}  // namespace ds::daemon::orgcopy
