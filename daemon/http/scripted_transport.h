// For unit tests of API clients: an HttpTransport that answers from a
// script, in order, and records every request it was sent. Header-only and
// used by tests alone (no library compiles it).
#ifndef DS_DAEMON_HTTP_SCRIPTED_TRANSPORT_H_
#define DS_DAEMON_HTTP_SCRIPTED_TRANSPORT_H_

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http/http_transport.h"

namespace ds::daemon::http {

class ScriptedTransport final : public HttpTransport {
 public:
  void Add(int status, std::string body, std::map<std::string, std::string> headers = {}) {
    std::lock_guard lock(mu_);
    steps_.push_back({absl::OkStatus(), {status, std::move(body), std::move(headers)}});
  }
  void AddError(absl::Status error) {
    std::lock_guard lock(mu_);
    steps_.push_back({std::move(error), {}});
  }

  // Past the end of the script every request is answered 500, which no
  // test expects: a test that sends more than it scripted fails.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (steps_.empty()) return HttpResponse{500, "{\"message\":\"script ran out\"}", {}};
    Step s = std::move(steps_.front());
    steps_.pop_front();
    if (!s.error.ok()) return s.error;
    return s.response;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  struct Step {
    absl::Status error;  // when not OK, the transport fails
    HttpResponse response;
  };
  mutable std::mutex mu_;
  std::deque<Step> steps_;
  std::vector<HttpRequest> requests_;
};

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_SCRIPTED_TRANSPORT_H_
