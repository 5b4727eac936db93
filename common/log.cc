#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "common/secrets.h"
#include "common/strings.h"

namespace ds::common {
namespace {

struct Logger {
  std::mutex mu;
  LogOptions options;
  int fd = -1;
  std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
};

Logger& TheLogger() {
  static Logger* logger = new Logger;  // never destroyed: usable until exit
  return *logger;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO ";
    case LogLevel::kWarning: return "WARN ";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

// journald priorities: err=3, warning=4, info=6, debug=7.
int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return 7;
    case LogLevel::kInfo: return 6;
    case LogLevel::kWarning: return 4;
    case LogLevel::kError: return 3;
  }
  return 6;
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
      1000);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void WriteLine(int fd, std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(fd, line.data(), line.size());
    if (n <= 0) return;  // a log that cannot be written must not stop dsd
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  std::string n = AsciiToLower(name);
  if (n == "debug") return LogLevel::kDebug;
  if (n == "info") return LogLevel::kInfo;
  if (n == "warning" || n == "warn") return LogLevel::kWarning;
  if (n == "error") return LogLevel::kError;
  return std::nullopt;
}

void InitLogging(const LogOptions& options) {
  Logger& l = TheLogger();
  std::lock_guard lock(l.mu);
  if (l.fd >= 0) ::close(l.fd);
  l.fd = -1;
  l.options = options;
  if (options.file) {
    l.fd = ::open(options.file->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  }
  l.min_level = static_cast<int>(options.min_level);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= TheLogger().min_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  std::string scrubbed = ScrubSecrets(message);
  Logger& l = TheLogger();
  std::lock_guard lock(l.mu);
  if (l.fd >= 0) {
    WriteLine(l.fd, StrCat(Timestamp(), " ", LevelName(level), " ", scrubbed, "\n"));
  }
  if (l.options.to_stderr) {
    if (l.options.syslog_prefix) {
      WriteLine(2, StrCat("<", SyslogPriority(level), ">", scrubbed, "\n"));
    } else {
      WriteLine(2, StrCat(Timestamp(), " ", LevelName(level), " ", scrubbed, "\n"));
    }
  }
}

}  // namespace ds::common
