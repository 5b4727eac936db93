// Until the org-copy engine (daemon/orgcopy, issue 11) is merged, the copy
// step cannot run: it says so instead of pretending. Replaced by the calls
// into ExplainOrgCopy/RunOrgCopy when daemon/orgcopy/org_copy.h lands.
#include "daemon/tasks/org_copy_step.h"

namespace ds::daemon {
namespace {

absl::Status EngineMissing() {
  return absl::UnimplementedError(
      "the organization copy engine is not part of this build of dsd (daemon/orgcopy is not "
      "merged yet)");
}

}  // namespace

absl::Status AddCopyPlan(const OrgEndpoints& endpoints, const OrgRoot& root,
                         const CopyPlanOptions& options, v1::ResetPlan* plan, JobContext* ctx) {
  (void)endpoints, (void)root, (void)ctx;
  if (options.check_target || options.count_rows || options.explain) return EngineMissing();
  plan->add_warnings("the organization copy engine is not part of this build: step 7 will fail");
  return absl::OkStatus();
}

absl::StatusOr<std::string> CopyOrganization(const OrgEndpoints& endpoints, const OrgRoot& root,
                                             JobContext& ctx) {
  (void)endpoints, (void)root, (void)ctx;
  return EngineMissing();
}

}  // namespace ds::daemon
