// What the organization copy needs to know about a database's schema, read
// from its pg_catalog: every user table (every schema but the system ones),
// its columns, its primary or other usable unique key, and every FK between
// user tables with its columns in key order (composite keys, keys onto
// UNIQUE constraints). Nothing about a particular schema is assumed.
#ifndef DS_DAEMON_ORGCOPY_CATALOG_H_
#define DS_DAEMON_ORGCOPY_CATALOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/orgcopy/org_copy.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon::orgcopy {

struct CatalogColumn {
  std::string name;
  std::string type;  // format_type(), e.g. "bigint", "numeric(12,2)"
  bool not_null = false;
  bool has_default = false;
  bool generated = false;  // GENERATED ALWAYS AS (...) STORED: never copied
  bool identity = false;
};

struct CatalogTable {
  uint32_t oid = 0;
  OrgCopyTable name;
  bool partitioned = false;
  // The connected role's rights on the table: its owner's (may ALTER it:
  // drop and re-add its constraints, switch its triggers), and REFERENCES
  // (may add an FK that points at it).
  bool owned = false;
  bool may_reference = false;
  std::vector<CatalogColumn> columns;  // attnum order, dropped ones left out
  // The primary key, else a unique, non-partial key on plain NOT NULL
  // columns; empty when the table has neither (its rows can still be
  // copied, not updated).
  std::vector<std::string> row_key;

  const CatalogColumn* Column(const std::string& column) const;
  // The columns a COPY moves: all but generated ones.
  std::vector<std::string> CopyableColumns() const;
};

struct CatalogForeignKey {
  int child = -1;   // index into Catalog::tables
  int parent = -1;  // index into Catalog::tables
  bool match_full = false;
  OrgCopyForeignKey fk;  // names and columns; `down` is decided later
};

struct Catalog {
  std::vector<CatalogTable> tables;
  std::vector<CatalogForeignKey> foreign_keys;

  // Index into tables, or -1.
  int Find(const OrgCopyTable& name) const;
};

// Reads the catalog through `conn` (any transaction state; read-only).
absl::StatusOr<Catalog> ReadCatalog(PgConnection& conn);

// "schema.table" with each part quoted for SQL.
std::string QuotedName(const OrgCopyTable& table);

// What a FROM clause names to read or write the table's own rows: "ONLY
// schema.table" (not an inheritance child's rows), but a partitioned
// table's rows are all in its partitions, so it is named without ONLY.
std::string FromName(const CatalogTable& table);

// FailedPrecondition: the source holds a row whose FK columns (`key`, as
// ROW(...)::text) reference no row of the parent table. The copy never
// guesses a parent or nulls the columns out, so it stops and names both.
absl::Status SourceBreaksForeignKey(const CatalogForeignKey& fk, std::string_view key);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_CATALOG_H_
