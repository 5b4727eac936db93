#include "client/usage.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// "ds db migrate" for the migrate subcommand.
std::string CommandPath(const CLI::App* app) {
  std::vector<std::string> words;
  for (; app && app->get_parent(); app = app->get_parent()) words.push_back(app->get_name());
  std::string out = "ds";
  for (auto it = words.rbegin(); it != words.rend(); ++it) StrAppend(&out, " ", *it);
  return out;
}

// The subcommand the parse got deepest into.
const CLI::App* DeepestParsed(const CLI::App& root) {
  const CLI::App* cur = &root;
  for (std::vector<CLI::App*> subs = cur->get_subcommands(); !subs.empty();
       subs = cur->get_subcommands()) {
    cur = subs.front();
  }
  return cur;
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// Every option `app` accepts: its own and, as ds parses with fallthrough,
// its parents' (-C, --set, ...).
std::vector<std::string> OptionNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app; app = app->get_parent()) {
    for (const CLI::Option* o : app->get_options()) {
      for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
      for (const std::string& s : o->get_snames()) names.push_back("-" + s);
    }
  }
  return names;
}

std::string DidYouMean(std::string_view word, std::span<const std::string> candidates,
                       std::string_view prefix = "") {
  std::string best = ClosestMatch(word, candidates);
  return best.empty() ? ""
                      : StrCat("; did you mean ", prefix.empty() ? "" : "`", prefix, best,
                               prefix.empty() ? "" : "`", "?");
}

std::string UnknownWord(const CLI::App* at, std::string word) {
  const std::string path = CommandPath(at);
  if (word.size() > 1 && word[0] == '-') {
    if (size_t eq = word.find('='); eq != std::string::npos) word.resize(eq);
    std::string hint = DidYouMean(word, OptionNames(at));
    return StrCat("unknown option ", word, " for `", path, "`",
                  hint.empty() ? StrCat("; `", path, " --help` lists its options") : hint);
  }
  std::vector<std::string> subs = SubcommandNames(*at);
  if (subs.empty()) {
    return StrCat("`", path, "` takes no argument '", word, "'; `", path,
                  " --help` shows what it takes");
  }
  std::string hint = DidYouMean(word, subs, StrCat(path, " "));
  return StrCat("`", path, " ", word, "` is not a command",
                hint.empty() ? StrCat("; the commands are ", absl::StrJoin(subs, ", "), " (`", path,
                                      " --help`)")
                             : hint);
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment over three rows: small inputs, no allocation
  // beyond the rows.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string ClosestMatch(std::string_view word, std::span<const std::string> candidates) {
  // "--" and "-" are how options are written, not part of what was meant.
  auto bare = [](std::string_view s) {
    while (!s.empty() && s.front() == '-') s.remove_prefix(1);
    return s;
  };
  const std::string_view w = bare(word);
  if (w.empty()) return "";
  const std::string* prefix_of = nullptr;
  int prefixes = 0;
  for (const std::string& c : candidates) {
    if (bare(c).starts_with(w) && bare(c) != w) {
      // Options have a short and a long name; count one per spelling.
      if (!prefix_of || bare(*prefix_of) != bare(c)) ++prefixes;
      if (!prefix_of || c.size() > prefix_of->size()) prefix_of = &c;
    }
  }
  if (prefixes == 1) return *prefix_of;
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& c : candidates) {
    if (bare(c).size() < 2 && w.size() > 2) continue;  // "-C" is nobody's typo for "--bogus"
    size_t d = EditDistance(w, bare(c));
    if (!best || d < best_distance || (d == best_distance && c.size() > best->size())) {
      best = &c;
      best_distance = d;
    }
  }
  // A third of the word may be wrong (one letter of a short one), and never
  // all of it: "d" is nobody's typo for "db".
  if (!best || best_distance > std::max<size_t>(1, w.size() / 3) || best_distance >= w.size()) {
    return "";
  }
  return *best;
}

CLI::Validator WholeNumberAtLeast(int min) {
  return CLI::Validator(
      [min](std::string& value) -> std::string {
        const std::string range = StrCat("a whole number, ", min, " or more");
        errno = 0;
        char* end = nullptr;
        long long n = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0') return StrCat("takes ", range, ", not '", value, "'");
        if (errno == ERANGE || n > INT_MAX) {
          return StrCat(value, " is too large; give a whole number from ", min, " to ", INT_MAX);
        }
        if (n < min) return StrCat("must be ", min, " or more, not ", value);
        return "";
      },
      StrCat("INT >= ", min), "WholeNumberAtLeast");
}

CLI::Validator NonNegativeSeconds() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        char* end = nullptr;
        double d = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(d)) {
          return StrCat("takes a number of seconds, 0 or more (e.g. 30 or 2.5), not '", value, "'");
        }
        if (d < 0) return StrCat("must be 0 seconds or more, not ", value);
        return "";
      },
      "SECONDS >= 0", "NonNegativeSeconds");
}

std::string DescribeParseError(const CLI::App& root, const CLI::Error& error) {
  const CLI::App* at = DeepestParsed(root);
  const std::string help = StrCat("`", CommandPath(at), " --help`");
  // A bad value names its option and says the range; CLI11 stops at it, so
  // leftovers after it were never looked at.
  if (dynamic_cast<const CLI::ValidationError*>(&error) ||
      dynamic_cast<const CLI::ConversionError*>(&error)) {
    return StrCat(error.what(), "; see ", help);
  }
  std::vector<std::string> leftovers = root.remaining(true);
  if (!leftovers.empty()) return UnknownWord(at, leftovers.front());
  if (dynamic_cast<const CLI::RequiredError*>(&error) && at->get_require_subcommand_min() > 0 &&
      at->get_subcommands().empty()) {
    return StrCat("`", CommandPath(at),
                  "` needs a command: ", absl::StrJoin(SubcommandNames(*at), ", "), "; ", help,
                  " explains them");
  }
  return StrCat(error.what(), "; see ", help);
}

}  // namespace ds::client
