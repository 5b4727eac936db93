// The organization copy: one organization's rows, and every row they need,
// copied from a source database into a target that already has the schema
// (freshly migrated, the tables to fill empty). Used by `ds db reset` (its
// last step) and `ds db copy-org`; knows connection strings, never
// providers, workspaces or gRPC.
//
// The rule (README, "Organization copy rule"):
//   D = the root row (root_table.root_column = organization_id) plus,
//       transitively, every row that references a row of D through a
//       "down" FK: one whose referencing columns are all NOT NULL
//       (ownership), minus `skip_down`, plus `follow_down`;
//   S = D plus, to a fixpoint, every row that a row of S references through
//       any FK (parents). Rows added as parents are never expanded downward,
//       so other organizations' rows arrive only as parents. A nullable FK
//       is never nulled out instead of copying its parent.
//
// How (docs/architecture.md, "Organization copy"): the FK graph comes from
// the source's pg_catalog; D and S are computed in the source, as temp
// tables of row ids, inside one REPEATABLE READ READ ONLY snapshot that
// every source read shares; the rows move by COPY passthrough (no per-row
// work in dsd), columns by name, generated columns left out, identity and
// serial values kept; the whole load is ONE target transaction, so a
// failed or cancelled copy leaves the target's tables as they were (only
// sequences, which ignore rollback, may have advanced).
#ifndef DS_DAEMON_ORGCOPY_ORG_COPY_H_
#define DS_DAEMON_ORGCOPY_ORG_COPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon {

struct OrgCopySpec {
  std::string root_schema = "public";
  std::string root_table = "organizations";
  std::string root_column = "id";
  // As text; the server casts it to the root column's type (uuid, bigint).
  std::string organization_id;
  // FK constraint names, each "constraint", "table.constraint" or
  // "schema.table.constraint" (an unqualified name must be unambiguous;
  // an unknown one is an error). skip_down: NOT NULL FKs not followed
  // downward (they still pull parents). follow_down: nullable FKs followed
  // downward as if they were NOT NULL.
  std::vector<std::string> skip_down;
  std::vector<std::string> follow_down;
  // When the target role may set session_replication_role (a superuser),
  // load in replica mode: FK checks and ORIGIN triggers off during the
  // load (the selection proves every copied FK, subset.h). False: always
  // the owner's way (order, NULL-then-UPDATE, deferred constraints).
  bool allow_replica_mode = true;
  // Otherwise, when the target role owns the tables that reference and
  // may reference the tables referenced: drop every FK between the copied
  // tables for the load and re-add it NOT VALID, then VALIDATE, before
  // commit: one set-based check per FK instead of one per row (PostgreSQL's
  // "Populating a Database" advice). False, or without those rights: the
  // owner's per-row way (order, NULL-then-UPDATE, deferred, dropped only
  // where a cycle needs it).
  bool drop_foreign_keys = true;
  // Once an upward round adds fewer parents than this, the rest of the
  // upward pass runs as one recursive statement (subset.cc, CloseUpward);
  // 0 keeps it round by round to the end (the tests cover both ways).
  int64_t upward_walk_below = 20000;
  // When tables may load in any order (replica mode, or every FK dropped),
  // each selection statement's rows load from a second source session in
  // the same snapshot while the selection goes on (load.h,
  // LoadWhileSelecting).
  bool load_while_selecting = true;
  // The most row ids one array of a batch holds (row_id_arrays.h); a
  // bigger batch loads in several COPYs. 4M ids are a 40 MB parameter,
  // far below the server's 1 GB limit for one value.
  int64_t row_ids_per_array = int64_t{1} << 22;
};

// Where to copy from and to. The strings hold passwords: never logged,
// never in an error or a report.
struct OrgCopyEndpoints {
  std::string source_conninfo;
  // Empty in ExplainOrgCopy: plan from the source alone (no checks of the
  // target; cycles classified for a non-superuser owner).
  std::string target_conninfo;
  // pg_stat_activity shows "<application_name> source|target".
  std::string application_name = "ds org-copy";
};

// "schema.table", quoted only when needed, as every message shows it.
struct OrgCopyTable {
  std::string schema;
  std::string name;
  std::string Display() const;
  friend bool operator==(const OrgCopyTable&, const OrgCopyTable&) = default;
};

struct OrgCopyForeignKey {
  std::string name;  // the constraint's name
  OrgCopyTable child;
  std::vector<std::string> child_columns;
  OrgCopyTable parent;
  std::vector<std::string> parent_columns;  // the PK or a UNIQUE key, in FK order
  bool not_null = false;                    // every child column NOT NULL
  bool deferrable = false;
  // Followed downward (D) as well as upward; else up only.
  bool down = false;
  // Why `down` is what it is: "NOT NULL", "nullable", "skip_down",
  // "follow_down".
  std::string down_reason;
};

