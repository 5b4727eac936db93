// ds's exit codes (README.md, "Exit codes") and the one mapping from a
// failure to its code: every command's error, local or from dsd, goes
// through ExitCodeFor (client/output.h prints and maps in one call).
#ifndef DS_CLIENT_EXIT_CODES_H_
#define DS_CLIENT_EXIT_CODES_H_

#include "absl/status/status.h"

namespace grpc {
class Status;
}

namespace ds::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the operation failed
inline constexpr int kExitUsage = 2;        // bad flags or arguments
inline constexpr int kExitUnreachable = 3;  // dsd could not be reached or started
inline constexpr int kExitCancelled = 130;  // a job was cancelled (Ctrl-C), as shells report SIGINT

// OK 0; InvalidArgument 2 (the command line is wrong: dsd sends it only for
// what the request itself got wrong, see common/usage_error.h); Unavailable
// and DeadlineExceeded 3 (dsd unreachable, gone or silent); Cancelled 130;
// anything else 1.
int ExitCodeFor(absl::StatusCode code);

// The status of an RPC as absl::Status: dsd's code and message kept (gRPC
// and absl share the canonical numbering); a broken connection or a missed
// deadline worded as such.
absl::Status FromRpc(const grpc::Status& status);

// What --help and ds(1) say about them.
struct ExitCodeDoc {
  int code;
  const char* meaning;
};
inline constexpr ExitCodeDoc kExitCodeDocs[] = {
    {kExitOk, "ok"},
    {kExitFailed, "the operation failed (the error says why)"},
    {kExitUsage, "usage error: bad flags or arguments"},
    {kExitUnreachable, "dsd could not be reached or started"},
    {kExitCancelled, "a job was cancelled with Ctrl-C"},
};

}  // namespace ds::client

#endif  // DS_CLIENT_EXIT_CODES_H_
