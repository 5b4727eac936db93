// The subset rule's graph and the load plan on hand-made catalogs: no
// database needed.
#include "daemon/orgcopy/copy_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ds::daemon::orgcopy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CatalogBuilder {
 public:
  // Columns as "name" (nullable) or "name!" (NOT NULL); the first is the key.
  CatalogBuilder& Table(const std::string& name, std::vector<std::string> columns,
                        bool keyed = true) {
    CatalogTable t;
    t.name = {"public", name};
    for (std::string c : columns) {
      bool not_null = c.ends_with('!');
      if (not_null) c.pop_back();
      t.columns.push_back({.name = c, .type = "bigint", .not_null = not_null});
    }
    if (keyed) t.row_key = {t.columns[0].name};
    catalog_.tables.push_back(std::move(t));
    return *this;
  }
  CatalogBuilder& Fk(const std::string& name, const std::string& child, const std::string& column,
                     const std::string& parent, bool deferrable = false) {
    CatalogForeignKey fk;
    fk.child = catalog_.Find({"public", child});
    fk.parent = catalog_.Find({"public", parent});
    fk.fk.name = name;
    fk.fk.child = {"public", child};
    fk.fk.parent = {"public", parent};
    fk.fk.child_columns = {column};
    fk.fk.parent_columns = {catalog_.tables[fk.parent].columns[0].name};
    fk.fk.not_null = catalog_.tables[fk.child].Column(column)->not_null;
    fk.fk.deferrable = deferrable;
    catalog_.foreign_keys.push_back(std::move(fk));
    return *this;
  }
  const Catalog& catalog() const { return catalog_; }

 private:
  Catalog catalog_;
};

std::vector<std::string> LoadOrder(const Catalog& catalog, const CopyGraph& graph) {
  std::vector<std::string> out;
  for (int t : graph.load_order) out.push_back(catalog.tables[t].name.name);
  return out;
}

// The owner's per-row way (order, cycles planned one by one); the bulk way
// (every FK dropped) has its own test.
OrgCopySpec Spec() {
  OrgCopySpec spec;
  spec.organization_id = "1";
  spec.drop_foreign_keys = false;
  return spec;
}

