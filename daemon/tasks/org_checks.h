// The checks a reset and an organization copy make before they touch
// anything (the reset's step 1): both databases answer, the organization's
// root row exists in the source, the target is not the source (also when
// two strings name one server differently), and the target is not a default
// or protected branch nor in a protected project. They fill in the part of
// the plan the confirmation shows.
#ifndef DS_DAEMON_TASKS_ORG_CHECKS_H_
#define DS_DAEMON_TASKS_ORG_CHECKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/pg/pg_conn.h"
#include "daemon/tasks/org_endpoints.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

// The organization's root row, from the settings org_root_table
// ("schema.table"; no schema: public) and org_root_column. The copy engine
// is given the same values.
struct OrgRoot {
  std::string schema = "public";
  std::string table = "organizations";
  std::string column = "id";
  std::string Qualified() const;  // "public.organizations"
};
absl::StatusOr<OrgRoot> OrgRootFromConfig(const common::Config& config);

struct CheckedEndpoints {
  std::unique_ptr<PgConnection> target;
  std::unique_ptr<PgConnection> source;
};

// Runs the checks, in the order above, with connections named
// `application_name`; fills the plan's target, source, organization,
// confirm name and the target's other sessions. The connections stay open
// for the caller. Errors: kFailedPrecondition (unreachable, no root row,
// target is source), kPermissionDenied (protected), kNotFound (unknown
// organization).
absl::StatusOr<CheckedEndpoints> CheckOrgEndpoints(const OrgEndpoints& endpoints,
                                                   const OrgRoot& root,
                                                   const std::string& application_name,
                                                   v1::ResetPlan* plan);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_ORG_CHECKS_H_
