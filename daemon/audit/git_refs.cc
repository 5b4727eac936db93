#include "daemon/audit/git_refs.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "common/strings.h"

namespace ds::daemon::audit {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TrimLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Adds `ref` ("refs/heads/x", "refs/remotes/origin/x") to `out`.
void Add(std::string_view ref, GitBranches& out) {
  if (ref.starts_with("refs/heads/")) {
    out.local.insert(std::string(ref.substr(11)));
  } else if (ref.starts_with("refs/remotes/")) {
    std::string_view name = ref.substr(13);
    if (!name.ends_with("/HEAD")) out.remote.insert(std::string(name));
  }
}

absl::Status Walk(const fs::path& root, const fs::path& dir, GitBranches& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return absl::OkStatus();
    return absl::UnavailableError(StrCat("cannot read ", dir.string(), ": ", ec.message()));
  }
  for (; it != end; it.increment(ec)) {
    if (ec) return absl::UnavailableError(StrCat("cannot read ", dir.string(), ": ", ec.message()));
    if (it->is_regular_file(ec)) Add(fs::relative(it->path(), root, ec).generic_string(), out);
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<fs::path> FindGitDir(const fs::path& dir) {
  std::error_code ec;
  for (fs::path d = fs::absolute(dir, ec); !d.empty(); d = d.parent_path()) {
    const fs::path dot_git = d / ".git";
    if (fs::is_directory(dot_git, ec)) return dot_git;
    if (fs::is_regular_file(dot_git, ec)) {
      // "gitdir: <path>" (worktree or submodule); a worktree's git dir
      // names the shared one in its "commondir" file.
      std::optional<std::string> text = ReadSmallFile(dot_git);
      if (!text || !text->starts_with("gitdir:")) return std::nullopt;
      std::string target = TrimLine(text->substr(7));
      while (!target.empty() && target.front() == ' ') target.erase(0, 1);
      fs::path git_dir = fs::path(target).is_absolute() ? fs::path(target) : d / target;
      if (std::optional<std::string> common = ReadSmallFile(git_dir / "commondir")) {
        fs::path c = TrimLine(*common);
        git_dir = c.is_absolute() ? c : git_dir / c;
      }
      git_dir = git_dir.lexically_normal();
      return git_dir.has_filename() ? git_dir : git_dir.parent_path();
    }
    if (d == d.parent_path()) break;
  }
  return std::nullopt;
}

absl::StatusOr<GitBranches> ReadGitBranches(const fs::path& git_dir) {
  GitBranches out;
  out.git_dir = git_dir;
  std::error_code ec;
  if (!fs::is_directory(git_dir / "refs", ec)) {
    return absl::NotFoundError(StrCat(git_dir.string(), " is not a git repository (no refs/)"));
  }
  if (absl::Status s = Walk(git_dir, git_dir / "refs" / "heads", out); !s.ok()) return s;
  if (absl::Status s = Walk(git_dir, git_dir / "refs" / "remotes", out); !s.ok()) return s;
  // packed-refs: "<sha> <ref>" lines, "# pack-refs with: ..." and "^<sha>"
  // (a peeled tag) besides.
  if (std::optional<std::string> packed = ReadSmallFile(git_dir / "packed-refs")) {
    std::istringstream lines(*packed);
    for (std::string line; std::getline(lines, line);) {
      line = TrimLine(line);
      if (line.empty() || line[0] == '#' || line[0] == '^') continue;
      size_t space = line.find(' ');
      if (space != std::string::npos) Add(std::string_view(line).substr(space + 1), out);
    }
  }
  return out;
}

}  // namespace ds::daemon::audit
