// The reset's registry of external steps: a missing step or an unconfigured
// one is a skip, a Plan error refuses, a configured one is run.
#include "daemon/tasks/external_steps.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ds::daemon {
namespace {

using ::testing::HasSubstr;

class ScriptedStep : public ExternalStep {
 public:
  ScriptedStep(std::string name, absl::StatusOr<ExternalStepPlan> plan)
      : name_(std::move(name)), plan_(std::move(plan)) {}
  std::string_view name() const override { return name_; }
  absl::StatusOr<ExternalStepPlan> Plan(const ExternalStepInput& input) override {
    seen_stage = input.stage;
    return plan_;
  }
  absl::Status Run(const ExternalStepInput&, const ExternalStepPlan&, JobContext&) override {
    return absl::OkStatus();
  }
  std::string seen_stage;

 private:
  std::string name_;
  absl::StatusOr<ExternalStepPlan> plan_;
};

TEST(ExternalStepsTest, UnregisteredStepIsSkippedAsNotConfigured) {
  ExternalStepRegistry registry;
  absl::StatusOr<PlannedExternalStep> p = PlanExternalStep(registry, kCognitoUsersStep, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->step, nullptr);
  EXPECT_THAT(p->Describe(), HasSubstr("skipped: not configured"));
}

TEST(ExternalStepsTest, PlanSayingNotConfiguredIsASkipWithItsReason) {
  ExternalStepRegistry registry;
  ExternalStepPlan plan;
  plan.skip_reason = "cognito_user_pool_id is unset";
  registry.Register(std::make_unique<ScriptedStep>("cognito-users", plan));
  absl::StatusOr<PlannedExternalStep> p = PlanExternalStep(registry, kCognitoUsersStep, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->step, nullptr);
  EXPECT_EQ(p->Describe(), "skipped: not configured: cognito_user_pool_id is unset");
}

TEST(ExternalStepsTest, ConfiguredStepRunsWithItsSummary) {
  ExternalStepRegistry registry;
  ExternalStepPlan plan;
  plan.configured = true;
  plan.summary = "pool dev-users, 150 users";
  auto step = std::make_unique<ScriptedStep>("stripe-products", plan);
  ScriptedStep* raw = step.get();
  registry.Register(std::move(step));
  ExternalStepInput input;
  input.stage = "qa";
  absl::StatusOr<PlannedExternalStep> p = PlanExternalStep(registry, kStripeProductsStep, input);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->step, raw);
  EXPECT_EQ(p->Describe(), "pool dev-users, 150 users");
  EXPECT_EQ(raw->seen_stage, "qa");
}

TEST(ExternalStepsTest, PlanErrorRefusesNamingTheStep) {
  ExternalStepRegistry registry;
  registry.Register(std::make_unique<ScriptedStep>(
      "cognito-users", absl::PermissionDeniedError("pool prod-users is a production pool")));
  absl::StatusOr<PlannedExternalStep> p = PlanExternalStep(registry, kCognitoUsersStep, {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(p.status().message(), HasSubstr("external step cognito-users: pool prod-users"));
}

}  // namespace
}  // namespace ds::daemon
