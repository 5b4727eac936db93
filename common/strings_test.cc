#include "common/strings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace ds {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// ---------------------------------------------------------------------------
// StrCat / StrAppend
// ---------------------------------------------------------------------------

TEST(StrCatTest, MixesStringTypes) {
  std::string s = "std";
  std::string_view sv = "view";
  absl::string_view av = "absl";
  const char* cs = "cstr";
  EXPECT_EQ(StrCat(s, "-", sv, "-", av, "-", cs), "std-view-absl-cstr");
}

TEST(StrCatTest, NoArgumentsIsEmpty) { EXPECT_EQ(StrCat(), ""); }

TEST(StrCatTest, NullCStringIsEmpty) {
  const char* null = nullptr;
  EXPECT_EQ(StrCat("a", null, "b"), "ab");
}

TEST(StrCatTest, StringViewIsNotReadPastItsEnd) {
  std::string_view sv("abcdef", 3);
  absl::string_view av("uvwxyz", 2);
  EXPECT_EQ(StrCat(sv, av), "abcuv");
}

TEST(StrCatTest, EmbeddedNul) {
  std::string s("a\0b", 3);
  EXPECT_EQ(StrCat(s, std::string_view("c\0d", 3)).size(), 6u);
}

TEST(StrCatTest, CharIsACharacterNotANumber) {
  EXPECT_EQ(StrCat('x', 'y'), "xy");
  EXPECT_EQ(StrCat("a", ':', "b"), "a:b");
}

TEST(StrCatTest, BoolIsAWord) {
  EXPECT_EQ(StrCat(true, "/", false), "true/false");
}

