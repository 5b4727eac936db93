#include "tests/pg_fixture.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

#include "common/atomic_file.h"
#include "common/strings.h"
#include "daemon/pg/pg_conn.h"
#include "daemon/sys/subprocess.h"

#ifndef DS_TEST_USER_DEFAULT
#define DS_TEST_USER_DEFAULT "ds-test"
#endif

namespace ds::test_pg {
namespace {

namespace fs = std::filesystem;

std::string Tool(std::string_view name) { return StrCat(kPostgresBinDir, "/", name); }

// Who runs the server: ourselves, or as root the test user.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<RunAs> ServerUser() {
  RunAs as;
  if (::geteuid() != 0) return as;
  const char* env = std::getenv("DS_TEST_USER");
  std::string name = env && *env ? env : DS_TEST_USER_DEFAULT;
  struct passwd* pw = ::getpwnam(name.c_str());
  if (!pw) {
    return absl::FailedPreconditionError(StrCat(
        "running as root, PostgreSQL needs an unprivileged user, and ", name,
        " does not exist; run scripts/ensure-test-user.sh ", name, " (or set DS_TEST_USER)"));
  }
  as.switch_user = true;
  as.uid = pw->pw_uid;
  as.gid = pw->pw_gid;
  return as;
}

absl::StatusOr<std::string> Run(const RunAs& as, std::vector<std::string> argv) {
  if (as.switch_user) {
    std::vector<std::string> wrapped = {"/usr/bin/setpriv", StrCat("--reuid=", as.uid),
                                        StrCat("--regid=", as.gid), "--init-groups", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    argv = std::move(wrapped);
  }
  absl::StatusOr<daemon::ProcessResult> r = daemon::RunProcess(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(
        StrCat(argv[as.switch_user ? 5 : 0], " exited with ", r->exit_code, ":\n", r->output));
  }
  return r->output;
}

// Lowercase letters, digits and "_", as a database name wants them.
std::string DatabaseName(std::string_view prefix, int n) {
  std::string out;
  for (char c : prefix) {
    if (out.size() >= 40) break;
    out.push_back(std::isalnum(static_cast<unsigned char>(c))
                      ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                      : '_');
  }
  return StrCat(out, "_", n);
}

constexpr std::string_view kDirPrefix = "ds-test-pg-";

void StopServer(const RunAs& as, const fs::path& dir) {
  (void)Run(as, {Tool("pg_ctl"), "-D", (dir / "data").string(), "-m", "immediate", "-w", "stop"});
}

// A test killed mid-run (a ctest timeout, a crash) never reaches the
// destructor and leaves its server running: stop the servers of test
// processes that no longer exist, and remove their directories.
void ReapAbandonedClusters(const RunAs& as) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    if (!e.path().filename().string().starts_with(kDirPrefix)) continue;
    absl::StatusOr<std::string> owner = common::ReadFile(e.path() / "owner.pid");
    if (!owner.ok()) continue;  // starting, or not ours
    pid_t pid = static_cast<pid_t>(std::strtol(owner->c_str(), nullptr, 10));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    StopServer(as, e.path());
    fs::remove_all(e.path(), ec);
  }
}

}  // namespace

bool TestCluster::BinariesPresent() {
  for (std::string_view tool : {"initdb", "pg_ctl", "postgres"}) {
    if (::access(Tool(tool).c_str(), X_OK) != 0) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<TestCluster>> TestCluster::Start() {
  absl::StatusOr<RunAs> as = ServerUser();
  if (!as.ok()) return as.status();
  ReapAbandonedClusters(*as);
  std::string templ = (fs::temp_directory_path() / StrCat(kDirPrefix, "XXXXXX")).string();
  if (!::mkdtemp(templ.data())) {
    return absl::InternalError(StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  // From here the destructor cleans up whatever exists.
  std::unique_ptr<TestCluster> cluster(new TestCluster(templ));
  const fs::path& dir = cluster->dir_;
  if (absl::Status s = common::ReplaceFileAtomically(dir / "owner.pid", StrCat(::getpid(), "\n"));
      !s.ok()) {
    return s;
  }
  if (as->switch_user && ::chown(dir.c_str(), as->uid, as->gid) != 0) {
    return absl::InternalError(StrCat("chown ", dir.string(), ": ", std::strerror(errno)));
  }
  const fs::path data = dir / "data";
  if (absl::StatusOr<std::string> r =
          Run(*as, {Tool("initdb"), "-D", data.string(), "-U", "postgres", "--auth=trust",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions", "--no-sync"});
      !r.ok()) {
    return r.status();
  }
  {
    std::ofstream conf(data / "postgresql.conf", std::ios::app);
    conf << "\n# A throwaway cluster for ds's unit tests (tests/pg_fixture.cc)\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << dir.string() << "'\n"
         << "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n";
    if (!conf)
      return absl::InternalError(StrCat("cannot write ", (data / "postgresql.conf").string()));
  }
  const fs::path log = dir / "server.log";
  absl::StatusOr<std::string> started = Run(
      *as, {Tool("pg_ctl"), "-D", data.string(), "-l", log.string(), "-w", "-t", "60", "start"});
  if (!started.ok()) {
    absl::StatusOr<std::string> tail = common::ReadFile(log);
    return absl::InternalError(
        StrCat(started.status().message(), "\nserver log:\n", tail.ok() ? *tail : "(none)"));
  }
  cluster->running_ = true;
  return cluster;
}

TestCluster::~TestCluster() {
  if (running_) {
    if (absl::StatusOr<RunAs> as = ServerUser(); as.ok()) StopServer(*as, dir_);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string TestCluster::ConnInfo(std::string_view dbname) const {
  return StrCat("host=", dir_.string(), " port=5432 user=postgres dbname=", dbname);
}

absl::StatusOr<std::string> TestCluster::CreateDatabase(std::string_view prefix) {
  std::string name = DatabaseName(prefix, ++databases_);
  absl::StatusOr<std::unique_ptr<daemon::PgConnection>> conn =
      daemon::PgConnection::Open(ConnInfo(), "ds unit test set-up");
  if (!conn.ok()) return conn.status();
  daemon::PgResult r = (*conn)->Exec(StrCat("CREATE DATABASE ", daemon::QuoteIdent(name)));
  if (!r.ok()) return absl::InternalError(StrCat("CREATE DATABASE ", name, ": ", r.message()));
  return name;
}

std::unique_ptr<TestCluster> PostgresTest::cluster_;
std::string PostgresTest::start_error_;

void PostgresTest::SetUpTestSuite() {
  if (!TestCluster::BinariesPresent()) return;
  absl::StatusOr<std::unique_ptr<TestCluster>> c = TestCluster::Start();
  if (c.ok()) {
    cluster_ = std::move(*c);
  } else {
    start_error_ = std::string(c.status().message());
  }
}

void PostgresTest::TearDownTestSuite() {
  cluster_.reset();
  start_error_.clear();
}

void PostgresTest::SetUp() {
  if (!TestCluster::BinariesPresent()) {
    GTEST_SKIP() << "no PostgreSQL 15 in " << kPostgresBinDir;
  }
  ASSERT_TRUE(cluster_) << "cannot start a PostgreSQL cluster: " << start_error_;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  absl::StatusOr<std::string> db = cluster_->CreateDatabase(info->name());
  ASSERT_TRUE(db.ok()) << db.status();
  database_ = *db;
  conninfo_ = cluster_->ConnInfo(database_);
}

}  // namespace ds::test_pg
