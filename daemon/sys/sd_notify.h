// The systemd readiness protocol ($NOTIFY_SOCKET), written out rather than
// linking libsystemd: one datagram per state change.
#ifndef DS_DAEMON_SYS_SD_NOTIFY_H_
#define DS_DAEMON_SYS_SD_NOTIFY_H_

#include <string_view>

namespace ds::daemon {

// Sends `state` (e.g. "READY=1", "STOPPING=1", "STATUS=...") when started by
// systemd with Type=notify; does nothing otherwise. Returns true if sent.
bool SdNotify(std::string_view state);

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_SD_NOTIFY_H_
