#include "daemon/tasks/org_copy_step.h"

#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "daemon/orgcopy/org_copy.h"

namespace ds::daemon {
namespace {

std::vector<std::string> ListSetting(const common::Config& config, std::string_view key) {
  std::vector<std::string> out;
  for (std::string_view item : SplitSkipEmpty(config.Get(key), ',')) {
    item = TrimAsciiWhitespace(item);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

OrgCopySpec SpecFor(const OrgEndpoints& endpoints, const OrgRoot& root) {
  OrgCopySpec spec;
  spec.root_schema = root.schema;
  spec.root_table = root.table;
  spec.root_column = root.column;
  spec.organization_id = endpoints.organization;
  spec.skip_down = ListSetting(endpoints.config, "org_copy_skip_down");
  spec.follow_down = ListSetting(endpoints.config, "org_copy_follow_down");
  return spec;
}

OrgCopyEndpoints EngineEndpoints(const OrgEndpoints& endpoints, bool with_target,
                                 const JobContext* ctx) {
  OrgCopyEndpoints out;
  out.source_conninfo = endpoints.source.conninfo;
  if (with_target) out.target_conninfo = endpoints.target.conninfo;
  out.application_name = ctx ? StrCat("ds copy-org (job ", ctx->id(), ")") : "ds copy-org plan";
  return out;
}

}  // namespace

absl::Status AddCopyPlan(const OrgEndpoints& endpoints, const OrgRoot& root,
                         const CopyPlanOptions& options, v1::ResetPlan* plan, JobContext* ctx) {
  absl::StatusOr<OrgCopyPlan> copy =
      ExplainOrgCopy(EngineEndpoints(endpoints, options.check_target, ctx),
                     SpecFor(endpoints, root), options.count_rows, ctx);
  if (!copy.ok()) return copy.status();
  for (const OrgCopyTablePlan& t : copy->tables) {
    v1::TableRowCount* row = plan->add_tables();
    row->set_table(t.table.Display());
    row->set_rows(t.rows);
  }
  if (options.explain) plan->set_explain(FormatOrgCopyPlan(*copy));
  if (!copy->refusals.empty()) {
    if (options.check_target) {
      std::vector<std::string_view> v(copy->refusals.begin(), copy->refusals.end());
      return absl::FailedPreconditionError(
          StrCat("the copy would refuse: ", Join(v, "; "), "; nothing was changed"));
    }
    for (const std::string& r : copy->refusals) plan->add_warnings(StrCat("the copy: ", r));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CopyOrganization(const OrgEndpoints& endpoints, const OrgRoot& root,
                                             JobContext& ctx) {
  absl::StatusOr<OrgCopyReport> report =
      RunOrgCopy(EngineEndpoints(endpoints, true, &ctx), SpecFor(endpoints, root), ctx);
  if (!report.ok()) return report.status();
  const std::string summary = FormatOrgCopyReport(*report);  // the lines below point into it
  for (std::string_view line : SplitSkipEmpty(summary, '\n')) ctx.Log("info", line);
  return StrCat("copied organization ", endpoints.organization, ": ", report->rows, " rows (",
                report->bytes, " bytes) in ", report->tables.size(), " tables in ",
                absl::StrFormat("%.1f", report->seconds), " s");
}

}  // namespace ds::daemon
