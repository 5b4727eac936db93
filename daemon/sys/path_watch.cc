#include "daemon/sys/path_watch.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/strings.h"

namespace ds::daemon {

namespace {

// Everything that can change what a name in a watched directory refers to,
// or the file's bytes, mode or owner. IN_MODIFY as well as IN_CLOSE_WRITE:
// a writer that keeps the file open has still changed it.
constexpr uint32_t kEntryEvents = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                  IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                                  IN_MOVE_SELF;
// Events about the watched directory itself (or the queue): whatever it led
// to may now be elsewhere.
constexpr uint32_t kAboutTheDirectory =
    IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW;

#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif

// The mount a path is on, without following a final symlink.
std::optional<uint64_t> MountId(const std::filesystem::path& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) {
    return std::nullopt;
  }
  if (!(stx.stx_mask & STATX_MNT_ID)) return std::nullopt;
  return stx.stx_mnt_id;
}

}  // namespace

bool PathWatch::OnLocalFilesystem(const std::filesystem::path& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case F2FS_SUPER_MAGIC:
    // Changes made through the overlay mount are reported on it; only a
    // write to the upper layer's own directory behind its back would not be.
    case OVERLAYFS_SUPER_MAGIC: return true;
    default: return false;  // NFS, CIFS, FUSE, 9p, virtiofs...: others' changes go unseen
  }
}

namespace {

std::atomic<uint64_t> next_watch_id{1};

// Each thread polls through an epoll set and a /proc/self/mountinfo
// descriptor of its own: a mount change is reported once per descriptor
// (polling it consumes the report), so with a shared one a thread could
// miss a change another thread had just been told of. The inotify queue is
// shared; only reading it consumes, and that is what `draining_` counts.
struct ThreadFds {
  uint64_t watch_id = 0;
  int epoll_fd = -1;
  int mounts_fd = -1;

  void Close() {
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (mounts_fd >= 0) ::close(mounts_fd);
    epoll_fd = mounts_fd = -1;
    watch_id = 0;
  }
  bool Open(uint64_t id, int inotify_fd) {
    Close();
    mounts_fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event in{.events = EPOLLIN, .data = {.fd = inotify_fd}};
    // mountinfo always polls readable; EPOLLPRI (with EPOLLERR) is reported
    // once per change of the mount table.
    epoll_event mounts{.events = EPOLLPRI, .data = {.fd = mounts_fd}};
    if (mounts_fd < 0 || epoll_fd < 0 ||
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, inotify_fd, &in) != 0 ||
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, mounts_fd, &mounts) != 0) {
      Close();
      return false;
    }
    watch_id = id;
    return true;
  }
  ~ThreadFds() { Close(); }
};
thread_local ThreadFds thread_fds;

}  // namespace

absl::StatusOr<std::unique_ptr<PathWatch>> PathWatch::Create() {
  int mounts_fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (mounts_fd < 0) {
    return absl::InternalError(StrCat("open /proc/self/mountinfo: ", std::strerror(errno)));
  }
  ::close(mounts_fd);
  int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) return absl::InternalError(StrCat("inotify_init1: ", std::strerror(errno)));
  return std::unique_ptr<PathWatch>(new PathWatch(inotify_fd));
}

PathWatch::PathWatch(int inotify_fd) : id_(next_watch_id.fetch_add(1)), inotify_fd_(inotify_fd) {}

PathWatch::~PathWatch() { ::close(inotify_fd_); }

bool PathWatch::Watch(const std::filesystem::path& path) {
  {
    std::shared_lock lock(mu_);
    if (refused_.count(path.native())) return false;
  }
  if (WatchAllTheWay(path)) return true;
  std::unique_lock lock(mu_);
  refused_.insert(path.native());
  return false;
}

bool PathWatch::WatchAllTheWay(const std::filesystem::path& path) {
  if (!path.is_absolute() || path != path.lexically_normal()) return false;
  std::vector<std::string> names;
  for (const auto& part : path.relative_path()) {
    std::string name = part.string();
    if (name.empty() || name == "." || name == "..") return false;
    names.push_back(std::move(name));
  }
  if (names.empty()) return false;
  // The entry itself: a symlink's target could change unseen, and a file
  // mounted over the entry (a bind-mounted .env) is changed through a
  // directory that is not this one.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return false;
    std::optional<uint64_t> mount = MountId(path), parent_mount = MountId(path.parent_path());
    if (!mount || !parent_mount || *mount != *parent_mount) return false;
  } else if (errno != ENOENT && errno != ENOTDIR) {
    return false;
  }

  std::unique_lock lock(mu_);
  std::filesystem::path dir = "/";
  for (const std::string& name : names) {
    // IN_DONT_FOLLOW with IN_ONLYDIR refuses a symlink on the way.
    int wd =
        ::inotify_add_watch(inotify_fd_, dir.c_str(), kEntryEvents | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) {
      // A missing directory is seen through its parent, which is watched
      // for its name: creating it is an event there.
      return errno == ENOENT && dir != "/";
    }
    Dir& d = dirs_[wd];
    d.path = dir;
    d.names.insert(name);
    if (!OnLocalFilesystem(dir)) return false;
    dir /= name;
  }
  return true;
}

bool PathWatch::DrainInotify() {
  alignas(inotify_event) char buf[8192];
  bool relevant = false;
  std::shared_lock lock(mu_);
  for (;;) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Anything else: cannot tell, so count a change.
      return relevant || errno != EAGAIN;
    }
    if (n == 0) return true;
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (relevant) continue;
      if (ev->mask & kAboutTheDirectory) {
        relevant = true;
        continue;
      }
      auto d = dirs_.find(ev->wd);
      if (d != dirs_.end() && ev->len > 0 && d->second.names.count(ev->name)) relevant = true;
    }
  }
}

std::optional<uint64_t> PathWatch::Epoch() {
  ThreadFds& fds = thread_fds;
  // A thread's first call cannot know of mount changes before its
  // mountinfo descriptor opened: it counts one.
  bool changed = false;
  if (fds.watch_id != id_) {
    if (!fds.Open(id_, inotify_fd_)) return std::nullopt;
    changed = true;
  }
  epoll_event ready[2];
  int n;
  do {
    n = ::epoll_wait(fds.epoll_fd, ready, 2, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  bool queued = false;
  for (int i = 0; i < n; ++i) {
    if (ready[i].data.fd == inotify_fd_) {
      queued = true;
    } else {
      changed = true;  // the mount table: a mount may now cover any path
    }
  }
  if (queued) {
    draining_.fetch_add(1);
    if (DrainInotify()) epoch_.fetch_add(1);
    draining_.fetch_sub(1);
  }
  if (changed) epoch_.fetch_add(1);
  // Another thread may be reading events queued before this call (which is
  // why this one found the queue empty). Each drain moves the epoch before
  // it ends, so if none is under way now, the epoch read after this check
  // counts them all.
  if (draining_.load() != 0) return std::nullopt;
  return epoch_.load();
}

}  // namespace ds::daemon
