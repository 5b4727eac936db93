// dsd's Neon snapshot on disk (<state dir>/neon/<account>.json), so that a
// restarted daemon answers listings and resolves hosts at once, then
// refreshes in the background. JSON lines in the API's own shapes (a
// header, then per project a {projects}, a {branches} and an {endpoints}
// body), read back with the API parsers: one reader for both. Holds names
// and ids, never a password or a key.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_CACHE_FILE_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_CACHE_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/providers/neon/neon_types.h"

namespace ds::daemon::neon {

std::string SerializeSnapshot(const AccountSnapshot& snapshot);
absl::StatusOr<AccountSnapshot> ParseSnapshot(std::string_view text);

}  // namespace ds::daemon::neon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_CACHE_FILE_H_
