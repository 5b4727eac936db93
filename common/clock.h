// Time as ds shows and records it: milliseconds since the Unix epoch for
// records and the wire (the proto's *_unix_ms fields), a monotonic clock for
// intervals, and strftime formatting in local time or UTC.
#ifndef DS_COMMON_CLOCK_H_
#define DS_COMMON_CLOCK_H_

#include <cstdint>
#include <string>

namespace ds::common {

// Wall-clock milliseconds since the Unix epoch.
int64_t UnixMillisNow();

// Milliseconds of a monotonic clock (for intervals and ages; not a date).
int64_t MonotonicMillisNow();

enum class TimeZone { kLocal, kUtc };

// `unix_ms` through strftime's `format` ("%Y-%m-%d %H:%M:%S").
std::string FormatUnixMillis(int64_t unix_ms, const char* format,
                             TimeZone zone = TimeZone::kLocal);

}  // namespace ds::common

#endif  // DS_COMMON_CLOCK_H_
