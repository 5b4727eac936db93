#include "daemon/providers/local/branch_roles.h"

#include <gtest/gtest.h>

#include <set>

namespace ds::daemon {
namespace {

bool PlainIdentifier(const std::string& s) {
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return !s.empty() && s[0] >= 'a' && s[0] <= 'z';
}

TEST(RoleNameForBranch, ReadableAndUniqueById) {
  EXPECT_EQ(RoleNameForBranch("dev-phil-local", "br-abc123def456"),
            "ds_dev_phil_local_abc123def456");
  EXPECT_EQ(RoleNameForBranch("main", "br-000000000000"), "ds_main_000000000000");
  // Same name, other id: another role (a deleted branch's name reused).
  EXPECT_NE(RoleNameForBranch("feature", "br-aaaaaaaaaaaa"),
            RoleNameForBranch("feature", "br-bbbbbbbbbbbb"));
  // Deterministic: an interrupted upgrade derives the same name again.
  EXPECT_EQ(RoleNameForBranch("Feature/X", "br-q1"), RoleNameForBranch("Feature/X", "br-q1"));
}

TEST(RoleNameForBranch, OnlyLowercaseLettersDigitsUnderscores) {
  for (const char* name : {"Feature/Login", "a - b", "ünïcødé", "x\"; DROP DATABASE main; --", "__",
                           "-", "UPPER", "ds_reset_x", "pg_catalog"}) {
    std::string role = RoleNameForBranch(name, "br-0a1b2c3d4e5f");
    EXPECT_TRUE(PlainIdentifier(role)) << name << " -> " << role;
    EXPECT_TRUE(role.starts_with("ds_")) << role;  // never pg_*, PostgreSQL's prefix
    EXPECT_TRUE(role.ends_with("_0a1b2c3d4e5f")) << role;
    EXPECT_EQ(role.find("__"), std::string::npos) << role;
  }
  EXPECT_EQ(RoleNameForBranch("a - b", "br-1"), "ds_a_b_1");
  EXPECT_EQ(RoleNameForBranch("Feature/Login", "br-1"), "ds_feature_login_1");
}

TEST(RoleNameForBranch, BoundedBelowPostgresLimit) {
  const std::string long_name(300, 'n');
  const std::string long_id = "br-" + std::string(100, '7');
  std::string role = RoleNameForBranch(long_name, long_id);
  EXPECT_LE(role.size(), 56u);
  EXPECT_EQ(role, "ds_" + std::string(32, 'n') + "_" + std::string(20, '7'));
  // An id without a usable character still gives a valid name.
  EXPECT_TRUE(PlainIdentifier(RoleNameForBranch("x", "---")));
}

TEST(RoleNameForBranch, DistinctBranchesDistinctRoles) {
  std::set<std::string> roles;
  for (int i = 0; i < 100; ++i) {
    roles.insert(RoleNameForBranch("same prefix that is long enough to be cut somewhere",
                                   "br-" + std::to_string(1000 + i)));
  }
  EXPECT_EQ(roles.size(), 100u);
}

}  // namespace
}  // namespace ds::daemon
