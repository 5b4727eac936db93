// JSON string literals for the small test tools that print what ds parsed,
// so a Node script can compare it with a peer's output.
#ifndef DS_TESTS_JSON_STRING_H_
#define DS_TESTS_JSON_STRING_H_

#include <cstdio>
#include <string>
#include <string_view>

namespace ds::testing {

// JSON.stringify's escaping: the two mandatory escapes, the short forms for
// control characters that have one, \u00xx for the rest below 0x20;
// everything else (valid UTF-8) is copied.
inline std::string JsonString(std::string_view s) {
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

}  // namespace ds::testing

#endif  // DS_TESTS_JSON_STRING_H_
