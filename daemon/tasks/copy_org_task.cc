#include "daemon/tasks/copy_org_task.h"

#include <memory>

#include "common/strings.h"
#include "daemon/tasks/migrate_request.h"
#include "daemon/tasks/nested_job_context.h"
#include "daemon/tasks/org_checks.h"
#include "daemon/tasks/org_copy_step.h"
#include "daemon/tasks/org_endpoints.h"

namespace ds::daemon {
namespace {

struct CopyInputs {
  OrgEndpoints endpoints;
  OrgRoot root;
  std::string started_by;
};

absl::StatusOr<std::shared_ptr<const CopyInputs>> Resolve(const v1::CopyOrgRequest& req,
                                                          WorkspaceResolver& resolver,
                                                          const ProviderRegistry& providers) {
  absl::StatusOr<OrgEndpoints> endpoints =
      ResolveOrgEndpoints(req.endpoints(), resolver, providers);
  if (!endpoints.ok()) return endpoints.status();
  auto in = std::make_shared<CopyInputs>();
  in->endpoints = std::move(*endpoints);
  in->started_by = req.started_by().empty() ? "ds" : req.started_by();
  absl::StatusOr<OrgRoot> root = OrgRootFromConfig(in->endpoints.config);
  if (!root.ok()) return root.status();
  in->root = std::move(*root);
  return in;
}

// The checks, then the engine's plan against the target (which must have
// the schema and hold no rows in the tables to fill).
absl::StatusOr<v1::ResetPlan> Check(const CopyInputs& in, const CopyPlanOptions& options,
                                    const std::string& application_name) {
  v1::ResetPlan plan;
  plan.set_kind("copy-org");
  absl::StatusOr<CheckedEndpoints> connections =
      CheckOrgEndpoints(in.endpoints, in.root, application_name, &plan);
  if (!connections.ok()) return connections.status();
  connections->target.reset();
  connections->source.reset();
  CopyPlanOptions o = options;
  o.check_target = true;
  if (absl::Status s = AddCopyPlan(in.endpoints, in.root, o, &plan); !s.ok()) return s;
  v1::PlanStep* step = plan.add_steps();
  step->set_name("copy-organization");
  step->set_detail(StrCat("copy organization ", in.endpoints.organization, " from ",
                          in.endpoints.source.Describe(), " (", plan.tables_size(), " tables)"));
  return plan;
}

JobOutcome Run(const CopyInputs& in, JobContext& ctx) {
  auto stop = [&](const absl::Status& s, bool copying) {
    bool cancel = s.code() == absl::StatusCode::kCancelled || ctx.cancelled();
    ctx.EndStep(cancel ? v1::JOB_STATE_CANCELLED : v1::JOB_STATE_FAILED);
    std::string error(s.message());
    if (!copying) StrAppend(&error, "; nothing was changed");
    return JobOutcome{cancel ? v1::JOB_STATE_CANCELLED : v1::JOB_STATE_FAILED, cancel ? 130 : 1,
                      std::move(error), ""};
  };
  ctx.BeginStep("check");
  ctx.Progress(1, 2, "check");
  absl::StatusOr<v1::ResetPlan> plan = Check(in, {}, StrCat("ds copy-org (job ", ctx.id(), ")"));
  if (!plan.ok()) return stop(plan.status(), false);
  for (const std::string& w : plan->warnings()) ctx.Log("warning", w);
  if (ctx.cancelled()) return stop(absl::CancelledError("cancelled before the copy"), false);
  ctx.BeginStep("copy-organization");
  ctx.Progress(2, 2, "copy-organization");
  NestedJobContext nested(ctx, 2, 2, "copy-organization");
  absl::StatusOr<std::string> copied = CopyOrganization(in.endpoints, in.root, nested);
  if (!copied.ok()) return stop(copied.status(), true);
  ctx.EndStep(v1::JOB_STATE_SUCCEEDED, *copied);
  JobOutcome done;
  done.summary = *copied;
  return done;
}

}  // namespace

absl::StatusOr<v1::ResetPlan> CopyOrgTask::Plan(const v1::CopyOrgRequest& request) {
  absl::StatusOr<std::shared_ptr<const CopyInputs>> in = Resolve(request, *resolver_, *providers_);
  if (!in.ok()) return in.status();
  return Check(**in, {.count_rows = request.count_rows(), .explain = request.explain()},
               "ds copy-org plan");
}

absl::StatusOr<std::string> CopyOrgTask::Start(const v1::CopyOrgRequest& request,
                                               JobManager::Sink sink, uint64_t* token) {
  if (!request.confirmed()) {
    return absl::FailedPreconditionError(
        "copy-org writes into the target: confirm it (type the branch name on a terminal, or "
        "pass --yes)");
  }
  absl::StatusOr<std::shared_ptr<const CopyInputs>> in = Resolve(request, *resolver_, *providers_);
  if (!in.ok()) return in.status();
  std::shared_ptr<const CopyInputs> inputs = std::move(*in);
  JobSpec job;
  job.kind = "copy-org";
  job.target_key = DatabaseKey(inputs->endpoints.target.info);
  job.target_redacted = inputs->endpoints.target.redacted;
  if (inputs->endpoints.target.branch) job.branch = ToBranchRef(*inputs->endpoints.target.branch);
  job.workspace_dir = inputs->endpoints.workspace_dir.string();
  job.started_by = inputs->started_by;
  job.description =
      StrCat("copy organization ", inputs->endpoints.organization, " from ",
             inputs->endpoints.source.redacted, " into ", inputs->endpoints.target.ConfirmName());
  job.wait = request.wait();
  return jobs_->Start(
      std::move(job), [inputs](JobContext& ctx) { return Run(*inputs, ctx); }, std::move(sink),
      token);
}

}  // namespace ds::daemon
