// How many terminal columns text takes, so tables line up whatever the
// script: a byte count overstates "ünïcødé" (two bytes per accented letter)
// and understates "数据库" (two columns per character).
#ifndef DS_CLIENT_DISPLAY_WIDTH_H_
#define DS_CLIENT_DISPLAY_WIDTH_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ds::client {

// Columns one code point takes, as terminals draw it: 0 for combining marks
// and format characters (and NUL), 2 for East Asian wide and fullwidth
// characters (CJK, Hangul syllables, most emoji), 1 otherwise. Control
// characters count 0: ds never prints them in a cell.
int CodePointWidth(char32_t cp);

// Columns `utf8` takes. A byte that does not start a valid UTF-8 sequence
// counts as one column (terminals draw U+FFFD for it). ANSI escape
// sequences (ESC [ ... letter) take none, so coloured cells measure right.
size_t DisplayWidth(std::string_view utf8);

// `utf8` padded with spaces on the right to `width` columns (unchanged
// when it is already that wide).
std::string PadToWidth(std::string_view utf8, size_t width);

// `utf8` cut to at most `width` columns at a character boundary (never
// inside a UTF-8 sequence; combining marks stay with their base), ending
// in "…" when something was cut.
std::string TruncateToWidth(std::string_view utf8, size_t width);

}  // namespace ds::client

#endif  // DS_CLIENT_DISPLAY_WIDTH_H_
