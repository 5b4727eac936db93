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
constexpr uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
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

absl::StatusOr<std::unique_ptr<PathWatch>> PathWatch::Create() {
  auto fail = [](const char* what, std::initializer_list<int> fds) {
    int err = errno;
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
    return absl::InternalError(StrCat(what, ": ", std::strerror(err)));
  };
  int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) return fail("inotify_init1", {});
  int mounts_fd = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (mounts_fd < 0) return fail("open /proc/self/mountinfo", {inotify_fd});
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return fail("epoll_create1", {inotify_fd, mounts_fd});
  epoll_event in{.events = EPOLLIN, .data = {.fd = inotify_fd}};
  // mountinfo always polls readable; EPOLLPRI (with EPOLLERR) is reported
  // once per change of the mount table.
  epoll_event mounts{.events = EPOLLPRI, .data = {.fd = mounts_fd}};
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, inotify_fd, &in) != 0 ||
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, mounts_fd, &mounts) != 0) {
    return fail("epoll_ctl", {inotify_fd, mounts_fd, epoll_fd});
  }
  return std::unique_ptr<PathWatch>(new PathWatch(epoll_fd, inotify_fd, mounts_fd));
}

PathWatch::PathWatch(int epoll_fd, int inotify_fd, int mounts_fd)
    : epoll_fd_(epoll_fd), inotify_fd_(inotify_fd), mounts_fd_(mounts_fd) {}

PathWatch::~PathWatch() {
  ::close(epoll_fd_);
  ::close(inotify_fd_);
  ::close(mounts_fd_);
}

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
    int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask | IN_ONLYDIR | IN_DONT_FOLLOW);
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
  draining_.fetch_add(1);
  epoll_event ready[2];
  int n;
  do {
    n = ::epoll_wait(epoll_fd_, ready, 2, 0);
  } while (n < 0 && errno == EINTR);
  bool changed = n < 0;
  for (int i = 0; i < n; ++i) {
    // The mount table changed: a mount may now cover any watched path.
    changed |= ready[i].data.fd == inotify_fd_ ? DrainInotify() : true;
  }
  if (changed) epoch_.fetch_add(1);
  // Another drain that began before this one may have taken events this
  // one needed to see. Each drain moves the epoch before it leaves, so if
  // none is left now, reading the epoch after this check sees them all.
  bool alone = draining_.load() == 1;
  uint64_t epoch = epoch_.load();
  draining_.fetch_sub(1);
  if (!alone || n < 0) return std::nullopt;
  return epoch;
}

}  // namespace ds::daemon
