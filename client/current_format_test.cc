#include "client/current_format.h"

#include <gtest/gtest.h>

namespace ds::client {
namespace {

v1::GetCurrentResponse Resolved() {
  v1::GetCurrentResponse r;
  r.set_provider("local");
  v1::DatabaseTarget* t = r.mutable_target();
  t->set_variable("DB_CONNECTION_STRING");
  t->set_is_set(true);
  t->set_resolved(true);
  t->mutable_connection()->set_host("ep-x-123.aws.neon.tech");
  t->mutable_connection()->set_database("neondb");
  t->mutable_connection()->set_neon_endpoint_id("ep-x-123");
  v1::BranchRef* b = t->mutable_branch();
  b->set_provider("neon");
  b->set_project_id("p-1");
  b->set_project_name("shop");
  b->set_branch_name("dev-phil-local");
  return r;
}

TEST(FormatCurrent, ExpandsFieldsAndLiteralBraces) {
  absl::StatusOr<FormattedCurrent> f = FormatCurrent(
      "{{{branch}}} {project}/{project_id} {provider} {host} {endpoint}{protected}", Resolved());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->text, "{dev-phil-local} shop/p-1 neon ep-x-123.aws.neon.tech ep-x-123");
  EXPECT_FALSE(f->unset);
}

TEST(FormatCurrent, ProtectedMarksProtectedAndDefaultBranches) {
  v1::GetCurrentResponse r = Resolved();
  r.mutable_target()->mutable_branch()->set_branch_is_default(true);
  EXPECT_EQ(FormatCurrent("{branch}:{protected}", r)->text, "dev-phil-local:protected");
  r.mutable_target()->mutable_branch()->set_branch_is_default(false);
  r.mutable_target()->mutable_branch()->set_branch_protected(true);
  EXPECT_EQ(FormatCurrent("{protected}", r)->text, "protected");
}

TEST(FormatCurrent, UnresolvedKeepsWhatTheStringSays) {
  v1::GetCurrentResponse r = Resolved();
  r.mutable_target()->set_resolved(false);
  EXPECT_EQ(FormatCurrent("[{branch}|{project}|{provider}|{database}]", r)->text,
            "[||local|neondb]");
}

TEST(FormatCurrent, UnsetDatabaseGivesNothing) {
  v1::GetCurrentResponse r = Resolved();
  absl::StatusOr<FormattedCurrent> f = FormatCurrent("db: {source_branch}", r);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->unset);
  EXPECT_EQ(f->text, "");
  // A template that reads only the target is unaffected by the source.
  EXPECT_EQ(FormatCurrent("db: {branch}", r)->text, "db: dev-phil-local");
}

TEST(FormatCurrent, InvalidConnectionStringIsAnError) {
  v1::GetCurrentResponse r = Resolved();
  r.mutable_target()->set_error("DB_CONNECTION_STRING is not a connection string");
  absl::StatusOr<FormattedCurrent> f = FormatCurrent("{branch}", r);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  // Plain text needs no database.
  EXPECT_EQ(FormatCurrent("plain", r)->text, "plain");
}

TEST(FormatCurrent, BadTemplatesAreUsageErrors) {
  for (const char* bad : {"{nope}", "{branch", "branch}", "{source_nope}", "{}"}) {
    absl::StatusOr<FormattedCurrent> f = FormatCurrent(bad, {});
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(FormatCurrent("{nope}", {}).status().message().find("{branch}"), std::string::npos);
}

}  // namespace
}  // namespace ds::client
