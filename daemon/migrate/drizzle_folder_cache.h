// Parsed Drizzle folders kept between migrate runs. Reading and hashing a
// 500-file folder costs ~10 ms, a third of a no-op `ds db migrate`; one
// stat per file costs a fraction of that. A cached folder is reused only
// when the folder, its meta/ directory and every file it was built from
// still have the same identity (device, inode, size, mtime, ctime): adding,
// removing or renaming a file changes its directory's mtime, and editing
// one changes the file's.
#ifndef DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_CACHE_H_
#define DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_CACHE_H_

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/migrate/drizzle_folder.h"
#include "daemon/sys/file_cache.h"

namespace ds::daemon {

class DrizzleFolderCache {
 public:
  // Folders with a file changed less than `racy_window` before a read are
  // not cached (see Get).
  explicit DrizzleFolderCache(std::chrono::seconds racy_window = std::chrono::seconds(2))
      : racy_window_(racy_window) {}

  // ReadDrizzleFolder(dir), or the cached result when nothing changed.
  // Errors are not cached: a broken folder is re-read on every run.
  absl::StatusOr<std::shared_ptr<const DrizzleFolder>> Get(const std::filesystem::path& dir);

 private:
  struct Entry {
    std::vector<std::pair<std::filesystem::path, FileIdentity>> watched;
    std::shared_ptr<const DrizzleFolder> folder;
  };
  static bool StillValid(const Entry& e);

  const std::chrono::seconds racy_window_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by folder path; a handful at most
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_CACHE_H_
