// String helpers that take std::string_view.
//
// Debian 12 builds abseil with its own absl::string_view class (not an alias
// of std::string_view), so absl::StrCat and friends do not accept
// std::string_view arguments. These small helpers fill that gap; absl is
// still used for Status/StatusOr and StrFormat.
#ifndef DS_COMMON_STRINGS_H_
#define DS_COMMON_STRINGS_H_

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/string_view.h"

namespace ds {

namespace strings_internal {

inline void AppendPiece(std::string& out, std::string_view s) { out.append(s); }
inline void AppendPiece(std::string& out, const char* s) { out.append(s ? s : ""); }
inline void AppendPiece(std::string& out, const std::string& s) { out.append(s); }
inline void AppendPiece(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void AppendPiece(std::string& out, char c) { out.push_back(c); }
inline void AppendPiece(std::string& out, bool b) { out.append(b ? "true" : "false"); }
template <typename T>
  requires(std::is_arithmetic_v<T> && !std::same_as<T, char> && !std::same_as<T, bool>)
void AppendPiece(std::string& out, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    out.append(std::to_string(v));
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

}  // namespace strings_internal

// Concatenates strings (any string type) and numbers.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::AppendPiece(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (void)out;  // unused when called with nothing to append
  (strings_internal::AppendPiece(*out, args), ...);
}

inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

// Splits on `sep`, dropping empty pieces.
std::vector<std::string_view> SplitSkipEmpty(std::string_view s, char sep);
// Splits on `sep`, keeping empty pieces.
std::vector<std::string_view> Split(std::string_view s, char sep);

std::string_view TrimAsciiWhitespace(std::string_view s);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool ConsumePrefix(std::string_view* s, std::string_view prefix);
bool ConsumeSuffix(std::string_view* s, std::string_view suffix);
std::string AsciiToLower(std::string_view s);

// `s` as a JSON string literal, quotes included (for the few hand-written
// JSON bodies and files; UTF-8 passes through).
std::string JsonQuote(std::string_view s);
std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to);
std::string Join(const std::vector<std::string_view>& parts, std::string_view sep);

// Percent-encodes every byte but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~) and any in `also_allowed`: URI paths, query values,
// the parts of a connection URI.
std::string PercentEncode(std::string_view s, std::string_view also_allowed = "");
// Decodes %XX escapes; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view s);

// Where a server is, as people write it: "db.example.com:5433",
// "[::1]:5433" (an IPv6 literal in brackets, so the port stays apart),
// "h1:5433,h2:5434" for libpq's host and port lists (one port may serve every
// host). A port equal to `default_port` is left out; a socket directory
// ("/run/postgresql") is shown as it is.
std::string HostPort(std::string_view hosts, std::string_view ports,
                     std::string_view default_port = "5432");

// Lowercase letters, digits and single dashes, no dash at either end:
// "Jane O'Neil" -> "jane-o-neil". What a name becomes inside a branch name.
std::string Slug(std::string_view s);

}  // namespace ds

#endif  // DS_COMMON_STRINGS_H_
