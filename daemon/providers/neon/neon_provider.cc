#include "daemon/providers/neon/neon_provider.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/conninfo.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/strings.h"
#include "daemon/providers/neon/neon_cache_file.h"
#include "openssl/sha.h"

namespace ds::daemon {
namespace {

// Names close to `wanted` (one contains the other, or they share their
// first four letters), for "did you mean ...?"; "" when none is.
std::string CloseMatches(const std::vector<std::string>& names, const std::string& wanted) {
  std::vector<std::string_view> close;
  const std::string w = AsciiToLower(wanted);
  for (const std::string& name : names) {
    const std::string a = AsciiToLower(name);
    if (a.find(w) != std::string::npos || w.find(a) != std::string::npos ||
        (a.size() > 3 && w.size() > 3 && a.substr(0, 4) == w.substr(0, 4))) {
      close.push_back(name);
    }
  }
  return Join(close, ", ");
}

// A change a watcher would see: names, parents, flags of every branch,
// and which endpoint serves which branch (a connection string that did
// not resolve before may now).
std::string Fingerprint(const neon::AccountSnapshot& s) {
  std::string out;
  for (const neon::ProjectState& p : s.projects) {
    StrAppend(&out, "project ", p.project.id, "\n");
    for (const neon::Branch& b : p.branches) {
      StrAppend(&out, b.id, "|", b.name, "|", b.parent_id, "|", b.is_default, b.is_protected, "|",
                b.current_state, "\n");
    }
    for (const neon::Endpoint& e : p.endpoints) StrAppend(&out, e.id, ">", e.branch_id, "\n");
  }
  return out;
}

std::optional<BranchLocation> FindEndpoint(const neon::AccountSnapshot& s,
                                           const std::string& endpoint_id) {
  for (const neon::ProjectState& p : s.projects) {
    for (const neon::Endpoint& e : p.endpoints) {
      if (e.id != endpoint_id) continue;
      for (const neon::Branch& b : p.branches) {
        if (b.id == e.branch_id) {
          return BranchLocation{"neon", p.project.id,   p.project.name, b.id,
                                b.name, b.is_protected, b.is_default};
        }
      }
    }
  }
  return std::nullopt;
}

// A lookup that missed triggers at most one refresh per endpoint this often,
// so a foreign host cannot make every call hit the API.
constexpr std::chrono::minutes kMissMemory{1};

}  // namespace

NeonProvider::NeonProvider(NeonProviderOptions options,
                           std::shared_ptr<http::HttpTransport> transport)
    : options_(std::move(options)), api_(options_.api, std::move(transport)) {
  // A snapshot from an earlier daemon answers at once; its real age makes
  // it stale, so the first use refreshes it in the background.
  if (!options_.cache_file.empty()) {
    absl::StatusOr<std::string> text = common::ReadFile(options_.cache_file);
    if (text.ok()) {
      absl::StatusOr<neon::AccountSnapshot> loaded = neon::ParseSnapshot(*text);
      if (loaded.ok()) {
        auto s = std::make_shared<Snapshot>();
        static_cast<neon::AccountSnapshot&>(*s) = std::move(*loaded);
        s->fetched = Clock::now() - std::chrono::milliseconds(std::max<int64_t>(
                                        0, common::UnixMillisNow() - s->fetched_unix_ms));
        snapshot_ = std::move(s);
      } else {
        common::LogWarning("neon: ignoring unreadable cache ", options_.cache_file.string(), ": ",
                           loaded.status().message());
      }
    }
  }
  refresher_ = std::thread([this] { RefreshLoop(); });
}

NeonProvider::~NeonProvider() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  refreshed_.notify_all();
  refresher_.join();
}

void NeonProvider::SetChangeListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

std::vector<std::string> NeonProvider::TakeNotices() {
  std::lock_guard lock(mu_);
  return std::exchange(notices_, {});
}

std::shared_ptr<const NeonProvider::Snapshot> NeonProvider::Peek() {
  last_use_ms_ = common::MonotonicMillisNow();
  std::lock_guard lock(mu_);
  if (!snapshot_) return nullptr;
  // Stale-while-revalidate: serve it; the refresher renews it.
  auto age = Clock::now() - snapshot_->fetched;
  if (age > options_.refresh_interval) cv_.notify_all();
  if (age > 2 * options_.refresh_interval) {
    auto minutes = std::chrono::duration_cast<std::chrono::minutes>(age).count();
    notices_.push_back(StrCat(
        "Neon data is ", minutes < 1 ? "less than a minute" : StrCat(minutes, " min"), " old",
        last_refresh_error_.empty() ? "; refreshing"
                                    : StrCat("; refreshing failed: ", last_refresh_error_)));
  }
  return snapshot_;
}

