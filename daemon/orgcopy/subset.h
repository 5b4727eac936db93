// The subset rule run in the source database: the row ids of D and S kept
// in one temp table per table of the source session (pg_temp.ds_k_<n>:
// ctid, with tableoid for a partitioned table; for D's rows the down round
// that found them and the down FK they came by, for the parents S adds the
// upward round; for every row the statement that added it), filled by
// set-based INSERT ... SELECT joins, one per FK and round (the upward tail
// of few rows by one recursive walk), inside one REPEATABLE READ READ ONLY
// snapshot; no row leaves the server to be selected (only counts, and the
// ids of each statement's rows when the load runs beside the selection:
// KeysCopyOutSql). ctid identifies a row
// version for the whole snapshot, so tables without a key (exact duplicate
// rows included) need nothing special.
//
// The selection also proves that S breaks no FK: a row of D that came down
// through an FK joined its parent; every other row's FK values are looked
// up by the upward statements, which report a value that no parent row
// holds. So a replica-mode load, which checks no FK, needs no check after
// it.
#ifndef DS_DAEMON_ORGCOPY_SUBSET_H_
#define DS_DAEMON_ORGCOPY_SUBSET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/orgcopy/catalog.h"
#include "daemon/orgcopy/copy_graph.h"
#include "daemon/orgcopy/row_id_arrays.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon::orgcopy {

// Whether the root row exists; read outside any snapshot, before anything
// is created. NotFound naming table, column and id; InvalidArgument when
// the id is not a value of the column's type.
absl::Status CheckRootRow(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                          const std::string& organization_id);

// Creates the key tables (outside a transaction: a READ ONLY one may fill
// temp tables but not create them), then opens the snapshot: BEGIN
// ISOLATION LEVEL REPEATABLE READ READ ONLY. Everything after it runs in
// that snapshot until the caller commits. With `exported`, the snapshot is
// exported (pg_export_snapshot) and its id stored there, for
// OpenImportedSnapshot.
absl::Status OpenSnapshot(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                          std::string* exported = nullptr);

// A second source session in the first one's snapshot, with a temp table
// for batches of row ids: the rows a statement found are read there
// (BatchRowsSql) once their ids are moved in (KeysCopyOutSql,
// RowIdArraysFromCopyText, StoreBatchSql), while the first session goes on
// selecting.
absl::Status OpenImportedSnapshot(PgConnection& source, const std::string& snapshot);

// The rows one statement of the selection added to a table's key table
// (the key tables' `stmt` column).
struct KeyBatch {
  int table = -1;
  int stmt = 0;
};

// COPY ... TO STDOUT of a batch's row ids from the selecting session's key
// table: "(block,offset)" rows, "oid\t(block,offset)" for a partitioned
// table (row_id_arrays.h reads either).
std::string KeysCopyOutSql(const Catalog& catalog, const KeyBatch& batch);
// INSERT of one of a batch's row id arrays into the imported session's
// batch table; its one binary parameter is the array's tids.
std::string StoreBatchSql(const KeyBatch& batch, const RowIdArray& ids);
// Adds to `names` the names as SQL ("schema"."name"), by oid, of the
// partitions `ids` name that it lacks, for BatchRowsSql: one query for
// the new ones, none once a copy has met them all (a partitioned table
// comes in several batches, and on Neon each query is a round trip).
absl::Status NamePartitions(PgConnection& source, const std::vector<RowIdArray>& ids,
                            absl::flat_hash_map<uint32_t, std::string>& names);

// SELECT <select_list> FROM a root leaf (copy_graph.h, root_leaves): its
// rows that reference the root rows, by the join alone, no key table.
// The id is inlined as a literal (a COPY takes no parameters); the root
// row was checked to exist (CheckRootRow), so it is a value of its type.
std::string RootLeafRowsSql(PgConnection& source, const Catalog& catalog, const CopyGraph& graph,
                            int table, const std::string& organization_id,
                            const std::string& select_list);

// What SelectRows asks and tells its caller while it runs.
struct SelectHooks {
  // Tables the caller reads itself (root leaves, by RootLeafRowsSql): the
  // selection leaves them out, and counts 0 rows for them.
  std::vector<bool> read_elsewhere;
  // Checked between statements: true stops the selection (kCancelled).
  std::function<bool()> stop;
  // Called on the selecting session's thread after each statement that
  // added rows, with them (the root row first): a loader may read them
  // at once. Every row of S is in exactly one batch. An error ends the
  // selection with it.
  std::function<absl::Status(const KeyBatch&)> on_rows;
};

// Computes D, then S, and returns the rows S holds per catalog table (0 for
// tables outside the copy). Once an upward round adds fewer than
// `walk_below` parents, the rest of the upward pass is one recursive
// statement. FailedPrecondition (SourceBreaksForeignKey) when a row of S
// references a parent that the source does not hold.
absl::StatusOr<std::vector<int64_t>> SelectRows(PgConnection& source, const Catalog& catalog,
                                                const CopyGraph& graph,
                                                const std::string& organization_id,
                                                int64_t walk_below, const SelectHooks& hooks);

// SELECT <select_list> FROM <table> (FromName) restricted to S's rows of it
// (on the selecting session, which holds the key tables).
std::string SelectedRowsSql(const Catalog& catalog, int table, const std::string& select_list);
// SELECT <select_list> FROM the table, or ONLY the partition
// `partition_name` (that of ids.partition, when not 0), restricted to the
// rows of one of the batch's arrays (on the imported session, after
// StoreBatchSql). A partitioned table's batch is read partition by
// partition: its rows' ids repeat across them.
std::string BatchRowsSql(const CatalogTable& table, const std::string& select_list,
                         const KeyBatch& batch, const RowIdArray& ids,
                         const std::string& partition_name = "");

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_SUBSET_H_
