// A throwaway PostgreSQL server for tests that need a real one (COPY,
// cancel, errors as the server words them). Test-only: linked into test
// binaries, never into dsd.
//
// It runs initdb and pg_ctl from PostgreSQL 15's bin directory (DS_PG_BIN,
// else /usr/lib/postgresql/15/bin) with trust authentication, fsync off,
// and a Unix socket only, in a private directory under /tmp that Stop()
// removes. initdb refuses to run as root, so as root (CI) the server runs as
// DS_TEST_USER (default ds-test, made by scripts/ensure-test-user.sh)
// through setpriv, as tests/integration/harness.py runs dsd; the test
// itself stays root and connects over the socket.
#ifndef DS_DAEMON_PG_TEST_SERVER_H_
#define DS_DAEMON_PG_TEST_SERVER_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ds::daemon {

class TestServer {
 public:
  TestServer() = default;
  ~TestServer();  // Stop()
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // kNotFound when PostgreSQL 15's server binaries are not installed (the
  // only reason a test may skip); any other error is a failure.
  absl::Status Start();
  void Stop();

  // libpq conninfo for the superuser "postgres" on `dbname`.
  std::string Conninfo(const std::string& dbname = "postgres") const;

 private:
  absl::Status Run(std::vector<std::string> argv);

  std::filesystem::path bin_;
  std::filesystem::path root_;
  std::vector<std::string> as_user_;  // setpriv ... when root
  bool running_ = false;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_PG_TEST_SERVER_H_
