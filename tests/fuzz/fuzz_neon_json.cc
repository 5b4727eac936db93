// Every Neon API v2 parser over the same bytes: none may crash, leak or hit
// undefined behaviour, whatever the body (a response cut short, a proxy's
// HTML page, JSON of the wrong shape). Each result is also checked against
// what neon_json.h promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "absl/status/status.h"
#include "daemon/providers/neon/neon_json.h"

namespace {

using ds::daemon::neon::ParseApiError;
using ds::daemon::neon::ParseBranch;
using ds::daemon::neon::ParseBranchesPage;
using ds::daemon::neon::ParseBranchMutation;
using ds::daemon::neon::ParseConnectionUri;
using ds::daemon::neon::ParseDatabases;
using ds::daemon::neon::ParseEndpoints;
using ds::daemon::neon::ParseOperation;
using ds::daemon::neon::ParseProject;
using ds::daemon::neon::ParseProjectsPage;
using ds::daemon::neon::ParseRevealedPassword;
using ds::daemon::neon::ParseRoles;

// Only the two documented codes: anything else means a parser let an
// unexpected path through.
template <typename T>
void CheckError(const T& result) {
  if (result.ok()) return;
  absl::StatusCode code = result.status().code();
  if (code != absl::StatusCode::kDataLoss && code != absl::StatusCode::kInvalidArgument) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  CheckError(ParseProjectsPage(json));
  CheckError(ParseProject(json));
  CheckError(ParseBranchesPage(json));
  CheckError(ParseBranch(json));
  CheckError(ParseEndpoints(json));
  CheckError(ParseRoles(json));
  CheckError(ParseDatabases(json));
  CheckError(ParseOperation(json));
  CheckError(ParseBranchMutation(json));
  CheckError(ParseConnectionUri(json));
  CheckError(ParseRevealedPassword(json));
  (void)ParseApiError(json);
  return 0;
}
