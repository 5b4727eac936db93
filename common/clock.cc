#include "common/clock.h"

#include <chrono>
#include <ctime>

#include "absl/status/statusor.h"
#include "common/strings.h"

namespace ds::common {
namespace {
constexpr int64_t kDayMillis = 24LL * 3600 * 1000;
}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MonotonicMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string FormatUnixMillis(int64_t unix_ms, const char* format, TimeZone zone) {
  // Floor division, so that times before 1970 land in the right second.
  int64_t seconds = unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0);
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (zone == TimeZone::kUtc) {
    ::gmtime_r(&t, &tm);
  } else {
    ::localtime_r(&t, &tm);
  }
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::optional<int64_t> ParseRfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
       minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t millis = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = 100;
    size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      millis += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || i + 3 >= t.size() || t[i + 3] != ':') return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (t[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
  // days_from_civil): arithmetic, so no timegm() and no time zone lookup in
  // a loop over thousands of branches.
  const int y = *year - (*month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int mp = (*month + 9) % 12;
  const int doy = (153 * mp + 2) / 5 + *day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  const int64_t seconds =
      days * 86400 + int64_t{*hour} * 3600 + int64_t{*minute} * 60 + *second - offset_s;
  return seconds * 1000 + millis;
}

std::string FormatRfc3339(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat("\"", text, "\" is not a duration; give a number and a unit: 14d, 36h, 2w, 90m"));
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9' || n > 1000000) return bad();
    n = n * 10 + (c - '0');
  }
  if (n == 0) return bad();
  switch (text.back()) {
    case 's':
      return n * 1000;
    case 'm':
      return n * 60 * 1000;
    case 'h':
      return n * 3600 * 1000;
    case 'd':
      return n * kDayMillis;
    case 'w':
      return n * 7 * kDayMillis;
    default:
      return bad();
  }
}

}  // namespace ds::common
