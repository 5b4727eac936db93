// Running helper programs (initdb, pg_ctl) from dsd.
//
// posix_spawn, not fork: dsd has gRPC threads, and forking a multi-threaded
// process is unsafe; glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK).
#ifndef DS_DAEMON_SYS_SUBPROCESS_H_
#define DS_DAEMON_SYS_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr interleaved
};

// Runs argv[0] (a path) with `argv`, stdin on /dev/null, and waits for it.
// Fails only when the program cannot be started; a non-zero exit is a
// result, not an error.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv);

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_SUBPROCESS_H_
