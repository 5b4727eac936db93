// A client for the Neon API v2 calls ds needs: projects (cursor pages,
// org_id), branches (their own pages), endpoints, roles and databases,
// connection URIs, branch create / delete / restore and their operations.
//
// Retries and pacing are daemon/http's (http::Client); Neon's part is the
// policy's numbers: 423 (an operation is running on the project), 429 and
// 503 are retried; at most 600 requests a minute, 25 ms apart. Errors are
// mapped to the codes of daemon/providers/provider.h with Neon's message and
// request id. The API key goes into the Authorization header and nowhere
// else.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_API_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_API_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http/http_client.h"
#include "daemon/providers/neon/neon_types.h"

namespace ds::daemon::neon {

inline constexpr std::string_view kDefaultApiHost = "https://console.neon.tech/api/v2";

// What Neon asks of a client: the retry policy and pacing below, and an
// X-Request-ID on every attempt.
http::ClientOptions NeonClientOptions();

struct ApiOptions {
  std::string base_url = std::string(kDefaultApiHost);  // NEON_API_HOST
  std::string api_key;
  std::chrono::milliseconds request_timeout{20000};  // one attempt
  http::ClientOptions client = NeonClientOptions();
};

class Api {
 public:
  Api(ApiOptions options, std::shared_ptr<http::HttpTransport> transport);

  // Every project the key sees (all pages). `org_id` narrows to one
  // organization; a personal key in several organizations must give one.
  absl::StatusOr<std::vector<Project>> ListProjects(const std::string& org_id = "");
  // Projects other accounts shared with this key's user (GET /projects/shared).
  absl::StatusOr<std::vector<Project>> ListSharedProjects();
  absl::StatusOr<Project> GetProject(const std::string& project_id);
  absl::StatusOr<std::vector<Branch>> ListBranches(const std::string& project_id);
  absl::StatusOr<std::vector<Endpoint>> ListEndpoints(const std::string& project_id);
  absl::StatusOr<std::vector<Role>> ListRoles(const std::string& project_id,
                                              const std::string& branch_id);
  absl::StatusOr<std::vector<Database>> ListDatabases(const std::string& project_id,
                                                      const std::string& branch_id);
  absl::StatusOr<std::string> GetConnectionUri(const std::string& project_id,
                                               const std::string& branch_id,
                                               const std::string& database, const std::string& role,
                                               bool pooled = false);
  // Creates `name` from `parent_id` with a read_write endpoint. A branch of
  // that name that already exists is adopted: `adopted` is set and the
  // mutation carries the existing branch and its endpoints, no operations.
  // `expires_at` (RFC 3339, optional) makes Neon delete the branch then.
  absl::StatusOr<BranchMutation> CreateBranch(const std::string& project_id,
                                              const std::string& name, const std::string& parent_id,
                                              bool* adopted, const std::string& expires_at = "");
  // PATCH …/branches/{b} {branch:{expires_at}}; "" sends null, which
  // removes the expiry.
  absl::StatusOr<BranchMutation> SetBranchExpiry(const std::string& project_id,
                                                 const std::string& branch_id,
                                                 const std::string& expires_at);
  // A branch that is already gone (204) yields an empty mutation.
  absl::StatusOr<BranchMutation> DeleteBranch(const std::string& project_id,
                                              const std::string& branch_id);
  // Replaces the branch's data with `source_branch_id`'s (its parent for a
  // reset).
  absl::StatusOr<BranchMutation> RestoreBranch(const std::string& project_id,
                                               const std::string& branch_id,
                                               const std::string& source_branch_id);
  absl::StatusOr<Operation> GetOperation(const std::string& project_id,
                                         const std::string& operation_id);

  // Requests sent so far (attempts included).
  int64_t requests_sent() const { return client_.requests_sent(); }

 private:
  struct Call {
    std::string method = "GET";
    std::string path;  // after the base URL, query included
    std::string body;
    http::Idempotency idempotency = http::Idempotency::kByMethod;
  };
  absl::StatusOr<http::Reply> Send(const Call& call);
  absl::StatusOr<std::vector<Project>> ListProjectPages(std::string_view path,
                                                        const std::string& org_id);
  absl::Status ErrorFor(const Call& call, const http::Reply& reply) const;

  ApiOptions options_;
  http::Client client_;
};

}  // namespace ds::daemon::neon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_API_H_