absl::StatusOr<std::shared_ptr<const NeonProvider::Snapshot>> NeonProvider::Current() {
  if (std::shared_ptr<const Snapshot> s = Peek()) return s;
  // Cold: the project list alone answers at once (one or two requests);
  // a project's branches are fetched when first asked for, and the
  // refresher fills in the rest in the background (FillInBehind).
  if (absl::Status s = Refresh(/*projects_only=*/true); !s.ok()) return s;
  std::lock_guard lock(mu_);
  return snapshot_;
}

void NeonProvider::FillInBehind() {
  std::lock_guard lock(mu_);
  if (snapshot_ && std::any_of(snapshot_->projects.begin(), snapshot_->projects.end(),
                               [](const ProjectState& p) { return !p.loaded; })) {
    cv_.notify_all();
  }
}

absl::StatusOr<NeonProvider::ProjectView> NeonProvider::ProjectFor(const std::string& wanted) {
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Current();
  if (!s.ok()) return s.status();
  absl::StatusOr<const ProjectState*> p = FindProject(**s, wanted);
  if (!p.ok()) return p.status();
  if ((*p)->loaded) return ProjectView{*s, *p};
  const std::string id = (*p)->project.id;
  if (absl::Status r = RefreshProject(id); !r.ok()) return r;
  FillInBehind();
  s = Current();
  if (!s.ok()) return s.status();
  p = FindProject(**s, id);
  if (!p.ok()) return p.status();
  return ProjectView{*s, *p};
}

absl::StatusOr<std::vector<neon::Project>> NeonProvider::FetchProjectList() {
  absl::StatusOr<std::vector<neon::Project>> projects = api_.ListProjects(options_.org_id);
  if (!projects.ok()) return projects.status();
  // Projects shared with the key's user count too (personal keys). Keys
  // that may not ask (organization keys) are answered 403: nothing shared.
  if (options_.org_id.empty()) {
    absl::StatusOr<std::vector<neon::Project>> shared = api_.ListSharedProjects();
    if (shared.ok()) {
      for (neon::Project& p : *shared) {
        bool known = std::any_of(projects->begin(), projects->end(),
                                 [&](const neon::Project& q) { return q.id == p.id; });
        if (!known) projects->push_back(std::move(p));
      }
    } else if (shared.status().code() != absl::StatusCode::kPermissionDenied &&
               shared.status().code() != absl::StatusCode::kNotFound) {
      return shared.status();
    }
  }
  return projects;
}

absl::StatusOr<NeonProvider::ProjectData> NeonProvider::FetchProject(
    const std::string& project_id) {
  absl::StatusOr<std::vector<neon::Branch>> branches = api_.ListBranches(project_id);
  if (!branches.ok()) return branches.status();
  absl::StatusOr<std::vector<neon::Endpoint>> endpoints = api_.ListEndpoints(project_id);
  if (!endpoints.ok()) return endpoints.status();
  return ProjectData{std::move(*branches), std::move(*endpoints)};
}

void NeonProvider::NoteRefreshError(const absl::Status& s) {
  std::lock_guard lock(mu_);
  last_refresh_error_ = std::string(s.message());
}

absl::Status NeonProvider::Refresh(bool projects_only) {
  Fetch fetch;
  fetch.asked = Clock::now();
  absl::StatusOr<std::vector<neon::Project>> projects = FetchProjectList();
  if (!projects.ok()) {
    NoteRefreshError(projects.status());
    return projects.status();
  }
  if (!projects_only) {
    for (const neon::Project& p : *projects) {
      absl::StatusOr<ProjectData> data = FetchProject(p.id);
      if (!data.ok()) {
        NoteRefreshError(data.status());
        return data.status();
      }
      fetch.data[p.id] = std::move(*data);
    }
    fetch.whole_account = true;
  }
  fetch.projects = std::move(*projects);
  Apply(std::move(fetch));
  return absl::OkStatus();
}

absl::Status NeonProvider::RefreshProject(const std::string& project_id) {
  Fetch fetch;
  fetch.asked = Clock::now();
  absl::StatusOr<ProjectData> data = FetchProject(project_id);
  if (!data.ok()) return data.status();
  fetch.data[project_id] = std::move(*data);
  Apply(std::move(fetch));
  return absl::OkStatus();
}

