// `ds db reset` and `ds db copy-org`: ask dsd for the plan (its checks run
// first, so a refusal comes before any question), print it or confirm it,
// then start the job and follow it as migrate does.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "client/commands.h"
#include "client/confirm.h"
#include "client/exit_codes.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/picker.h"
#include "client/secret_args.h"
#include "client/session.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// The request's endpoints from the flags; the stage's branch via the
// naming settings.
absl::StatusOr<v1::OrgDataEndpoints> Endpoints(Session& s, const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (o.source_db == "-" && o.target_db == "-") {
    return absl::InvalidArgumentError("only one of --source-db and --target-db can read stdin");
  }
  if (!o.target_db.empty() && !o.target.empty()) {
    return absl::InvalidArgumentError("give --target-db or --target, not both");
  }
  v1::OrgDataEndpoints e;
  *e.mutable_workspace() = s.workspace;
  absl::StatusOr<std::string> source = ResolveConnectionOption(kSourceDbOption, o.source_db);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::string> target = ResolveConnectionOption(kTargetDbOption, o.target_db);
  if (!target.ok()) return target.status();
  e.set_source_connection_string(*source);
  e.set_target_connection_string(*target);
  e.set_organization(o.organization);
  if (!o.target.empty()) {
    absl::StatusOr<std::string> branch = BranchName(s, inv, "");
    if (!branch.ok()) return branch.status();
    e.set_project(o.project);
    e.set_branch(*branch);
  }
  return e;
}

std::string Where(const std::string& redacted, const v1::BranchRef& b) {
  if (b.branch_name().empty()) return redacted;
  return StrCat("branch ", b.branch_name(), " · project ",
                b.project_name().empty() ? b.project_id() : b.project_name(), " · ", b.provider(),
                " · ", redacted);
}

void PrintPlan(const v1::ResetPlan& plan, bool counts, std::ostream& out) {
  out << "Target:        " << Where(plan.target(), plan.target_branch()) << "\n"
      << "Source:        " << Where(plan.source(), plan.source_branch()) << "\n"
      << "Organization:  " << plan.organization() << "\n";
  if (!plan.keep_schemas().empty()) {
    out << "Kept schemas:  "
        << Join(std::vector<std::string_view>(plan.keep_schemas().begin(),
                                              plan.keep_schemas().end()),
                ", ")
        << "\n";
  }
  out << "Steps:\n";
  int i = 0;
  std::vector<std::vector<std::string>> rows;
  for (const v1::PlanStep& step : plan.steps()) {
    rows.push_back({StrCat("  ", ++i, "."), step.name(), step.detail()});
  }
  size_t w = 0;
  for (const auto& r : rows) w = std::max(w, r[1].size());
  for (const auto& r : rows)
    out << r[0] << " " << r[1] << std::string(w - r[1].size() + 2, ' ') << r[2] << "\n";
  if (counts && !plan.tables().empty()) {
    out << "Rows the copy would copy:\n";
    int64_t total = 0;
    size_t tw = 0;
    for (const v1::TableRowCount& t : plan.tables()) tw = std::max(tw, t.table().size());
    for (const v1::TableRowCount& t : plan.tables()) {
      out << "  " << t.table() << std::string(tw - t.table().size() + 2, ' ') << t.rows() << "\n";
      total += t.rows() > 0 ? t.rows() : 0;
    }
    out << "  total" << std::string(tw > 3 ? tw - 3 : 2, ' ') << total << "\n";
  }
  if (!plan.explain().empty())
    out << plan.explain() << (plan.explain().ends_with('\n') ? "" : "\n");
  for (const std::string& w : plan.warnings()) std::cerr << "ds: warning: " << w << "\n";
}

// The confirmation: the target (and what becomes of it) and the source,
// the target's name typed back.
absl::StatusOr<bool> Confirm(const v1::ResetPlan& plan, const char* command, bool yes) {
  DestructiveAction action;
  action.command = command;
  bool reset = plan.kind() == "reset";
  action.headline = reset ? "This WIPES the target and rebuilds it from the migrations and the "
                            "source's organization:"
                          : "This copies an organization into the target:";
  action.details.push_back({"Target", Where(plan.target(), plan.target_branch())});
  action.details.push_back({"Source", Where(plan.source(), plan.source_branch())});
  action.details.push_back({"Organization", plan.organization()});
  if (reset) {
    action.details.push_back(
        {"Drops schemas",
         Join(std::vector<std::string_view>(plan.drop_schemas().begin(), plan.drop_schemas().end()),
              ", ")});
    if (!plan.target_sessions().empty()) {
      action.details.push_back(
          {"Ends sessions", Join(std::vector<std::string_view>(plan.target_sessions().begin(),
                                                               plan.target_sessions().end()),
                                 ", ")});
    }
    for (const v1::PlanStep& step : plan.steps()) {
      if (step.name() == "cognito-users" || step.name() == "stripe-products") {
        action.details.push_back({step.name(), step.detail()});
      }
    }
  }
  action.type_back = plan.confirm_name();
  for (const std::string& w : plan.warnings()) std::cerr << "ds: warning: " << w << "\n";
  return ConfirmDestructive(action, yes);
}

