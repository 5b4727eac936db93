// Reading and editing .env files the way the npm `dotenv` package reads them.
//
// Parsing follows dotenv's rules (comments, `export`, single/double/back
// quotes, `#` inside quotes, inline comments, multi-line double-quoted values,
// CRLF, duplicates: last wins) so that ds and the user's Node backend agree
// on every value. Where dotenv silently produces a garbled value (a quote
// that is never closed) ds reports an error instead.
//
// Editing changes only the bytes of one key's value and writes atomically.
#ifndef DS_COMMON_DOTENV_H_
#define DS_COMMON_DOTENV_H_

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::common {

struct DotenvEntry {
  std::string key;
  std::string value;  // after quote stripping and escape expansion
  int line = 0;       // 1-based line where the key appears
};

// All assignments in file order, duplicates included. `file_name` is used
// only in error messages ("<file>:<line>: ...").
absl::StatusOr<std::vector<DotenvEntry>> ParseDotenv(std::string_view text,
                                                     std::string_view file_name);

// The effective entry for `key` (the last one), or nullptr.
const DotenvEntry* FindDotenvKey(const std::vector<DotenvEntry>& entries,
                                 std::string_view key);

// Returns `text` with `key` set to `value`: only the value of the last
// assignment of `key` changes (export prefix, spacing and inline comment
// stay); when absent, `KEY=value\n` is appended, after adding a final newline
// if the text lacks one. The value is quoted only as needed. Fails when the
// value cannot be written so that dotenv reads it back unchanged, or when
// `key` is not a valid dotenv key.
absl::StatusOr<std::string> SetDotenvValue(std::string_view text, std::string_view key,
                                           std::string_view value, std::string_view file_name);

// Whether ds may replace `file` (before it makes anything a write would
// follow, such as a branch). FailedPrecondition, naming the file and what
// to do, when the file is read-only (no write permission for this user, or
// for anyone: a read-only file is left alone even by root), when it is a
// symlink to a file that does not exist (replacing the link with a file
// would quietly unshare it), or when its directory is not writable. A
// missing file in a writable directory is fine.
absl::Status CheckDotenvWritable(const std::filesystem::path& file);

// Reads `file` (checked with CheckDotenvWritable first), sets one key with SetDotenvValue and
// replaces the file atomically (temp file in the same directory, fsync, rename, fsync of the
// directory). Keeps the file's mode; a new file is created 0600. Nothing is
// written if parsing or quoting fails.
absl::Status WriteDotenvValue(const std::filesystem::path& file,
                              std::string_view key, std::string_view value);

// WriteDotenvValue for a secret (a connection string with a password). A
// file that group or others may read is made owner-only in the same
// replace (0644 becomes 0600), so the secret is never readable by them.
// Returns the mode the file had when it was tightened, for the notice that
// says so; nullopt when it was private already (or new: created 0600).
absl::StatusOr<std::optional<mode_t>> WriteDotenvSecret(const std::filesystem::path& file,
                                                        std::string_view key,
                                                        std::string_view value);

}  // namespace ds::common

#endif  // DS_COMMON_DOTENV_H_
