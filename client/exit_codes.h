// ds's documented exit codes (README.md, "Exit codes").
#ifndef DS_CLIENT_EXIT_CODES_H_
#define DS_CLIENT_EXIT_CODES_H_

namespace ds::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the operation failed
inline constexpr int kExitUsage = 2;        // bad flags or arguments
inline constexpr int kExitUnreachable = 3;  // dsd could not be reached or started
inline constexpr int kExitCancelled = 130;  // a job was cancelled (Ctrl-C), as shells report SIGINT

}  // namespace ds::client

#endif  // DS_CLIENT_EXIT_CODES_H_
