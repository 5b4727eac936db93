// Parsed files kept in memory and revalidated with one stat() per use, or
// with none when a PathWatch vouches that nothing changed.
//
// GetCurrent must answer in microseconds, so dsd does not re-read and
// re-parse .env and ds.toml on every call. A hit compares the file's
// identity (device, inode, size, mtime, ctime) with the cached one; with a
// PathWatch, an entry checked at the watch's current epoch needs no stat()
// at all (path_watch.h says why that is as safe as the stat()).
#ifndef DS_DAEMON_SYS_FILE_CACHE_H_
#define DS_DAEMON_SYS_FILE_CACHE_H_

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/atomic_file.h"
#include "daemon/sys/path_watch.h"

namespace ds::daemon {

struct FileIdentity {
  bool exists = false;
  bool is_dir = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  bool operator==(const FileIdentity& o) const;
};

// Stats `path`; a missing file is an identity too (exists = false). A
// directory is an error.
absl::StatusOr<FileIdentity> IdentifyFile(const std::filesystem::path& path);
// The same for a file or a directory (a directory's mtime changes when an
// entry is added, removed or renamed).
absl::StatusOr<FileIdentity> IdentifyPath(const std::filesystem::path& path);

// Caches Parse(text) per path. `T` is whatever the parser returns; a missing
// file is passed to the parser as std::nullopt so it can decide what absence
// means. Parse errors are cached as well, so a broken file is reported on
// every call without being re-read until it changes.
// A hit returns the very shared_ptr of the parse it came from, and every
// parse makes a new one: callers may memoize what they derive from a value
// by comparing pointers.
template <typename T>
class ParsedFileCache {
 public:
  using Parser = std::function<absl::StatusOr<T>(const std::filesystem::path&,
                                                 const std::optional<std::string>&)>;

  // `watch` (optional, not owned) lets Get skip the stat(); see Get.
  explicit ParsedFileCache(Parser parser, PathWatch* watch = nullptr)
      : parser_(std::move(parser)), watch_(watch) {}

  // `identity` (optional) receives the identity the value belongs to, so a
  // caller needs no second stat() to learn whether the file exists.
  // `epoch` is what the watch's Epoch() returned at the start of the
  // caller's request (nullopt: stat as usual): an entry last checked at that
  // epoch is returned without a stat().
  absl::StatusOr<std::shared_ptr<const T>> Get(const std::filesystem::path& path,
                                               FileIdentity* identity = nullptr,
                                               std::optional<uint64_t> epoch = std::nullopt) {
    if (!watch_) epoch.reset();
    if (epoch) {
      std::lock_guard lock(mu_);
      auto it = entries_.find(path.string());
      if (it != entries_.end() && it->second.checked_at == epoch) {
        if (identity) *identity = it->second.identity;
        return it->second.value;
      }
    }
    // The watch goes in before the epoch the stat() below will count for.
    if (epoch) epoch = watch_->Watch(path) ? watch_->Epoch() : std::nullopt;
    absl::StatusOr<FileIdentity> id = IdentifyFile(path);
    if (!id.ok()) return id.status();
    if (identity) *identity = *id;
    {
      std::lock_guard lock(mu_);
      auto it = entries_.find(path.string());
      if (it != entries_.end() && it->second.identity == *id) {
        if (epoch) it->second.checked_at = epoch;
        return it->second.value;
      }
    }
    std::optional<std::string> text;
    if (id->exists) {
      absl::StatusOr<std::string> read = common::ReadFile(path);
      if (!read.ok()) return read.status();
      text = std::move(*read);
    }
    absl::StatusOr<T> parsed = parser_(path, text);
    absl::StatusOr<std::shared_ptr<const T>> value =
        parsed.ok() ? absl::StatusOr<std::shared_ptr<const T>>(
                          std::make_shared<const T>(std::move(*parsed)))
                    : absl::StatusOr<std::shared_ptr<const T>>(parsed.status());
    std::lock_guard lock(mu_);
    entries_[path.string()] = Entry{*id, value, epoch};
    return value;
  }

 private:
  struct Entry {
    FileIdentity identity;
    absl::StatusOr<std::shared_ptr<const T>> value;
    // The watch's epoch when `identity` was last seen by a stat() (nullopt:
    // the watch cannot vouch for this path, or no epoch was known).
    std::optional<uint64_t> checked_at;
  };
  Parser parser_;
  PathWatch* const watch_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_FILE_CACHE_H_
