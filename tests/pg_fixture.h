// A throwaway PostgreSQL 15 cluster for unit tests that need a real server
// (the migration runner; connections and COPY).
//
// initdb refuses to run as root, and CI runs as root: there the cluster
// runs as the unprivileged test user (DS_TEST_USER, default "ds-test",
// created by scripts/test.sh) through setpriv, as
// tests/integration/harness.py runs dsd. The cluster listens only on a
// Unix socket in its own private directory, so it trusts local logins and
// clashes with no port; it runs without fsync, being thrown away.
//
// Tests skip only when the PostgreSQL 15 binaries are missing (CI installs
// them, so CI never skips); any other failure to start fails the test.
//
//   class MyTest : public ds::test_pg::PostgresTest {};
//   TEST_F(MyTest, Works) { ... PgConnection::Open(conninfo(), "test") ... }
#ifndef DS_TESTS_PG_FIXTURE_H_
#define DS_TESTS_PG_FIXTURE_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ds::test_pg {

inline constexpr std::string_view kPostgresBinDir = "/usr/lib/postgresql/15/bin";

class TestCluster {
 public:
  // Whether initdb, pg_ctl and postgres are installed in kPostgresBinDir.
  static bool BinariesPresent();
  // initdb and start; errors carry the tools' output and the server log.
  static absl::StatusOr<std::unique_ptr<TestCluster>> Start();
  ~TestCluster();  // stops the server at once and removes its directory
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  // libpq conninfo for `dbname`, as the superuser "postgres".
  std::string ConnInfo(std::string_view dbname = "postgres") const;
  // A new empty database, named from `prefix` and a counter.
  absl::StatusOr<std::string> CreateDatabase(std::string_view prefix);

 private:
  explicit TestCluster(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;  // holds data/, the socket and server.log
  bool running_ = false;
  int databases_ = 0;
};

// A gtest fixture: one cluster per test suite, a fresh database per test.
class PostgresTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  void SetUp() override;
  // The test's own database.
  const std::string& conninfo() const { return conninfo_; }
  const std::string& database() const { return database_; }
  static TestCluster& cluster() { return *cluster_; }

 private:
  static std::unique_ptr<TestCluster> cluster_;
  static std::string start_error_;
  std::string database_;
  std::string conninfo_;
};

}  // namespace ds::test_pg

#endif  // DS_TESTS_PG_FIXTURE_H_
