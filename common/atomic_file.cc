#include "common/atomic_file.h"
#include "common/strings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>


namespace ds::common {
namespace {

absl::Status ErrnoStatus(int err, std::string_view what,
                         const std::filesystem::path& path) {
  std::string msg = StrCat(what, " ", path.string(), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// Writes all of `data`, retrying short writes and EINTR.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot read", path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::Status ReplaceFileAtomically(const std::filesystem::path& link_or_file,
                                   std::string_view contents, mode_t mode_if_new,
                                   Durability durability, mode_t clear_bits) {
  // A symlinked .env (a common way to share one) must stay a symlink: the
  // file it points at is the one replaced.
  std::filesystem::path path = link_or_file;
  std::error_code ec;
  if (std::filesystem::is_symlink(link_or_file, ec)) {
    path = std::filesystem::weakly_canonical(link_or_file, ec);
    if (ec) return ErrnoStatus(ec.value(), "cannot resolve the symlink", link_or_file);
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";

  mode_t mode = mode_if_new;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    mode = st.st_mode & 07777 & ~clear_bits;
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, "cannot stat", path);
  }

  // mkstemp-style name next to the target so rename() stays on one file
  // system; a leftover from a crash is recognisable by its prefix.
  std::string tmpl = (dir / ("." + path.filename().string() + ".ds-tmp-XXXXXX")).string();
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot create a temp file in", dir);

  auto fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, what, path);
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set the mode of the temp file for");
  if (st.st_mode != 0 && ::geteuid() == 0) {
    // Keep ownership when root edits someone's file; best effort.
    (void)::fchown(fd, st.st_uid, st.st_gid);
  }
  if (!WriteAll(fd, contents)) return fail("cannot write the temp file for");
  const bool durable = durability == Durability::kPowerLoss;
  if (durable && ::fsync(fd) != 0) return fail("cannot fsync the temp file for");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, "cannot close the temp file for", path);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, "cannot replace", path);
  }
  if (!durable) return absl::OkStatus();
  // The rename is durable only once the directory entry is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace ds::common
