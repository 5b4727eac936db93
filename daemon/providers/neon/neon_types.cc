#include "daemon/providers/neon/neon_types.h"

namespace ds::daemon::neon {

// Neon's OperationStatus: scheduling, running and cancelling are in flight;
// an unknown (newer) status counts as neither done nor failed, so a poll
// loop keeps waiting until its deadline rather than guessing.

bool OperationDone(const Operation& op) {
  return op.status == "finished" || op.status == "skipped" || OperationFailed(op);
}

bool OperationFailed(const Operation& op) {
  return op.status == "failed" || op.status == "error" || op.status == "cancelled";
}

}  // namespace ds::daemon::neon
