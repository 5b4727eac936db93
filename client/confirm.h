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
#include <vector>

#include "absl/status/status.h"

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

}  // namespace ds::client

#endif  // DS_CLIENT_CONFIRM_H_
