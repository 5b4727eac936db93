#include "daemon/audit/naming.h"

#include <gtest/gtest.h>

namespace ds::daemon::audit {
namespace {

constexpr const char* kPattern = "dev-{developer}-{stage}";

TEST(ParseBranchName, KindsOfTheDefaultScheme) {
  ParsedName local = ParseBranchName(kPattern, "dev-phil-local", false);
  EXPECT_EQ(local.kind, BranchKind::kLocal);
  EXPECT_EQ(local.owner, "phil");

  ParsedName cloud = ParseBranchName(kPattern, "dev-phil-feature-x", false);
  EXPECT_EQ(cloud.kind, BranchKind::kCloud);
  EXPECT_EQ(cloud.owner, "phil");
  EXPECT_EQ(cloud.stage, "feature-x");

  ParsedName ci = ParseBranchName(kPattern, "dev-ci-pr-42", false);
  EXPECT_EQ(ci.kind, BranchKind::kCi);
  EXPECT_EQ(ci.owner, "ci");
  EXPECT_EQ(ci.pr, 42);

  EXPECT_EQ(ParseBranchName(kPattern, "main", false).kind, BranchKind::kDefault);
  EXPECT_EQ(ParseBranchName(kPattern, "production", true).kind, BranchKind::kDefault);
  EXPECT_EQ(ParseBranchName(kPattern, "preview/x", false).kind, BranchKind::kOther);
  EXPECT_EQ(ParseBranchName(kPattern, "dev-phil", false).kind, BranchKind::kOther);
}

TEST(ParseBranchName, CiNeedsANumber) {
  ParsedName n = ParseBranchName(kPattern, "dev-ci-pr-x", false);
  EXPECT_EQ(n.kind, BranchKind::kCloud);
  EXPECT_EQ(n.owner, "ci");
}

TEST(ParseBranchName, OtherPatterns) {
  ParsedName n = ParseBranchName("{stage}/{developer}", "feature-x/ann", false);
  EXPECT_EQ(n.kind, BranchKind::kCloud);
  EXPECT_EQ(n.owner, "ann");
  EXPECT_EQ(n.stage, "feature-x");
  // A placeholder seen twice must match the same text both times.
  EXPECT_EQ(ParseBranchName("{stage}-{developer}-{stage}", "a-bob-a", false).owner, "bob");
  EXPECT_EQ(ParseBranchName("{stage}-{developer}-{stage}", "a-bob-b", false).kind,
            BranchKind::kOther);
}

TEST(GitBranchSlug, MatchesHowBranchNamesAreMade) {
  EXPECT_EQ(GitBranchSlug("feature/Login_Form"), "feature-login-form");
  EXPECT_EQ(GitBranchSlug("--x--"), "x");
  EXPECT_EQ(GitBranchSlug("main"), "main");
}

}  // namespace
}  // namespace ds::daemon::audit
