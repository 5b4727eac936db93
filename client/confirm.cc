#include "client/confirm.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "client/exit_codes.h"
#include "client/output.h"
#include "client/picker.h"
#include "common/confirmation.h"
#include "common/strings.h"

namespace ds::client {
namespace {

std::string Capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

}  // namespace

absl::Status ConfirmAction(const Confirmation& c,
                           const std::function<bool(std::string_view)>& ask) {
  if (c.yes) return absl::OkStatus();
  const std::string why = c.reason.empty() ? "" : StrCat(c.reason, "; ");
  if (!c.env_files.empty()) {
    // Someone's backend connects there: a y/N answered by habit is not
    // enough, even on a terminal.
    std::string files;
    for (const std::string& f : c.env_files) StrAppend(&files, files.empty() ? "" : ", ", f);
    return absl::InvalidArgumentError(
        StrCat(why, files, c.env_files.size() == 1 ? " points" : " point", " at it; to ", c.action,
               " anyway, run again with "
               "--yes"));
  }
  if (!c.stdin_is_tty) {
    return absl::InvalidArgumentError(
        StrCat(why, "to ", c.action, " without a terminal to confirm on, pass --yes"));
  }
  if (!ask(Capitalized(StrCat(why, c.action, "?")))) {
    return absl::CancelledError(StrCat("did not ", c.action));
  }
  return absl::OkStatus();
}

absl::Status ConfirmActionOnTerminal(const Confirmation& c) {
  return ConfirmAction(c, [](std::string_view q) { return Confirm(std::string(q)); });
}

int ReportUnconfirmed(const absl::Status& status, std::string_view nothing_done) {
  if (absl::IsCancelled(status)) {
    return PrintError(StrCat("aborted; ", nothing_done), kExitFailed);
  }
  return PrintError(ToStd(status.message()), kExitUsage);
}

std::optional<std::string> ConfirmationRefusal(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) return std::nullopt;
  const std::string& m = status.error_message();
  if (m.find(common::kNeedsConfirmation) == std::string::npos) return std::nullopt;
  return m.substr(0, m.find("; "));
}

absl::StatusOr<bool> ConfirmDestructive(const DestructiveAction& action, bool yes) {
  if (yes) return true;
  if (!Interactive()) {
    return absl::InvalidArgumentError(
        StrCat(action.command, " changes data and there is no terminal to ask on: pass --yes ",
               "to confirm"));
  }
  size_t width = 0;
  for (const auto& [label, value] : action.details) width = std::max(width, label.size());
  std::cerr << action.headline << "\n";
  for (const auto& [label, value] : action.details) {
    std::cerr << "  " << label << std::string(width - label.size() + 2, ' ') << value << "\n";
  }
  if (action.type_back.empty()) return Confirm("Go ahead?");
  std::optional<std::string> typed =
      Prompt(StrCat("Type ", Bold(action.type_back), " to confirm: "));
  if (!typed) return false;
  return std::string(TrimAsciiWhitespace(*typed)) == action.type_back;
}

}  // namespace ds::client