TEST(StrCatTest, Integers) {
  EXPECT_EQ(StrCat(0), "0");
  EXPECT_EQ(StrCat(-42), "-42");
  EXPECT_EQ(StrCat(static_cast<unsigned>(7)), "7");
  EXPECT_EQ(StrCat(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(StrCat(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(StrCat(static_cast<size_t>(12), "x", static_cast<short>(-3)), "12x-3");
  EXPECT_EQ(StrCat("pid ", 1234, "\n"), "pid 1234\n");
}

TEST(StrCatTest, FloatingPointHasTheValue) {
  std::string s = StrCat(1.5);
  EXPECT_EQ(s.substr(0, 3), "1.5");
}

TEST(StrAppendTest, AppendsToExisting) {
  std::string out = "x=";
  StrAppend(&out, 1, ",", std::string_view("y"), '!', true);
  EXPECT_EQ(out, "x=1,y!true");
}

TEST(ToStdTest, KeepsBytes) {
  absl::string_view av("hello world", 5);
  std::string_view sv = ToStd(av);
  EXPECT_EQ(sv, "hello");
  EXPECT_EQ(sv.data(), av.data());
}

// ---------------------------------------------------------------------------
// Split / SplitSkipEmpty
// ---------------------------------------------------------------------------

TEST(SplitTest, KeepsEmptyPieces) {
  EXPECT_THAT(Split("a,b,c", ','), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Split(",a,,b,", ','), ElementsAre("", "a", "", "b", ""));
  EXPECT_THAT(Split("", ','), ElementsAre(""));
  EXPECT_THAT(Split(",", ','), ElementsAre("", ""));
  EXPECT_THAT(Split("abc", ','), ElementsAre("abc"));
}

TEST(SplitTest, PiecesPointIntoInput) {
  std::string_view in = "ab:cd";
  std::vector<std::string_view> parts = Split(in, ':');
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].data(), in.data());
  EXPECT_EQ(parts[1].data(), in.data() + 3);
}

TEST(SplitSkipEmptyTest, DropsEmptyPieces) {
  EXPECT_THAT(SplitSkipEmpty("a b  c", ' '), ElementsAre("a", "b", "c"));
  EXPECT_THAT(SplitSkipEmpty("  a  ", ' '), ElementsAre("a"));
  EXPECT_THAT(SplitSkipEmpty("", ' '), IsEmpty());
  EXPECT_THAT(SplitSkipEmpty(",,,", ','), IsEmpty());
  EXPECT_THAT(SplitSkipEmpty("endpoint=ep-x -c a=b", ' '),
              ElementsAre("endpoint=ep-x", "-c", "a=b"));
}

// ---------------------------------------------------------------------------
// Trimming, prefixes, case
// ---------------------------------------------------------------------------

TEST(TrimAsciiWhitespaceTest, TrimsBothEnds) {
  EXPECT_EQ(TrimAsciiWhitespace("  a b  "), "a b");
  EXPECT_EQ(TrimAsciiWhitespace("\t\n\r\f\va\v\f\r\n\t"), "a");
  EXPECT_EQ(TrimAsciiWhitespace("abc"), "abc");
  EXPECT_EQ(TrimAsciiWhitespace(""), "");
  EXPECT_EQ(TrimAsciiWhitespace(" \t\n "), "");
  EXPECT_EQ(TrimAsciiWhitespace("1234\n"), "1234");
}

TEST(TrimAsciiWhitespaceTest, LeavesNonAsciiAlone) {
  // U+00A0 (no-break space) is not ASCII whitespace.
  EXPECT_EQ(TrimAsciiWhitespace("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");
}

TEST(StartsWithIgnoreCaseTest, Cases) {
  EXPECT_TRUE(StartsWithIgnoreCase("PASSWORD=x", "password"));
  EXPECT_TRUE(StartsWithIgnoreCase("Bearer abc", "bearer "));
  EXPECT_TRUE(StartsWithIgnoreCase("abc", ""));
  EXPECT_TRUE(StartsWithIgnoreCase("abc", "ABC"));
  EXPECT_FALSE(StartsWithIgnoreCase("ab", "abc"));
  EXPECT_FALSE(StartsWithIgnoreCase("xabc", "abc"));
  EXPECT_FALSE(StartsWithIgnoreCase("", "a"));
  // Only letters fold: '@' (0x40) is not '`' (0x60).
  EXPECT_FALSE(StartsWithIgnoreCase("@", "`"));
  EXPECT_FALSE(StartsWithIgnoreCase("[", "{"));
}

TEST(ConsumePrefixTest, ConsumesOnlyOnMatch) {
  std::string_view s = "endpoint=ep-x";
  EXPECT_TRUE(ConsumePrefix(&s, "endpoint="));
  EXPECT_EQ(s, "ep-x");
  EXPECT_FALSE(ConsumePrefix(&s, "endpoint="));
  EXPECT_EQ(s, "ep-x");
  EXPECT_FALSE(ConsumePrefix(&s, "EP-"));  // case-sensitive
  EXPECT_EQ(s, "ep-x");
  EXPECT_TRUE(ConsumePrefix(&s, ""));
  EXPECT_EQ(s, "ep-x");
  EXPECT_TRUE(ConsumePrefix(&s, "ep-x"));
  EXPECT_EQ(s, "");
}

TEST(ConsumeSuffixTest, ConsumesOnlyOnMatch) {
  std::string_view s = "ep-x-pooler";
  EXPECT_TRUE(ConsumeSuffix(&s, "-pooler"));
  EXPECT_EQ(s, "ep-x");
  EXPECT_FALSE(ConsumeSuffix(&s, "-pooler"));
  EXPECT_EQ(s, "ep-x");
  EXPECT_FALSE(ConsumeSuffix(&s, "too-long-suffix"));
  EXPECT_EQ(s, "ep-x");
}

TEST(AsciiToLowerTest, OnlyAsciiLettersChange) {
  EXPECT_EQ(AsciiToLower("Hello, WORLD 123_@[`{"), "hello, world 123_@[`{");
  EXPECT_EQ(AsciiToLower(""), "");
  EXPECT_EQ(AsciiToLower("\xc3\x84"), "\xc3\x84");  // UTF-8 'Ä' untouched
}

// ---------------------------------------------------------------------------
// ReplaceAll / Join
// ---------------------------------------------------------------------------

TEST(ReplaceAllTest, ReplacesEveryOccurrence) {
  EXPECT_EQ(ReplaceAll("a-b-c", "-", "+"), "a+b+c");
  EXPECT_EQ(ReplaceAll("{x}{x}", "{x}", "yy"), "yyyy");
  EXPECT_EQ(ReplaceAll("nothing", "zz", "q"), "nothing");
  EXPECT_EQ(ReplaceAll("", "a", "b"), "");
  EXPECT_EQ(ReplaceAll("abc", "abc", ""), "");
}

TEST(ReplaceAllTest, NonOverlappingLeftToRight) {
  EXPECT_EQ(ReplaceAll("aaa", "aa", "b"), "ba");
}

TEST(ReplaceAllTest, ReplacementIsNotRescanned) {
  EXPECT_EQ(ReplaceAll("ab", "a", "aa"), "aab");
  EXPECT_EQ(ReplaceAll("x", "x", "xx"), "xx");
}

TEST(ReplaceAllTest, EmptyFromChangesNothing) {
  EXPECT_EQ(ReplaceAll("abc", "", "X"), "abc");
}

TEST(JoinTest, Joins) {
  EXPECT_EQ(Join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(Join({"only"}, ", "), "only");
  EXPECT_EQ(Join({}, ", "), "");
  EXPECT_EQ(Join({"", ""}, "-"), "-");
  EXPECT_EQ(Join({"a", "b"}, ""), "ab");
}

TEST(JoinTest, InverseOfSplit) {
  std::string_view in = ",x,,yy,";
  EXPECT_EQ(Join(Split(in, ','), ","), in);
}

}  // namespace
}  // namespace ds

namespace ds {
namespace {

TEST(JsonQuoteTest, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  EXPECT_EQ(JsonQuote("é"), "\"é\"");
}

TEST(PercentEncodeTest, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(PercentEncode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(PercentEncode("p@ss/w:rd 100%"), "p%40ss%2Fw%3Ard%20100%25");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");  // UTF-8 bytes one by one
  EXPECT_EQ(PercentEncode("a/b,c", "/,"), "a/b,c");
}

TEST(PercentDecodeTest, RoundTripsAndLeavesBrokenEscapes) {
  EXPECT_EQ(PercentDecode(PercentEncode("p@ss/w:rd 100%\n")), "p@ss/w:rd 100%\n");
  EXPECT_EQ(PercentDecode("%41%6a"), "Aj");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%4"), "%4");
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
}

TEST(HostPortTest, BracketsIpv6LiteralsWithAPort) {
  EXPECT_EQ(HostPort("::1", "5433"), "[::1]:5433");
  EXPECT_EQ(HostPort("fe80::1%eth0", "6000"), "[fe80::1%eth0]:6000");
  EXPECT_EQ(HostPort("::1", "5432"), "::1");  // no port, nothing to keep apart
  EXPECT_EQ(HostPort("::1", ""), "::1");
  EXPECT_EQ(HostPort("127.0.0.1", "5433"), "127.0.0.1:5433");
  EXPECT_EQ(HostPort("db.example.com", "5432"), "db.example.com");
  EXPECT_EQ(HostPort("/run/postgresql", "5433"), "/run/postgresql:5433");
}

TEST(HostPortTest, ListsPairHostsWithTheirPorts) {
  EXPECT_EQ(HostPort("a,::1,b", "5433,5434,5432"), "a:5433,[::1]:5434,b");
  EXPECT_EQ(HostPort("a,::1", "5433"), "a:5433,[::1]:5433");  // one port for all
  EXPECT_EQ(HostPort("a,b", ""), "a,b");
}

TEST(SlugTest, LowercaseDashesNoEnds) {
  EXPECT_EQ(Slug("Jane O'Neil"), "jane-o-neil");
  EXPECT_EQ(Slug("  --Phil--  "), "phil");
  EXPECT_EQ(Slug("a__b..c"), "a-b-c");
  EXPECT_EQ(Slug("!!!"), "");
}

}  // namespace
}  // namespace ds
