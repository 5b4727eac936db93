#include "client/confirm.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "client/output.h"
#include "client/picker.h"
#include "common/strings.h"

namespace ds::client {

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
