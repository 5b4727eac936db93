// What the commands that act on a workspace share: a connection to dsd
// with the workspace's reference, the naming settings that turn a stage
// into a branch name, the branch list, and table output.
#ifndef DS_CLIENT_SESSION_H_
#define DS_CLIENT_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/commands.h"
#include "client/daemon_client.h"
#include "ds/v1/branch.pb.h"

namespace ds::client {

struct Session {
  DaemonClient client;
  v1::WorkspaceRef workspace;
};

absl::StatusOr<Session> Open(const Invocation& inv);

// Branch operations and jobs may copy databases or start the cluster first.
void SlowDeadline(grpc::ClientContext& ctx);

// The settings the branch commands need on the client side.
struct NamingConfig {
  std::string developer;
  std::string stage;
  std::string pattern;
};
absl::StatusOr<NamingConfig> LoadNaming(Session& s);

// Every branch of `project`, or of every project when it is empty.
absl::StatusOr<std::vector<v1::Branch>> AllBranches(Session& s, const std::string& project);

// The branch a command is about: `explicit_name`, else --target's stage
// branch, else "" (the caller asks on a terminal).
absl::StatusOr<std::string> BranchName(Session& s, const Invocation& inv,
                                       const std::string& explicit_name);

// Prints rows as columns padded to the widest cell; the first row is the
// header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace ds::client

#endif  // DS_CLIENT_SESSION_H_