int Usage(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (o.detach && o.dry_run)
    return PrintError("--detach starts a job; --dry-run does not", kExitUsage);
  if (o.detach && o.explain)
    return PrintError("--detach starts a job; --explain does not", kExitUsage);
  return kExitOk;
}

// Prints the plan (read-only runs) and returns the exit code, or asks for
// confirmation and returns -1 when the job may start.
int ReportPlanOrConfirm(const v1::ResetPlan& plan, const Invocation& inv, const char* command,
                        bool read_only) {
  const CommandOptions& o = inv.options;
  if (read_only) {
    if (o.json) {
      std::cout << ToJson(plan);
    } else {
      PrintPlan(plan, o.dry_run, std::cout);
      std::cout << "Nothing was changed (" << (o.dry_run ? "--dry-run" : "--explain") << ").\n";
    }
    return kExitOk;
  }
  absl::StatusOr<bool> confirmed = Confirm(plan, command, o.yes);
  if (!confirmed.ok()) return ReportStatus(confirmed.status());
  if (!*confirmed) {
    std::cerr << "ds: aborted; nothing was changed\n";
    return kExitFailed;
  }
  return -1;  // go on
}

}  // namespace

int RunReset(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (int code = Usage(inv); code != kExitOk) return code;
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<v1::OrgDataEndpoints> endpoints = Endpoints(*s, inv);
  if (!endpoints.ok()) return ReportStatus(endpoints.status());

  v1::ResetRequest req;
  *req.mutable_endpoints() = std::move(*endpoints);
  req.set_dir(o.dir);
  req.set_wait(o.wait);
  req.set_started_by(StartedBy());
  req.set_count_rows(o.dry_run);
  v1::ResetPlan plan;
  {
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    grpc::Status st = s->client.jobs().PlanReset(&ctx, req, &plan);
    if (!st.ok()) return ReportRpcError(st);
  }
  if (int code = ReportPlanOrConfirm(plan, inv, "ds db reset", o.dry_run); code >= 0) {
    return code;
  }
  req.set_confirmed(true);
  req.set_count_rows(false);
  if (!o.detach) PrepareForInterrupts();
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = s->client.jobs().Reset(&ctx, req);
  return FollowJob(s->client.jobs(), ctx, *reader,
                   {.json = o.json, .cancel_on_interrupt = !o.detach, .detach = o.detach});
}

int RunCopyOrg(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (int code = Usage(inv); code != kExitOk) return code;
  if (!o.dir.empty())
    return PrintError("copy-org runs no migrations: --dir is reset's", kExitUsage);
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  absl::StatusOr<v1::OrgDataEndpoints> endpoints = Endpoints(*s, inv);
  if (!endpoints.ok()) return ReportStatus(endpoints.status());

  v1::CopyOrgRequest req;
  *req.mutable_endpoints() = std::move(*endpoints);
  req.set_wait(o.wait);
  req.set_started_by(StartedBy());
  req.set_count_rows(o.dry_run);
  req.set_explain(o.explain);
  v1::ResetPlan plan;
  {
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    grpc::Status st = s->client.jobs().PlanCopyOrg(&ctx, req, &plan);
    if (!st.ok()) return ReportRpcError(st);
  }
  if (int code = ReportPlanOrConfirm(plan, inv, "ds db copy-org", o.dry_run || o.explain);
      code >= 0) {
    return code;
  }
  req.set_confirmed(true);
  req.set_count_rows(false);
  req.set_explain(false);
  if (!o.detach) PrepareForInterrupts();
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = s->client.jobs().CopyOrg(&ctx, req);
  return FollowJob(s->client.jobs(), ctx, *reader,
                   {.json = o.json, .cancel_on_interrupt = !o.detach, .detach = o.detach});
}

}  // namespace ds::client
