// Whole-file reads and crash-safe replacement of small files.
#ifndef DS_COMMON_ATOMIC_FILE_H_
#define DS_COMMON_ATOMIC_FILE_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ds::common {

// Reads a whole file. NotFound when it does not exist, PermissionDenied when
// it cannot be read; messages name the path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Replaces `path` with `contents` so that readers see either the old or the
// new file, never a mix: a temp file in the same directory, fsync, rename,
// fsync of the directory. `mode` applies to a new file; an existing file's
// mode is kept, less `clear_bits` (a file about to hold a secret loses its
// group and other bits before the secret is in it).
//
// Durability::kProcessCrash skips both fsyncs: readers still never see a
// mix, and the new file survives the writer dying, but not a power loss.
// For records rewritten often whose last version is always written durably
// (a job's progress).
enum class Durability { kPowerLoss, kProcessCrash };
absl::Status ReplaceFileAtomically(const std::filesystem::path& path, std::string_view contents,
                                   mode_t mode_if_new = 0600,
                                   Durability durability = Durability::kPowerLoss,
                                   mode_t clear_bits = 0);

}  // namespace ds::common

#endif  // DS_COMMON_ATOMIC_FILE_H_
