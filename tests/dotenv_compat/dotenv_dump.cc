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

namespace {

// JSON.stringify's escaping: the two mandatory escapes, the short forms for
// control characters that have one, \u00xx for the rest below 0x20;
// everything else (valid UTF-8, as ParseDotenv returns) is copied.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

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
