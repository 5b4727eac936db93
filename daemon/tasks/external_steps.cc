#include "daemon/tasks/external_steps.h"

#include "common/strings.h"

namespace ds::daemon {

void ExternalStepRegistry::Register(std::unique_ptr<ExternalStep> step) {
  std::lock_guard l(mu_);
  std::string name(step->name());
  steps_[name] = std::move(step);
}

ExternalStep* ExternalStepRegistry::Find(std::string_view name) const {
  std::lock_guard l(mu_);
  auto it = steps_.find(name);
  return it == steps_.end() ? nullptr : it->second.get();
}

std::string PlannedExternalStep::Describe() const {
  if (!step) {
    return StrCat("skipped: ", plan.skip_reason.empty() ? "not configured" : plan.skip_reason);
  }
  return plan.summary;
}

absl::StatusOr<PlannedExternalStep> PlanExternalStep(const ExternalStepRegistry& registry,
                                                     std::string_view name,
                                                     const ExternalStepInput& input) {
  PlannedExternalStep out;
  out.name = std::string(name);
  ExternalStep* step = registry.Find(name);
  if (!step) {
    out.plan.skip_reason = StrCat("not configured (this dsd has no ", name, " step)");
    return out;
  }
  absl::StatusOr<ExternalStepPlan> plan = step->Plan(input);
  if (!plan.ok()) {
    return absl::Status(plan.status().code(),
                        StrCat("external step ", name, ": ", plan.status().message()));
  }
  out.plan = std::move(*plan);
  if (out.plan.configured) {
    out.step = step;
  } else if (out.plan.skip_reason.empty()) {
    out.plan.skip_reason = "not configured";
  } else if (!out.plan.skip_reason.starts_with("not configured")) {
    out.plan.skip_reason = StrCat("not configured: ", out.plan.skip_reason);
  }
  return out;
}

}  // namespace ds::daemon
