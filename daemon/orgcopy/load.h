// The target's side of the organization copy, one transaction: the
// tables' rows by COPY passthrough from the source sessions holding their
// keys, triggers off and back, FKs dropped and re-added or checked,
// sequences, commit. Either after the selection (Load), or while it runs
// (LoadWhileSelecting, when the load order is free).
#ifndef DS_DAEMON_ORGCOPY_LOAD_H_
#define DS_DAEMON_ORGCOPY_LOAD_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "daemon/jobs/jobs.h"
#include "daemon/orgcopy/catalog.h"
#include "daemon/orgcopy/copy_graph.h"
#include "daemon/orgcopy/org_copy.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon::orgcopy {

// The sessions and what was read before the copy (org_copy.cc, Prepare).
struct CopySessions {
  std::unique_ptr<PgConnection> source;
  // A second source session in the first one's snapshot, reading the
  // tables that load while the selection runs (LoadWhileSelecting).
  std::unique_ptr<PgConnection> source2;
  std::unique_ptr<PgConnection> target;
  Catalog source_catalog;
  Catalog target_catalog;
  CopyGraph graph;
  bool replica_mode = false;
};

// Tables the copy puts rows in, in load order: all it may (rows null), or
// those with rows counted.
std::vector<int> TablesToFill(const CopyGraph& graph, const std::vector<int64_t>* rows);

// The load once the selection is done (`rows` per table): every table in
// load order from the selecting session, a cycle's NULL-loaded columns set
// after its last table, then the checks, triggers, sequences and commit.
// Fills the report's tables, rows, bytes and phase times. On error the
// target's transaction is left for the caller to roll back.
absl::Status Load(CopySessions& p, const std::vector<int64_t>& rows, JobContext& ctx,
                  OrgCopyReport& report);

// The selection (subset.h) and the load at once; needs graph.any_order, an
// open snapshot on `source` (empty key tables) and `source2` in it
// (OpenImportedSnapshot). `rows` gets S's rows per table once the
// selection has ended; report.select_seconds its time.
absl::Status LoadWhileSelecting(CopySessions& p, const OrgCopySpec& spec, JobContext& ctx,
                                OrgCopyReport& report, std::vector<int64_t>& rows);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_LOAD_H_
