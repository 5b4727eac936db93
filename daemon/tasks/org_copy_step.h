// The organization copy as the reset's last step and as `ds db copy-org`:
// the org-copy engine (daemon/orgcopy) fed from resolved endpoints and the
// workspace's settings, its plan turned into the wire's ResetPlan, its
// report into progress and the job's summary.
#ifndef DS_DAEMON_TASKS_ORG_COPY_STEP_H_
#define DS_DAEMON_TASKS_ORG_COPY_STEP_H_

#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/tasks/org_checks.h"
#include "daemon/tasks/org_endpoints.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

struct CopyPlanOptions {
  bool check_target = false;  // copy-org: the target must already have the schema, empty
  bool count_rows = false;    // --dry-run: rows per table (computes the subset)
  bool explain = false;       // --explain: the FK graph as text
};

// Adds the copy's tables (and row counts), graph and refusals to `plan`.
// Refusals (a target table holding rows, a cycle the role cannot load) are
// kFailedPrecondition listing them when `check_target`; otherwise they are
// warnings (a reset's target is emptied before the copy).
absl::Status AddCopyPlan(const OrgEndpoints& endpoints, const OrgRoot& root,
                         const CopyPlanOptions& options, v1::ResetPlan* plan,
                         JobContext* ctx = nullptr);

// Runs the copy, reporting per-table progress as step `step` of `total`
// through `ctx`, and logs the per-table summary. Returns the job's summary
// line ("copied 12,345 rows (3.2 MB) in 14 tables in 2.1 s"). Errors are
// the engine's: the target's tables are as they were before the copy.
absl::StatusOr<std::string> CopyOrganization(const OrgEndpoints& endpoints, const OrgRoot& root,
                                             JobContext& ctx);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_ORG_COPY_STEP_H_
