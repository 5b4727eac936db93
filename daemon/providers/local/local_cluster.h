// The private PostgreSQL cluster behind the local provider: dsd creates it
// on first use, starts and stops it with pg_ctl, and restarts it when it
// has died.
//
//   $XDG_DATA_HOME/ds/pg/            PGDATA (initdb, scram-sha-256)
//   $XDG_DATA_HOME/ds/pg.port        TCP port on 127.0.0.1, kept across restarts
//   $XDG_DATA_HOME/ds/pg.superuser   superuser password, 0600
//   $XDG_DATA_HOME/ds/pg.roles/      each branch role's password, 0600 (branch_roles.h)
//   $XDG_DATA_HOME/ds/pg.log         server log
//   $XDG_RUNTIME_DIR/ds/pg/          the server's Unix socket directory
#ifndef DS_DAEMON_PROVIDERS_LOCAL_LOCAL_CLUSTER_H_
#define DS_DAEMON_PROVIDERS_LOCAL_LOCAL_CLUSTER_H_

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace ds::daemon {

struct LocalClusterOptions {
  std::filesystem::path data_dir;    // $XDG_DATA_HOME/ds
  std::filesystem::path socket_dir;  // $XDG_RUNTIME_DIR/ds/pg
  std::string bin_dir_override;      // DS_PG_BIN
};

class LocalCluster {
 public:
  explicit LocalCluster(LocalClusterOptions options);

  // Creates the cluster if it does not exist and starts it if it is not
  // running. Returns a notice for the user when it had to restart a server
  // that was expected to run (it crashed or was stopped behind dsd's back),
  // else "". Safe to call often: a running server costs one stat().
  absl::StatusOr<std::string> EnsureRunning();
  // Stops the server (fast shutdown) if dsd started or found it running.
  absl::Status Stop();

  bool initialized() const;
  // The port recorded in pg.port (0 when the cluster was never started),
  // without starting anything.
  int RecordedPort() const;
  int port() const { return port_.load(std::memory_order_relaxed); }
  const std::filesystem::path& socket_dir() const { return options_.socket_dir; }
  // libpq conninfo for the superuser over the Unix socket.
  std::string SuperuserConninfo(const std::string& dbname) const;
  static constexpr const char* kSuperuser = "ds_superuser";
  const std::filesystem::path& data_dir() const { return options_.data_dir; }

  // The directory holding initdb, pg_ctl and postgres.
  static absl::StatusOr<std::filesystem::path> FindBinaries(const std::string& override_dir);

 private:
  absl::Status Initialize();
  absl::Status Start();
  absl::StatusOr<bool> IsRunning();
  absl::Status LoadSecrets();
  std::filesystem::path pgdata() const { return options_.data_dir / "pg"; }

  LocalClusterOptions options_;
  std::mutex mu_;
  std::filesystem::path bin_dir_;
  std::atomic<int> port_{0};  // read without mu_ by Resolve
  // Set once under mu_ (LoadSecrets); read without it after EnsureRunning.
  std::string superuser_password_;
  bool started_once_ = false;  // a later "not running" is a crash to report
};

// 32 random characters from [A-Za-z0-9], from /dev/urandom.
std::string GeneratePassword();

// A TCP port on 127.0.0.1 that nothing listens on right now.
absl::StatusOr<int> PickFreePort();

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_LOCAL_LOCAL_CLUSTER_H_
