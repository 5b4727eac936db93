// Parses Neon API v2 response bodies into the structs of neon_types.h.
//
// Tolerant of what the API adds: unknown fields are ignored, and optional
// fields may be missing or null (they keep the struct's default). Strict
// about what ds cannot do without: a missing or null required field, or a
// known field of the wrong type, is an error. The required fields are listed
// at each reader in neon_json.cc; beyond ids and names they are the ones
// whose default would be a lie that matters (a branch's `default`, or the
// older `primary`; an operation's `status`).
//
// Errors:
//   kDataLoss         the body is not JSON (empty, truncated, an HTML page):
//                     usually a response cut short, so a GET may be retried;
//   kInvalidArgument  well-formed JSON that is not the expected shape.
// Messages never quote the body or any value from it other than ids and
// names: bodies may hold passwords (connection_uris, reveal_password).
//
// The parse reuses a thread-local simdjson parser (documents over 256 KiB get
// a one-off parser, so a huge page does not pin memory for the thread's
// life). Empty 204 bodies are the caller's business: check the status first.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_JSON_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_JSON_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/providers/neon/neon_types.h"

namespace ds::daemon::neon {

// GET /projects and GET /projects/shared: {projects, pagination?:{cursor},
// unavailable_project_ids?}. An empty account has no `pagination`.
absl::StatusOr<ProjectsPage> ParseProjectsPage(std::string_view json);

// GET /projects/{p}: {project}.
absl::StatusOr<Project> ParseProject(std::string_view json);

// GET /projects/{p}/branches: {branches, annotations, pagination?:{next?,
// sort_by, sort_order}}.
absl::StatusOr<BranchesPage> ParseBranchesPage(std::string_view json);

// GET /projects/{p}/branches/{b}: {branch, annotation?}; also PATCH's
// {branch, operations} when only the branch matters.
absl::StatusOr<Branch> ParseBranch(std::string_view json);

// GET /projects/{p}/endpoints and …/branches/{b}/endpoints: {endpoints}.
// `last_active` "2000-01-01T00:00:00Z" (Neon's "never") becomes "".
absl::StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view json);

// GET …/branches/{b}/roles: {roles} (any `password` in it is not kept).
absl::StatusOr<std::vector<Role>> ParseRoles(std::string_view json);

// GET …/branches/{b}/databases: {databases}.
absl::StatusOr<std::vector<Database>> ParseDatabases(std::string_view json);

// GET /projects/{p}/operations/{id}: {operation}.
absl::StatusOr<Operation> ParseOperation(std::string_view json);

// POST …/branches (201), DELETE …/branches/{b} (200), POST …/restore:
// {branch, operations, endpoints?, connection_uris?}.
absl::StatusOr<BranchMutation> ParseBranchMutation(std::string_view json);

// GET /projects/{p}/connection_uri: {uri}. The result holds a password.
absl::StatusOr<std::string> ParseConnectionUri(std::string_view json);

// GET …/roles/{r}/reveal_password: {password}.
absl::StatusOr<std::string> ParseRevealedPassword(std::string_view json);

// Neon's error body {code, message, request_id?}; nullopt when `json` is not
// that shape (not JSON, an HTML page from a proxy, no string `message`).
// `code` may be "" or absent.
std::optional<ApiError> ParseApiError(std::string_view json);

}  // namespace ds::daemon::neon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_JSON_H_
