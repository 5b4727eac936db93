#include "daemon/migrate/drizzle_folder_cache.h"

#include <time.h>

#include <set>

namespace ds::daemon {
namespace {

timespec Now() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

}  // namespace

bool DrizzleFolderCache::StillValid(const Entry& e) {
  for (const auto& [path, identity] : e.watched) {
    absl::StatusOr<FileIdentity> now = IdentifyPath(path);
    if (!now.ok() || !(*now == identity)) return false;
  }
  return true;
}

absl::StatusOr<std::shared_ptr<const DrizzleFolder>> DrizzleFolderCache::Get(
    const std::filesystem::path& dir) {
  const std::string key = dir.lexically_normal().string();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && StillValid(it->second)) return it->second.folder;
  }

  // A file changed while (or just before) it was read could be cached with
  // old contents under its new identity. As git does with "racy" index
  // entries, a folder with anything changed within racy_window_ of the
  // read is used but not cached; the next run reads it again.
  const timespec started = Now();
  absl::StatusOr<DrizzleFolder> folder = ReadDrizzleFolder(dir);
  if (!folder.ok()) return folder.status();
  std::set<std::filesystem::path> paths = {dir, dir / "meta", dir / "meta" / "_journal.json"};
  for (const DrizzleMigration& m : folder->migrations) {
    paths.insert(m.file);
    paths.insert(m.file.parent_path());  // drizzle 1.0: one folder per migration
  }
  Entry entry;
  bool racy = false;
  for (const std::filesystem::path& p : paths) {
    absl::StatusOr<FileIdentity> id = IdentifyPath(p);
    if (!id.ok()) return id.status();
    if (id->exists && id->ctime.tv_sec + racy_window_.count() > started.tv_sec) racy = true;
    entry.watched.emplace_back(p, *id);
  }
  auto shared = std::make_shared<const DrizzleFolder>(std::move(*folder));
  if (racy) return shared;
  entry.folder = shared;
  std::lock_guard lock(mu_);
  entries_[key] = std::move(entry);
  return shared;
}

}  // namespace ds::daemon
