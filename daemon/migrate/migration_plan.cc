#include "daemon/migrate/migration_plan.h"

#include <algorithm>
#include <set>

#include "common/strings.h"

namespace ds::daemon {

const char* MigrationStateName(MigrationState state) {
  switch (state) {
    case MigrationState::kApplied: return "applied";
    case MigrationState::kPending: return "pending";
    case MigrationState::kOutOfOrder: return "out-of-order";
    case MigrationState::kDrifted: return "drifted";
  }
  return "?";
}

MigrationPlan PlanMigrations(const DrizzleFolder& folder, const std::vector<AppliedRow>& rows,
                             const PlanOptions& options) {
  MigrationPlan plan;
  std::optional<int64_t> newest;
  int null_rows = 0;
  for (const AppliedRow& r : rows) {
    if (!r.created_at) {
      ++null_rows;
      continue;
    }
    newest = newest ? std::max(*newest, *r.created_at) : *r.created_at;
  }
  if (null_rows) {
    plan.warnings.push_back(StrCat(
        null_rows, " tracking row(s) have a NULL created_at; drizzle's own migrator would "
        "re-run every migration on this database (ds matches rows one by one and never "
        "writes NULL)"));
  }

  // drizzle decides by the newest `when`, so an entry listed after a newer
  // one is applied on fresh databases and skipped on the others.
  const DrizzleMigration* latest = nullptr;
  for (const DrizzleMigration& m : folder.migrations) {
    if (latest && m.when < latest->when) {
      plan.warnings.push_back(StrCat(
          "the journal lists ", m.tag, " after ", latest->tag, " but its `when` is older; "
          "drizzle's own migrator would skip it on every database that has ", latest->tag,
          " (ds applies entries in journal order and matches them one by one)"));
    }
    if (!latest || m.when > latest->when) latest = &m;
  }

  std::set<const AppliedRow*> matched;
  std::vector<std::string> out_of_order, drifted;
  for (const DrizzleMigration& m : folder.migrations) {
    // A row is this migration when its name says so (drizzle 1.0), else
    // when its created_at is the journal's `when`, else when only the
    // journal was re-stamped and the file's hash still matches.
    const AppliedRow* row = nullptr;
    for (const AppliedRow& r : rows) {
      if (r.name && *r.name == m.name) row = &r;
    }
    for (const AppliedRow& r : rows) {
      if (!row && !r.name && r.created_at && *r.created_at == m.when) row = &r;
    }
    bool restamped = false;
    for (const AppliedRow& r : rows) {
      if (!row && r.hash == m.hash && !matched.count(&r)) {
        row = &r;
        restamped = true;
      }
    }
    PlannedMigration p{&m, MigrationState::kPending};
    if (row) {
      matched.insert(row);
      p.state = row->hash == m.hash ? MigrationState::kApplied : MigrationState::kDrifted;
      if (p.state == MigrationState::kDrifted) drifted.push_back(m.file.string());
      if (restamped && row->created_at) {
        plan.warnings.push_back(StrCat(m.tag, " is applied under another timestamp (the "
                                       "journal's `when` changed); ds treats it as applied"));
      }
    } else if (newest && m.when <= *newest) {
      p.state = MigrationState::kOutOfOrder;
      out_of_order.push_back(m.file.string());
    }
    if (p.state == MigrationState::kPending ||
        (p.state == MigrationState::kOutOfOrder && options.allow_out_of_order)) {
      plan.to_apply.push_back(&m);
    }
    plan.entries.push_back(p);
  }
  for (const AppliedRow& r : rows) {
    if (!matched.count(&r)) {
      plan.warnings.push_back(StrCat("tracking row ", r.id, " (hash ", r.hash.substr(0, 12),
                                     "…) matches no migration in the folder"));
    }
  }
  if (!out_of_order.empty() && !options.allow_out_of_order) {
    std::vector<std::string_view> v(out_of_order.begin(), out_of_order.end());
    plan.errors.push_back(StrCat(
        out_of_order.size(), " migration(s) are older than the newest applied one and were "
        "never applied (drizzle would skip them for ever): ", Join(v, ", "),
        "; apply them with --allow-out-of-order"));
  }
  if (!drifted.empty() && !options.ignore_checksums) {
    std::vector<std::string_view> v(drifted.begin(), drifted.end());
    plan.errors.push_back(StrCat("applied migration file(s) changed since they ran: ",
                                 Join(v, ", "),
                                 "; restore them, or pass --ignore-checksums"));
  }
  return plan;
}

}  // namespace ds::daemon
