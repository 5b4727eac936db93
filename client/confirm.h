// The one confirmation rule for destructive commands (README, "Confirming
// destructive commands"): `--yes` confirms; otherwise ds asks on a terminal
// (stdin and stdout both terminals), showing what will be destroyed; without
// a terminal it refuses, saying to pass --yes. A question can ask for a name
// typed back (a reset asks for the target branch's name) instead of y/N.
#ifndef DS_CLIENT_CONFIRM_H_
#define DS_CLIENT_CONFIRM_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::client {

struct DestructiveAction {
  std::string command;   // "ds db reset", for the refusal without a terminal
  std::string headline;  // "This drops every schema of the target and rebuilds it:"
  // Shown as aligned "label  value" lines under the headline.
  std::vector<std::pair<std::string, std::string>> details;
  // Non-empty: the user must type exactly this (a branch name); empty: y/N.
  std::string type_back;
};

// true: go ahead; false: the user declined (print "aborted" and exit 1).
// kInvalidArgument (a usage error, exit 2) without a terminal and without
// --yes. The action is printed on stderr, so stdout stays for --json.
absl::StatusOr<bool> ConfirmDestructive(const DestructiveAction& action, bool yes);

}  // namespace ds::client

#endif  // DS_CLIENT_CONFIRM_H_