// How a strongly connected group of tables (a cycle of FKs) is loaded.
enum class OrgCopyCycleLoad {
  kSelfReference,   // one table referencing itself: one COPY, checks at its end
  kNullThenUpdate,  // nullable FKs in the cycle loaded NULL, set by UPDATE after
  kDeferred,        // DEFERRABLE FKs deferred to the commit of the one transaction
  kReplicaMode,     // FK checks off (session_replication_role = replica)
  // NOT NULL, NOT DEFERRABLE FKs dropped in the load's transaction, re-added
  // NOT VALID after it and then VALIDATEd (needs the owner of their tables)
  kDropAndValidate,
  kRefused,  // none of the above possible with the target role's rights
};
const char* OrgCopyCycleLoadName(OrgCopyCycleLoad how);

struct OrgCopyCycle {
  std::vector<OrgCopyTable> tables;
  std::vector<std::string> constraints;  // the FKs inside the cycle
  OrgCopyCycleLoad load = OrgCopyCycleLoad::kRefused;
  // kNullThenUpdate: "schema.table.column" loaded NULL then updated;
  // kDeferred: the constraints deferred; kDropAndValidate: the constraints
  // dropped and re-added; kRefused: what right is missing.
  std::string detail;
};

struct OrgCopyTablePlan {
  OrgCopyTable table;
  bool in_down_set = false;  // can hold D rows (reached by down FKs from the root)
  // Rows that S holds in this table; -1 when not counted (explain only).
  int64_t rows = -1;
  std::vector<std::string> columns;       // copied, by name; generated ones left out
  std::vector<std::string> null_columns;  // loaded NULL, then UPDATEd (cycles)
};

struct OrgCopyPlan {
  std::vector<OrgCopyTablePlan> tables;  // in load order (parents first)
  std::vector<OrgCopyForeignKey> foreign_keys;
  std::vector<OrgCopyCycle> cycles;
  // Set when a target was given: whether it will load in replica mode.
  bool replica_mode = false;
  // Every FK between the copied tables dropped for the load and re-added.
  bool foreign_keys_dropped = false;
  bool target_checked = false;
  // Reasons the copy will not run, each naming a table, column or cycle:
  // a target table holding rows, a schema mismatch, a cycle that cannot be
  // loaded, a partitioned table. Empty when RunOrgCopy would proceed.
  std::vector<std::string> refusals;
};

// Tables in the plan, FKs (down+up or up only), cycles and how each is
// loaded, row counts when present, refusals: what --explain and --dry-run
// print.
std::string FormatOrgCopyPlan(const OrgCopyPlan& plan);

// Read-only on both sides. Checks that the root row exists (NotFound
// naming the table, column and id otherwise: nothing else is read), reads
// the graph, and, with `count_rows`, computes S in one snapshot and counts
// it per table (--dry-run). Errors: NotFound (no root row, no root table
// or column), InvalidArgument (an unknown constraint name in the spec),
// Unavailable (cannot connect); refusals are in the plan, not errors.
// `ctx` (optional) reports progress and may cancel.
absl::StatusOr<OrgCopyPlan> ExplainOrgCopy(const OrgCopyEndpoints& endpoints,
                                           const OrgCopySpec& spec, bool count_rows,
                                           JobContext* ctx = nullptr);

struct OrgCopyTableReport {
  OrgCopyTable table;
  int64_t rows = 0;
  int64_t bytes = 0;  // COPY text bytes moved
  double seconds = 0;
};

struct OrgCopyReport {
  std::vector<OrgCopyTableReport> tables;  // in load order
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;           // the whole run, connecting included
  double prepare_seconds = 0;   // connecting, both catalogs, the graph, the root row
  double select_seconds = 0;    // computing S in the source
  double copy_seconds = 0;      // the tables' COPYs, added up
  double fk_check_seconds = 0;  // FKs re-added and validated (the owner's load)
  double commit_seconds = 0;    // triggers back on, sequences, commit
  // COPYs from the second source session while the selection ran (the
  // rows one selection statement added, or a root leaf's rows).
  int batches_while_selecting = 0;
  bool replica_mode = false;
  std::vector<std::string> sequences_set;  // "schema.seq = 1042"
};

// The per-table summary printed at the end (rows, bytes, seconds).
std::string FormatOrgCopyReport(const OrgCopyReport& report);

// Plans (as ExplainOrgCopy with a target, rows counted inside the copy's
// own snapshot), refuses when the plan has refusals (FailedPrecondition
// listing them), then copies in one target transaction: user triggers of
// the loaded tables disabled and restored to their exact state, tables in
// load order, cycles as planned, sequences set past each fed column's
// maximum, commit. Per-table progress goes through ctx.Progress (table i
// of n, rows and bytes) and phases through ctx.Log; BeginStep/EndStep are
// left to the caller, whose step the copy is. A cancel interrupts the
// running statement and returns kCancelled. Any error (kCancelled
// included) rolls the target back: the message says the target's tables
// were left as they were.
absl::StatusOr<OrgCopyReport> RunOrgCopy(const OrgCopyEndpoints& endpoints, const OrgCopySpec& spec,
                                         JobContext& ctx);

}  // namespace ds::daemon

#endif  // DS_DAEMON_ORGCOPY_ORG_COPY_H_
