#include "daemon/providers/neon/neon_api.h"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "daemon/providers/neon/neon_json.h"

namespace ds::daemon::neon {
namespace {

using Clock = std::chrono::steady_clock;

// Page sizes: the largest Neon allows, so that most listings are one page.
constexpr int kProjectsPageLimit = 400;
constexpr int kBranchesPageLimit = 1000;
// A cursor that never ends (a server bug) must not loop for ever.
constexpr int kMaxPages = 1000;

bool Retryable(int status) { return status == 423 || status == 429 || status == 503; }

const char* Why(int status) {
  switch (status) {
    case 423: return "another operation is running on the project";
    case 429: return "rate limit";
    case 503: return "service unavailable";
    default: return "";
  }
}

std::string RandomRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("ds-%016x", rng());
}

std::chrono::milliseconds Jittered(std::chrono::milliseconds ceiling) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // "Equal jitter": at least half the backoff, so retries never bunch up
  // at zero, and a random rest so that clients spread out.
  int64_t half = ceiling.count() / 2;
  std::uniform_int_distribution<int64_t> d(0, std::max<int64_t>(half, 0));
  return std::chrono::milliseconds(half + d(rng));
}

// Retry-After as seconds (HTTP dates are not used by Neon's edge).
std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& r) {
  auto it = r.headers.find("retry-after");
  if (it == r.headers.end()) return std::nullopt;
  char* end = nullptr;
  double seconds = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// The API's answer did not parse: say which call (the parser's message
// says what was wrong, never quoting the body).
absl::Status Malformed(std::string_view what, const absl::Status& s) {
  return absl::Status(s.code(),
                      StrCat(what, ": ", s.message(), "; try again, and report it if it persists"));
}

}  // namespace

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

