// The subset rule and the load plan on a Catalog, without a database: which
// FKs are followed downward, which tables can hold copied rows, the order
// to load them in (parents first) and how each cycle of FKs is loaded.
// Pure computation, so that it is tested without PostgreSQL.
#ifndef DS_DAEMON_ORGCOPY_COPY_GRAPH_H_
#define DS_DAEMON_ORGCOPY_COPY_GRAPH_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/orgcopy/catalog.h"
#include "daemon/orgcopy/org_copy.h"

namespace ds::daemon::orgcopy {

struct PlannedCycle {
  std::vector<int> tables;  // catalog indices, in load order
  std::vector<int> fks;     // catalog FK indices inside the cycle
  OrgCopyCycleLoad load = OrgCopyCycleLoad::kRefused;
  std::string detail;
};

struct CopyGraph {
  int root = -1;
  int root_column = -1;    // index into the root table's columns
  std::vector<bool> down;  // per catalog FK: followed downward
  std::vector<std::string> down_reason;
  std::vector<bool> in_down;    // per table: reached from the root by down FKs
  std::vector<bool> in_copy;    // per table: in_down, or a parent of such a row's table
  std::vector<int> load_order;  // tables in_copy, parents first
  std::vector<PlannedCycle> cycles;
  // Loaded NULL, then set by UPDATE once the cycle's tables are in.
  std::set<int> null_fks;
  std::map<int, std::vector<std::string>> null_columns;  // table -> columns
  // DEFERRABLE FKs deferred to the commit.
  std::set<int> deferred_fks;
  // FKs dropped in the target's transaction before the load and re-added
  // (NOT VALID, then VALIDATE) after it: the fewest that leave each hard
  // cycle (NOT NULL, NOT DEFERRABLE) loadable in order.
  std::set<int> dropped_fks;
  // Every FK between copied tables is in dropped_fks (spec.drop_foreign_keys).
  bool drop_all_fks = false;
  // The tables may load in any order, and a table in several COPYs:
  // replica mode or every FK dropped, nothing loaded NULL or deferred.
  // Then each selection round's rows may load while the next one runs.
  bool any_order = false;
  // Copied tables whose rows are exactly those that reference the root
  // rows through the table's one FK (NOT NULL, followed down, onto the
  // root table, which no down FK feeds): no other FK leaves them and no
  // copied table references them. Their rows can be read by that join
  // alone, without key tables (subset.h, RootLeafRowsSql). Table -> FK.
  std::map<int, int> root_leaves;
  std::vector<std::string> refusals;
};

// The target role's rights, per source catalog table (by index): whether
// it owns the target's table of that name, and may reference it by an FK.
struct TargetRights {
  std::vector<bool> owned;
  std::vector<bool> may_reference;
};

// Errors: NotFound for a missing root table or column; InvalidArgument for
// a constraint in skip_down/follow_down that names no FK, or more than one.
// `replica_mode`: the target loads with FK checks off, so cycles need no
// plan. `rights`: null when no target was given (planned as its owner).
// Refusals (a cycle that cannot be loaded with those rights) are in the
// result.
absl::StatusOr<CopyGraph> BuildCopyGraph(const Catalog& catalog, const OrgCopySpec& spec,
                                         bool replica_mode, const TargetRights* rights = nullptr);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_COPY_GRAPH_H_
