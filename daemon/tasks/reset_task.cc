#include "daemon/tasks/reset_task.h"

#include <memory>

#include "common/config.h"
#include "common/strings.h"
#include "daemon/migrate/migrator.h"
#include "daemon/tasks/migrate_request.h"
#include "daemon/tasks/nested_job_context.h"
#include "daemon/tasks/org_checks.h"
#include "daemon/tasks/org_copy_step.h"
#include "daemon/tasks/org_endpoints.h"
#include "daemon/tasks/reset_sql.h"

namespace ds::daemon {
namespace {

constexpr int kSteps = 7;
constexpr std::string_view kStepNames[kSteps] = {
    "check",   "terminate",         "drop-schemas",     kCognitoUsersStep,
    "migrate", kStripeProductsStep, "copy-organization"};

// Everything the job needs, resolved once in Start; immutable after.
struct ResetInputs {
  OrgEndpoints endpoints;
  OrgRoot root;
  std::filesystem::path dir;
  std::string migrations_schema;
  std::string migrations_table;
  std::string stage;
  std::map<std::string, std::string> credentials;  // secrets, for the external steps
  std::string started_by;

  ExternalStepInput ExternalInput() const {
    return {&endpoints.config, credentials, stage, endpoints.workspace_dir.string()};
  }
};

absl::StatusOr<std::shared_ptr<ResetInputs>> Resolve(const v1::ResetRequest& req,
                                                     WorkspaceResolver& resolver,
                                                     const ProviderRegistry& providers) {
  auto in = std::make_shared<ResetInputs>();
  absl::StatusOr<OrgEndpoints> endpoints =
      ResolveOrgEndpoints(req.endpoints(), resolver, providers);
  if (!endpoints.ok()) return endpoints.status();
  in->endpoints = std::move(*endpoints);
  const common::Config& config = in->endpoints.config;
  absl::StatusOr<std::filesystem::path> dir =
      MigrationsDir(req.dir(), config, in->endpoints.workspace_dir);
  if (!dir.ok()) return dir.status();
  in->dir = *dir;
  in->migrations_schema = config.Get("migrations_schema");
  in->migrations_table = config.Get("migrations_table");
  in->stage = config.Get("stage");
  const auto& caller = req.endpoints().workspace().overrides().environment();
  in->credentials = common::ExternalCredentials({caller.begin(), caller.end()}, *in->endpoints.env);
  in->started_by = req.started_by().empty() ? "ds" : req.started_by();
  absl::StatusOr<OrgRoot> root = OrgRootFromConfig(in->endpoints.config);
  if (!root.ok()) return root.status();
  in->root = std::move(*root);
  return in;
}

// Step 1's result: the plan, and what the later steps act on.
struct Checked {
  v1::ResetPlan plan;
  CheckedEndpoints connections;
  SchemaChoice schemas;
  PlannedExternalStep cognito;
  PlannedExternalStep stripe;
};

absl::StatusOr<Checked> Check(const ResetInputs& in, const ExternalStepRegistry& external,
                              DrizzleFolderCache& folders, const std::string& application_name,
                              bool count_rows, JobContext* ctx) {
  Checked out;
  v1::ResetPlan& plan = out.plan;
  plan.set_kind("reset");
  absl::StatusOr<CheckedEndpoints> connections =
      CheckOrgEndpoints(in.endpoints, in.root, application_name, &plan);
  if (!connections.ok()) return connections.status();
  out.connections = std::move(*connections);

  // The folder must read before anything is dropped (the same refusals as
  // migrate: a duplicated journal entry, a missing file).
  absl::StatusOr<std::shared_ptr<const DrizzleFolder>> folder = folders.Get(in.dir);
  if (!folder.ok()) return folder.status();
  plan.set_migrations_dir(in.dir.string());
  plan.set_migrations(static_cast<int32_t>((*folder)->migrations.size()));

  absl::StatusOr<std::vector<std::string>> schemas = UserSchemas(*out.connections.target);
  if (!schemas.ok()) return schemas.status();
  absl::StatusOr<SchemaChoice> choice =
      ChooseSchemas(*schemas, in.endpoints.config.Get("reset_keep_schemas"), in.migrations_schema);
  if (!choice.ok()) return choice.status();
  out.schemas = std::move(*choice);
  for (const std::string& s : out.schemas.drop) plan.add_drop_schemas(s);
  for (const std::string& s : out.schemas.keep) plan.add_keep_schemas(s);

  ExternalStepInput input = in.ExternalInput();
  absl::StatusOr<PlannedExternalStep> cognito =
      PlanExternalStep(external, kCognitoUsersStep, input);
  if (!cognito.ok()) return cognito.status();
  out.cognito = std::move(*cognito);
  absl::StatusOr<PlannedExternalStep> stripe =
      PlanExternalStep(external, kStripeProductsStep, input);
  if (!stripe.ok()) return stripe.status();
  out.stripe = std::move(*stripe);

  // The copy's plan from the source alone: the target is emptied first.
  if (absl::Status s = AddCopyPlan(in.endpoints, in.root, {.count_rows = count_rows}, &plan, ctx);
      !s.ok()) {
    return s;
  }

  auto step = [&](std::string_view name, std::string detail, bool skipped = false) {
    v1::PlanStep* p = plan.add_steps();
    p->set_name(std::string(name));
    p->set_detail(std::move(detail));
    p->set_skipped(skipped);
  };
  step(kStepNames[0], StrCat("organization ", in.endpoints.organization, " exists in the source"));
  step(kStepNames[1],
       plan.target_sessions().empty()
           ? "no other sessions now"
           : StrCat("end ", Join(std::vector<std::string_view>(plan.target_sessions().begin(),
                                                               plan.target_sessions().end()),
                                 ", ")));
  std::vector<std::string_view> drop(out.schemas.drop.begin(), out.schemas.drop.end());
  std::vector<std::string_view> keep(out.schemas.keep.begin(), out.schemas.keep.end());
  step(kStepNames[2],
       StrCat("drop ", drop.empty() ? "nothing" : Join(drop, ", "),
              keep.empty() ? "" : StrCat(" (keep ", Join(keep, ", "), ")"), "; re-create public"));
  step(kStepNames[3], out.cognito.Describe(), out.cognito.step == nullptr);
  step(kStepNames[4], StrCat("apply ", plan.migrations(), " migrations from ", in.dir.string()));
  step(kStepNames[5], out.stripe.Describe(), out.stripe.step == nullptr);
  step(kStepNames[6], StrCat("copy organization ", in.endpoints.organization, " from ",
                             in.endpoints.source.Describe(), " (", plan.tables_size(), " tables)"));
  return out;
}

JobOutcome Failed(std::string error) { return {v1::JOB_STATE_FAILED, 1, std::move(error), ""}; }
JobOutcome Cancelled(std::string error) {
  return {v1::JOB_STATE_CANCELLED, 130, std::move(error), ""};
}

// One reset, step by step. From step 3 on the target is partial until the
// last step succeeds.
class ResetRun {
 public:
  ResetRun(const ResetInputs& in, const ExternalStepRegistry& external, DrizzleFolderCache& folders,
           JobContext& ctx)
      : in_(in), external_(external), folders_(folders), ctx_(ctx) {}

