#include "client/display_width.h"

#include <gtest/gtest.h>

namespace ds::client {
namespace {

TEST(DisplayWidth, AsciiIsOneColumnPerByte) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("dev-phil-local"), 14u);
}

TEST(DisplayWidth, PrecomposedLatinIsOneColumnPerLetter) {
  // 7 letters, 11 bytes: the bug was padding by bytes.
  EXPECT_EQ(std::string_view("ünïcødé").size(), 11u);
  EXPECT_EQ(DisplayWidth("ünïcødé"), 7u);
}

TEST(DisplayWidth, CombiningMarksTakeNoColumn) {
  EXPECT_EQ(DisplayWidth("e\u0301"), 1u);        // e + COMBINING ACUTE
  EXPECT_EQ(DisplayWidth("a\u0308\u0304"), 1u);  // two marks stacked
  EXPECT_EQ(DisplayWidth("\u05E9\u05C1"), 1u);   // Hebrew shin + dot
  EXPECT_EQ(DisplayWidth("a\u200Db"), 2u);       // ZERO WIDTH JOINER
  EXPECT_EQ(DisplayWidth("\u00AD"), 1u);         // SOFT HYPHEN is drawn
}

TEST(DisplayWidth, EastAsianWideTakesTwoColumns) {
  EXPECT_EQ(DisplayWidth("数据库"), 6u);
  EXPECT_EQ(DisplayWidth("한국어"), 6u);
  EXPECT_EQ(DisplayWidth("ｄｂ"), 4u);  // fullwidth Latin
  EXPECT_EQ(DisplayWidth("カ"), 2u);
  EXPECT_EQ(DisplayWidth("ｶ"), 1u);  // halfwidth katakana
  EXPECT_EQ(DisplayWidth("🚀"), 2u);
  EXPECT_EQ(DisplayWidth("\U00020000"), 2u);  // CJK extension B
}

TEST(DisplayWidth, HangulJamoSequenceIsOneSyllableWide) {
  EXPECT_EQ(DisplayWidth("\u1100\u1161"), 2u);  // initial (wide) + medial (joins)
}

TEST(DisplayWidth, InvalidUtf8CountsOneColumnPerBadByte) {
  EXPECT_EQ(DisplayWidth("a\xff"
                         "b"),
            3u);
  EXPECT_EQ(DisplayWidth("\xc3"), 1u);          // cut sequence
  EXPECT_EQ(DisplayWidth("\xc0\xaf"), 2u);      // overlong '/'
  EXPECT_EQ(DisplayWidth("\xed\xa0\x80"), 3u);  // a surrogate
}

TEST(DisplayWidth, AnsiEscapesTakeNoColumn) { EXPECT_EQ(DisplayWidth("\x1b[1mNAME\x1b[0m"), 4u); }

TEST(CodePointWidth, Boundaries) {
  EXPECT_EQ(CodePointWidth(U'\0'), 0);
  EXPECT_EQ(CodePointWidth(U'\t'), 0);
  EXPECT_EQ(CodePointWidth(U'A'), 1);
  EXPECT_EQ(CodePointWidth(0x2FF), 1);
  EXPECT_EQ(CodePointWidth(0x300), 0);
  EXPECT_EQ(CodePointWidth(0x36F), 0);
  EXPECT_EQ(CodePointWidth(0x370), 1);
  EXPECT_EQ(CodePointWidth(0x10FF), 1);
  EXPECT_EQ(CodePointWidth(0x1100), 2);
  EXPECT_EQ(CodePointWidth(0xFF01), 2);
  EXPECT_EQ(CodePointWidth(0xFF61), 1);
}

TEST(PadToWidth, PadsByColumns) {
  EXPECT_EQ(PadToWidth("ünï", 5), "ünï  ");
  EXPECT_EQ(PadToWidth("数", 4), "数  ");
  EXPECT_EQ(PadToWidth("toolong", 3), "toolong");
}

TEST(TruncateToWidth, CutsAtCharacterBoundaries) {
  EXPECT_EQ(TruncateToWidth("short", 10), "short");
  EXPECT_EQ(TruncateToWidth("abcdef", 4), "abc…");
  EXPECT_EQ(TruncateToWidth("ünïcødé", 4), "ünï…");
  // A wide character that does not fit is left out whole.
  EXPECT_EQ(TruncateToWidth("数据库", 4), "数…");
  EXPECT_EQ(DisplayWidth(TruncateToWidth("数据库", 4)), 3u);
  // A combining mark stays with its base.
  EXPECT_EQ(TruncateToWidth("ae\u0301bcd", 3), "ae\u0301…");
  EXPECT_EQ(TruncateToWidth("abc", 0), "");
}

}  // namespace
}  // namespace ds::client
