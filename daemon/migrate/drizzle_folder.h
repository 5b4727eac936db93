// Reading Drizzle migration folders exactly as drizzle-kit writes them, for
// `ds db migrate` (issue 4). Two layouts:
//
//   drizzle 0.x   <dir>/meta/_journal.json + <dir>/<tag>.sql, journal order
//   drizzle 1.0   <dir>/<YYYYMMDDHHMMSS>_<name>/migration.sql, no journal
//
// Hashes are SHA-256 of the raw file bytes (what drizzle stores), and
// statements are the file split on the literal "--> statement-breakpoint",
// as drizzle splits it (SQL syntax is not looked at).
#ifndef DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_H_
#define DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon {

// A file whose first non-blank line is this comment runs outside a
// transaction (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE).
inline constexpr std::string_view kNoTransactionDirective = "-- ds:no-transaction";

struct DrizzleMigration {
  std::string tag;     // journal tag, or the 1.0 folder name
  int64_t when = 0;    // journal `when`, or the folder's UTC timestamp in ms
  // The `name` drizzle 1.0 records: the folder name, or for a journal entry
  // the folder name `drizzle-kit up` would give it.
  std::string name;
  std::string hash;    // lowercase hex SHA-256 of the raw file
  std::vector<std::string> statements;  // split pieces, whitespace kept
  bool no_transaction = false;
  std::filesystem::path file;
};

struct DrizzleFolder {
  enum class Layout { kJournal, kFolders };
  Layout layout = Layout::kJournal;
  std::vector<DrizzleMigration> migrations;  // in the order drizzle applies them
  std::vector<std::string> warnings;         // e.g. .sql files not in the journal
};

// Reads `dir`. Errors name the file and say what to fix: a missing folder,
// both or neither layout, a journal that is not JSON or lacks fields, an
// entry without its .sql file, an empty migration.
absl::StatusOr<DrizzleFolder> ReadDrizzleFolder(const std::filesystem::path& dir);

// One entry of a drizzle 0.x meta/_journal.json, in journal order.
struct DrizzleJournalEntry {
  std::string tag;   // the .sql file's name without its extension
  int64_t when = 0;  // ms since the epoch
  std::optional<int64_t> idx;  // the entry's position as drizzle-kit wrote it
};

// Parses the bytes of a journal. `journal_name` (the file's path) is used
// only in error messages. Touches no file: ReadDrizzleFolder reads the .sql
// files the entries name.
absl::StatusOr<std::vector<DrizzleJournalEntry>> ParseDrizzleJournal(
    std::string_view json, std::string_view journal_name);

// Splits migration text the way drizzle does.
std::vector<std::string> SplitStatements(std::string_view sql);

// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view bytes);

// The folder name `drizzle-kit up` derives for a journal entry: the UTC
// time of `when` as YYYYMMDDHHMMSS, "_", and the tag without its prefix up
// to the first "_" ("0003_bright_storm" -> "..._bright_storm").
std::string DerivedFolderName(int64_t when, std::string_view tag);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_DRIZZLE_FOLDER_H_
