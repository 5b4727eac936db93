// A small leveled logger for dsd (abseil 20220623 has no absl::log).
//
// Every line goes through ScrubSecrets before it is written, so a password in
// a connection string or an API key that reaches a log call by mistake is
// still masked. Callers should redact anyway; this is the safety net.
#ifndef DS_COMMON_LOG_H_
#define DS_COMMON_LOG_H_

#include <filesystem>
#include <optional>
#include <string_view>

#include "common/strings.h"


namespace ds::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning"/"warn", "error".
std::optional<LogLevel> ParseLogLevel(std::string_view name);

struct LogOptions {
  LogLevel min_level = LogLevel::kInfo;
  std::optional<std::filesystem::path> file;  // appended to, created 0600
  bool to_stderr = false;
  // Prefix stderr lines with <N> so journald assigns the right priority.
  bool syslog_prefix = false;
};

// Configures the process-wide logger. Safe to call again (reopens the file).
void InitLogging(const LogOptions& options);

bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

template <typename... Args>
void LogDebug(const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, StrCat(args...));
}
template <typename... Args>
void LogInfo(const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) Log(LogLevel::kInfo, StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  if (LogEnabled(LogLevel::kWarning)) Log(LogLevel::kWarning, StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, StrCat(args...));
}

}  // namespace ds::common

#endif  // DS_COMMON_LOG_H_
