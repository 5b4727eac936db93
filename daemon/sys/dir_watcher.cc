#include "daemon/sys/dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "common/strings.h"

namespace ds::daemon {

namespace {
constexpr uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
}

DirWatcher::DirWatcher() = default;

DirWatcher::~DirWatcher() { Stop(); }

absl::Status DirWatcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return absl::InternalError(StrCat("inotify_init1: ", std::strerror(errno)));
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(StrCat("eventfd: ", std::strerror(errno)));
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void DirWatcher::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

absl::StatusOr<uint64_t> DirWatcher::Subscribe(const std::set<std::filesystem::path>& dirs,
                                               Callback callback) {
  std::lock_guard lock(mu_);
  std::vector<std::filesystem::path> added;
  for (const auto& dir : dirs) {
    auto it = wd_by_dir_.find(dir);
    if (it != wd_by_dir_.end()) {
      ++it->second.second;
      added.push_back(dir);
      continue;
    }
    int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kDirEvents | IN_ONLYDIR);
    if (wd < 0) {
      int err = errno;
      // Undo the references taken so far.
      for (const auto& d : added) {
        if (--wd_by_dir_[d].second == 0) {
          ::inotify_rm_watch(inotify_fd_, wd_by_dir_[d].first);
          dir_by_wd_.erase(wd_by_dir_[d].first);
          wd_by_dir_.erase(d);
        }
      }
      return absl::FailedPreconditionError(
          StrCat("cannot watch ", dir.string(), ": ", std::strerror(err)));
    }
    wd_by_dir_[dir] = {wd, 1};
    dir_by_wd_[wd] = dir;
    added.push_back(dir);
  }
  uint64_t token = next_token_++;
  subscriptions_[token] = Subscription{dirs, std::move(callback)};
  return token;
}

void DirWatcher::Unsubscribe(uint64_t token) {
  std::lock_guard lock(mu_);
  auto it = subscriptions_.find(token);
  if (it == subscriptions_.end()) return;
  for (const auto& dir : it->second.dirs) {
    auto w = wd_by_dir_.find(dir);
    if (w == wd_by_dir_.end()) continue;
    if (--w->second.second == 0) {
      ::inotify_rm_watch(inotify_fd_, w->second.first);
      dir_by_wd_.erase(w->second.first);
      wd_by_dir_.erase(w);
    }
  }
  subscriptions_.erase(it);
}

size_t DirWatcher::subscription_count() const {
  std::lock_guard lock(mu_);
  return subscriptions_.size();
}

void DirWatcher::Run() {
  alignas(inotify_event) char buf[16 * 1024];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      common::LogError("dir watcher: poll: ", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    std::lock_guard lock(mu_);
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        // Events were lost: tell everyone something may have changed.
        for (auto& [token, sub] : subscriptions_) {
          for (const auto& dir : sub.dirs) sub.callback(dir, "");
        }
        continue;
      }
      auto d = dir_by_wd_.find(ev->wd);
      if (d == dir_by_wd_.end()) continue;
      std::string name = ev->len ? std::string(ev->name) : std::string();
      for (auto& [token, sub] : subscriptions_) {
        if (sub.dirs.count(d->second)) sub.callback(d->second, name);
      }
    }
  }
}

}  // namespace ds::daemon