Api::Api(ApiOptions options, std::shared_ptr<HttpTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

void Api::Pace() {
  std::unique_lock lock(pace_mu_);
  if (!recent_.empty() && options_.min_spacing.count() > 0) {
    auto since = Clock::now() - recent_.back();
    if (since < options_.min_spacing) {
      auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.min_spacing - since);
      lock.unlock();
      options_.sleep(std::max(wait, std::chrono::milliseconds(1)));
      lock.lock();
    }
  }
  if (options_.max_requests_per_minute <= 0) {
    recent_.push_back(Clock::now());
    if (recent_.size() > 1) recent_.pop_front();
    return;
  }
  for (;;) {
    const Clock::time_point now = Clock::now();
    while (!recent_.empty() && now - recent_.front() >= options_.pace_window) {
      recent_.pop_front();
    }
    if (static_cast<int>(recent_.size()) < options_.max_requests_per_minute) {
      recent_.push_back(now);
      return;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(recent_.front() +
                                                                      options_.pace_window - now);
    lock.unlock();
    options_.sleep(std::max(wait, std::chrono::milliseconds(1)));
    lock.lock();
  }
}

absl::StatusOr<HttpResponse> Api::Send(const Call& call) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options_.max_total;
  std::optional<HttpResponse> last_response;
  absl::Status last_error;
  int attempt = 0;
  while (true) {
    ++attempt;
    HttpRequest req;
    req.method = call.method;
    req.url = StrCat(options_.base_url, call.path);
    req.headers = {{"Authorization", StrCat("Bearer ", options_.api_key)},
                   {"Accept", "application/json"},
                   {"X-Request-ID", RandomRequestId()}};
    if (!call.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = call.body;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    req.timeout =
        std::max(std::min(options_.request_timeout, left), std::chrono::milliseconds(1000));
    Pace();
    ++requests_;
    absl::StatusOr<HttpResponse> r = transport_->Send(req);
    bool retry;
    std::optional<std::chrono::milliseconds> server_delay;
    if (!r.ok()) {
      last_error = r.status();
      last_response.reset();
      retry = call.retry_transport_errors;
    } else {
      if (!Retryable(r->status)) return r;
      server_delay = RetryAfter(*r);
      last_response = std::move(*r);
      retry = true;
    }
    if (!retry || attempt >= options_.max_attempts) break;
    auto backoff = std::min(options_.backoff_cap,
                            options_.backoff_base * (int64_t{1} << std::min(attempt - 1, 20)));
    std::chrono::milliseconds delay = Jittered(backoff);
    if (server_delay) delay = std::max(delay, *server_delay);
    if (Clock::now() + delay >= deadline) break;
    options_.sleep(delay);
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  if (last_response) {
    HttpResponse out = std::move(*last_response);
    // The caller maps it; note how hard we tried.
    out.headers["x-ds-attempts"] = absl::StrFormat("%d attempts over %.1f s", attempt, took);
    return out;
  }
  return absl::UnavailableError(
      StrCat(last_error.message(),
             attempt > 1 ? absl::StrFormat(" (%d attempts over %.1f s)", attempt, took) : "",
             "; check the network, or NEON_API_HOST"));
}

absl::Status Api::ErrorFor(const Call& call, const HttpResponse& r) const {
  std::optional<ApiError> e = ParseApiError(r.body);
  std::string message = e && !e->message.empty() ? e->message : StrCat("HTTP ", r.status);
  std::string request_id = e ? e->request_id : "";
  if (request_id.empty()) {
    if (auto it = r.headers.find("x-neon-ret-request-id"); it != r.headers.end()) {
      request_id = it->second;
    }
  }
  std::string suffix = request_id.empty() ? "" : StrCat(" (Neon request id ", request_id, ")");
  std::string what = StrCat(call.method, " ", call.path.substr(0, call.path.find('?')));
  switch (r.status) {
    case 401:
      return absl::UnauthenticatedError(
          StrCat("NEON_API_KEY is invalid or expired (Neon: ", message, ")", suffix,
                 "; create a key in the Neon console under Account settings > API keys"));
    case 403:
      return absl::PermissionDeniedError(
          StrCat("the Neon API key may not do this (", what, "): ", message, suffix));
    case 404: return absl::NotFoundError(StrCat("Neon: ", message, suffix));
    case 409: return absl::AlreadyExistsError(StrCat("Neon: ", message, suffix));
    default: break;
  }
  if (Retryable(r.status)) {
    auto it = r.headers.find("x-ds-attempts");
    return absl::UnavailableError(StrCat("Neon kept answering ", r.status, " (", Why(r.status),
                                         ") to ", what,
                                         it == r.headers.end() ? "" : StrCat(" after ", it->second),
                                         ": ", message, suffix, "; try again in a minute"));
  }
  if (r.status == 400 && message.find("org_id is required") != std::string::npos) {
    return absl::FailedPreconditionError(
        StrCat("this Neon API key belongs to several organizations, and Neon needs to know which: "
               "set neon_org_id = \"org-...\" in ds.toml (or NEON_ORG_ID), or use an organization "
               "API key (Neon: ",
               message, ")", suffix));
  }
  if (r.status >= 500) {
    return absl::UnavailableError(StrCat("Neon failed on ", what, ": ", message, suffix));
  }
  return absl::FailedPreconditionError(StrCat("Neon refused ", what, ": ", message, suffix));
}

absl::StatusOr<std::vector<Project>> Api::ListProjects(const std::string& org_id) {
  return ListProjectPages("/projects", org_id);
}

absl::StatusOr<std::vector<Project>> Api::ListSharedProjects() {
  return ListProjectPages("/projects/shared", "");
}

absl::StatusOr<std::vector<Project>> Api::ListProjectPages(std::string_view path,
                                                           const std::string& org_id) {
  std::vector<Project> out;
  std::string cursor;
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    Call call;
    call.path = StrCat(path, "?limit=", kProjectsPageLimit,
                       org_id.empty() ? "" : StrCat("&org_id=", UrlEncode(org_id)),
                       cursor.empty() ? "" : StrCat("&cursor=", UrlEncode(cursor)));
    absl::StatusOr<HttpResponse> r = Send(call);
    if (!r.ok()) return r.status();
    if (r->status != 200) return ErrorFor(call, *r);
    absl::StatusOr<ProjectsPage> p = ParseProjectsPage(r->body);
    if (!p.ok()) return Malformed(StrCat("GET ", path), p.status());
    if (!p->unavailable_project_ids.empty()) {
      // Neon timed out on some projects: a list without them would read as
      // "deleted" to a cache or an audit. Fail; the caller keeps what it had.
      std::vector<std::string_view> ids(p->unavailable_project_ids.begin(),
                                        p->unavailable_project_ids.end());
      return absl::UnavailableError(StrCat("Neon could not list every project in time (",
                                           Join(ids, ", "), " missing); try again"));
    }
    for (Project& project : p->projects) out.push_back(std::move(project));
    // Follow the cursor until an empty page: a short page does not prove
    // the end (the server may cap page sizes below the limit asked for).
    if (p->projects.empty() || p->cursor.empty() || !seen.insert(p->cursor).second) break;
    cursor = p->cursor;
  }
  return out;
}

absl::StatusOr<Project> Api::GetProject(const std::string& project_id) {
  Call call;
  call.path = StrCat("/projects/", UrlEncode(project_id));
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<Project> p = ParseProject(r->body);
  if (!p.ok()) return Malformed("GET /projects/{id}", p.status());
  return p;
}

absl::StatusOr<std::vector<Branch>> Api::ListBranches(const std::string& project_id) {
  std::vector<Branch> out;
  std::string cursor;
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    Call call;
    call.path = StrCat("/projects/", UrlEncode(project_id), "/branches?limit=", kBranchesPageLimit,
                       cursor.empty() ? "" : StrCat("&cursor=", UrlEncode(cursor)));
    absl::StatusOr<HttpResponse> r = Send(call);
    if (!r.ok()) return r.status();
    if (r->status != 200) return ErrorFor(call, *r);
    absl::StatusOr<BranchesPage> p = ParseBranchesPage(r->body);
    if (!p.ok()) return Malformed("GET /projects/{id}/branches", p.status());
    for (Branch& b : p->branches) out.push_back(std::move(b));
    if (p->branches.empty() || p->next.empty() || !seen.insert(p->next).second) break;
    cursor = p->next;
  }
  return out;
}

