// drizzle_dump DIR: prints what ds reads from a Drizzle migration folder as
// one JSON object, so compat.mjs can compare it with drizzle-orm's own
// readMigrationFiles. Exits 1 with ds's message on error.
#include <iostream>
#include <string>

#include "daemon/migrate/drizzle_folder.h"
#include "tests/json_string.h"

using ds::testing::JsonString;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: drizzle_dump DIR\n";
    return 2;
  }
  absl::StatusOr<ds::daemon::DrizzleFolder> folder = ds::daemon::ReadDrizzleFolder(argv[1]);
  if (!folder.ok()) {
    std::cerr << folder.status().message() << "\n";
    return 1;
  }
  std::string out = "{\"migrations\":[";
  for (size_t i = 0; i < folder->migrations.size(); ++i) {
    const ds::daemon::DrizzleMigration& m = folder->migrations[i];
    out += i ? ",{" : "{";
    out += "\"tag\":" + JsonString(m.tag) + ",\"when\":" + std::to_string(m.when) +
           ",\"name\":" + JsonString(m.name) + ",\"hash\":" + JsonString(m.hash) +
           ",\"no_transaction\":" + (m.no_transaction ? "true" : "false") + ",\"statements\":[";
    for (size_t j = 0; j < m.statements.size(); ++j) {
      out += (j ? "," : "") + JsonString(m.statements[j]);
    }
    out += "]}";
  }
  out += "],\"warnings\":[";
  for (size_t i = 0; i < folder->warnings.size(); ++i) {
    out += (i ? "," : "") + JsonString(folder->warnings[i]);
  }
  std::cout << out << "]}\n";
  return 0;
}
