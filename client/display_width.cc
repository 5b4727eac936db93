#include "client/display_width.h"

#include <algorithm>
#include <span>

namespace ds::client {
namespace {

struct CodePointRange {
  char32_t first, last;
};

#include "client/display_width_tables.inc"

bool InRanges(std::span<const CodePointRange> table, char32_t cp) {
  auto it = std::upper_bound(table.begin(), table.end(), cp,
                             [](char32_t c, const CodePointRange& r) { return c < r.first; });
  return it != table.begin() && cp <= std::prev(it)->last;
}

// Decodes the code point at s[i], advancing i past it. An invalid or cut
// sequence yields U+FFFD and advances one byte.
char32_t Next(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b : b & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid too.
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

// Skips an ANSI CSI sequence (ESC [ parameters final-letter) at s[i].
bool SkipEscape(std::string_view s, size_t& i) {
  if (s[i] != '\x1b' || i + 1 >= s.size() || s[i + 1] != '[') return false;
  size_t j = i + 2;
  while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7E)) ++j;
  i = std::min(j + 1, s.size());
  return true;
}

}  // namespace

int CodePointWidth(char32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
  if (cp < 0x300) return 1;  // ASCII and Latin-1: the common case, no lookup
  if (InRanges(kZeroWidth, cp)) return 0;
  return InRanges(kWide, cp) ? 2 : 1;
}

size_t DisplayWidth(std::string_view utf8) {
  size_t width = 0;
  for (size_t i = 0; i < utf8.size();) {
    if (SkipEscape(utf8, i)) continue;
    width += static_cast<size_t>(CodePointWidth(Next(utf8, i)));
  }
  return width;
}

std::string PadToWidth(std::string_view utf8, size_t width) {
  std::string out(utf8);
  size_t have = DisplayWidth(utf8);
  if (have < width) out.append(width - have, ' ');
  return out;
}

std::string TruncateToWidth(std::string_view utf8, size_t width) {
  if (DisplayWidth(utf8) <= width) return std::string(utf8);
  if (width == 0) return "";
  const size_t room = width - 1;  // one column for "…"
  size_t used = 0, end = 0;
  for (size_t i = 0; i < utf8.size();) {
    if (SkipEscape(utf8, i)) {
      end = i;
      continue;
    }
    int w = CodePointWidth(Next(utf8, i));
    if (used + static_cast<size_t>(w) > room) break;
    // A combining mark (width 0) always fits, so it stays with its base.
    used += static_cast<size_t>(w);
    end = i;
  }
  return std::string(utf8.substr(0, end)) + "…";
}

}  // namespace ds::client
