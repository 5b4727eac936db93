#include "daemon/migrate/drizzle_folder.h"

#include <openssl/sha.h>
#include <simdjson.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/strings.h"

namespace ds::daemon {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kBreakpoint = "--> statement-breakpoint";

bool IsBlank(std::string_view s) { return TrimAsciiWhitespace(s).empty(); }

bool HasNoTransactionDirective(std::string_view sql) {
  for (std::string_view line : Split(sql, '\n')) {
    line = TrimAsciiWhitespace(line);
    if (line.empty()) continue;
    return line == kNoTransactionDirective;
  }
  return false;
}

// Reads one migration file into `m` (hash, statements, directive).
absl::Status LoadFile(const fs::path& file, DrizzleMigration& m) {
  absl::StatusOr<std::string> text = common::ReadFile(file);
  if (!text.ok()) return text.status();
  if (IsBlank(*text)) {
    return absl::InvalidArgumentError(
        StrCat(file.string(), " is empty; write the migration or remove it from the journal"));
  }
  m.file = file;
  m.hash = Sha256Hex(*text);
  m.statements = SplitStatements(*text);
  m.no_transaction = HasNoTransactionDirective(*text);
  return absl::OkStatus();
}

// Milliseconds since the epoch of "YYYYMMDDHHMMSS" read as UTC, or -1.
int64_t FolderMillis(std::string_view name) {
  if (name.size() < 14) return -1;
  int v[6];
  const int widths[6] = {4, 2, 2, 2, 2, 2};
  size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    v[i] = 0;
    for (int j = 0; j < widths[i]; ++j, ++pos) {
      if (name[pos] < '0' || name[pos] > '9') return -1;
      v[i] = v[i] * 10 + (name[pos] - '0');
    }
  }
  std::tm tm{};
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  tm.tm_hour = v[3];
  tm.tm_min = v[4];
  tm.tm_sec = v[5];
  return static_cast<int64_t>(::timegm(&tm)) * 1000;
}

absl::StatusOr<DrizzleFolder> ReadJournal(const fs::path& dir) {
  const fs::path journal = dir / "meta" / "_journal.json";
  absl::StatusOr<std::string> text = common::ReadFile(journal);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<DrizzleJournalEntry>> entries =
      ParseDrizzleJournal(*text, journal.string());
  if (!entries.ok()) return entries.status();
  DrizzleFolder out;
  out.layout = DrizzleFolder::Layout::kJournal;
  std::set<std::string> listed;
  // Where each tag, idx and file was first seen: a journal that lists one
  // migration twice (a bad merge) would otherwise apply it twice.
  std::map<std::string, size_t> tag_at, file_at;
  std::map<int64_t, size_t> idx_at;
  size_t index = 0;
  auto duplicate = [&](std::string_view what, std::string_view value, size_t first) {
    return absl::InvalidArgumentError(StrCat(
        journal.string(), " lists ", what, " ", value, " twice: entries ", first, " and ", index,
        " (counting from 0); remove the duplicate entry (a merge gone wrong?) "
        "and run again; nothing was run"));
  };
  for (const DrizzleJournalEntry& entry : *entries) {
    const std::string& tag = entry.tag;
    const int64_t when = entry.when;
    if (auto [it, fresh] = tag_at.emplace(tag, index); !fresh) {
      return duplicate("tag", StrCat("\"", tag, "\""), it->second);
    }
    if (entry.idx) {
      if (auto [it, fresh] = idx_at.emplace(*entry.idx, index); !fresh) {
        return duplicate("idx", StrCat(*entry.idx), it->second);
      }
    }
    // Two tags may still name one file ("0001_a" and "./0001_a").
    const std::string normal = (dir / StrCat(tag, ".sql")).lexically_normal().string();
    if (auto [it, fresh] = file_at.emplace(normal, index); !fresh) {
      return duplicate("the file", normal, it->second);
    }
    DrizzleMigration m;
    m.tag = std::string(tag);
    m.when = when;
    m.name = DerivedFolderName(when, tag);
    const fs::path file = dir / StrCat(tag, ".sql");
    if (!fs::exists(file)) {
      return absl::NotFoundError(StrCat(journal.string(), " lists \"", tag, "\" but ",
                                        file.string(), " does not exist"));
    }
    if (absl::Status s = LoadFile(file, m); !s.ok()) return s;
    listed.insert(file.filename().string());
    out.migrations.push_back(std::move(m));
    ++index;
  }
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    if (f.path().extension() == ".sql" && !listed.count(f.path().filename().string())) {
      out.warnings.push_back(StrCat(f.path().string(), " is not in meta/_journal.json; drizzle "
                                    "and ds ignore it"));
    }
  }
  std::sort(out.warnings.begin(), out.warnings.end());
  return out;
}

