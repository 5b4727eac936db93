// Amazon Cognito user pools, the three calls the reset needs, over AWS's
// JSON 1.1 protocol (POST /, X-Amz-Target:
// AWSCognitoIdentityProviderService.<Op>) signed with SigV4 by libcurl.
// Throttling (TooManyRequestsException, a 400) and 5xx answers are retried
// with backoff; a refused signature or key is reported at once.
#ifndef DS_DAEMON_EXTERNAL_COGNITO_H_
#define DS_DAEMON_EXTERNAL_COGNITO_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/external/aws_config.h"
#include "daemon/external/cognito_answers.h"
#include "daemon/http/http_client.h"

namespace ds::daemon::external {

// Cognito's largest ListUsers page.
inline constexpr int kCognitoMaxPage = 60;

// Retries (throttling, 5xx) and pacing for Cognito.
http::ClientOptions CognitoClientOptions();

struct CognitoOptions {
  std::string endpoint;  // "https://cognito-idp.us-east-1.amazonaws.com"
  std::string region;
  AwsCredentials credentials;
  http::ClientOptions client = CognitoClientOptions();
  std::chrono::milliseconds request_timeout{30000};
};

class CognitoClient {
 public:
  CognitoClient(CognitoOptions options, std::shared_ptr<http::HttpTransport> transport);

  // NotFound for an unknown pool.
  absl::StatusOr<UserPool> DescribeUserPool(const std::string& pool_id);
  // One page of user names (no attributes: the reset needs none).
  absl::StatusOr<UsersPage> ListUsers(const std::string& pool_id, const std::string& token,
                                      int limit = kCognitoMaxPage);
  // True when this call deleted the user, false when it was already gone:
  // both leave the pool without it.
  absl::StatusOr<bool> AdminDeleteUser(const std::string& pool_id, const std::string& username);

  int64_t requests_sent() const { return client_.requests_sent(); }

 private:
  // The answer's body, or the error mapped from AWS's `__type`.
  absl::StatusOr<http::HttpResponse> Call(std::string_view op, std::string body);

  const CognitoOptions options_;
  http::Client client_;
};

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_COGNITO_H_
