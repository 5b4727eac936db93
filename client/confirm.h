// The one confirmation rule for commands that destroy data or aim at
// shared data (`ds db delete-branch`, `ds db reset`, pointing .env at a
// protected or default branch, migrating one):
//
//   --yes                        go ahead
//   a .env points at it          refuse, naming the .env files: --yes even on a terminal
//   stdin is a terminal          ask (y/N)
//   otherwise                    refuse: --yes is needed without a terminal
//
// Kept apart from the terminal so that the rule is tested on its own.
#ifndef DS_CLIENT_CONFIRM_H_
#define DS_CLIENT_CONFIRM_H_

#include <grpcpp/support/status.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ds::client {

struct Confirmation {
  // What is about to happen, as a lowercase phrase that names what is
  // destroyed or changed: "delete branch dev-x and all its data".
  std::string action;
  // Why it needs a confirmation, when the action does not say it:
  // "branch \"main\" is the default branch". Leads the question and errors.
  std::string reason;
  // The .env files (with the variable) that point at what is destroyed:
  // "/w/.env (DB_CONNECTION_STRING)". Any of them makes --yes necessary.
  std::vector<std::string> env_files;
  bool stdin_is_tty = false;
  bool yes = false;  // --yes
};

// Applies the rule. `ask` puts a yes/no question on the terminal (called
// only when stdin is one) and returns the answer. OK: go ahead.
// InvalidArgument (a usage error, exit 2): --yes is needed, with the
// reason. Cancelled: the user said no.
absl::Status ConfirmAction(const Confirmation& c, const std::function<bool(std::string_view)>& ask);

// ConfirmAction with the terminal's y/N prompt.
absl::Status ConfirmActionOnTerminal(const Confirmation& c);

// Prints ConfirmAction's refusal and returns the exit code: 2 when --yes
// is needed, 1 when the user said no ("aborted; <nothing_done>").
int ReportUnconfirmed(const absl::Status& status, std::string_view nothing_done);

// When dsd refused because the request needs the caller's confirmation (a
// protected or default branch; see common/confirmation.h): the reason,
// "branch \"main\" is the default branch". nullopt for any other status.
std::optional<std::string> ConfirmationRefusal(const grpc::Status& status);

// The reset's and copy-org's form of the rule: shows what will be destroyed
// (headline and details) and, when `type_back` is set, wants that name typed
// back instead of y/N.
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