TEST(CopyGraphTest, DownFollowsNotNullFksAndUpReachesParentsOnly) {
  CatalogBuilder b;
  b.Table("plans", {"id!"})
      .Table("organizations", {"id!", "plan_id"})
      .Table("users", {"id!", "org_id!", "manager_id"})
      .Table("comments", {"id!", "author_id"})
      .Table("unrelated", {"id!"})
      .Fk("org_plan", "organizations", "plan_id", "plans")
      .Fk("user_org", "users", "org_id", "organizations")
      .Fk("user_manager", "users", "manager_id", "users")
      .Fk("comment_author", "comments", "author_id", "users");
  absl::StatusOr<CopyGraph> g = BuildCopyGraph(b.catalog(), Spec(), false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_THAT(g->down, ElementsAre(false, true, false, false));
  // comments hang off users by a nullable FK: not followed down, not copied.
  EXPECT_THAT(g->in_down, ElementsAre(false, true, true, false, false));
  EXPECT_THAT(g->in_copy, ElementsAre(true, true, true, false, false));
  EXPECT_THAT(LoadOrder(b.catalog(), *g), ElementsAre("plans", "organizations", "users"));
  ASSERT_EQ(g->cycles.size(), 1u);
  EXPECT_EQ(g->cycles[0].load, OrgCopyCycleLoad::kSelfReference);

  OrgCopySpec follow = Spec();
  follow.follow_down = {"users.comment_author"};  // wrong table: it is on comments
  EXPECT_EQ(BuildCopyGraph(b.catalog(), follow, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  follow.follow_down = {"public.comments.comment_author"};
  g = BuildCopyGraph(b.catalog(), follow, false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->in_down[3]);
  EXPECT_EQ(g->down_reason[3], "follow_down");

  OrgCopySpec skip = Spec();
  skip.skip_down = {"user_org"};
  g = BuildCopyGraph(b.catalog(), skip, false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->in_copy[2]);
}

TEST(CopyGraphTest, MissingRootIsNotFound) {
  CatalogBuilder b;
  b.Table("accounts", {"id!"});
  EXPECT_EQ(BuildCopyGraph(b.catalog(), Spec(), false).status().code(),
            absl::StatusCode::kNotFound);
  OrgCopySpec spec = Spec();
  spec.root_table = "accounts";
  spec.root_column = "uuid";
  absl::Status s = BuildCopyGraph(b.catalog(), spec, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("has no column uuid"));
}

TEST(CopyGraphTest, CyclesLoadNullThenUpdateDeferredOrAreRefused) {
  CatalogBuilder b;
  b.Table("organizations", {"id!"})
      .Table("users", {"id!", "org_id!", "favorite_project_id"})
      .Table("projects", {"id!", "org_id!", "owner_id!"})
      .Table("sprints", {"id!", "project_id!", "first_milestone_id!"})
      .Table("milestones", {"id!", "sprint_id!"})
      .Fk("user_org", "users", "org_id", "organizations")
      .Fk("user_favorite", "users", "favorite_project_id", "projects")
      .Fk("project_org", "projects", "org_id", "organizations")
      .Fk("project_owner", "projects", "owner_id", "users")
      .Fk("sprint_project", "sprints", "project_id", "projects")
      .Fk("sprint_first", "sprints", "first_milestone_id", "milestones", /*deferrable=*/true)
      .Fk("milestone_sprint", "milestones", "sprint_id", "sprints", /*deferrable=*/true);
  absl::StatusOr<CopyGraph> g = BuildCopyGraph(b.catalog(), Spec(), false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->refusals.empty());
  // users before projects: their favorite_project_id goes in NULL first.
  // sprints and milestones: both FKs deferred, so in catalog order.
  EXPECT_THAT(LoadOrder(b.catalog(), *g),
              ElementsAre("organizations", "users", "projects", "sprints", "milestones"));
  EXPECT_THAT(g->null_columns.at(1), ElementsAre("favorite_project_id"));
  ASSERT_EQ(g->cycles.size(), 2u);
  EXPECT_EQ(g->cycles[0].load, OrgCopyCycleLoad::kNullThenUpdate);
  EXPECT_EQ(g->cycles[1].load, OrgCopyCycleLoad::kDeferred);
  EXPECT_EQ(g->deferred_fks.size(), 2u);

  // In replica mode nothing needs a plan.
  g = BuildCopyGraph(b.catalog(), Spec(), true);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->null_columns.empty());
  EXPECT_EQ(g->cycles[0].load, OrgCopyCycleLoad::kReplicaMode);
}

TEST(CopyGraphTest, HardCycleDropsTheFewestFksOrIsRefusedNamingTheMissingRight) {
  CatalogBuilder b;
  b.Table("organizations", {"id!"})
      .Table("a", {"id!", "org_id!", "b_id!"})
      .Table("b", {"id!", "a_id!"})
      .Table("c", {"id!", "org_id!", "d_id"}, /*keyed=*/false)
      .Table("d", {"id!", "c_id!"})
      .Fk("a_org", "a", "org_id", "organizations")
      .Fk("a_b", "a", "b_id", "b")
      .Fk("b_a", "b", "a_id", "a")
      .Fk("c_org", "c", "org_id", "organizations")
      .Fk("c_d", "c", "d_id", "d")
      .Fk("d_c", "d", "c_id", "c");
  // a <-> b: NOT NULL both ways. c <-> d: nullable, but c has no key to
  // UPDATE by. Planned without a target (as the owner): one FK of each
  // cycle is dropped for the load, and the tables load in the order the
  // rest allows.
  absl::StatusOr<CopyGraph> g = BuildCopyGraph(b.catalog(), Spec(), false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->refusals.empty());
  ASSERT_EQ(g->cycles.size(), 2u);
  EXPECT_EQ(g->cycles[0].load, OrgCopyCycleLoad::kDropAndValidate);
  EXPECT_EQ(g->cycles[1].load, OrgCopyCycleLoad::kDropAndValidate);
  EXPECT_THAT(g->cycles[0].detail, HasSubstr("public.b.b_a (a_id)"));
  EXPECT_EQ(g->dropped_fks, (std::set<int>{2, 5}));  // b_a, d_c
  EXPECT_THAT(LoadOrder(b.catalog(), *g), ElementsAre("organizations", "b", "a", "d", "c"));

  // A target role that owns none of them: refused, naming the cycle and
  // the rights that are missing.
  TargetRights none{.owned = std::vector<bool>(5, false),
                    .may_reference = std::vector<bool>(5, true)};
  g = BuildCopyGraph(b.catalog(), Spec(), false, &none);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->refusals.size(), 2u);
  EXPECT_THAT(g->refusals[0], HasSubstr("public.a -> public.b -> public.a"));
  EXPECT_THAT(g->refusals[0], HasSubstr("session_replication_role"));
  EXPECT_THAT(g->refusals[0], HasSubstr("public.b.b_a (a_id) needs ownership of public.b"));
  EXPECT_THAT(g->refusals[1], HasSubstr("public.c.c_d (d_id)"));
  EXPECT_TRUE(g->dropped_fks.empty());

  // Owning the tables is not enough without REFERENCES on the parent.
  TargetRights owner{.owned = std::vector<bool>(5, true),
                     .may_reference = {true, false, true, true, true}};
  g = BuildCopyGraph(b.catalog(), Spec(), false, &owner);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->refusals.size(), 1u);
  EXPECT_THAT(g->refusals[0], HasSubstr("needs REFERENCES on public.a"));
}

