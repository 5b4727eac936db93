#include "daemon/providers/neon/neon_cache_file.h"

#include <gtest/gtest.h>

namespace ds::daemon::neon {
namespace {

AccountSnapshot Sample() {
  AccountSnapshot s;
  s.fetched_unix_ms = 1795650000123;
  ProjectState p;
  p.project = {"shiny-wind-028834",    "app \"prod\"",         "aws-us-east-2",           "org-1",
               "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "us-east-2.aws.neon.tech", 17};
  Branch main;
  main.id = "br-main-a1";
  main.project_id = p.project.id;
  main.name = "main";
  main.current_state = "ready";
  main.is_default = true;
  main.is_protected = true;
  main.created_at = "2026-01-01T00:00:00Z";
  Branch dev = main;
  dev.id = "br-dev-b2";
  dev.name = "dev-phil-local";
  dev.parent_id = main.id;
  dev.is_default = false;
  dev.is_protected = false;
  dev.created_by = "Phil";
  dev.expires_at = "2026-12-01T00:00:00Z";
  dev.logical_size = 123456;
  p.branches = {main, dev};
  Endpoint e;
  e.id = "ep-cool-darkness-123456";
  e.project_id = p.project.id;
  e.branch_id = dev.id;
  e.host = "ep-cool-darkness-123456.us-east-2.aws.neon.tech";
  e.type = "read_write";
  e.current_state = "idle";
  e.last_active = "2026-11-20T10:00:00Z";
  p.endpoints = {e};
  ProjectState empty;
  empty.project.id = "empty-1";
  empty.project.name = "empty";
  empty.project.region_id = "aws-eu-central-1";
  s.projects = {p, empty};
  return s;
}

TEST(NeonCacheFileTest, RoundTrips) {
  AccountSnapshot in = Sample();
  absl::StatusOr<AccountSnapshot> out = ParseSnapshot(SerializeSnapshot(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->fetched_unix_ms, in.fetched_unix_ms);
  ASSERT_EQ(out->projects.size(), 2u);
  const ProjectState& p = out->projects[0];
  EXPECT_EQ(p.project.name, "app \"prod\"");
  EXPECT_EQ(p.project.region_id, "aws-us-east-2");
  EXPECT_EQ(p.project.pg_version, 17);
  ASSERT_EQ(p.branches.size(), 2u);
  EXPECT_TRUE(p.branches[0].is_default);
  EXPECT_TRUE(p.branches[0].is_protected);
  EXPECT_EQ(p.branches[1].parent_id, "br-main-a1");
  EXPECT_EQ(p.branches[1].created_by, "Phil");
  EXPECT_EQ(p.branches[1].expires_at, "2026-12-01T00:00:00Z");
  EXPECT_EQ(p.branches[1].logical_size, 123456);
  ASSERT_EQ(p.endpoints.size(), 1u);
  EXPECT_EQ(p.endpoints[0].host, "ep-cool-darkness-123456.us-east-2.aws.neon.tech");
  EXPECT_EQ(p.endpoints[0].last_active, "2026-11-20T10:00:00Z");
  EXPECT_TRUE(out->projects[1].branches.empty());
}

TEST(NeonCacheFileTest, ProjectsNotLoadedYetStaySo) {
  AccountSnapshot in = Sample();
  in.projects[1].loaded = false;
  absl::StatusOr<AccountSnapshot> out = ParseSnapshot(SerializeSnapshot(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->projects[0].loaded);
  EXPECT_FALSE(out->projects[1].loaded);
}

TEST(NeonCacheFileTest, RejectsOtherFilesAndTruncation) {
  EXPECT_FALSE(ParseSnapshot("").ok());
  EXPECT_FALSE(ParseSnapshot("{\"projects\":[]}\n").ok());
  std::string text = SerializeSnapshot(Sample());
  EXPECT_FALSE(ParseSnapshot(text.substr(0, text.size() / 2)).ok());
}

}  // namespace
}  // namespace ds::daemon::neon
