#include "daemon/http/http_client.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace ds::daemon::http {
namespace {

using std::chrono::milliseconds;

std::string RandomRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("ds-%016x", rng());
}

bool ResendableAfterTransportError(const HttpRequest& request, Idempotency idempotency) {
  switch (idempotency) {
    case Idempotency::kIdempotent: return true;
    case Idempotency::kNotIdempotent: return false;
    case Idempotency::kByMethod: break;
  }
  const std::string& m = request.method;
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE";
}

}  // namespace

std::string Reply::Effort() const {
  return absl::StrFormat("%d attempts over %.1f s", attempts,
                         std::chrono::duration<double>(elapsed).count());
}

Client::Client(ClientOptions options, std::shared_ptr<HttpTransport> transport)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : RealClock()),
      transport_(std::move(transport)),
      pacer_(options_.pacing, clock_) {}

absl::StatusOr<Reply> Client::Send(HttpRequest request, Idempotency idempotency) {
  const RetryPolicy& policy = options_.retry;
  const auto start = clock_.Now();
  const auto deadline = start + policy.max_total;
  const milliseconds attempt_timeout = request.timeout;
  const bool resendable = ResendableAfterTransportError(request, idempotency);
  size_t id_header = request.headers.size();
  if (!options_.request_id_header.empty()) {
    request.headers.emplace_back(options_.request_id_header, "");
  }
  Reply reply;
  bool have_response = false;
  absl::Status last_error;
  for (int attempt = 1;; ++attempt) {
    reply.attempts = attempt;
    if (id_header < request.headers.size()) request.headers[id_header].second = RandomRequestId();
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_.Now());
    request.timeout = std::max(std::min(attempt_timeout, left), options_.min_attempt_timeout);
    pacer_.Acquire();
    ++requests_;
    absl::StatusOr<HttpResponse> r = transport_->Send(request);
    bool retry;
    std::optional<milliseconds> server_delay;
    if (!r.ok()) {
      last_error = r.status();
      have_response = false;
      retry = resendable;
    } else {
      retry = policy.RetriesStatus(r->status);
      if (!retry && options_.advisor) {
        RetryAdvice advice = options_.advisor(*r, clock_.WallNow());
        retry = advice.retry;
        server_delay = advice.wait;
      }
      if (auto it = r->headers.find("retry-after");
          retry && !server_delay && it != r->headers.end()) {
        server_delay = ParseRetryAfter(it->second, clock_.WallNow());
      }
      reply.response = std::move(*r);
      have_response = true;
      if (!retry) break;
    }
    if (!retry || attempt >= policy.max_attempts) break;
    milliseconds delay = policy.Backoff(attempt);
    if (server_delay) delay = std::max(delay, *server_delay);
    // A wait that ends past the deadline would only lead to giving up later.
    if (clock_.Now() + delay >= deadline) break;
    clock_.SleepFor(delay);
  }
  reply.elapsed = std::chrono::duration_cast<milliseconds>(clock_.Now() - start);
  if (have_response) return reply;
  return absl::Status(
      last_error.code(),
      StrCat(last_error.message(), reply.attempts > 1 ? StrCat(" (", reply.Effort(), ")") : ""));
}

}  // namespace ds::daemon::http