void NeonProvider::Apply(Fetch fetch) {
  std::lock_guard installing(install_mu_);
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard lock(mu_);
    old = snapshot_;
  }
  const Snapshot empty;
  const Snapshot& was = old ? *old : empty;
  auto next = std::make_shared<Snapshot>();
  next->fetched = old ? was.fetched : Clock::now();
  next->fetched_unix_ms = old ? was.fetched_unix_ms : common::UnixMillisNow();
  next->list_asked = was.list_asked;
  // The newer of the two lists says which projects exist.
  std::vector<neon::Project> list;
  if (fetch.projects && fetch.asked >= was.list_asked) {
    list = std::move(*fetch.projects);
    next->list_asked = fetch.asked;
  } else {
    for (const ProjectState& p : was.projects) list.push_back(p.project);
  }
  for (neon::Project& project : list) {
    ProjectState state;
    state.loaded = false;
    for (const ProjectState& known : was.projects) {
      if (known.project.id == project.id) state = known;  // keep what was fetched
    }
    state.project = std::move(project);
    auto asked = was.project_asked.find(state.project.id);
    if (asked != was.project_asked.end()) next->project_asked[state.project.id] = asked->second;
    // A project's data from this fetch, unless a later-asked one is in.
    auto data = fetch.data.find(state.project.id);
    if (data != fetch.data.end() &&
        (asked == was.project_asked.end() || fetch.asked >= asked->second)) {
      state.branches = std::move(data->second.branches);
      state.endpoints = std::move(data->second.endpoints);
      state.loaded = true;
      next->project_asked[state.project.id] = fetch.asked;
    }
    next->projects.push_back(std::move(state));
  }
  if (fetch.whole_account) {
    next->fetched = Clock::now();
    next->fetched_unix_ms = common::UnixMillisNow();
  }
  if (!options_.cache_file.empty()) {
    // A cache: losing it to a power cut costs one refresh.
    absl::Status s =
        common::ReplaceFileAtomically(options_.cache_file, neon::SerializeSnapshot(*next), 0600,
                                      common::Durability::kProcessCrash);
    if (!s.ok()) common::LogWarning("neon: cannot save the cache: ", s.message());
  }
  std::function<void()> listener;
  {
    std::lock_guard lock(mu_);
    last_refresh_error_.clear();
    if (!snapshot_ || Fingerprint(*snapshot_) != Fingerprint(*next)) listener = listener_;
    snapshot_ = std::move(next);
  }
  if (listener) listener();
}

uint64_t NeonProvider::RequestRefreshLocked() {
  refresh_wanted_ = true;
  cv_.notify_all();
  // Whatever run is under way may have fetched before the caller's reason
  // to ask existed: the next one to start answers.
  return runs_started_ + 1;
}

bool NeonProvider::RefreshDueLocked() const {
  if (!snapshot_) return false;  // nobody asked yet
  const bool partial = std::any_of(snapshot_->projects.begin(), snapshot_->projects.end(),
                                   [](const ProjectState& p) { return !p.loaded; });
  const bool stale = partial || Clock::now() - snapshot_->fetched >= options_.refresh_interval;
  const bool in_use =
      common::MonotonicMillisNow() - last_use_ms_.load() < options_.idle_pause.count();
  return stale && in_use;
}

void NeonProvider::RefreshLoop() {
  std::mt19937 rng{std::random_device{}()};
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!refresh_wanted_) {
      // Jitter (±10%) keeps many daemons from refreshing in step.
      auto base = options_.refresh_interval.count();
      std::uniform_int_distribution<int64_t> jitter(-base / 10, base / 10);
      cv_.wait_for(lock, std::chrono::milliseconds(base + jitter(rng)));
      if (stopping_) break;
    }
    const bool asked = std::exchange(refresh_wanted_, false);
    if (!asked && !RefreshDueLocked()) continue;
    const uint64_t run = ++runs_started_;
    lock.unlock();
    absl::Status s = Refresh();
    if (!s.ok()) {
      // The old snapshot stays; `ds db branches` shows its age.
      common::LogWarning("neon: background refresh failed: ", s.message());
    }
    lock.lock();
    runs_done_ = run;
    last_run_ = std::move(s);
    refreshed_.notify_all();
  }
}

std::unique_lock<std::mutex> NeonProvider::LockProjectForWrite(
    const std::string& project_id, const std::function<void(std::string_view)>& progress) {
  std::shared_ptr<std::mutex> gate;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<std::mutex>& m = project_writes_[project_id];
    if (!m) m = std::make_shared<std::mutex>();
    gate = m;
  }
  // The map keeps the mutex alive for as long as the provider.
  std::unique_lock serial(*gate, std::try_to_lock);
  if (!serial.owns_lock()) {
    if (progress) progress(StrCat("waiting for another change to Neon project ", project_id));
    serial.lock();
  }
  return serial;
}

