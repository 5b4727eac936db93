#include "daemon/audit/git_refs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace ds::daemon::audit {
namespace {
namespace fs = std::filesystem;

class GitRefsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-gitrefs-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const fs::path& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
};

TEST_F(GitRefsTest, LooseAndPackedLocalAndRemoteBranches) {
  Write("repo/.git/HEAD", "ref: refs/heads/main\n");
  Write("repo/.git/refs/heads/main", "0123\n");
  Write("repo/.git/refs/heads/feature/login", "0123\n");
  Write("repo/.git/refs/remotes/origin/HEAD", "ref: refs/remotes/origin/main\n");
  Write("repo/.git/refs/remotes/origin/fix-1", "0123\n");
  Write("repo/.git/refs/tags/v1", "0123\n");
  Write("repo/.git/packed-refs",
        "# pack-refs with: peeled fully-peeled sorted\n"
        "aaaa refs/heads/packed-one\n"
        "bbbb refs/remotes/upstream/packed-two\n"
        "cccc refs/tags/v0\n"
        "^dddd\n");
  fs::create_directories(root_ / "repo/sub/dir");
  std::optional<fs::path> git = FindGitDir(root_ / "repo/sub/dir");
  ASSERT_TRUE(git);
  EXPECT_EQ(*git, root_ / "repo/.git");
  absl::StatusOr<GitBranches> b = ReadGitBranches(*git);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->local, (std::set<std::string>{"feature/login", "main", "packed-one"}));
  EXPECT_EQ(b->remote, (std::set<std::string>{"origin/fix-1", "upstream/packed-two"}));
}

TEST_F(GitRefsTest, WorktreeFileLeadsToTheCommonDir) {
  Write("main/.git/refs/heads/shared", "0123\n");
  Write("main/.git/worktrees/wt/commondir", "../..\n");
  Write("wt/.git", "gitdir: " + (root_ / "main/.git/worktrees/wt").string() + "\n");
  std::optional<fs::path> git = FindGitDir(root_ / "wt");
  ASSERT_TRUE(git);
  EXPECT_EQ(*git, (root_ / "main/.git").lexically_normal());
  absl::StatusOr<GitBranches> b = ReadGitBranches(*git);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->local.contains("shared"));
}

TEST_F(GitRefsTest, NoRepository) {
  fs::create_directories(root_ / "plain");
  // The temp dir itself might sit in a repository on a developer's box;
  // a directory with refs/ missing is still refused by ReadGitBranches.
  EXPECT_FALSE(ReadGitBranches(root_ / "plain").ok());
}

}  // namespace
}  // namespace ds::daemon::audit
