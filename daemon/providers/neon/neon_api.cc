#include "daemon/providers/neon/neon_api.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "daemon/providers/neon/neon_json.h"

namespace ds::daemon::neon {
namespace {

// Page sizes: the largest Neon allows, so that most listings are one page.
constexpr int kProjectsPageLimit = 400;
constexpr int kBranchesPageLimit = 1000;
// A cursor that never ends (a server bug) must not loop for ever.
constexpr int kMaxPages = 1000;

const char* Why(int status) {
  switch (status) {
    case 423: return "another operation is running on the project";
    case 429: return "rate limit";
    case 503: return "service unavailable";
    default: return "";
  }
}

// The API's answer did not parse: say which call (the parser's message
// says what was wrong, never quoting the body).
absl::Status Malformed(std::string_view what, const absl::Status& s) {
  return absl::Status(s.code(),
                      StrCat(what, ": ", s.message(), "; try again, and report it if it persists"));
}

ApiOptions WithoutTrailingSlash(ApiOptions o) {
  while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
  return o;
}

}  // namespace

http::ClientOptions NeonClientOptions() {
  http::ClientOptions o;
  o.retry.max_attempts = 6;
  o.retry.max_total = std::chrono::milliseconds(45000);
  o.retry.backoff_base = std::chrono::milliseconds(200);
  o.retry.backoff_cap = std::chrono::milliseconds(5000);
  // 423: Neon runs one operation per project at a time and refuses others
  // meanwhile; they go through once it ends.
  o.retry.retry_statuses = {423, 429, 503};
  // Neon allows 700 requests a minute per account; ds keeps below that,
  // leaving room for the user's other tools (neonctl, the console).
  o.pacing.max_per_window = 600;
  o.pacing.window = std::chrono::milliseconds(60000);
  // At least this long between two requests: Neon allows bursts of 40 a
  // second per route, and a cold load walks one route for every project.
  o.pacing.min_spacing = std::chrono::milliseconds(25);
  o.request_id_header = "X-Request-ID";
  return o;
}

Api::Api(ApiOptions options, std::shared_ptr<http::HttpTransport> transport)
    : options_(WithoutTrailingSlash(std::move(options))),
      client_(options_.client, std::move(transport)) {}

absl::StatusOr<http::Reply> Api::Send(const Call& call) {
  http::HttpRequest req;
  req.method = call.method;
  req.url = StrCat(options_.base_url, call.path);
  req.headers = {{"Authorization", StrCat("Bearer ", options_.api_key)},
                 {"Accept", "application/json"}};
  if (!call.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = call.body;
  req.timeout = options_.request_timeout;
  absl::StatusOr<http::Reply> r = client_.Send(std::move(req), call.idempotency);
  if (!r.ok()) {
    return absl::UnavailableError(
        StrCat(r.status().message(), "; check the network, or NEON_API_HOST"));
  }
  return r;
}

absl::Status Api::ErrorFor(const Call& call, const http::Reply& reply) const {
  const http::HttpResponse& r = reply.response;
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
  if (options_.client.retry.RetriesStatus(r.status)) {
    return absl::UnavailableError(StrCat("Neon kept answering ", r.status, " (", Why(r.status),
                                         ") to ", what, " after ", reply.Effort(), ": ", message,
                                         suffix, "; try again in a minute"));
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
                       org_id.empty() ? "" : StrCat("&org_id=", PercentEncode(org_id)),
                       cursor.empty() ? "" : StrCat("&cursor=", PercentEncode(cursor)));
    absl::StatusOr<http::Reply> r = Send(call);
    if (!r.ok()) return r.status();
    if (r->response.status != 200) return ErrorFor(call, *r);
    absl::StatusOr<ProjectsPage> p = ParseProjectsPage(r->response.body);
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
  call.path = StrCat("/projects/", PercentEncode(project_id));
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<Project> p = ParseProject(r->response.body);
  if (!p.ok()) return Malformed("GET /projects/{id}", p.status());
  return p;
}

absl::StatusOr<std::vector<Branch>> Api::ListBranches(const std::string& project_id) {
  std::vector<Branch> out;
  std::string cursor;
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    Call call;
    call.path =
        StrCat("/projects/", PercentEncode(project_id), "/branches?limit=", kBranchesPageLimit,
               cursor.empty() ? "" : StrCat("&cursor=", PercentEncode(cursor)));
    absl::StatusOr<http::Reply> r = Send(call);
    if (!r.ok()) return r.status();
    if (r->response.status != 200) return ErrorFor(call, *r);
    absl::StatusOr<BranchesPage> p = ParseBranchesPage(r->response.body);
    if (!p.ok()) return Malformed("GET /projects/{id}/branches", p.status());
    for (Branch& b : p->branches) out.push_back(std::move(b));
    if (p->branches.empty() || p->next.empty() || !seen.insert(p->next).second) break;
    cursor = p->next;
  }
  return out;
}

absl::StatusOr<std::vector<Endpoint>> Api::ListEndpoints(const std::string& project_id) {
  Call call;
  call.path = StrCat("/projects/", PercentEncode(project_id), "/endpoints");
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Endpoint>> e = ParseEndpoints(r->response.body);
  if (!e.ok()) return Malformed("GET /projects/{id}/endpoints", e.status());
  return e;
}

absl::StatusOr<std::vector<Role>> Api::ListRoles(const std::string& project_id,
                                                 const std::string& branch_id) {
  Call call;
  call.path = StrCat("/projects/", PercentEncode(project_id), "/branches/",
                     PercentEncode(branch_id), "/roles");
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Role>> roles = ParseRoles(r->response.body);
  if (!roles.ok()) return Malformed("GET …/roles", roles.status());
  return roles;
}

absl::StatusOr<std::vector<Database>> Api::ListDatabases(const std::string& project_id,
                                                         const std::string& branch_id) {
  Call call;
  call.path = StrCat("/projects/", PercentEncode(project_id), "/branches/",
                     PercentEncode(branch_id), "/databases");
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::vector<Database>> dbs = ParseDatabases(r->response.body);
  if (!dbs.ok()) return Malformed("GET …/databases", dbs.status());
  return dbs;
}

absl::StatusOr<std::string> Api::GetConnectionUri(const std::string& project_id,
                                                  const std::string& branch_id,
                                                  const std::string& database,
                                                  const std::string& role, bool pooled) {
  Call call;
  call.path = StrCat("/projects/", PercentEncode(project_id),
                     "/connection_uri?branch_id=", PercentEncode(branch_id),
                     "&database_name=", PercentEncode(database), "&role_name=", PercentEncode(role),
                     "&pooled=", pooled ? "true" : "false");
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<std::string> uri = ParseConnectionUri(r->response.body);
  if (!uri.ok()) return Malformed("GET …/connection_uri", uri.status());
  return uri;
}

absl::StatusOr<BranchMutation> Api::CreateBranch(const std::string& project_id,
                                                 const std::string& name,
                                                 const std::string& parent_id, bool* adopted,
                                                 const std::string& expires_at) {
  if (adopted) *adopted = false;
  Call call;
  call.method = "POST";
  call.path = StrCat("/projects/", PercentEncode(project_id), "/branches");
  call.body = StrCat("{\"branch\":{\"name\":", JsonQuote(name),
                     parent_id.empty() ? "" : StrCat(",\"parent_id\":", JsonQuote(parent_id)),
                     expires_at.empty() ? "" : StrCat(",\"expires_at\":", JsonQuote(expires_at)),
                     "},\"endpoints\":[{\"type\":\"read_write\"}]}");
  // Create is idempotent through the 409 below, so a broken connection may
  // be retried: a create that did happen is adopted on the next attempt.
  call.idempotency = http::Idempotency::kIdempotent;
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status == 201 || r->response.status == 200) {
    absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->response.body);
    if (!m.ok()) return Malformed("POST /projects/{id}/branches", m.status());
    return m;
  }
  if (r->response.status != 409) return ErrorFor(call, *r);
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

