#include "daemon/external/cognito.h"

#include "common/strings.h"

namespace ds::daemon::external {
namespace {

constexpr std::string_view kTargetPrefix = "AWSCognitoIdentityProviderService.";

bool IsThrottling(std::string_view type) {
  return type == "TooManyRequestsException" || type == "ThrottlingException" ||
         type == "LimitExceededException";
}

bool IsCredentialError(int status, std::string_view type) {
  return status == 403 || type == "UnrecognizedClientException" ||
         type == "InvalidSignatureException" || type == "ExpiredTokenException" ||
         type == "AccessDeniedException" || type == "IncompleteSignature" ||
         type == "MissingAuthenticationToken";
}

}  // namespace

http::ClientOptions CognitoClientOptions() {
  http::ClientOptions o;
  o.retry.max_attempts = 8;
  o.retry.max_total = std::chrono::milliseconds(60000);
  o.retry.backoff_base = std::chrono::milliseconds(250);
  o.retry.backoff_cap = std::chrono::milliseconds(8000);
  o.retry.retry_statuses = {429, 500, 502, 503, 504};
  o.advisor = [](const http::HttpResponse& r, std::chrono::system_clock::time_point) {
    return http::RetryAdvice{r.status == 400 && IsThrottling(AwsErrorType(r)), std::nullopt};
  };
  // Cognito's default quota for user writes (AdminDeleteUser) is 25 requests
  // a second per account; staying at it keeps the user's other tools
  // working and avoids most throttling.
  o.pacing.min_spacing = std::chrono::milliseconds(40);
  return o;
}

CognitoClient::CognitoClient(CognitoOptions options, std::shared_ptr<http::HttpTransport> transport)
    : options_(std::move(options)), client_(options_.client, std::move(transport)) {}

absl::StatusOr<http::HttpResponse> CognitoClient::Call(std::string_view op, std::string body) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = StrCat(options_.endpoint, "/");
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", StrCat(kTargetPrefix, op)}};
  if (!options_.credentials.session_token.empty()) {
    req.headers.emplace_back("X-Amz-Security-Token", options_.credentials.session_token);
  }
  req.body = std::move(body);
  req.timeout = options_.request_timeout;
  req.aws_sigv4 = http::AwsSigV4{options_.region, "cognito-idp", options_.credentials.access_key_id,
                                 options_.credentials.secret_access_key};
  // Every Cognito call here is safe to repeat: a second delete of a user
  // finds it gone, which counts as deleted.
  absl::StatusOr<http::Reply> reply = client_.Send(std::move(req), http::Idempotency::kIdempotent);
  if (!reply.ok()) {
    return absl::UnavailableError(StrCat("Cognito ", op, ": ", reply.status().message(),
                                         "; check the network, or AWS_ENDPOINT_URL"));
  }
  const http::HttpResponse& r = reply->response;
  if (r.status == 200) return r;
  const std::string type = AwsErrorType(r);
  const std::string message = AwsErrorMessage(r.body);
  const std::string detail =
      StrCat(type.empty() ? StrCat("HTTP ", r.status) : type, message.empty() ? "" : ": ", message);
  if (IsCredentialError(r.status, type) || type == "SignatureDoesNotMatch" ||
      type == "InvalidClientTokenId") {
    return absl::PermissionDeniedError(StrCat(
        "AWS refused the credentials from ", options_.credentials.source, " for Cognito ", op, " (",
        detail, "); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"));
  }
  if (type == "NotAuthorizedException") {
    return absl::PermissionDeniedError(StrCat("Cognito ", op, " not allowed (", detail,
                                              "); the credentials' IAM policy must allow it"));
  }
  if (type == "ResourceNotFoundException" || type == "UserNotFoundException") {
    return absl::NotFoundError(StrCat("Cognito ", op, ": ", detail));
  }
  if (IsThrottling(type) || r.status >= 500) {
    return absl::UnavailableError(StrCat("Cognito ", op, " kept failing (", detail, ", ",
                                         reply->Effort(), "); try again later"));
  }
  return absl::FailedPreconditionError(StrCat("Cognito ", op, " failed: ", detail));
}

absl::StatusOr<UserPool> CognitoClient::DescribeUserPool(const std::string& pool_id) {
  absl::StatusOr<http::HttpResponse> r =
      Call("DescribeUserPool", StrCat("{\"UserPoolId\":", JsonQuote(pool_id), "}"));
  if (!r.ok()) {
    if (absl::IsNotFound(r.status())) {
      return absl::NotFoundError(StrCat("Cognito user pool ", pool_id, " not found in region ",
                                        options_.region,
                                        "; check cognito_user_pool_id and "
                                        "aws_region"));
    }
    return r.status();
  }
  return ParseUserPool(r->body);
}

absl::StatusOr<UsersPage> CognitoClient::ListUsers(const std::string& pool_id,
                                                   const std::string& token, int limit) {
  std::string body = StrCat("{\"UserPoolId\":", JsonQuote(pool_id), ",\"Limit\":", limit,
                            ",\"AttributesToGet\":[]");
  if (!token.empty()) StrAppend(&body, ",\"PaginationToken\":", JsonQuote(token));
  body += "}";
  absl::StatusOr<http::HttpResponse> r = Call("ListUsers", std::move(body));
  if (!r.ok()) return r.status();
  return ParseUsersPage(r->body);
}

absl::StatusOr<bool> CognitoClient::AdminDeleteUser(const std::string& pool_id,
                                                    const std::string& username) {
  absl::StatusOr<http::HttpResponse> r = Call(
      "AdminDeleteUser",
      StrCat("{\"UserPoolId\":", JsonQuote(pool_id), ",\"Username\":", JsonQuote(username), "}"));
  if (r.ok()) return true;
  // Gone already (another reset, an admin, a retried request that had
  // landed): the pool is as this call wanted it.
  if (absl::IsNotFound(r.status()) &&
      r.status().message().find("UserNotFoundException") != std::string_view::npos) {
    return false;
  }
  return r.status();
}

}  // namespace ds::daemon::external