absl::StatusOr<std::vector<Endpoint>> Api::ListEndpoints(const std::string& project_id) {
  Call call;
  call.path = StrCat("/projects/", UrlEncode(project_id), "/endpoints");
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Endpoint>> e = ParseEndpoints(r->body);
  if (!e.ok()) return Malformed("GET /projects/{id}/endpoints", e.status());
  return e;
}

absl::StatusOr<std::vector<Role>> Api::ListRoles(const std::string& project_id,
                                                 const std::string& branch_id) {
  Call call;
  call.path =
      StrCat("/projects/", UrlEncode(project_id), "/branches/", UrlEncode(branch_id), "/roles");
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Role>> roles = ParseRoles(r->body);
  if (!roles.ok()) return Malformed("GET …/roles", roles.status());
  return roles;
}

absl::StatusOr<std::vector<Database>> Api::ListDatabases(const std::string& project_id,
                                                         const std::string& branch_id) {
  Call call;
  call.path =
      StrCat("/projects/", UrlEncode(project_id), "/branches/", UrlEncode(branch_id), "/databases");
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Database>> dbs = ParseDatabases(r->body);
  if (!dbs.ok()) return Malformed("GET …/databases", dbs.status());
  return dbs;
}

absl::StatusOr<std::string> Api::GetConnectionUri(const std::string& project_id,
                                                  const std::string& branch_id,
                                                  const std::string& database,
                                                  const std::string& role, bool pooled) {
  Call call;
  call.path = StrCat("/projects/", UrlEncode(project_id),
                     "/connection_uri?branch_id=", UrlEncode(branch_id),
                     "&database_name=", UrlEncode(database), "&role_name=", UrlEncode(role),
                     "&pooled=", pooled ? "true" : "false");
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::string> uri = ParseConnectionUri(r->body);
  if (!uri.ok()) return Malformed("GET …/connection_uri", uri.status());
  return uri;
}

