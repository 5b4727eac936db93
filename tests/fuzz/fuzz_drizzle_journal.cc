// The drizzle journal (meta/_journal.json) from bytes, and what ds derives
// from each entry (the folder name `drizzle-kit up` would give it). Also the
// statement splitter over the same bytes: its pieces joined with the
// breakpoint must give the text back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/migrate/drizzle_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entries = ds::daemon::ParseDrizzleJournal(bytes, "meta/_journal.json");
  if (entries.ok()) {
    for (const ds::daemon::DrizzleJournalEntry& e : *entries) {
      std::string name = ds::daemon::DerivedFolderName(e.when, e.tag);
      // YYYYMMDDHHMMSS_ then the tag's rest; never empty before the '_'.
      if (name.find('_') == 0) abort();
    }
  } else if (entries.status().message().find("meta/_journal.json") == std::string::npos) {
    abort();  // every error names the journal
  }

  std::string joined;
  bool first = true;
  for (const std::string& piece : ds::daemon::SplitStatements(bytes)) {
    if (!first) joined += "--> statement-breakpoint";
    joined += piece;
    first = false;
  }
  if (joined != bytes) abort();
  return 0;
}
