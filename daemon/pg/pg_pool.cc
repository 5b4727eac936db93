#include "daemon/pg/pg_pool.h"

#include "common/strings.h"

namespace ds::daemon {

PgConnectionPool::PgConnectionPool(std::chrono::milliseconds idle_ttl, size_t max_idle)
    : idle_ttl_(idle_ttl), max_idle_(max_idle) {
  reaper_ = std::thread([this] { ReaperLoop(); });
}

PgConnectionPool::~PgConnectionPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reaper_.join();
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnectionPool::Acquire(
    const std::string& conninfo, const std::string& application_name) {
  for (;;) {
    std::unique_ptr<PgConnection> conn;
    {
      std::lock_guard lock(mu_);
      auto it = idle_.find(conninfo);
      if (it == idle_.end() || it->second.empty()) break;
      conn = std::move(it->second.back().conn);
      it->second.pop_back();
      if (it->second.empty()) idle_.erase(it);
      --count_;
    }
    // A connection whose server went away (a restart, a terminated
    // backend) is dropped before any query; the rename is the last check.
    if (!conn->LooksAlive()) continue;
    PgResult r =
        conn->ExecParams("SELECT set_config('application_name', $1, false)", {application_name});
    if (r.ok()) return conn;
  }
  return PgConnection::Open(conninfo, application_name);
}

void PgConnectionPool::Release(const std::string& conninfo, std::unique_ptr<PgConnection> conn) {
  if (!conn || conn->Broken() || conn->InTransaction()) return;
  // One round trip: RESET ALL undoes the job's SETs (back to the
  // connection string's own options), the locks go, the name says "idle".
  PgResult r =
      conn->Exec(StrCat("RESET ALL; SELECT pg_advisory_unlock_all(), "
                        "set_config('application_name', '",
                        kIdleApplicationName, "', false)"));
  if (!r.ok()) return;
  std::lock_guard lock(mu_);
  if (stopping_ || count_ >= max_idle_) return;
  idle_[conninfo].push_back({std::move(conn), std::chrono::steady_clock::now()});
  ++count_;
  cv_.notify_all();
}

size_t PgConnectionPool::idle_count() const {
  std::lock_guard lock(mu_);
  return count_;
}

void PgConnectionPool::ReaperLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (count_ == 0) {
      cv_.wait(lock);
      continue;
    }
    cv_.wait_for(lock, idle_ttl_ / 4);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<PgConnection>> expired;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& v = it->second;
      for (auto c = v.begin(); c != v.end();) {
        if (now - c->since >= idle_ttl_) {
          expired.push_back(std::move(c->conn));
          c = v.erase(c);
          --count_;
        } else {
          ++c;
        }
      }
      it = v.empty() ? idle_.erase(it) : std::next(it);
    }
    lock.unlock();
    expired.clear();  // closing talks to the server: outside the lock
    lock.lock();
  }
}

}  // namespace ds::daemon
