// Usage errors: what is wrong with a command line, said in one line that
// names the unknown word and the closest known one, with ranges written as
// people write them. ds_main reports every CLI11 parse error through
// DescribeParseError; options with numeric ranges use the validators here.
#ifndef DS_CLIENT_USAGE_H_
#define DS_CLIENT_USAGE_H_

#include <span>
#include <string>
#include <string_view>

namespace CLI {
class App;
class Error;
class Validator;
}  // namespace CLI

namespace ds::client {

// Edits (insert, delete, substitute, swap two neighbours) that turn a into b.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate `word` most likely misspells: the only one it is a prefix
// of, else the nearest by edit distance when that is at most a third of the
// word's length (at least 1, and less than the whole word). "" when none is
// that close.
std::string ClosestMatch(std::string_view word, std::span<const std::string> candidates);

// A whole number from `min` up to INT_MAX. Its error says the range in
// words ("1 or more") and what was given.
CLI::Validator WholeNumberAtLeast(int min);

// A finite number of seconds, 0 or more.
CLI::Validator NonNegativeSeconds();

// One line for a failed parse of `root`: the unknown option or command
// (with the closest known one), the missing command, or the bad value,
// and the `--help` to read. CLI11's own wording is kept only for errors
// none of these cover.
std::string DescribeParseError(const CLI::App& root, const CLI::Error& error);

}  // namespace ds::client

#endif  // DS_CLIENT_USAGE_H_
