#include "common/paths.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace ds::common {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::filesystem::path Home() {
  std::string home = Env("HOME");
  if (!home.empty()) return home;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

// XDG base directories must be absolute; a relative value is ignored, as the
// spec says.
std::filesystem::path XdgDir(const char* var, const char* fallback_under_home) {
  std::filesystem::path v = Env(var);
  if (!v.empty() && v.is_absolute()) return v;
  return Home() / fallback_under_home;
}

}  // namespace

Paths ResolvePaths(const std::string& state_dir_override) {
  Paths p;
  std::filesystem::path runtime = Env("XDG_RUNTIME_DIR");
  if (!runtime.empty() && runtime.is_absolute()) {
    p.runtime_dir = runtime / "ds";
  } else {
    p.runtime_dir = StrCat("/tmp/ds-", ::geteuid());
  }
  if (!state_dir_override.empty()) {
    p.state_dir = std::filesystem::absolute(state_dir_override);
  } else if (std::string s = Env("DS_STATE_DIR"); !s.empty()) {
    p.state_dir = std::filesystem::absolute(s);
  } else {
    p.state_dir = XdgDir("XDG_STATE_HOME", ".local/state") / "ds";
  }
  p.config_dir = XdgDir("XDG_CONFIG_HOME", ".config") / "ds";
  p.data_dir = XdgDir("XDG_DATA_HOME", ".local/share") / "ds";
  return p;
}

absl::Status CheckPrivateDir(const std::filesystem::path& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot use ", dir.string(), ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(StrCat(
        dir.string(), " is not a directory; remove it so ds can create its own"));
  }
  if (st.st_uid != ::geteuid()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is owned by uid %d, not by you (uid %d); ds keeps its socket and "
        "state only in directories you own: remove it or point "
        "XDG_RUNTIME_DIR/DS_STATE_DIR elsewhere",
        dir.string(), st.st_uid, ::geteuid()));
  }
  if (st.st_mode & 022) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is writable by group or others (mode %04o); run `chmod 700 %s`",
        dir.string(), st.st_mode & 07777, dir.string()));
  }
  return absl::OkStatus();
}

absl::Status EnsurePrivateDir(const std::filesystem::path& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          StrCat("cannot use ", dir.string(), ": ", std::strerror(errno)));
    }
    std::error_code ec;
    // Parents get the usual mode; only the leaf must be private.
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          StrCat("cannot create ", dir.string(), ": ", std::strerror(errno)));
    }
  }
  return CheckPrivateDir(dir);
}

}  // namespace ds::common