absl::StatusOr<DrizzleFolder> ReadFolders(std::vector<fs::path> migration_dirs) {
  DrizzleFolder out;
  out.layout = DrizzleFolder::Layout::kFolders;
  // drizzle sorts with localeCompare; names start with a fixed-width UTC
  // timestamp, so this order agrees except between same-second names that
  // differ only in case or punctuation.
  std::sort(migration_dirs.begin(), migration_dirs.end(), [](const fs::path& a, const fs::path& b) {
    std::string la = AsciiToLower(a.filename().string());
    std::string lb = AsciiToLower(b.filename().string());
    return la != lb ? la < lb : a.filename() < b.filename();
  });
  for (const fs::path& d : migration_dirs) {
    DrizzleMigration m;
    m.tag = d.filename().string();
    m.name = m.tag;
    m.when = FolderMillis(m.tag);
    if (m.when < 0) {
      return absl::InvalidArgumentError(StrCat(
          d.string(), " does not start with a YYYYMMDDHHMMSS timestamp, as drizzle 1.0 "
          "folders do; rename it"));
    }
    if (absl::Status s = LoadFile(d / "migration.sql", m); !s.ok()) return s;
    out.migrations.push_back(std::move(m));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<DrizzleJournalEntry>> ParseDrizzleJournal(
    std::string_view json, std::string_view journal_name) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // simdjson::padded_string copies the bytes: a view into a file's text has
  // no padding after it.
  if (auto err = parser.parse(simdjson::padded_string(json)).get(doc); err) {
    return absl::InvalidArgumentError(StrCat(journal_name, " is not valid JSON (",
                                             simdjson::error_message(err),
                                             "); regenerate it with drizzle-kit"));
  }
  simdjson::dom::array entries;
  if (doc["entries"].get_array().get(entries)) {
    return absl::InvalidArgumentError(
        StrCat(journal_name, " has no \"entries\" array; is it a drizzle journal?"));
  }
  std::vector<DrizzleJournalEntry> out;
  for (simdjson::dom::element e : entries) {
    std::string_view tag;
    int64_t when = 0;
    if (e["tag"].get_string().get(tag) || e["when"].get_int64().get(when)) {
      return absl::InvalidArgumentError(
          StrCat(journal_name, ": entry ", out.size(), " lacks a string \"tag\" or a numeric "
                 "\"when\"; regenerate the journal with drizzle-kit"));
    }
    DrizzleJournalEntry entry{std::string(tag), when, std::nullopt};
    if (int64_t idx = 0; !e["idx"].get_int64().get(idx)) entry.idx = idx;
    out.push_back(std::move(entry));
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = sql.find(kBreakpoint, start);
    out.emplace_back(sql.substr(start, at == std::string_view::npos ? std::string_view::npos
                                                                     : at - start));
    if (at == std::string_view::npos) return out;
    start = at + kBreakpoint.size();
  }
}

std::string DerivedFolderName(int64_t when, std::string_view tag) {
  size_t underscore = tag.find('_');
  std::string_view rest = underscore == std::string_view::npos ? tag : tag.substr(underscore + 1);
  return StrCat(common::FormatUnixMillis(when, "%Y%m%d%H%M%S", common::TimeZone::kUtc), "_", rest);
}

absl::StatusOr<DrizzleFolder> ReadDrizzleFolder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(StrCat("migration folder ", dir.string(),
                                      " does not exist; pass --dir or set it in ds.toml"));
  }
  const bool has_journal = fs::exists(dir / "meta" / "_journal.json", ec);
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory() && fs::exists(e.path() / "migration.sql")) folders.push_back(e.path());
  }
  if (has_journal && !folders.empty()) {
    return absl::FailedPreconditionError(StrCat(
        dir.string(), " holds both a drizzle 0.x journal (meta/_journal.json) and drizzle 1.0 "
        "migration folders; finish the upgrade with `drizzle-kit up` or remove one layout"));
  }
  if (has_journal) return ReadJournal(dir);
  if (!folders.empty()) return ReadFolders(std::move(folders));
  return absl::NotFoundError(StrCat(dir.string(), " holds no drizzle migrations (no "
                                    "meta/_journal.json and no <timestamp>_<name>/migration.sql)"));
}

}  // namespace ds::daemon
