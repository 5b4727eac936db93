// An HTTP client for one API account (Neon now; Stripe, GitHub and AWS
// next): sends requests through an HttpTransport, paced (pacer.h), and
// retries them as a RetryPolicy says. It knows nothing of any one API: the
// caller builds the request (URL, auth header, body) and maps the answer.
//
// Retries: a status in the policy's retry_statuses is asked again after a
// jittered exponential backoff or the server's Retry-After, whichever is
// longer; a transport error (no answer) only when the request is
// idempotent, since a POST may have been carried out before the connection
// broke. Attempts and total time are bounded; when they run out the last
// answer is returned as it is (the caller maps it), or the last transport
// error with the number of attempts.
#ifndef DS_DAEMON_HTTP_HTTP_CLIENT_H_
#define DS_DAEMON_HTTP_HTTP_CLIENT_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/http/clock.h"
#include "daemon/http/http_transport.h"
#include "daemon/http/pacer.h"
#include "daemon/http/retry_policy.h"

namespace ds::daemon::http {

// What an API says about an answer that its status alone does not tell:
// some "later"s come as a 400 (Cognito's TooManyRequestsException) or a 403
// (GitHub's rate limits), and some say when in headers of their own
// (GitHub's x-ratelimit-reset).
struct RetryAdvice {
  bool retry = false;
  // How long the server asked to wait; nullopt: Retry-After, else backoff.
  std::optional<std::chrono::milliseconds> wait;
};
using RetryAdvisor = std::function<RetryAdvice(const HttpResponse& response,
                                               std::chrono::system_clock::time_point now)>;

struct ClientOptions {
  RetryPolicy retry;
  // Asked about answers whose status the policy does not retry.
  RetryAdvisor advisor;
  PacerOptions pacing;
  // When set (e.g. "X-Request-ID"), every attempt carries a fresh random id
  // in this header, so that the server's logs tell attempts apart.
  std::string request_id_header;
  // The shortest timeout an attempt gets when little of max_total is left.
  std::chrono::milliseconds min_attempt_timeout{1000};
  Clock* clock = nullptr;  // nullptr: RealClock(); must outlive the client
};

// Whether a request may be sent again after a transport error.
enum class Idempotency {
  kByMethod,       // GET, HEAD, OPTIONS, PUT and DELETE are; POST and PATCH are not
  kIdempotent,     // e.g. a POST the API deduplicates
  kNotIdempotent,  // never resent after a transport error
};

struct Reply {
  HttpResponse response;
  int attempts = 1;
  std::chrono::milliseconds elapsed{0};  // all attempts and waits

  // "3 attempts over 4.2 s", for errors.
  std::string Effort() const;
};

class Client {
 public:
  Client(ClientOptions options, std::shared_ptr<HttpTransport> transport);

  // `request.timeout` bounds each attempt; it is shortened to what is left
  // of the policy's max_total (but never below min_attempt_timeout).
  absl::StatusOr<Reply> Send(HttpRequest request, Idempotency idempotency = Idempotency::kByMethod);

  // Requests sent so far, attempts included.
  int64_t requests_sent() const { return requests_.load(); }

 private:
  const ClientOptions options_;
  Clock& clock_;
  std::shared_ptr<HttpTransport> transport_;
  Pacer pacer_;
  std::atomic<int64_t> requests_{0};
};

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_HTTP_CLIENT_H_