absl::StatusOr<const NeonProvider::ProjectState*> NeonProvider::FindProject(
    const Snapshot& s, const std::string& wanted) const {
  if (wanted.empty()) {
    if (s.projects.size() == 1) return &s.projects[0];
    std::vector<std::string> names;
    for (const ProjectState& p : s.projects)
      names.push_back(StrCat(p.project.name, " (", p.project.id, ")"));
    std::vector<std::string_view> v(names.begin(), names.end());
    return absl::InvalidArgumentError(
        s.projects.empty()
            ? std::string("this Neon API key sees no projects; create one in the Neon console")
            : StrCat("this Neon API key sees ", s.projects.size(), " projects (", Join(v, ", "),
                     "); pass --project, or set project = \"<id>\" in ds.toml"));
  }
  for (const ProjectState& p : s.projects) {
    if (p.project.id == wanted || p.project.name == wanted) return &p;
  }
  std::vector<std::string> names;
  for (const ProjectState& p : s.projects) names.push_back(p.project.name);
  std::string close = CloseMatches(names, wanted);
  return absl::NotFoundError(StrCat("no Neon project \"", wanted,
                                    "\" among those this API key can see",
                                    close.empty() ? "; `ds db list-projects` lists them"
                                                  : StrCat("; did you mean ", close, "?")));
}

absl::StatusOr<const neon::Branch*> NeonProvider::FindBranch(const ProjectState& p,
                                                             const std::string& wanted) const {
  for (const neon::Branch& b : p.branches) {
    if (b.name == wanted || b.id == wanted) return &b;
  }
  std::vector<std::string> names;
  for (const neon::Branch& b : p.branches) names.push_back(b.name);
  std::string close = CloseMatches(names, wanted);
  return absl::NotFoundError(StrCat(
      "branch \"", wanted, "\" does not exist in Neon project ", p.project.name,
      close.empty() ? "; `ds db branches` lists them" : StrCat("; did you mean ", close, "?")));
}

BranchInfo NeonProvider::ToInfo(const neon::Branch& b, const ProjectState& p, bool lookups) const {
  BranchInfo info;
  info.id = b.id;
  info.project_id = p.project.id;
  info.name = b.name;
  info.parent_id = b.parent_id;
  if (lookups) {
    for (const neon::Branch& parent : p.branches) {
      if (parent.id == b.parent_id) info.parent_name = parent.name;
    }
  }
  info.created_at = b.created_at;
  info.created_by = b.created_by;
  info.expires_at = b.expires_at;
  info.state = b.current_state;
  info.is_protected = b.is_protected;
  info.is_default = b.is_default;
  info.size_bytes = b.logical_size;
  if (!lookups) return info;
  for (const neon::Endpoint& e : p.endpoints) {
    if (e.branch_id == b.id && e.last_active > info.last_activity)
      info.last_activity = e.last_active;
  }
  return info;
}

CachedInventory NeonProvider::Cached() {
  std::shared_ptr<const Snapshot> s = Peek();
  CachedInventory out;
  if (!s) {
    std::lock_guard lock(mu_);
    RequestRefreshLocked();
    return out;
  }
  out.as_of_unix_ms = s->fetched_unix_ms;
  out.projects.reserve(s->projects.size());
  for (const ProjectState& p : s->projects) {
    CachedProject& cp = out.projects.emplace_back();
    cp.project = {p.project.id, p.project.name, p.project.region_id, p.project.created_at};
    cp.loaded = p.loaded;
    cp.branches.reserve(p.branches.size());
    // ToInfo looks parents and endpoints up by scanning; for a whole
    // project (hundreds of branches) look them up once.
    std::map<std::string_view, std::string_view> names, last_active;
    for (const neon::Branch& b : p.branches) names[b.id] = b.name;
    for (const neon::Endpoint& e : p.endpoints) {
      std::string_view& best = last_active[e.branch_id];
      if (e.last_active > best) best = e.last_active;
    }
    for (const neon::Branch& b : p.branches) {
      BranchInfo info = ToInfo(b, p, /*lookups=*/false);
      if (auto it = names.find(b.parent_id); it != names.end()) info.parent_name = it->second;
      if (auto it = last_active.find(b.id); it != last_active.end()) {
        info.last_activity = it->second;
      }
      cp.branches.push_back(std::move(info));
    }
  }
  return out;
}

absl::Status NeonProvider::RefreshAll() {
  last_use_ms_ = common::MonotonicMillisNow();
  return Refresh();
}