absl::StatusOr<BranchMutation> Api::CreateBranch(const std::string& project_id,
                                                 const std::string& name,
                                                 const std::string& parent_id, bool* adopted) {
  if (adopted) *adopted = false;
  Call call;
  call.method = "POST";
  call.path = StrCat("/projects/", UrlEncode(project_id), "/branches");
  call.body = StrCat("{\"branch\":{\"name\":", JsonQuote(name),
                     parent_id.empty() ? "" : StrCat(",\"parent_id\":", JsonQuote(parent_id)),
                     "},\"endpoints\":[{\"type\":\"read_write\"}]}");
  // Create is idempotent through the 409 below, so a broken connection may
  // be retried: a create that did happen is adopted on the next attempt.
  call.retry_transport_errors = true;
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status == 201 || r->status == 200) {
    absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->body);
    if (!m.ok()) return Malformed("POST /projects/{id}/branches", m.status());
    return m;
  }
  if (r->status != 409) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Branch>> branches = ListBranches(project_id);
  if (!branches.ok()) return branches.status();
  auto it = std::find_if(branches->begin(), branches->end(),
                         [&](const Branch& b) { return b.name == name; });
  if (it == branches->end()) return ErrorFor(call, *r);  // a 409 about something else
  BranchMutation m;
  m.branch = *it;
  absl::StatusOr<std::vector<Endpoint>> endpoints = ListEndpoints(project_id);
  if (!endpoints.ok()) return endpoints.status();
  for (Endpoint& e : *endpoints) {
    if (e.branch_id == m.branch.id) m.endpoints.push_back(std::move(e));
  }
  if (adopted) *adopted = true;
  return m;
}

absl::StatusOr<BranchMutation> Api::DeleteBranch(const std::string& project_id,
                                                 const std::string& branch_id) {
  Call call;
  call.method = "DELETE";
  call.path = StrCat("/projects/", UrlEncode(project_id), "/branches/", UrlEncode(branch_id));
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status == 204) return BranchMutation{};
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->body);
  if (!m.ok()) return Malformed("DELETE /projects/{id}/branches/{id}", m.status());
  return m;
}

absl::StatusOr<BranchMutation> Api::RestoreBranch(const std::string& project_id,
                                                  const std::string& branch_id,
                                                  const std::string& source_branch_id) {
  Call call;
  call.method = "POST";
  call.path =
      StrCat("/projects/", UrlEncode(project_id), "/branches/", UrlEncode(branch_id), "/restore");
  call.body = StrCat("{\"source_branch_id\":", JsonQuote(source_branch_id), "}");
  call.retry_transport_errors = false;  // a second restore is a second restore
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201) return ErrorFor(call, *r);
  absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->body);
  if (!m.ok()) return Malformed("POST …/restore", m.status());
  return m;
}

absl::StatusOr<Operation> Api::GetOperation(const std::string& project_id,
                                            const std::string& operation_id) {
  Call call;
  call.path = StrCat("/projects/", UrlEncode(project_id), "/operations/", UrlEncode(operation_id));
  absl::StatusOr<HttpResponse> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return ErrorFor(call, *r);
  absl::StatusOr<Operation> op = ParseOperation(r->body);
  if (!op.ok()) return Malformed("GET …/operations/{id}", op.status());
  return op;
}

}  // namespace ds::daemon::neon
