// An interactive list picker on the terminal: type to filter, arrow keys to
// move, Enter to choose, Esc (or Ctrl-C) to abort.
#ifndef DS_CLIENT_PICKER_H_
#define DS_CLIENT_PICKER_H_

#include <optional>
#include <string>
#include <vector>

namespace ds::client {

struct PickerItem {
  std::string label;   // what is shown and filtered on
  std::string detail;  // shown dimmed after the label
};

// True when ds can ask questions: stdin and stdout are terminals.
bool Interactive();

// Shows `items` under `title` on /dev/tty and returns the index chosen, or
// nullopt when the user aborted. `initial` is preselected.
std::optional<size_t> Pick(const std::string& title, const std::vector<PickerItem>& items,
                           size_t initial = 0);

// Asks a yes/no question on the terminal; false unless the answer is y/yes.
bool Confirm(const std::string& question);

// Reads one line from the terminal after `prompt`; nullopt on EOF/Ctrl-C.
std::optional<std::string> Prompt(const std::string& prompt);

}  // namespace ds::client

#endif  // DS_CLIENT_PICKER_H_
