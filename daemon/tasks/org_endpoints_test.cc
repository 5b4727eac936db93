// The checks that keep a reset off the wrong database: target is source,
// protected and default branches, protected projects.
#include "daemon/tasks/org_endpoints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ds::daemon {
namespace {

using ::testing::HasSubstr;

ResolvedDatabase Db(const std::string& conn) {
  ResolvedDatabase d;
  d.conninfo = conn;
  absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(conn);
  EXPECT_TRUE(info.ok()) << info.status();
  d.info = *info;
  d.redacted = common::RedactedUri(d.info);
  return d;
}

BranchLocation Branch(const std::string& project, const std::string& id, const std::string& name) {
  return {"neon", project, project + "-name", id, name};
}

TEST(TargetIsNotSourceTest, SameServerAndDatabaseRefused) {
  absl::Status s = CheckTargetIsNotSource(Db("postgresql://a:x@localhost:5433/app"),
                                          Db("postgresql://b:y@127.0.0.1:5433/app"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("the target is the source"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr(":x@")));
  EXPECT_TRUE(
      CheckTargetIsNotSource(Db("postgresql://a@h:5433/app"), Db("postgresql://a@h:5433/other"))
          .ok());
  EXPECT_TRUE(
      CheckTargetIsNotSource(Db("postgresql://a@h:5433/app"), Db("postgresql://a@h:5434/app"))
          .ok());
}

TEST(TargetIsNotSourceTest, SameNeonEndpointThroughThePoolerRefused) {
  absl::Status s = CheckTargetIsNotSource(
      Db("postgresql://u:p@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"),
      Db("postgresql://u:p@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("same Neon endpoint ep-cool-darkness-123456"));
}

TEST(TargetIsNotSourceTest, SameProviderBranchRefused) {
  ResolvedDatabase t = Db("postgresql://u@ep-a-1.x.neon.tech/neondb");
  ResolvedDatabase s = Db("postgresql://u@ep-b-2.x.neon.tech/neondb");
  t.branch = Branch("p1", "br-1", "dev");
  s.branch = Branch("p1", "br-1", "dev");
  EXPECT_THAT(CheckTargetIsNotSource(t, s).message(), HasSubstr("same branch dev"));
  s.branch = Branch("p1", "br-2", "main");
  EXPECT_TRUE(CheckTargetIsNotSource(t, s).ok());
}

common::Config ConfigWith(const std::string& key, const std::string& value) {
  common::ConfigLayer layers[] = {
      {common::OriginKind::kWorkspaceToml,
       {{key, value, {common::OriginKind::kWorkspaceToml, "/w/ds.toml:2"}}}}};
  return common::Config::Build(layers);
}

TEST(TargetWritableTest, DefaultAndProtectedBranchesRefused) {
  ResolvedDatabase t = Db("postgresql://u@ep-a-1.x.neon.tech/neondb");
  t.branch = Branch("p1", "br-1", "main");
  t.branch_info = BranchInfo{};
  t.branch_info->name = "main";
  t.branch_info->is_default = true;
  absl::Status s = CheckTargetWritable(t, ConfigWith("stage", "x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("the default branch main"));
  t.branch_info->is_default = false;
  t.branch_info->is_protected = true;
  EXPECT_THAT(CheckTargetWritable(t, ConfigWith("stage", "x")).message(),
              HasSubstr("protected branch main"));
  t.branch_info->is_protected = false;
  EXPECT_TRUE(CheckTargetWritable(t, ConfigWith("stage", "x")).ok());
}

TEST(TargetWritableTest, ProjectListedInProtectedProjectsRefusedByIdOrName) {
  ResolvedDatabase t = Db("postgresql://u@ep-a-1.x.neon.tech/neondb");
  t.branch = Branch("p1", "br-1", "dev");
  absl::Status s = CheckTargetWritable(t, ConfigWith("protected_projects", "other, p1-name"));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("protected_projects (/w/ds.toml:2)"));
  EXPECT_FALSE(CheckTargetWritable(t, ConfigWith("protected_projects", "p1")).ok());
  EXPECT_TRUE(CheckTargetWritable(t, ConfigWith("protected_projects", "p2,p1-nam")).ok());
}

}  // namespace
}  // namespace ds::daemon
