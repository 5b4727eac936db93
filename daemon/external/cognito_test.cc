#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "daemon/external/cognito_step.h"
#include "daemon/http/scripted_transport.h"
#include "daemon/jobs/recording_job_context.h"

namespace ds::daemon::external {
namespace {

ExternalStepPlan ConfiguredCognitoPlan() {
  ExternalStepPlan p;
  p.configured = true;
  return p;
}

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class CognitoStepTest : public ::testing::Test {
 protected:
  CognitoStepTest() {
    http::ClientOptions client = CognitoClientOptions();
    client.clock = &clock_;
    client.pacing = {};
    step_ = std::make_unique<CognitoUsersStep>(
        CognitoStepOptions{[this] { return transport_; }, client, "/nonexistent"});
    flags_ = {{"cognito_user_pool_id", "us-east-1_{stage}"}, {"aws_region", "us-east-1"}};
    input_.credentials = {{"AWS_ACCESS_KEY_ID", "AKIDTEST"},
                          {"AWS_SECRET_ACCESS_KEY", "secret/key"},
                          {"AWS_ENDPOINT_URL", "http://cognito.test"}};
    input_.stage = "dev";
  }
  ExternalStepInput& Input() {
    std::vector<common::ConfigLayer> layers = {common::DefaultsLayer(), *common::FlagLayer(flags_)};
    config_ = common::Config::Build(layers);
    input_.config = &config_;
    return input_;
  }
  static std::string Pool(std::string name, std::string tags = "{}") {
    return StrCat(R"({"UserPool":{"Id":"us-east-1_dev","Name":")", name,
                  R"(","EstimatedNumberOfUsers":3,"UserPoolTags":)", tags, "}}");
  }
  static std::string Users(std::vector<std::string> names, std::string token = "") {
    std::string out = R"({"Users":[)";
    for (size_t i = 0; i < names.size(); ++i) {
      StrAppend(&out, i ? "," : "", R"({"Username":")", names[i],
                R"(","Enabled":true,"UserStatus":"CONFIRMED","UserCreateDate":1.7e9})");
    }
    StrAppend(&out, "]", token.empty() ? "" : StrCat(R"(,"PaginationToken":")", token, "\""), "}");
    return out;
  }
  std::string Target(size_t i) const {
    const http::HttpRequest req = transport_->requests()[i];
    for (const auto& [k, v] : req.headers) {
      if (k == "X-Amz-Target") return v;
    }
    return "";
  }

  http::ManualClock clock_;
  std::shared_ptr<http::ScriptedTransport> transport_ = std::make_shared<http::ScriptedTransport>();
  std::unique_ptr<CognitoUsersStep> step_;
  std::map<std::string, std::string> flags_;
  common::Config config_;
  ExternalStepInput input_;
  RecordingJobContext job_;
};

TEST_F(CognitoStepTest, UnsetPoolIsSkippedWithoutARequest) {
  flags_.erase("cognito_user_pool_id");
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(Input());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->configured);
  EXPECT_THAT(plan->skip_reason, HasSubstr("cognito_user_pool_id"));
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(CognitoStepTest, PlanDescribesThePoolSignedForItsRegion) {
  transport_->Add(200, Pool("acme-dev-users"));
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(Input());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->configured);
  EXPECT_THAT(plan->summary, HasSubstr("acme-dev-users (us-east-1_dev), about 3 users"));
  ASSERT_EQ(transport_->requests().size(), 1u);
  const http::HttpRequest req = transport_->requests()[0];
  EXPECT_EQ(req.url, "http://cognito.test/");
  EXPECT_EQ(req.body, R"({"UserPoolId":"us-east-1_dev"})") << "{stage} replaced";
  EXPECT_EQ(Target(0), "AWSCognitoIdentityProviderService.DescribeUserPool");
  ASSERT_TRUE(req.aws_sigv4.has_value());
  EXPECT_EQ(req.aws_sigv4->region, "us-east-1");
  EXPECT_EQ(req.aws_sigv4->service, "cognito-idp");
  EXPECT_EQ(req.aws_sigv4->access_key_id, "AKIDTEST");
  for (const auto& [k, v] : req.headers) EXPECT_THAT(v, Not(HasSubstr("secret/key")));
}

TEST_F(CognitoStepTest, ProductionByNameOrTagIsRefused) {
  transport_->Add(200, Pool("acme-Prod-users"));
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(Input());
  ASSERT_TRUE(absl::IsFailedPrecondition(plan.status())) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("'prod'"));
  EXPECT_THAT(plan.status().message(), HasSubstr("cognito_production_markers"));

  transport_->Add(200, Pool("acme-users", R"({"environment":"Production"})"));
  plan = step_->Plan(Input());
  ASSERT_TRUE(absl::IsFailedPrecondition(plan.status())) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("environment=Production"));

  // "products" is not the word "prod"; and the markers can be changed.
  transport_->Add(200, Pool("acme-products-dev"));
  EXPECT_TRUE(step_->Plan(Input()).ok());
  flags_["cognito_production_markers"] = "";
  transport_->Add(200, Pool("acme-prod"));
  EXPECT_TRUE(step_->Plan(Input()).ok());
}

