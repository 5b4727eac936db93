// ds's side of the connection to dsd: finds the socket, starts dsd when it
// is not running (one daemon however many ds calls race), restarts a daemon
// of another version, and hands out stubs.
#ifndef DS_CLIENT_DAEMON_CLIENT_H_
#define DS_CLIENT_DAEMON_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/paths.h"
#include "ds/v1/branch.grpc.pb.h"
#include "ds/v1/daemon.grpc.pb.h"
#include "ds/v1/jobs.grpc.pb.h"
#include "ds/v1/workspace.grpc.pb.h"

namespace ds::client {

struct ConnectOptions {
  // Start dsd when it is not running. Off with DS_NO_SPAWN=1 (tests) and
  // for commands that only inspect (`ds daemon status`).
  bool spawn = true;
  // Restart a daemon whose version differs from ds's.
  bool restart_on_skew = true;
  // --state-dir given to ds, passed on to a dsd that ds starts.
  std::string state_dir_override;
  // Always Ping (for commands that show the reply). Otherwise the version
  // written in dsd's pid file stands in for it when it matches ours, which
  // saves a round trip on every call.
  bool need_ping = false;
};

class DaemonClient {
 public:
  // Connects to a dsd that answers Ping, starting one if allowed. Errors are
  // kUnavailable when no daemon can be reached, with a message saying what
  // to do.
  static absl::StatusOr<DaemonClient> Connect(const common::Paths& paths,
                                              const ConnectOptions& options);

  v1::DaemonService::Stub& daemon() { return *daemon_; }
  v1::WorkspaceService::Stub& workspace() { return *workspace_; }
  v1::BranchService::Stub& branches() { return *branches_; }
  v1::JobService::Stub& jobs() { return *jobs_; }
  // The Ping reply; empty unless ConnectOptions::need_ping or the version
  // had to be checked.
  const v1::PingResponse& ping() const { return ping_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::DaemonService::Stub> daemon_;
  std::unique_ptr<v1::WorkspaceService::Stub> workspace_;
  std::unique_ptr<v1::BranchService::Stub> branches_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  v1::PingResponse ping_;
};

// True when DS_NO_SPAWN is set to a non-empty value other than "0".
bool SpawnDisabledByEnvironment();

// Asks a running dsd to stop and waits (up to `timeout_ms`) for its process
// to exit. OK when no daemon was running.
absl::Status StopDaemon(const common::Paths& paths, const std::string& reason,
                        bool keep_databases = false, int timeout_ms = 30000);

// A deadline for unary calls: dsd answers from memory, so anything slower
// than this means something is wrong.
std::chrono::system_clock::time_point UnaryDeadline();

}  // namespace ds::client

#endif  // DS_CLIENT_DAEMON_CLIENT_H_
