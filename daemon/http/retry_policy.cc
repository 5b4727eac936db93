#include "daemon/http/retry_policy.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/strings.h"

namespace ds::daemon::http {
namespace {

using std::chrono::milliseconds;

std::optional<int> Number(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<unsigned> Month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::string lower = AsciiToLower(s);
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (lower == kMonths[i]) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

bool Alphabetic(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c));
  });
}

}  // namespace

milliseconds RetryPolicy::Backoff(int attempt) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const milliseconds ceiling =
      std::min(backoff_cap, backoff_base * (int64_t{1} << std::clamp(attempt - 1, 0, 20)));
  const int64_t half = ceiling.count() / 2;
  std::uniform_int_distribution<int64_t> rest(0, std::max<int64_t>(ceiling.count() - half, 0));
  return milliseconds(half + rest(rng));
}

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view value) {
  // IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
  // RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
  // asctime      "Sun Nov  6 08:49:37 1994"
  std::string spaced(TrimAsciiWhitespace(value));
  std::replace(spaced.begin(), spaced.end(), ',', ' ');
  std::replace(spaced.begin(), spaced.end(), '-', ' ');
  std::vector<std::string_view> t = SplitSkipEmpty(spaced, ' ');
  std::string_view day_text, month_text, year_text, clock_text;
  if (t.size() == 6 && Alphabetic(t[0]) && t[5] == "GMT") {
    day_text = t[1];
    month_text = t[2];
    year_text = t[3];
    clock_text = t[4];
  } else if (t.size() == 5 && Alphabetic(t[0])) {
    month_text = t[1];
    day_text = t[2];
    clock_text = t[3];
    year_text = t[4];
  } else {
    return std::nullopt;
  }
  const std::optional<int> day = Number(day_text);
  const std::optional<unsigned> month = Month(month_text);
  std::optional<int> year = Number(year_text);
  if (!day || !month || !year || *day < 1) return std::nullopt;
  int full_year = *year;
  if (year_text.size() == 2) {
    full_year += full_year < 70 ? 2000 : 1900;  // RFC 850's two digits
  } else if (year_text.size() != 4) {
    return std::nullopt;
  }
  std::vector<std::string_view> hms = Split(clock_text, ':');
  if (hms.size() != 3) return std::nullopt;
  const std::optional<int> h = Number(hms[0]), m = Number(hms[1]), s = Number(hms[2]);
  if (!h || !m || !s || *h < 0 || *h > 23 || *m < 0 || *m > 59 || *s < 0 || *s > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(full_year), std::chrono::month(*month),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*h) + std::chrono::minutes(*m) +
         std::chrono::seconds(*s);
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value,
                                            std::chrono::system_clock::time_point now) {
  value = TrimAsciiWhitespace(value);
  if (!value.empty() && (std::isdigit(static_cast<unsigned char>(value[0])) || value[0] == '.')) {
    const std::string text(value);
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds < 0) {
      return std::nullopt;
    }
    // A day at most: a larger number is a server bug, and the caller's
    // total time bound gives up long before anyway.
    return milliseconds(static_cast<int64_t>(std::min(seconds, 86400.0) * 1000));
  }
  std::optional<std::chrono::system_clock::time_point> date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(*date - now);
}

}  // namespace ds::daemon::http