absl::StatusOr<BranchMutation> Api::SetBranchExpiry(const std::string& project_id,
                                                    const std::string& branch_id,
                                                    const std::string& expires_at) {
  Call call;
  call.method = "PATCH";
  call.path =
      StrCat("/projects/", PercentEncode(project_id), "/branches/", PercentEncode(branch_id));
  call.body = StrCat("{\"branch\":{\"expires_at\":",
                     expires_at.empty() ? std::string("null") : JsonQuote(expires_at), "}}");
  // Setting the same value twice is harmless.
  call.idempotency = http::Idempotency::kIdempotent;
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->response.body);
  if (!m.ok()) return Malformed("PATCH /projects/{id}/branches/{id}", m.status());
  return m;
}

absl::StatusOr<BranchMutation> Api::DeleteBranch(const std::string& project_id,
                                                 const std::string& branch_id) {
  Call call;
  call.method = "DELETE";
  call.path =
      StrCat("/projects/", PercentEncode(project_id), "/branches/", PercentEncode(branch_id));
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status == 204) return BranchMutation{};
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->response.body);
  if (!m.ok()) return Malformed("DELETE /projects/{id}/branches/{id}", m.status());
  return m;
}

absl::StatusOr<BranchMutation> Api::RestoreBranch(const std::string& project_id,
                                                  const std::string& branch_id,
                                                  const std::string& source_branch_id) {
  Call call;
  call.method = "POST";
  call.path = StrCat("/projects/", PercentEncode(project_id), "/branches/",
                     PercentEncode(branch_id), "/restore");
  call.body = StrCat("{\"source_branch_id\":", JsonQuote(source_branch_id), "}");
  call.idempotency = http::Idempotency::kNotIdempotent;  // a second restore is a second one
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200 && r->response.status != 201) return ErrorFor(call, *r);
  absl::StatusOr<BranchMutation> m = ParseBranchMutation(r->response.body);
  if (!m.ok()) return Malformed("POST …/restore", m.status());
  return m;
}

absl::StatusOr<Operation> Api::GetOperation(const std::string& project_id,
                                            const std::string& operation_id) {
  Call call;
  call.path =
      StrCat("/projects/", PercentEncode(project_id), "/operations/", PercentEncode(operation_id));
  absl::StatusOr<http::Reply> r = Send(call);
  if (!r.ok()) return r.status();
  if (r->response.status != 200) return ErrorFor(call, *r);
  absl::StatusOr<Operation> op = ParseOperation(r->response.body);
  if (!op.ok()) return Malformed("GET …/operations/{id}", op.status());
  return op;
}

}  // namespace ds::daemon::neon
