// Shell completion scripts for ds, generated from the CLI11 tree that parses
// ds's command line (commands.cc), so a new command or flag is completed as
// soon as it exists. Branch names and job ids come from dsd at Tab time
// through the hidden `ds __complete branches|jobs`, which answers from dsd's
// memory and never starts dsd.
#ifndef DS_CLIENT_COMPLETION_H_
#define DS_CLIENT_COMPLETION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace CLI {
class App;
}

namespace ds::client {

// One visible command of the tree. `path` starts with "ds": "ds db set".
struct CompletionNode {
  struct Word {
    std::string word;  // "create-branch", "--parent", "-n"
    std::string description;
    std::string value;  // options: what the value is ("BRANCH"); "" for a flag
  };
  std::string path;
  std::vector<Word> subcommands;
  std::vector<Word> options;
  std::string positional;  // what the first positional is ("BRANCH", "SHELL"), or ""
};

// Every visible command, the root first; hidden commands and --help's
// duplicates are left out. -C/--workspace's value is "WORKSPACE" (a
// directory the scripts also pass on to `ds __complete`).
std::vector<CompletionNode> CompletionTree(const CLI::App& root);

// The script for `shell` ("bash", "zsh", "fish"); kInvalidArgument otherwise.
absl::StatusOr<std::string> CompletionScript(const CLI::App& root, std::string_view shell);

}  // namespace ds::client

#endif  // DS_CLIENT_COMPLETION_H_
