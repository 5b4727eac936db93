// Idle PostgreSQL connections kept for reuse by jobs. Opening a connection
// costs a backend start and a SCRAM exchange (30-40 ms on a small VM), more
// than everything else a no-op `ds db migrate` does, so a finished job
// hands its connection back and the next job on the same database takes
// it. Idle connections close after `idle_ttl` (10 s: long enough for a
// developer's edit-migrate loop, short enough not to hold a database that
// someone drops by hand right after).
//
// An idle connection carries kIdleApplicationName, so that whoever needs a
// database to itself (a branch copy or drop) can tell it apart from a
// user's session and terminate it: the pool notices on the next Acquire
// and opens a fresh connection.
#ifndef DS_DAEMON_PG_PG_POOL_H_
#define DS_DAEMON_PG_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {

inline constexpr std::string_view kIdleApplicationName = "ds: idle pooled connection";

class PgConnectionPool {
 public:
  explicit PgConnectionPool(std::chrono::milliseconds idle_ttl = std::chrono::seconds(10),
                            size_t max_idle = 8);
  ~PgConnectionPool();  // closes every idle connection
  PgConnectionPool(const PgConnectionPool&) = delete;
  PgConnectionPool& operator=(const PgConnectionPool&) = delete;

  // An idle connection to exactly `conninfo` that still answers, renamed to
  // `application_name`; else a new one (PgConnection::Open's errors).
  absl::StatusOr<std::unique_ptr<PgConnection>> Acquire(const std::string& conninfo,
                                                        const std::string& application_name);
  // Keeps `conn` for reuse when it is healthy and outside a transaction,
  // after releasing its advisory locks and resetting its settings; closes
  // it otherwise.
  void Release(const std::string& conninfo, std::unique_ptr<PgConnection> conn);

  size_t idle_count() const;

 private:
  struct Idle {
    std::unique_ptr<PgConnection> conn;
    std::chrono::steady_clock::time_point since;
  };
  void ReaperLoop();

  const std::chrono::milliseconds idle_ttl_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::vector<Idle>> idle_;  // by conninfo
  size_t count_ = 0;
  std::thread reaper_;
};

// A connection from a pool, handed back when it goes out of scope (or
// closed, without a pool).
class PooledConnection {
 public:
  PooledConnection(PgConnectionPool* pool, std::string conninfo, std::unique_ptr<PgConnection> conn)
      : pool_(pool), conninfo_(std::move(conninfo)), conn_(std::move(conn)) {}
  ~PooledConnection() {
    if (pool_ && conn_) pool_->Release(conninfo_, std::move(conn_));
  }
  PooledConnection(PooledConnection&&) = default;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  PgConnection& operator*() const { return *conn_; }
  PgConnection* operator->() const { return conn_.get(); }
  // Closes instead of pooling (after a failure that may leave state behind).
  void Discard() { conn_.reset(); }

 private:
  PgConnectionPool* pool_;
  std::string conninfo_;
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_PG_PG_POOL_H_