TEST_F(CognitoStepTest, UnknownPoolIsNotFound) {
  transport_->Add(400, R"({"__type":"ResourceNotFoundException","message":"no such pool"})");
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(Input());
  ASSERT_TRUE(absl::IsNotFound(plan.status())) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("us-east-1_dev not found"));
}

TEST_F(CognitoStepTest, WrongSecretIsReportedAtOnceWithoutRetries) {
  transport_->Add(
      403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>");
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(Input());
  ASSERT_TRUE(absl::IsPermissionDenied(plan.status())) << plan.status();
  EXPECT_THAT(plan.status().message(), HasSubstr("SignatureDoesNotMatch"));
  EXPECT_THAT(plan.status().message(), HasSubstr("AWS_SECRET_ACCESS_KEY"));
  EXPECT_EQ(transport_->requests().size(), 1u);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(CognitoStepTest, ListsEveryPageThenDeletesEveryUser) {
  transport_->Add(200, Users({"a", "b"}, "t1"));
  transport_->Add(200, Users({"c"}));
  for (int i = 0; i < 3; ++i) transport_->Add(200, "{}");
  transport_->Add(200, Users({}));  // the check that the pool is empty
  ExternalStepPlan plan = ConfiguredCognitoPlan();
  absl::Status s = step_->Run(Input(), plan, job_);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<http::HttpRequest> sent = transport_->requests();
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(Target(0), "AWSCognitoIdentityProviderService.ListUsers");
  EXPECT_THAT(sent[0].body, HasSubstr(R"("Limit":60)"));
  EXPECT_THAT(sent[0].body, Not(HasSubstr("PaginationToken")));
  EXPECT_THAT(sent[1].body, HasSubstr(R"("PaginationToken":"t1")"));
  EXPECT_EQ(Target(2), "AWSCognitoIdentityProviderService.AdminDeleteUser");
  EXPECT_EQ(sent[4].body, R"({"UserPoolId":"us-east-1_dev","Username":"c"})");
  EXPECT_THAT(job_.lines(), Contains("progress 3/3 cognito-users: users deleted 3 of 3"));
  EXPECT_THAT(job_.lines(), Contains(HasSubstr("deleted 3 users in 6 requests")));
}

TEST_F(CognitoStepTest, ThrottlingIsRetriedWithBackoff) {
  transport_->Add(200, Users({"a"}));
  transport_->Add(400, R"({"__type":"TooManyRequestsException","message":"Too many requests"})");
  transport_->Add(400, R"({"__type":"com.amazonaws#TooManyRequestsException"})");
  transport_->Add(200, "{}");
  transport_->Add(200, Users({}));
  ASSERT_TRUE(step_->Run(Input(), ConfiguredCognitoPlan(), job_).ok());
  EXPECT_EQ(transport_->requests().size(), 5u);
  EXPECT_EQ(clock_.sleeps().size(), 2u) << "two backoffs, one per throttled answer";
}

TEST_F(CognitoStepTest, AUserAlreadyGoneCountsAsDeleted) {
  transport_->Add(200, Users({"a", "b"}));
  transport_->Add(400, R"({"__type":"UserNotFoundException","message":"User does not exist."})");
  transport_->Add(200, "{}");
  transport_->Add(200, Users({}));
  absl::Status s = step_->Run(Input(), ConfiguredCognitoPlan(), job_);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(job_.lines(), Contains("progress 2/2 cognito-users: users deleted 2 of 2"));
  EXPECT_THAT(job_.lines(), Contains(HasSubstr("1 were already gone")));
}

TEST_F(CognitoStepTest, UsersCreatedMeanwhileAreDeletedInASecondRound) {
  transport_->Add(200, Users({"a"}));
  transport_->Add(200, "{}");
  transport_->Add(200, Users({"late"}));
  transport_->Add(200, "{}");
  transport_->Add(200, Users({}));
  ASSERT_TRUE(step_->Run(Input(), ConfiguredCognitoPlan(), job_).ok());
  EXPECT_EQ(transport_->requests().size(), 5u);
}

TEST_F(CognitoStepTest, AFailedDeleteSaysHowFarItGot) {
  transport_->Add(200, Users({"a", "b"}));
  transport_->Add(200, "{}");
  transport_->Add(400, R"({"__type":"NotAuthorizedException","message":"denied"})");
  absl::Status s = step_->Run(Input(), ConfiguredCognitoPlan(), job_);
  ASSERT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("after deleting 1 of 2 users"));
}

TEST_F(CognitoStepTest, CancelStopsBetweenDeletes) {
  transport_->Add(200, Users({"a", "b", "c"}));
  transport_->Add(200, "{}");
  job_.CancelAfterProgress(2);  // the listing's progress, then one delete
  absl::Status s = step_->Run(Input(), ConfiguredCognitoPlan(), job_);
  ASSERT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("after deleting 1 of 3"));
  EXPECT_EQ(transport_->requests().size(), 2u);
}

}  // namespace
}  // namespace ds::daemon::external
