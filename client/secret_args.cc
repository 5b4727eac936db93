#include "client/secret_args.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/secrets.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// Reads one line from stdin with the terminal's echo off, so a pasted
// password does not stay on the screen either.
absl::StatusOr<std::string> ReadSecretLine(std::string_view flag) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    std::string prompt = StrCat("Connection string for ", flag, ": ");
    (void)!::write(STDERR_FILENO, prompt.data(), prompt.size());
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, &c, 1)) == 1 && c != '\n') line.push_back(c);
  int err = errno;
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    (void)!::write(STDERR_FILENO, "\n", 1);
  }
  if (n < 0) {
    return absl::InvalidArgumentError(StrCat(flag, " -: cannot read stdin: ", std::strerror(err)));
  }
  std::string_view trimmed = TrimAsciiWhitespace(line);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError(
        StrCat(flag,
               " - reads the connection string from stdin, which gave none; pipe it in, "
               "e.g. `pass show db | ds ... ",
               flag, " -`"));
  }
  return std::string(trimmed);
}

}  // namespace

bool IsConnectionEnvVar(std::string_view name) {
  return std::any_of(std::begin(kConnectionOptions), std::end(kConnectionOptions),
                     [&](const ConnectionOption& o) { return o.env_var == name; });
}

std::vector<std::string> CopyAndScrubArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
    std::string masked = common::ScrubSecrets(args.back());
    if (masked == args.back()) continue;
    // argv's strings sit back to back in one block the kernel reads for
    // `ps`: write in place, never past the argument's own bytes.
    const size_t room = args.back().size();
    const size_t n = std::min(masked.size(), room);
    std::memcpy(argv[i], masked.data(), n);
    std::memset(argv[i] + n, 0, room - n);
  }
  return args;
}

absl::StatusOr<std::string> ResolveConnectionOption(const ConnectionOption& option,
                                                    const std::string& value) {
  if (value == "-") return ReadSecretLine(option.flag);
  if (!value.empty()) return value;
  const char* env = std::getenv(std::string(option.env_var).c_str());
  return std::string(env ? env : "");
}

}  // namespace ds::client
