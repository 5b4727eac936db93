// Reading Cognito's answers (AWS JSON 1.1): a user pool, a page of users,
// and the type and message of an error. Kept apart from the HTTP client
// (cognito.h) so that the fuzz target (tests/fuzz/fuzz_cognito) compiles
// them alone. Errors are kDataLoss, naming the answer and the field, never
// quoting the body.
#ifndef DS_DAEMON_EXTERNAL_COGNITO_ANSWERS_H_
#define DS_DAEMON_EXTERNAL_COGNITO_ANSWERS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http/http_transport.h"

namespace ds::daemon::external {

struct UserPool {
  std::string id;
  std::string name;
  int64_t estimated_users = 0;
  std::map<std::string, std::string> tags;
};

struct UsersPage {
  std::vector<std::string> usernames;
  std::string next_token;  // empty on the last page
};

// DescribeUserPool's answer.
absl::StatusOr<UserPool> ParseUserPool(std::string_view json);
// ListUsers' answer.
absl::StatusOr<UsersPage> ParseUsersPage(std::string_view json);

// AWS's error type from a JSON 1.1 answer ("TooManyRequestsException"),
// without the namespace some services prefix it with; empty when absent.
std::string AwsErrorType(const http::HttpResponse& response);
// The answer's `message` (or `Message`); empty when absent.
std::string AwsErrorMessage(std::string_view body);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_COGNITO_ANSWERS_H_