  JobOutcome Run() {
    JobOutcome outcome = Steps();
    ctx_.SetInterrupter(nullptr);
    return outcome;
  }

 private:
  JobOutcome Steps() {
    Begin(0);
    absl::StatusOr<Checked> checked =
        Check(in_, external_, folders_, StrCat("ds reset (job ", ctx_.id(), ")"), false, nullptr);
    if (!checked.ok()) return Stop(checked.status());
    checked_ = std::move(*checked);
    for (const std::string& w : checked_.plan.warnings()) ctx_.Log("warning", w);
    PgConnection& target = *checked_.connections.target;
    ctx_.SetInterrupter([&target] { target.Cancel(); });
    // If dsd dies mid-statement, the server ends the statement within 2 s
    // instead of holding its locks until it finishes.
    target.Exec("SET client_connection_check_interval = 2000");
    checked_.connections.source.reset();  // the copy opens its own

    if (JobOutcome* o = Next(1)) return *o;
    absl::StatusOr<TerminateReport> ended = TerminateOtherSessions(target);
    if (!ended.ok()) return Stop(ended.status());
    ctx_.Log(ended->not_ended.empty() ? "info" : "warning", ended->Summary());
    ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, ended->Summary());

    if (JobOutcome* o = Next(2)) return *o;
    partial_ = true;
    if (absl::Status s = DropSchemasAndRecreatePublic(target, checked_.schemas.drop); !s.ok()) {
      return Stop(s);
    }
    checked_.connections.target.reset();  // the migrations use their own
    ctx_.SetInterrupter(nullptr);

    if (JobOutcome* o = Next(3)) return *o;
    if (JobOutcome* o = External(3, checked_.cognito)) return *o;

    if (JobOutcome* o = Next(4)) return *o;
    if (JobOutcome* o = Migrate()) return *o;

    if (JobOutcome* o = Next(5)) return *o;
    if (JobOutcome* o = External(5, checked_.stripe)) return *o;

    if (JobOutcome* o = Next(6)) return *o;
    NestedJobContext copy_ctx(ctx_, 7, kSteps, std::string(kStepNames[6]));
    absl::StatusOr<std::string> copied = CopyOrganization(in_.endpoints, in_.root, copy_ctx);
    if (!copied.ok()) return Stop(copied.status());
    ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, *copied);
    partial_ = false;
    JobOutcome done;
    done.summary = StrCat("reset ", in_.endpoints.target.ConfirmName(), ": ", *copied);
    return done;
  }

  void Begin(int i) {
    ctx_.BeginStep(kStepNames[i]);
    ctx_.Progress(i + 1, kSteps, kStepNames[i]);
  }

