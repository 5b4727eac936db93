// The ds version, shared by ds and dsd so each can tell a daemon of another
// build apart (ds restarts such a daemon).
#ifndef DS_COMMON_VERSION_H_
#define DS_COMMON_VERSION_H_

#include <string_view>

namespace ds::common {

std::string_view Version();

}  // namespace ds::common

#endif  // DS_COMMON_VERSION_H_
