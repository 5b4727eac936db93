// A client for the Neon API v2 calls ds needs: projects (cursor pages,
// org_id), branches (their own pages), endpoints, roles and databases,
// connection URIs, branch create / delete / restore and their operations.
//
// Retries: 423 (an operation is running), 429 (rate limit), 503 and
// transport errors are retried with jittered exponential backoff, honouring
// Retry-After, bounded in attempts and in total time. Other errors are
// mapped to the codes of daemon/provider.h with Neon's message and request
// id. The API key goes into the Authorization header and nowhere else.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_API_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_API_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http/http_transport.h"
#include "daemon/providers/neon/neon_types.h"

namespace ds::daemon::neon {

inline constexpr std::string_view kDefaultApiHost = "https://console.neon.tech/api/v2";

struct ApiOptions {
  std::string base_url = std::string(kDefaultApiHost);  // NEON_API_HOST
  std::string api_key;
  int max_attempts = 6;
  std::chrono::milliseconds max_total{45000};  // all attempts of one call
  std::chrono::milliseconds request_timeout{20000};
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{5000};
  // Neon allows 700 requests a minute per account; ds keeps below that,
  // leaving room for the user's other tools (neonctl, the console).
  int max_requests_per_minute = 600;
  std::chrono::milliseconds pace_window{60000};  // "a minute" (tests shorten it)
  // At least this long between two requests: Neon allows bursts of 40 a
  // second per route, and a cold load walks one route for every project.
  std::chrono::milliseconds min_spacing{25};
  // How to wait between attempts (tests pass one that records).
  std::function<void(std::chrono::milliseconds)> sleep;
};

class Api {
 public:
  Api(ApiOptions options, std::shared_ptr<HttpTransport> transport);

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
  absl::StatusOr<BranchMutation> CreateBranch(const std::string& project_id,
                                              const std::string& name, const std::string& parent_id,
                                              bool* adopted);
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
  int64_t requests_sent() const { return requests_.load(); }

 private:
  struct Call {
    std::string method = "GET";
    std::string path;  // after the base URL, query included
    std::string body;
    // Whether a transport error may be retried: a POST may have been
    // carried out before the connection broke.
    bool retry_transport_errors = true;
  };
  absl::StatusOr<HttpResponse> Send(const Call& call);
  absl::StatusOr<std::vector<Project>> ListProjectPages(std::string_view path,
                                                        const std::string& org_id);
  absl::Status ErrorFor(const Call& call, const HttpResponse& r) const;

  // Waits until one more request stays within max_requests_per_minute.
  void Pace();

  ApiOptions options_;
  std::shared_ptr<HttpTransport> transport_;
  std::atomic<int64_t> requests_{0};
  std::mutex pace_mu_;
  std::deque<std::chrono::steady_clock::time_point> recent_;  // last minute's sends
};

// Percent-encodes a query or path component.
std::string UrlEncode(std::string_view s);

}  // namespace ds::daemon::neon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_API_H_
