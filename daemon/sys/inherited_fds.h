// File descriptors dsd inherits from whatever started it.
//
// A shell, an editor or a build tool that starts dsd (directly, or through
// `ds`) may hold descriptors without close-on-exec: a pipe it waits on, a
// file, a socket. dsd runs for hours and starts PostgreSQL, so such an fd
// would stay open for its whole life and pass on to the cluster. dsd keeps
// only 0-2 and the listening sockets systemd hands over.
#ifndef DS_DAEMON_SYS_INHERITED_FDS_H_
#define DS_DAEMON_SYS_INHERITED_FDS_H_

#include <sys/types.h>

namespace ds::daemon {

// The first descriptor dsd did not receive on purpose: 3, or 3 plus
// LISTEN_FDS when LISTEN_PID names this process (systemd's sockets start at
// 3). Unparsable or foreign values keep nothing beyond 0-2.
int FirstUnwantedFd(const char* listen_pid, const char* listen_fds, pid_t self);

// Closes every descriptor from FirstUnwantedFd(LISTEN_PID, LISTEN_FDS,
// getpid()) up. Call first thing in main, before any thread or fd exists.
void CloseInheritedFds();

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_INHERITED_FDS_H_
