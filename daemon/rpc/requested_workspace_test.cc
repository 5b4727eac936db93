#include "daemon/rpc/requested_workspace.h"

#include "ds/v1/workspace.pb.h"
#include "gtest/gtest.h"

namespace ds::daemon {
namespace {

TEST(RequestedWorkspaceTest, PrefersWorkspaceOverTheDeprecatedFields) {
  v1::GetCurrentRequest req;
  req.set_workspace_dir("/old");
  (*req.mutable_overrides()->mutable_flags())["stage"] = "old";
  req.mutable_workspace()->set_workspace_dir("/new");
  (*req.mutable_workspace()->mutable_overrides()->mutable_flags())["stage"] = "new";
  v1::WorkspaceRef ref = RequestedWorkspace(req);
  EXPECT_EQ(ref.workspace_dir(), "/new");
  EXPECT_EQ(ref.overrides().flags().at("stage"), "new");
}

TEST(RequestedWorkspaceTest, AnEmptyWorkspaceStillWins) {
  // Presence decides, so a client that sends `workspace` is never mixed
  // with fields it did not mean.
  v1::GetConfigRequest req;
  req.set_workspace_dir("/old");
  req.mutable_workspace();
  EXPECT_EQ(RequestedWorkspace(req).workspace_dir(), "");
}

TEST(RequestedWorkspaceTest, FallsBackToTheDeprecatedFields) {
  v1::GetConfigRequest req;
  req.set_workspace_dir("/old");
  (*req.mutable_overrides()->mutable_environment())["DS_STAGE"] = "ci";
  v1::WorkspaceRef ref = RequestedWorkspace(req);
  EXPECT_EQ(ref.workspace_dir(), "/old");
  EXPECT_EQ(ref.overrides().environment().at("DS_STAGE"), "ci");
}

}  // namespace
}  // namespace ds::daemon
