#include "daemon/audit/audit.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/clock.h"

namespace ds::daemon::audit {
namespace {

using common::FormatRfc3339;
using common::ParseRfc3339;

constexpr int64_t kDay = 24LL * 3600 * 1000;
const int64_t kNow = *ParseRfc3339("2026-12-04T12:00:00Z");

std::string DaysAgo(int days) { return FormatRfc3339(kNow - days * kDay); }

BranchInfo Branch(std::string id, std::string name, int idle_days, int64_t size = 1 << 20) {
  BranchInfo b;
  b.id = id;
  b.project_id = "p1";
  b.name = std::move(name);
  b.parent_id = "br-main";
  b.created_at = DaysAgo(idle_days + 10);
  b.last_activity = DaysAgo(idle_days);
  b.size_bytes = size;
  return b;
}

BranchInfo Main() {
  BranchInfo b = Branch("br-main", "main", 100, 10 << 20);
  b.parent_id.clear();
  b.is_default = true;
  return b;
}

AuditInput Input(std::vector<BranchInfo> branches, int limit = 0) {
  AuditInput in;
  in.projects.push_back({"neon", {"p1", "shop", "aws-us-east-2", ""}, std::move(branches), limit});
  in.git_branches = std::set<std::string>{"main", "feature-live"};
  return in;
}

AuditOptions Options() {
  AuditOptions o;
  o.now_unix_ms = kNow;
  return o;
}

const BranchReport& Row(const AuditReport& r, const std::string& name) {
  auto it = std::find_if(r.branches.begin(), r.branches.end(),
                         [&](const BranchReport& b) { return b.info.name == name; });
  EXPECT_NE(it, r.branches.end()) << name;
  return *it;
}

std::vector<std::string> Names(const std::vector<Finding>& f) {
  std::vector<std::string> out;
  for (Finding x : f) out.push_back(FindingName(x));
  return out;
}

using V = std::vector<std::string>;

TEST(Audit, StaleAfterOlderThanAndCreationWhenNeverActive) {
  BranchInfo never = Branch("b3", "dev-ann-local", 0);
  never.last_activity.clear();
  never.created_at = DaysAgo(20);
  AuditReport r = Audit(
      Input({Main(), Branch("b1", "dev-ann-local", 15), Branch("b2", "x", 13), never}), Options());
  EXPECT_EQ(Names(r.branches[0].findings), V{"STALE"});
  EXPECT_EQ(Names(Row(r, "x").findings), V{});
  // The default branch gets no findings, whatever its age.
  EXPECT_EQ(Names(Row(r, "main").findings), V{});
  EXPECT_EQ(Row(r, "main").kept_because, (V{"default branch", "has 3 child branches"}));
  int stale = 0;
  for (const BranchReport& b : r.branches) stale += !b.findings.empty();
  EXPECT_EQ(stale, 2);
  EXPECT_EQ(r.findings, 2);
}

TEST(Audit, OlderThanIsAnOption) {
  AuditOptions o = Options();
  o.older_than_ms = 2 * kDay;
  AuditReport r = Audit(Input({Main(), Branch("b2", "x", 3)}), o);
  EXPECT_EQ(Names(Row(r, "x").findings), V{"STALE"});
}

TEST(Audit, OrphanedWhenTheGitBranchIsGone) {
  AuditReport r =
      Audit(Input({Main(), Branch("b1", "dev-ann-feature-live", 0),
                   Branch("b2", "dev-ann-feature-gone", 0), Branch("b3", "dev-ann-local", 0)}),
            Options());
  EXPECT_EQ(Names(Row(r, "dev-ann-feature-gone").findings), V{"ORPHANED"});
  EXPECT_EQ(Names(Row(r, "dev-ann-feature-live").findings), V{});
  EXPECT_EQ(Names(Row(r, "dev-ann-local").findings), V{});  // local branches have no git branch
}

TEST(Audit, OrphanedNotCheckedWithoutARepository) {
  AuditInput in = Input({Main(), Branch("b2", "dev-ann-feature-gone", 0)});
  in.git_branches.reset();
  in.git_unchecked_reason = "no known workspace is in a git repository";
  AuditReport r = Audit(in, Options());
  EXPECT_EQ(Names(Row(r, "dev-ann-feature-gone").findings), V{});
  EXPECT_EQ(r.notes, (V{"ORPHANED not checked: no known workspace is in a git repository",
                        "CLOSED-PR not checked: GitHub not configured"}));
}

TEST(Audit, ClosedPrThroughTheSeam) {
  AuditInput in = Input({Main(), Branch("b1", "dev-ci-pr-1", 0), Branch("b2", "dev-ci-pr-2", 0),
                         Branch("b3", "dev-ci-pr-3", 0)});
  in.pull_request_open = [](int n) -> absl::StatusOr<bool> {
    if (n == 3) return absl::UnavailableError("GitHub answered 502");
    return n == 1;
  };
  AuditReport r = Audit(in, Options());
  EXPECT_EQ(Names(Row(r, "dev-ci-pr-1").findings), V{});
  EXPECT_EQ(Names(Row(r, "dev-ci-pr-2").findings), V{"CLOSED-PR"});
  EXPECT_EQ(Row(r, "dev-ci-pr-3").notes, V{"PR #3 not checked: GitHub answered 502"});
  EXPECT_EQ(r.notes, V{});
}

TEST(Audit, ExpiringThenExpired) {
  BranchInfo soon = Branch("b1", "soon", 0), later = Branch("b2", "later", 0),
             gone = Branch("b3", "gone", 0);
  soon.expires_at = FormatRfc3339(kNow + 2 * kDay);
  later.expires_at = FormatRfc3339(kNow + 4 * kDay);
  gone.expires_at = FormatRfc3339(kNow - 1000);
  AuditReport r = Audit(Input({Main(), soon, later, gone}), Options());
  EXPECT_EQ(Names(Row(r, "soon").findings), V{"EXPIRING"});
  EXPECT_EQ(Names(Row(r, "later").findings), V{});
  EXPECT_EQ(Names(Row(r, "gone").findings), V{"EXPIRED"});
}

TEST(Audit, ArchivedAndBusy) {
  BranchInfo archived = Branch("b1", "old", 0), init = Branch("b2", "new", 30);
  archived.state = "archived";
  init.state = "init";
  AuditReport r = Audit(Input({Main(), archived, init}), Options());
  EXPECT_EQ(Names(Row(r, "old").findings), V{"ARCHIVED"});
  EXPECT_TRUE(Row(r, "old").prunable());
  EXPECT_EQ(Row(r, "new").kept_because, V{"busy (init)"});
  EXPECT_FALSE(Row(r, "new").prunable());
}

TEST(Audit, OverLimitMarksTheLeastRecentlyActiveExcess) {
  BranchInfo prot = Branch("b0", "keep", 50);
  prot.is_protected = true;
  AuditReport r =
      Audit(Input({Main(), prot, Branch("b1", "a", 1), Branch("b2", "b", 5), Branch("b3", "c", 3)},
                  /*limit=*/3),
            Options());
  EXPECT_EQ(Names(Row(r, "b").findings), V{"OVER-LIMIT"});
  EXPECT_EQ(Names(Row(r, "c").findings), V{"OVER-LIMIT"});
  EXPECT_EQ(Names(Row(r, "a").findings), V{});
  EXPECT_EQ(Names(Row(r, "keep").findings), V{"STALE"});  // protected: never picked as excess
  ASSERT_EQ(r.by_project.size(), 1u);
  EXPECT_EQ(r.by_project[0].limit, 3);
  EXPECT_EQ(r.by_project[0].branches, 5);
}

TEST(Audit, EveryRefusalIsListed) {
  BranchInfo parent = Branch("b1", "dev-bob-parent", 40), child = Branch("b2", "child", 40),
             prot = Branch("b3", "dev-bob-prot", 40), target = Branch("b4", "dev-bob-local", 40);
  child.parent_id = "b1";
  prot.is_protected = true;
  AuditInput in = Input({Main(), parent, child, prot, target});
  in.git_branches.reset();
  in.targets.push_back({"/w/app", "DB_CONNECTION_STRING", "neon", "p1", "b4"});
  in.targets.push_back({"/w/app", "DB_CONNECTION_STRING", "local", "p1", "b1"});  // other provider
  AuditReport r = Audit(in, Options());
  EXPECT_EQ(Row(r, "dev-bob-parent").kept_because, V{"has 1 child branch"});
  EXPECT_EQ(Row(r, "dev-bob-prot").kept_because, V{"protected"});
  EXPECT_EQ(Row(r, "dev-bob-local").kept_because, V{".env of /w/app (DB_CONNECTION_STRING)"});
  EXPECT_TRUE(Row(r, "child").prunable());
  // Prunable first; kept branches with findings next; the clean default last.
  EXPECT_EQ(r.branches.front().info.name, "child");
  EXPECT_EQ(r.branches.back().info.name, "main");
}

TEST(Audit, TotalsByOwnerAndProjectWithSizes) {
  AuditInput in =
      Input({Main(), Branch("b1", "dev-ann-local", 30, 100),
             Branch("b2", "dev-ann-feature-live", 0, 50), Branch("b3", "dev-bob-local", 30, 7)});
  AuditReport r = Audit(in, Options());
  ASSERT_EQ(r.by_owner.size(), 3u);  // "-", ann, bob
  EXPECT_EQ(r.by_owner[0].key, "-");
  EXPECT_EQ(r.by_owner[1].key, "ann");
  EXPECT_EQ(r.by_owner[1].branches, 2);
  EXPECT_EQ(r.by_owner[1].size_bytes, 150);
  EXPECT_EQ(r.by_owner[1].prunable, 1);
  EXPECT_EQ(r.by_owner[1].prunable_bytes, 100);
  EXPECT_EQ(r.by_project[0].key, "neon/shop");
  EXPECT_EQ(r.by_project[0].prunable_bytes, 107);
}

TEST(Audit, FiltersByProjectAndOwner) {
  AuditOptions o = Options();
  o.owner = "bob";
  AuditReport r = Audit(
      Input({Main(), Branch("b1", "dev-ann-local", 30), Branch("b3", "dev-bob-local", 30)}), o);
  ASSERT_EQ(r.branches.size(), 1u);
  EXPECT_EQ(r.branches[0].info.name, "dev-bob-local");
  o.owner.clear();
  o.project = "elsewhere";
  EXPECT_TRUE(Audit(Input({Main()}), o).branches.empty());
  o.project = "shop";
  EXPECT_EQ(Audit(Input({Main()}), o).branches.size(), 1u);
}

}  // namespace
}  // namespace ds::daemon::audit