TEST(CopyGraphTest, OwnerDropsEveryCopiedFkWhenItMayReAddEachElsePlansPerRow) {
  CatalogBuilder b;
  b.Table("organizations", {"id!"})
      .Table("users", {"id!", "org_id!", "manager_id"})
      .Table("a", {"id!", "org_id!", "b_id!"})
      .Table("b", {"id!", "a_id!"})
      .Table("unrelated", {"id!", "user_id"})
      .Fk("user_org", "users", "org_id", "organizations")
      .Fk("user_manager", "users", "manager_id", "users")
      .Fk("a_org", "a", "org_id", "organizations")
      .Fk("a_b", "a", "b_id", "b")
      .Fk("b_a", "b", "a_id", "a")
      .Fk("unrelated_user", "unrelated", "user_id", "users");
  OrgCopySpec spec = Spec();
  spec.drop_foreign_keys = true;
  absl::StatusOr<CopyGraph> g = BuildCopyGraph(b.catalog(), spec, false);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->drop_all_fks);
  // Every FK whose child is copied; not unrelated's (nullable, up only).
  EXPECT_EQ(g->dropped_fks, (std::set<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(g->refusals.empty());
  for (const PlannedCycle& c : g->cycles) EXPECT_EQ(c.load, OrgCopyCycleLoad::kDropAndValidate);
  EXPECT_EQ(g->cycles.size(), 2u);  // users' self-reference, a <-> b

  // Replica mode needs none of it.
  g = BuildCopyGraph(b.catalog(), spec, true);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->drop_all_fks);
  EXPECT_TRUE(g->dropped_fks.empty());

  // One table the role does not own: the per-row way, and the hard cycle
  // drops only what it must.
  TargetRights rights{.owned = {true, false, true, true, true},
                      .may_reference = std::vector<bool>(5, true)};
  g = BuildCopyGraph(b.catalog(), spec, false, &rights);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->drop_all_fks);
  EXPECT_EQ(g->dropped_fks, (std::set<int>{4}));  // b_a
}

// Root leaves (read by their join, no key table) and a free load order
// (each selection round's rows loaded while the next runs). users are
// referenced (project owners), projects and tasks reference other tables:
// none of them is a root leaf.
TEST(CopyGraphTest, RootLeavesAndAFreeLoadOrder) {
  CatalogBuilder b;
  b.Table("plans", {"id!"})
      .Table("organizations", {"id!", "plan_id"})
      .Table("users", {"id!", "org_id!"})
      .Table("projects", {"id!", "org_id!", "owner_id!"})
      .Table("tasks", {"id!", "project_id!", "parent_id", "assignee_id"})
      .Table("audit", {"id!", "org_id!"})
      .Table("unrelated", {"id!"})
      .Fk("org_plan", "organizations", "plan_id", "plans")
      .Fk("user_org", "users", "org_id", "organizations")
      .Fk("project_org", "projects", "org_id", "organizations")
      .Fk("project_owner", "projects", "owner_id", "users")
      .Fk("task_project", "tasks", "project_id", "projects")
      .Fk("task_parent", "tasks", "parent_id", "tasks")
      .Fk("task_assignee", "tasks", "assignee_id", "users")
      .Fk("audit_org", "audit", "org_id", "organizations");
  const Catalog& c = b.catalog();
  OrgCopySpec spec = Spec();
  absl::StatusOr<CopyGraph> g = BuildCopyGraph(c, spec, /*replica_mode=*/true);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(g->any_order);
  ASSERT_EQ(g->root_leaves.size(), 1u);
  EXPECT_EQ(c.tables[g->root_leaves.begin()->first].name.name, "audit");
  EXPECT_EQ(c.foreign_keys[g->root_leaves.begin()->second].fk.name, "audit_org");
  // The per-row way needs its order: tables load after the selection.
  absl::StatusOr<CopyGraph> per_row = BuildCopyGraph(c, spec, /*replica_mode=*/false);
  ASSERT_TRUE(per_row.ok());
  EXPECT_FALSE(per_row->any_order);
  spec.drop_foreign_keys = true;
  absl::StatusOr<CopyGraph> dropped = BuildCopyGraph(c, spec, /*replica_mode=*/false);
  ASSERT_TRUE(dropped.ok());
  EXPECT_TRUE(dropped->any_order);
}

}  // namespace
}  // namespace ds::daemon::orgcopy
