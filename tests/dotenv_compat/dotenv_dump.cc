// dotenv_dump FILE: prints the values ds::common::ParseDotenv reads from FILE
// as one JSON object, keys sorted, formatted exactly like JavaScript's
// JSON.stringify so that compat.mjs can compare it byte for byte with what
// the npm dotenv package reads. Exits 1 with the parser's message on error.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include "common/atomic_file.h"
#include "common/dotenv.h"
#include "tests/json_string.h"

namespace {

using ds::testing::JsonString;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dotenv_dump FILE\n";
    return 2;
  }
  absl::StatusOr<std::string> text = ds::common::ReadFile(argv[1]);
  if (!text.ok()) {
    std::cerr << text.status().message() << "\n";
    return 1;
  }
  auto entries = ds::common::ParseDotenv(*text, argv[1]);
  if (!entries.ok()) {
    std::cerr << entries.status().message() << "\n";
    return 1;
  }
  std::map<std::string, std::string> effective;  // later duplicates win
  for (const ds::common::DotenvEntry& e : *entries) effective[e.key] = e.value;
  std::string out = "{";
  for (const auto& [key, value] : effective) {
    if (out.size() > 1) out += ",";
    out += JsonString(key) + ":" + JsonString(value);
  }
  std::cout << out << "}\n";
  return 0;
}
