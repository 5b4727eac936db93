// HTTP for dsd's API clients, behind a small interface: the I/O seam that
// lets unit tests script responses, while the integration tests run the real
// implementation against the API doubles. One request, one answer: retries
// and pacing are http_client.h's.
#ifndef DS_DAEMON_HTTP_HTTP_TRANSPORT_H_
#define DS_DAEMON_HTTP_HTTP_TRANSPORT_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon::http {

// AWS Signature Version 4, computed by libcurl (CURLOPT_AWS_SIGV4) over the
// method, path, query, the headers it sends and the body. Secrets: never in
// a log or an error.
struct AwsSigV4 {
  std::string region;   // "us-east-1"
  std::string service;  // "cognito-idp"
  std::string access_key_id;
  std::string secret_access_key;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // Sent as given. Authorization values never reach a log or an error.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  // Set: the request is signed for AWS (a session token goes in the
  // X-Amz-Security-Token header, which the signature then covers).
  std::optional<AwsSigV4> aws_sigv4;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lowercase
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Any HTTP status is a response. Errors: kUnavailable when the server
  // could not be reached or the connection broke, kDeadlineExceeded when
  // `timeout` passed.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// libcurl: one handle reused across requests, so the TLS connection stays
// open (keep-alive) and HTTP/2 is used where the server offers it.
// Thread-safe: requests are serialised on the one connection.
std::unique_ptr<HttpTransport> NewCurlTransport();

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_HTTP_TRANSPORT_H_