  // Between steps: a cancel stops here; otherwise step `i` begins.
  JobOutcome* Next(int i) {
    if (ctx_.cancelled()) {
      stopped_ = Cancelled(StrCat("cancelled before step ", i + 1, " of ", kSteps, " (",
                                  kStepNames[i], ")", PartialNote()));
      ctx_.EndStep(v1::JOB_STATE_CANCELLED);
      return &stopped_;
    }
    Begin(i);
    return nullptr;
  }

  std::string PartialNote() const {
    return partial_ ? "; the target is partial: run `ds db reset` again to rebuild it"
                    : "; nothing was changed";
  }

  JobOutcome Stop(const absl::Status& s) {
    bool cancel = s.code() == absl::StatusCode::kCancelled || ctx_.cancelled();
    std::string error = StrCat(s.message(), PartialNote());
    ctx_.EndStep(cancel ? v1::JOB_STATE_CANCELLED : v1::JOB_STATE_FAILED,
                 partial_ ? "target left partial" : "");
    return cancel ? Cancelled(std::move(error)) : Failed(std::move(error));
  }

  JobOutcome* External(int i, const PlannedExternalStep& planned) {
    if (!planned.step) {
      ctx_.Log("info", StrCat(planned.name, ": ", planned.Describe()));
      ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, planned.Describe());
      return nullptr;
    }
    NestedJobContext nested(ctx_, i + 1, kSteps, planned.name);
    absl::Status s = planned.step->Run(in_.ExternalInput(), planned.plan, nested);
    if (!s.ok()) {
      stopped_ = Stop(s);
      return &stopped_;
    }
    ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, planned.plan.summary);
    return nullptr;
  }

  JobOutcome* Migrate() {
    MigrateOptions o;
    o.conninfo = in_.endpoints.target.conninfo;
    o.target_redacted = in_.endpoints.target.redacted;
    o.dir = in_.dir;
    o.schema = in_.migrations_schema;
    o.table = in_.migrations_table;
    o.applied_by = in_.started_by;
    o.folders = &folders_;
    NestedJobContext nested(ctx_, 5, kSteps, "migrate");
    JobOutcome migrated = RunMigrations(o, nested);
    if (migrated.state == v1::JOB_STATE_SUCCEEDED) {
      ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, migrated.summary);
      return nullptr;
    }
    absl::Status s = migrated.state == v1::JOB_STATE_CANCELLED
                         ? absl::CancelledError(migrated.error)
                         : absl::InternalError(StrCat("migrating: ", migrated.error));
    stopped_ = Stop(s);
    return &stopped_;
  }

  const ResetInputs& in_;
  const ExternalStepRegistry& external_;
  DrizzleFolderCache& folders_;
  JobContext& ctx_;
  Checked checked_;
  bool partial_ = false;
  JobOutcome stopped_;
};

JobSpec ResetJobSpec(const ResetInputs& in, const v1::ResetRequest& req) {
  JobSpec job;
  job.kind = "reset";
  job.target_key = DatabaseKey(in.endpoints.target.info);
  job.target_redacted = in.endpoints.target.redacted;
  if (in.endpoints.target.branch) job.branch = ToBranchRef(*in.endpoints.target.branch);
  job.workspace_dir = in.endpoints.workspace_dir.string();
  job.started_by = in.started_by;
  job.description = StrCat("reset ", in.endpoints.target.ConfirmName(), " with organization ",
                           in.endpoints.organization, " from ", in.endpoints.source.redacted);
  job.wait = req.wait();
  return job;
}

}  // namespace

absl::StatusOr<v1::ResetPlan> ResetTask::Plan(const v1::ResetRequest& request) {
  absl::StatusOr<std::shared_ptr<ResetInputs>> in = Resolve(request, *resolver_, *providers_);
  if (!in.ok()) return in.status();
  absl::StatusOr<Checked> checked =
      Check(**in, *external_, folders_, "ds reset plan", request.count_rows(), nullptr);
  if (!checked.ok()) return checked.status();
  return std::move(checked->plan);
}

absl::StatusOr<std::string> ResetTask::Start(const v1::ResetRequest& request, JobManager::Sink sink,
                                             uint64_t* token) {
  if (!request.confirmed()) {
    return absl::FailedPreconditionError(
        "a reset drops the target's data: confirm it (type the branch name on a terminal, or "
        "pass --yes)");
  }
  absl::StatusOr<std::shared_ptr<ResetInputs>> in = Resolve(request, *resolver_, *providers_);
  if (!in.ok()) return in.status();
  std::shared_ptr<const ResetInputs> inputs = std::move(*in);
  const ExternalStepRegistry* external = external_;
  DrizzleFolderCache* folders = &folders_;
  return jobs_->Start(
      ResetJobSpec(*inputs, request),
      [inputs, external, folders](JobContext& job) {
        return ResetRun(*inputs, *external, *folders, job).Run();
      },
      std::move(sink), token);
}

}  // namespace ds::daemon
