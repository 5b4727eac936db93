#include "daemon/sys/file_cache.h"
#include "common/strings.h"

#include <cerrno>
#include <cstring>


namespace ds::daemon {

bool FileIdentity::operator==(const FileIdentity& o) const {
  auto same = [](const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  };
  if (exists != o.exists) return false;
  if (!exists) return true;
  return dev == o.dev && ino == o.ino && size == o.size && same(mtime, o.mtime) &&
         same(ctime, o.ctime);
}

absl::StatusOr<FileIdentity> IdentifyFile(const std::filesystem::path& path) {
  absl::StatusOr<FileIdentity> id = IdentifyPath(path);
  if (id.ok() && id->is_dir) {
    return absl::FailedPreconditionError(
        StrCat(path.string(), " is a directory, not a file"));
  }
  return id;
}

absl::StatusOr<FileIdentity> IdentifyPath(const std::filesystem::path& path) {
  struct stat st;
  FileIdentity id;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return id;
    return absl::PermissionDeniedError(
        StrCat("cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  id.is_dir = S_ISDIR(st.st_mode);
  id.exists = true;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  id.ctime = st.st_ctim;
  return id;
}

}  // namespace ds::daemon