absl::StatusOr<NeonProvider::BranchForWrite> NeonProvider::LockBranchForWrite(
    const std::string& project, const std::string& name) {
  absl::StatusOr<ProjectView> p = ProjectFor(project);
  if (!p.ok()) return p.status();
  BranchForWrite w;
  w.serial = LockProjectForWrite((*p)->project.id, nullptr);
  p = ProjectFor((*p)->project.id);  // as the write before this one left it
  if (!p.ok()) return p.status();
  absl::StatusOr<const neon::Branch*> b = FindBranch(**p, name);
  if (!b.ok()) return b.status();
  w.project = *std::move(p);
  w.branch = *b;
  return w;
}

absl::Status NeonProvider::SetExpiry(const std::string& project, const std::string& name,
                                     const std::string& expires_at) {
  if (!expires_at.empty()) {
    if (absl::Status e = CheckExpiry(expires_at, /*max_days=*/30); !e.ok()) return e;
  }
  absl::StatusOr<BranchForWrite> locked = LockBranchForWrite(project, name);
  if (!locked.ok()) return locked.status();
  const ProjectState& p = *locked->project;
  const neon::Branch& b = *locked->branch;
  int children = 0;
  for (const neon::Branch& other : p.branches) children += other.parent_id == b.id;
  if (!expires_at.empty()) {
    if (absl::Status allowed = CheckExpiryAllowed(name, b.is_default, b.is_protected, children);
        !allowed.ok()) {
      return allowed;
    }
  }
  const std::string project_id = p.project.id;
  absl::StatusOr<neon::BranchMutation> m = api_.SetBranchExpiry(project_id, b.id, expires_at);
  if (!m.ok()) return m.status();
  if (absl::Status w =
          WaitForOperations(project_id, m->operations, StrCat("setting the expiry of ", name));
      !w.ok()) {
    return w;
  }
  return RefreshProject(project_id);
}

absl::StatusOr<std::vector<ProjectInfo>> NeonProvider::ListProjects() {
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Current();
  if (!s.ok()) return s.status();
  FillInBehind();
  std::vector<ProjectInfo> out;
  for (const ProjectState& p : (*s)->projects) {
    out.push_back({p.project.id, p.project.name, p.project.region_id, p.project.created_at});
  }
  return out;
}

absl::StatusOr<std::vector<BranchInfo>> NeonProvider::ListBranches(const std::string& project) {
  absl::StatusOr<ProjectView> p = ProjectFor(project);
  if (!p.ok()) return p.status();
  std::vector<BranchInfo> out;
  for (const neon::Branch& b : (*p)->branches) out.push_back(ToInfo(b, **p));
  std::sort(out.begin(), out.end(), [](const BranchInfo& a, const BranchInfo& b) {
    if (a.is_default != b.is_default) return a.is_default;
    return a.created_at < b.created_at;
  });
  return out;
}

std::optional<std::vector<BranchInfo>> NeonProvider::CachedBranches(const std::string& project) {
  std::shared_ptr<const Snapshot> s = Peek();
  if (!s) return std::nullopt;
  absl::StatusOr<const ProjectState*> p = FindProject(*s, project);
  if (!p.ok() || !(*p)->loaded) return std::nullopt;
  std::vector<BranchInfo> out;
  for (const neon::Branch& b : (*p)->branches) out.push_back(ToInfo(b, **p));
  return out;
}

absl::Status NeonProvider::RefreshBranches(const std::string& project) {
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Current();
  if (!s.ok()) return s.status();
  absl::StatusOr<const ProjectState*> p = FindProject(**s, project);
  if (!p.ok()) return p.status();
  return RefreshProject((*p)->project.id);
}

