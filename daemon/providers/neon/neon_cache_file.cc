#include "daemon/providers/neon/neon_cache_file.h"

#include <set>

#include "common/strings.h"
#include "daemon/providers/neon/neon_json.h"

namespace ds::daemon::neon {
namespace {

constexpr std::string_view kHeader = R"({"ds_neon_snapshot":1,"fetched_unix_ms":)";

void Field(std::string* out, std::string_view name, std::string_view value, bool first = false) {
  StrAppend(out, first ? "" : ",", JsonQuote(name), ":", JsonQuote(value));
}

std::string ProjectJson(const Project& p) {
  std::string o = "{";
  Field(&o, "id", p.id, true);
  Field(&o, "name", p.name);
  Field(&o, "region_id", p.region_id);
  if (!p.org_id.empty()) Field(&o, "org_id", p.org_id);
  Field(&o, "created_at", p.created_at);
  Field(&o, "updated_at", p.updated_at);
  Field(&o, "proxy_host", p.proxy_host);
  StrAppend(&o, ",\"pg_version\":", p.pg_version, "}");
  return o;
}

std::string BranchJson(const Branch& b) {
  std::string o = "{";
  Field(&o, "id", b.id, true);
  Field(&o, "project_id", b.project_id);
  Field(&o, "name", b.name);
  if (!b.parent_id.empty()) Field(&o, "parent_id", b.parent_id);
  Field(&o, "current_state", b.current_state);
  if (!b.pending_state.empty()) Field(&o, "pending_state", b.pending_state);
  StrAppend(&o, ",\"default\":", b.is_default ? "true" : "false",
            ",\"protected\":", b.is_protected ? "true" : "false");
  Field(&o, "created_at", b.created_at);
  Field(&o, "updated_at", b.updated_at);
  if (!b.created_by.empty())
    StrAppend(&o, ",\"created_by\":{\"name\":", JsonQuote(b.created_by), "}");
  if (!b.expires_at.empty()) Field(&o, "expires_at", b.expires_at);
  if (b.logical_size >= 0) StrAppend(&o, ",\"logical_size\":", b.logical_size);
  o += "}";
  return o;
}

std::string EndpointJson(const Endpoint& e) {
  std::string o = "{";
  Field(&o, "id", e.id, true);
  Field(&o, "project_id", e.project_id);
  Field(&o, "branch_id", e.branch_id);
  Field(&o, "host", e.host);
  Field(&o, "type", e.type);
  Field(&o, "current_state", e.current_state);
  if (!e.last_active.empty()) Field(&o, "last_active", e.last_active);
  StrAppend(&o, ",\"disabled\":", e.disabled ? "true" : "false", "}");
  return o;
}

template <typename T, typename F>
std::string List(std::string_view name, const std::vector<T>& items, F to_json) {
  std::string o = StrCat("{", JsonQuote(name), ":[");
  for (size_t i = 0; i < items.size(); ++i) StrAppend(&o, i ? "," : "", to_json(items[i]));
  return o + "]}";
}

}  // namespace

std::string SerializeSnapshot(const AccountSnapshot& s) {
  // Projects whose branches were never fetched are listed, so that a
  // reader does not take their empty lists for "no branches".
  std::string unloaded;
  for (const ProjectState& p : s.projects) {
    if (!p.loaded) StrAppend(&unloaded, unloaded.empty() ? "" : ",", JsonQuote(p.project.id));
  }
  std::string out = StrCat(kHeader, s.fetched_unix_ms, ",\"projects\":", s.projects.size(),
                           ",\"unloaded\":[", unloaded, "]}\n");
  for (const ProjectState& p : s.projects) {
    StrAppend(&out, "{\"projects\":[", ProjectJson(p.project), "]}\n");
    StrAppend(&out, List("branches", p.branches, BranchJson), "\n");
    StrAppend(&out, List("endpoints", p.endpoints, EndpointJson), "\n");
  }
  return out;
}

absl::StatusOr<AccountSnapshot> ParseSnapshot(std::string_view text) {
  std::vector<std::string_view> lines = SplitSkipEmpty(text, '\n');
  if (lines.empty() || !lines[0].starts_with(kHeader)) {
    return absl::InvalidArgumentError("not a ds Neon snapshot");
  }
  AccountSnapshot s;
  std::string_view rest = lines[0].substr(kHeader.size());
  s.fetched_unix_ms = std::strtoll(std::string(rest).c_str(), nullptr, 10);
  std::set<std::string> unloaded;
  if (size_t at = rest.find("\"unloaded\":["); at != std::string_view::npos) {
    std::string_view list = rest.substr(at + 12);
    list = list.substr(0, list.find(']'));
    for (std::string_view id : SplitSkipEmpty(list, ',')) {
      if (id.size() >= 2 && id.front() == '"' && id.back() == '"') {
        unloaded.insert(std::string(id.substr(1, id.size() - 2)));  // ids need no escapes
      }
    }
  }
  if ((lines.size() - 1) % 3 != 0) return absl::InvalidArgumentError("truncated Neon snapshot");
  for (size_t i = 1; i < lines.size(); i += 3) {
    absl::StatusOr<ProjectsPage> project = ParseProjectsPage(lines[i]);
    if (!project.ok()) return project.status();
    if (project->projects.size() != 1) return absl::InvalidArgumentError("bad Neon snapshot");
    absl::StatusOr<BranchesPage> branches = ParseBranchesPage(lines[i + 1]);
    if (!branches.ok()) return branches.status();
    absl::StatusOr<std::vector<Endpoint>> endpoints = ParseEndpoints(lines[i + 2]);
    if (!endpoints.ok()) return endpoints.status();
    ProjectState state{std::move(project->projects[0]), std::move(branches->branches),
                       std::move(*endpoints)};
    state.loaded = !unloaded.count(state.project.id);
    s.projects.push_back(std::move(state));
  }
  return s;
}

}  // namespace ds::daemon::neon
