#include "daemon/workspace/env_history.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "common/atomic_file.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

// One entry per line, four tab-separated fields, each C-escaped so that no
// value can contain a tab or a line break: env file, variable, ms, value.
constexpr std::string_view kHeader = "# ds .env history v1: file, variable, unix ms, value\n";

std::string Escape(std::string_view s) {
  return absl::CEscape(absl::string_view(s.data(), s.size()));
}

}  // namespace

absl::StatusOr<std::vector<EnvHistoryEntry>> EnvHistory::Load() const {
  absl::StatusOr<std::string> text = common::ReadFile(file_);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return std::vector<EnvHistoryEntry>();
    return text.status();
  }
  std::vector<EnvHistoryEntry> out;
  int line_no = 0;
  for (std::string_view line : Split(*text, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> f = Split(line, '\t');
    EnvHistoryEntry e;
    int64_t ms = 0;
    if (f.size() != 4 ||
        !absl::CUnescape(absl::string_view(f[0].data(), f[0].size()), &e.env_file) ||
        !absl::CUnescape(absl::string_view(f[1].data(), f[1].size()), &e.variable) ||
        !absl::CUnescape(absl::string_view(f[3].data(), f[3].size()), &e.value) ||
        !absl::SimpleAtoi(absl::string_view(f[2].data(), f[2].size()), &ms)) {
      // Never quote the line: it holds a password.
      return absl::DataLossError(StrCat(file_.string(), ":", line_no,
                                        " is not a history entry; remove the file to start a "
                                        "new history"));
    }
    e.unix_ms = ms;
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status EnvHistory::Save(const std::vector<EnvHistoryEntry>& entries) const {
  std::string text(kHeader);
  for (const EnvHistoryEntry& e : entries) {
    StrAppend(&text, Escape(e.env_file), "\t", Escape(e.variable), "\t", e.unix_ms, "\t",
              Escape(e.value), "\n");
  }
  return common::ReplaceFileAtomically(file_, text, 0600);
}

absl::Status EnvHistory::Record(const std::string& env_file, const std::string& variable,
                                const std::string& old_value, const std::string& new_value,
                                int64_t unix_ms) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::vector<EnvHistoryEntry>> entries = Load();
  if (!entries.ok()) return entries.status();
  // The newest value recorded for this file and variable.
  std::optional<std::string> latest;
  for (const EnvHistoryEntry& e : *entries) {
    if (e.env_file == env_file && e.variable == variable) latest = e.value;
  }
  if (!old_value.empty() && latest != old_value) {
    entries->push_back({env_file, variable, unix_ms, old_value});
    latest = old_value;
  }
  // Setting the value it already had adds nothing.
  if (!new_value.empty() && latest != new_value) {
    entries->push_back({env_file, variable, unix_ms, new_value});
  }
  // Keep the newest `keep_` of this file and variable.
  size_t seen = 0;
  std::vector<EnvHistoryEntry> kept;
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    if (it->env_file == env_file && it->variable == variable && ++seen > keep_) continue;
    kept.push_back(std::move(*it));
  }
  std::reverse(kept.begin(), kept.end());
  return Save(kept);
}

absl::StatusOr<std::vector<EnvHistoryEntry>> EnvHistory::List(const std::string& env_file,
                                                              const std::string& variable) {
  std::lock_guard lock(mu_);
  absl::StatusOr<std::vector<EnvHistoryEntry>> entries = Load();
  if (!entries.ok()) return entries.status();
  std::vector<EnvHistoryEntry> out;
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    if (it->env_file == env_file && (variable.empty() || it->variable == variable)) {
      out.push_back(std::move(*it));
    }
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> EnvHistory::Previous(const std::string& env_file,
                                                                const std::string& variable,
                                                                const std::string& current) {
  absl::StatusOr<std::vector<EnvHistoryEntry>> list = List(env_file, variable);
  if (!list.ok()) return list.status();
  for (const EnvHistoryEntry& e : *list) {
    if (e.value != current) return std::optional<std::string>(e.value);
  }
  return std::optional<std::string>();
}

}  // namespace ds::daemon
