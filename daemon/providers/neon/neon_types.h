// What ds keeps of Neon API v2 objects (only the fields it uses), and the
// pages the list calls return. neon_json.h parses responses into these;
// neon_api.h makes the calls.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_TYPES_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ds::daemon::neon {

struct Project {
  std::string id;
  std::string name;
  std::string region_id;   // "aws-us-east-2"
  std::string org_id;      // empty for a personal project
  std::string created_at;  // RFC 3339
  std::string updated_at;
  std::string proxy_host;  // "us-east-2.aws.neon.tech"
  int pg_version = 0;
};

struct Branch {
  std::string id;          // "br-noisy-breeze-a5e59rrb"
  std::string project_id;
  std::string name;
  std::string parent_id;   // empty for a root branch
  std::string current_state;  // "init", "resetting", "ready", "archived"
  std::string pending_state;
  bool is_default = false;
  bool is_protected = false;
  std::string created_at;
  std::string updated_at;
  std::string created_by;  // created_by.name, when present
  std::string expires_at;  // empty when none
  int64_t logical_size = -1;  // bytes; -1 when absent
};

struct Endpoint {
  std::string id;          // "ep-little-smoke-851426"
  std::string project_id;
  std::string branch_id;
  std::string host;        // "ep-little-smoke-851426.us-east-2.aws.neon.tech"
  std::string type;        // "read_write", "read_only"
  std::string current_state;  // "init", "active", "idle"
  std::string last_active;    // RFC 3339; "" when never
  bool disabled = false;
};

struct Role {
  std::string name;
  bool is_protected = false;
};

struct Database {
  std::string name;
  std::string owner_name;
};

struct Operation {
  std::string id;
  std::string action;  // "create_branch", "start_compute", ...
  std::string status;  // "scheduling", "running", "finished", "failed", ...
  std::string error;
  std::string branch_id;
  std::string endpoint_id;
};

// OperationDone: the operation has ended, well or not ("finished",
// "skipped", "failed", "error", "cancelled"). OperationFailed: it ended
// badly. An unknown status is neither: pollers keep waiting.
bool OperationDone(const Operation& op);
bool OperationFailed(const Operation& op);

struct ConnectionUri {
  std::string uri;  // holds a password: never logged
  std::string role;
  std::string database;
  std::string host;
  std::string pooler_host;
};

struct ProjectsPage {
  std::vector<Project> projects;
  std::string cursor;  // pagination.cursor; empty when absent
  // Projects that exist but did not answer within the list's `timeout`
  // (their details are missing from `projects`): not gone.
  std::vector<std::string> unavailable_project_ids;
};

struct BranchesPage {
  std::vector<Branch> branches;
  std::string next;    // pagination.next; empty when absent
};

// The answer to POST /projects/{p}/branches (and to restore and delete,
// which carry `branch` and `operations` only).
struct BranchMutation {
  Branch branch;
  std::vector<Endpoint> endpoints;
  std::vector<Operation> operations;
  std::vector<ConnectionUri> connection_uris;
};

// Neon's error body {code, message, request_id}.
struct ApiError {
  std::string code;
  std::string message;
  std::string request_id;
};

// What dsd keeps of one account (API host and key): every project with its
// branches and endpoints, as of `fetched_unix_ms`.
struct ProjectState {
  Project project;
  std::vector<Branch> branches;
  std::vector<Endpoint> endpoints;
  bool loaded = true;  // false: branches and endpoints not fetched yet
};
struct AccountSnapshot {
  std::vector<ProjectState> projects;
  int64_t fetched_unix_ms = 0;
};

}  // namespace ds::daemon::neon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_TYPES_H_
