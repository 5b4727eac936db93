// Time as ds shows and records it: milliseconds since the Unix epoch for
// records and the wire (the proto's *_unix_ms fields), a monotonic clock for
// intervals, and strftime formatting in local time or UTC.
#ifndef DS_COMMON_CLOCK_H_
#define DS_COMMON_CLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ds::common {

// Wall-clock milliseconds since the Unix epoch.
int64_t UnixMillisNow();

// Milliseconds of a monotonic clock (for intervals and ages; not a date).
int64_t MonotonicMillisNow();

enum class TimeZone { kLocal, kUtc };

// `unix_ms` through strftime's `format` ("%Y-%m-%d %H:%M:%S").
std::string FormatUnixMillis(int64_t unix_ms, const char* format,
                             TimeZone zone = TimeZone::kLocal);

// "2026-12-04T21:45:55Z", with optional fraction and a "+hh:mm" offset, to
// ms since the epoch; nullopt when it is not that shape.
std::optional<int64_t> ParseRfc3339(std::string_view text);
// ms since the epoch as "2026-12-04T21:45:55Z".
std::string FormatRfc3339(int64_t unix_ms);
// "14d", "36h", "2w", "90m", "45s" to ms; an error says what is accepted.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);


}  // namespace ds::common

#endif  // DS_COMMON_CLOCK_H_