absl::Status NeonProvider::WaitForOperations(
    const std::string& project_id, const std::vector<neon::Operation>& ops, std::string_view what,
    const std::function<void(std::string_view)>& progress) {
  const Clock::time_point deadline = Clock::now() + options_.operation_timeout;
  std::vector<neon::Operation> current = ops;
  std::string last_report;
  auto report = [&] {
    if (!progress || current.empty()) return;
    std::vector<std::string> parts;
    for (const neon::Operation& op : current) parts.push_back(StrCat(op.action, " ", op.status));
    std::vector<std::string_view> v(parts.begin(), parts.end());
    std::string line = StrCat("Neon: ", Join(v, ", "));
    if (line != last_report) progress(line);
    last_report = std::move(line);
  };
  report();
  for (neon::Operation& op : current) {
    while (!neon::OperationDone(op)) {
      if (Clock::now() >= deadline) {
        return absl::DeadlineExceededError(
            StrCat(what, ": Neon's ", op.action, " operation (", op.id, ") is still ", op.status,
                   " after ", options_.operation_timeout.count() / 1000,
                   " s; it may finish later: check `ds db branches`"));
      }
      std::this_thread::sleep_for(options_.operation_poll);
      absl::StatusOr<neon::Operation> next = api_.GetOperation(project_id, op.id);
      if (!next.ok()) return next.status();
      op = std::move(*next);
      report();
    }
    if (neon::OperationFailed(op)) {
      return absl::InternalError(StrCat(what, ": Neon's ", op.action, " operation ", op.status,
                                        op.error.empty() ? "" : StrCat(": ", op.error)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BranchInfo> NeonProvider::CreateBranch(const std::string& project,
                                                      const std::string& name,
                                                      const CreateBranchOptions& options) {
  if (absl::Status s = ValidateBranchName(name); !s.ok()) return s;
  absl::StatusOr<ProjectView> p = ProjectFor(project);
  if (!p.ok()) return p.status();
  const std::string project_id = (*p)->project.id;
  std::unique_lock serial = LockProjectForWrite(project_id, options.progress);
  p = ProjectFor(project_id);  // as the write before this one left it
  if (!p.ok()) return p.status();
  std::string parent_id;
  if (!options.parent.empty()) {
    absl::StatusOr<const neon::Branch*> parent = FindBranch(**p, options.parent);
    if (!parent.ok()) return parent.status();
    parent_id = (*parent)->id;
  }
  for (const neon::Branch& b : (*p)->branches) {
    if (b.name == name) {
      return absl::AlreadyExistsError(
          StrCat("branch \"", name, "\" already exists in Neon project ", (*p)->project.name));
    }
  }
  if (options.progress) options.progress(StrCat("asking Neon for branch ", name));
  bool adopted = false;
  if (!options.expires_at.empty()) {
    if (absl::Status e = CheckExpiry(options.expires_at, /*max_days=*/30); !e.ok()) return e;
  }
  absl::StatusOr<neon::BranchMutation> m =
      api_.CreateBranch(project_id, name, parent_id, &adopted, options.expires_at);
  if (!m.ok()) return m.status();
  if (adopted) {
    std::lock_guard lock(mu_);
    notices_.push_back(StrCat("branch ", name,
                              " already existed in Neon (made by an earlier "
                              "attempt or someone else); using it"));
  }
  if (absl::Status w =
          WaitForOperations(project_id, m->operations, StrCat("creating ", name), options.progress);
      !w.ok()) {
    return w;
  }
  if (absl::Status r = RefreshProject(project_id); !r.ok()) return r;
  absl::StatusOr<std::shared_ptr<const Snapshot>> after = Current();
  if (!after.ok()) return after.status();
  absl::StatusOr<const ProjectState*> pa = FindProject(**after, project_id);
  if (!pa.ok()) return pa.status();
  absl::StatusOr<const neon::Branch*> b = FindBranch(**pa, name);
  if (!b.ok()) return b.status();
  common::LogInfo("neon: created branch ", name, " (", (*b)->id, ") in ", project_id);
  BranchInfo result = ToInfo(**b, **pa);
  if (options.connection_uri) {
    // Still holding the project's write lock, so no delete of `name` can
    // come between the create and this.
    absl::StatusOr<std::string> uri = ConnectionUri(project_id, name, "", "");
    if (!uri.ok()) return uri.status();
    result.connection_uri = std::move(*uri);
  }
  return result;
}

absl::Status NeonProvider::DeleteBranch(const std::string& project, const std::string& name,
                                        bool force) {
  (void)force;  // Neon ends the branch's sessions itself
  absl::StatusOr<BranchForWrite> locked = LockBranchForWrite(project, name);
  if (!locked.ok()) return locked.status();
  const ProjectState& p = *locked->project;
  const neon::Branch& b = *locked->branch;
  if (b.is_default) {
    return absl::PermissionDeniedError(StrCat("\"", name,
                                              "\" is the default branch of Neon project ",
                                              p.project.name, "; ds never deletes it"));
  }
  if (b.is_protected) {
    return absl::PermissionDeniedError(
        StrCat("branch \"", name, "\" is protected; ds never deletes protected branches"));
  }
  const std::string project_id = p.project.id, branch_id = b.id;
  absl::StatusOr<neon::BranchMutation> m = api_.DeleteBranch(project_id, branch_id);
  if (!m.ok()) return m.status();
  if (absl::Status w = WaitForOperations(project_id, m->operations, StrCat("deleting ", name));
      !w.ok()) {
    return w;
  }
  {
    std::lock_guard lock(mu_);
    for (auto it = uris_.begin(); it != uris_.end();) {
      it = it->first.starts_with(branch_id + "|") ? uris_.erase(it) : std::next(it);
    }
  }
  common::LogInfo("neon: deleted branch ", name, " (", branch_id, ") in ", project_id);
  return RefreshProject(project_id);
}

absl::Status NeonProvider::ResetBranch(const std::string& project, const std::string& name,
                                       bool force) {
  (void)force;
  absl::StatusOr<BranchForWrite> locked = LockBranchForWrite(project, name);
  if (!locked.ok()) return locked.status();
  const ProjectState& p = *locked->project;
  const neon::Branch& b = *locked->branch;
  if (b.is_default || b.is_protected) {
    return absl::PermissionDeniedError(StrCat("branch \"", name, "\" is ",
                                              b.is_default ? "the default branch" : "protected",
                                              "; ds never resets it"));
  }
  if (b.parent_id.empty()) {
    return absl::FailedPreconditionError(
        StrCat("branch \"", name, "\" has no parent to reset from"));
  }
  const std::string project_id = p.project.id;
  absl::StatusOr<neon::BranchMutation> m = api_.RestoreBranch(project_id, b.id, b.parent_id);
  if (!m.ok()) return m.status();
  if (absl::Status w = WaitForOperations(project_id, m->operations, StrCat("resetting ", name));
      !w.ok()) {
    return w;
  }
  return RefreshProject(project_id);
}

absl::StatusOr<std::string> NeonProvider::ConnectionUri(const std::string& project,
                                                        const std::string& branch,
                                                        const std::string& database,
                                                        const std::string& role) {
  absl::StatusOr<ProjectView> p = ProjectFor(project);
  if (!p.ok()) return p.status();
  absl::StatusOr<const neon::Branch*> b = FindBranch(**p, branch);
  if (!b.ok() && b.status().code() == absl::StatusCode::kNotFound) {
    // Made by someone else since the last refresh? Look once more.
    const std::string id = (*p)->project.id;
    if (absl::Status r = RefreshProject(id); !r.ok()) return r;
    p = ProjectFor(id);
    if (!p.ok()) return p.status();
    b = FindBranch(**p, branch);
  }
  if (!b.ok()) return b.status();
  const std::string project_id = (*p)->project.id, branch_id = (*b)->id;
  if ((*b)->current_state == "init") {
    // Made moments ago (by someone else, or a create that timed out): look
    // again before handing out a URI that cannot connect yet.
    if (absl::Status r = RefreshProject(project_id); !r.ok()) return r;
    absl::StatusOr<std::shared_ptr<const Snapshot>> again = Current();
    if (!again.ok()) return again.status();
    absl::StatusOr<const ProjectState*> pa = FindProject(**again, project_id);
    if (!pa.ok()) return pa.status();
    absl::StatusOr<const neon::Branch*> ba = FindBranch(**pa, branch_id);
    if (ba.ok() && (*ba)->current_state == "init") {
      return absl::FailedPreconditionError(
          StrCat("branch \"", branch,
                 "\" is still being created on Neon (state init); try "
                 "again in a few seconds"));
    }
  }
  const std::string key = StrCat(branch_id, "|", database, "|", role);
  {
    std::lock_guard lock(mu_);
    if (auto it = uris_.find(key); it != uris_.end()) return it->second;
  }
  // The branch's database and its owner, as neonctl picks them: the one
  // database, else the one asked for.
  std::string db = database, owner = role;
  if (db.empty() || owner.empty()) {
    absl::StatusOr<std::vector<neon::Database>> dbs = api_.ListDatabases(project_id, branch_id);
    if (!dbs.ok()) return dbs.status();
    const neon::Database* chosen = nullptr;
    for (const neon::Database& d : *dbs) {
      if ((!db.empty() && d.name == db) || (db.empty() && dbs->size() == 1)) chosen = &d;
    }
    if (db.empty() && !chosen) {
      for (const neon::Database& d : *dbs) {
        if (d.name == "neondb") chosen = &d;
      }
    }
    if (!chosen) {
      std::vector<std::string_view> names;
      for (const neon::Database& d : *dbs) names.push_back(d.name);
      return absl::FailedPreconditionError(StrCat("branch ", branch, " has ", dbs->size(),
                                                  " databases (", Join(names, ", "),
                                                  ") and ds cannot tell which one to use"));
    }
    db = chosen->name;
    if (owner.empty()) owner = chosen->owner_name;
  }
  absl::StatusOr<std::string> uri = api_.GetConnectionUri(project_id, branch_id, db, owner);
  if (!uri.ok()) return uri.status();
  std::lock_guard lock(mu_);
  uris_[key] = *uri;
  return *uri;
}

bool NeonProvider::ResolveMayWait(const common::ConnInfo& conn) {
  if (conn.neon_endpoint_id.empty()) return false;
  std::shared_ptr<const Snapshot> s;
  {
    std::lock_guard lock(mu_);
    s = snapshot_;
  }
  return !s || !FindEndpoint(*s, conn.neon_endpoint_id);
}

absl::StatusOr<std::optional<BranchLocation>> NeonProvider::Resolve(const common::ConnInfo& conn) {
  const std::string& endpoint = conn.neon_endpoint_id;
  if (endpoint.empty()) return std::optional<BranchLocation>();
  std::shared_ptr<const Snapshot> s = Peek();
  if (s) {
    if (std::optional<BranchLocation> found = FindEndpoint(*s, endpoint)) return found;
  }
  // An endpoint made since the last refresh, or a cold provider: the
  // refresher looks (once per endpoint and kMissMemory), and this call
  // waits for it a bounded time. Waiting releases mu_, which no HTTP call
  // holds.
  std::unique_lock lock(mu_);
  const Clock::time_point now = Clock::now();
  for (auto it = misses_.begin(); it != misses_.end();) {
    const bool answered = runs_done_ >= it->second.run;
    it = answered && now - it->second.asked >= kMissMemory ? misses_.erase(it) : std::next(it);
  }
  auto miss = misses_.find(endpoint);
  if (miss == misses_.end()) {
    miss = misses_.emplace(endpoint, Miss{now, RequestRefreshLocked()}).first;
  }
  const Miss m = miss->second;
  refreshed_.wait_until(lock, m.asked + options_.resolve_wait,
                        [&] { return stopping_ || runs_done_ >= m.run; });
  const bool answered = runs_done_ >= m.run;
  const absl::Status last_run = last_run_;
  s = snapshot_;
  lock.unlock();
  if (s) {
    if (std::optional<BranchLocation> found = FindEndpoint(*s, endpoint)) return found;
  }
  if (!answered) {
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - m.asked);
    return absl::UnavailableError(
        StrCat("not resolved yet: dsd is still fetching its Neon data "
               "to look for endpoint ",
               endpoint, " (asked ", waited.count(), " s ago); ask again in a moment"));
  }
  if (!last_run.ok()) {
    return absl::UnavailableError(
        StrCat("not resolved yet: refreshing the Neon data failed: ", last_run.message()));
  }
  return absl::NotFoundError(
      StrCat("Neon endpoint ", endpoint, " was not found in any project this key can see"));
}

ProviderRegistry::Factory NeonProviderFactory(std::filesystem::path cache_dir) {
  ProviderRegistry::Factory f;
  f.instance = [](const common::Config& config) -> absl::StatusOr<std::string> {
    const std::string& key = config.Get("neon_api_key");
    if (key.empty()) {
      return absl::FailedPreconditionError(
          "provider is neon but no Neon API key is set: export NEON_API_KEY, put it in the "
          "workspace .env, or in $XDG_CONFIG_HOME/ds/credentials (mode 0600)");
    }
    const std::string& refresh = config.Get("neon_refresh_seconds");
    char* end = nullptr;
    long seconds = std::strtol(refresh.c_str(), &end, 10);
    if (refresh.empty() || *end != '\0' || seconds < 10) {
      return absl::InvalidArgumentError(StrCat("neon_refresh_seconds is \"", refresh, "\" (",
                                               config.OriginOf("neon_refresh_seconds").location,
                                               "); give a number of seconds, 10 or more"));
    }
    // The instance name must not hold the key itself: a digest of it.
    unsigned char digest[SHA256_DIGEST_LENGTH];
    std::string material =
        StrCat(config.Get("neon_api_host"), "\n", key, "\n", config.Get("neon_org_id"));
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    std::string name = "neon-";
    for (int i = 0; i < 8; ++i) name += absl::StrFormat("%02x", digest[i]);
    return name;
  };
  f.make = [instance = f.instance,
            cache_dir](const common::Config& config) -> std::unique_ptr<Provider> {
    NeonProviderOptions o;
    o.api.base_url = config.Get("neon_api_host");
    o.api.api_key = config.Get("neon_api_key");
    o.org_id = config.Get("neon_org_id");
    o.refresh_interval =
        std::chrono::seconds(std::strtol(config.Get("neon_refresh_seconds").c_str(), nullptr, 10));
    absl::StatusOr<std::string> name = instance(config);
    if (name.ok() && !cache_dir.empty() && common::EnsurePrivateDir(cache_dir).ok()) {
      o.cache_file = cache_dir / StrCat(*name, ".json");
    }
    return std::make_unique<NeonProvider>(std::move(o), http::NewCurlTransport());
  };
  return f;
}

}  // namespace ds::daemon
