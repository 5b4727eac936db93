// The target side of the organization copy: what it refuses before a row
// moves (tables or columns that do not match the source, tables that hold
// rows), whether the role may load in replica mode, the user triggers
// switched off and back on, the FKs dropped and re-added, and the
// sequences set past the copied values.
#ifndef DS_DAEMON_ORGCOPY_TARGET_H_
#define DS_DAEMON_ORGCOPY_TARGET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/orgcopy/catalog.h"
#include "daemon/orgcopy/copy_graph.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon::orgcopy {

// Whether this session may SET session_replication_role (a superuser, or
// granted SET on the parameter); tried in a transaction rolled back at once.
bool MayUseReplicaMode(PgConnection& target);

// Adds a refusal per table the target lacks, source column it lacks or has
// as a generated column, and target column the copy would leave NULL
// although it is NOT NULL without a default. Names table and column.
void CheckTargetSchema(const Catalog& source, const Catalog& target, const CopyGraph& graph,
                       std::vector<std::string>* refusals);

// Adds a refusal per table in `tables` that already holds rows.
absl::Status CheckTargetEmpty(PgConnection& target, const Catalog& source,
                              const std::vector<int>& tables, std::vector<std::string>* refusals);

// A user trigger's name and its pg_trigger.tgenabled ('O', 'A', 'R', 'D').
struct TriggerState {
  OrgCopyTable table;
  std::string name;
  char enabled = 'O';
};

// Disables every enabled user trigger of `tables` and of their partitions
// (ALTER TABLE ... DISABLE TRIGGER, which a table's owner may do, unlike
// DISABLE TRIGGER ALL) and returns every user trigger's state, for
// RestoreTriggers. Inside the load's
// transaction, so a rollback restores them too.
absl::StatusOr<std::vector<TriggerState>> DisableUserTriggers(
    PgConnection& target, const std::vector<OrgCopyTable>& tables);
absl::Status RestoreTriggers(PgConnection& target, const std::vector<TriggerState>& triggers);

// An FK of the target dropped for the load and re-added after it.
struct DroppedForeignKey {
  OrgCopyTable table;
  bool partitioned = false;
  std::string name;
  std::string definition;  // pg_get_constraintdef()
  bool was_valid = true;
};

// Drops the target's FKs that `fks` (source catalog FK indices) name, by
// table and constraint name, and returns their definitions; one the
// target lacks is skipped. Inside the load's transaction: a rollback puts
// them back.
absl::StatusOr<std::vector<DroppedForeignKey>> DropForeignKeys(PgConnection& target,
                                                               const Catalog& source,
                                                               const std::vector<int>& fks);
// Re-adds them NOT VALID (no check of the table yet, a short lock), then
// VALIDATEs those that were valid: the same check, reporting the first row
// that breaks it. (PostgreSQL 15 has no NOT VALID FK on a partitioned
// table: that one is added and checked at once.)
absl::Status ReAddForeignKeys(PgConnection& target, const std::vector<DroppedForeignKey>& fks);

// Every sequence that feeds an integer column of `tables` (serial,
// identity, or only named in a DEFAULT) is set past that column's maximum
// over all the columns it feeds, unless it already is. Returns
// "schema.sequence = value" per sequence set.
absl::StatusOr<std::vector<std::string>> AdvanceSequences(PgConnection& target,
                                                          const std::vector<OrgCopyTable>& tables);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_TARGET_H_
