#include "daemon/http/http_transport.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <mutex>

#include "common/strings.h"

namespace ds::daemon::http {
namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto* headers = static_cast<std::map<std::string, std::string>*>(out);
    (*headers)[AsciiToLower(line.substr(0, colon))] =
        std::string(TrimAsciiWhitespace(line.substr(colon + 1)));
  } else if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue or a redirect): start over.
    static_cast<std::map<std::string, std::string>*>(out)->clear();
  }
  return size * n;
}

// libcurl's sockets lack close-on-exec; dsd starts PostgreSQL, which must
// not hold a connection to Neon. Created with SOCK_CLOEXEC instead.
curl_socket_t OpenCloexecSocket(void*, curlsocktype, curl_sockaddr* address) {
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
  }
  ~CurlTransport() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    if (!curl_) return absl::ResourceExhaustedError("libcurl could not create a handle");
    // Reset clears per-request options but keeps the connection cache.
    curl_easy_reset(curl_);
    HttpResponse response;
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, StrCat(name, ": ", value).c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "GET") {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    } else if (!request.body.empty() || request.method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "");  // gzip when offered
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // dsd is multithreaded
    curl_easy_setopt(curl_, CURLOPT_OPENSOCKETFUNCTION, OpenCloexecSocket);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(request.timeout.count(), 10000)));
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "ds (dsd)");
    std::string sigv4;
    if (request.aws_sigv4) {
      const AwsSigV4& aws = *request.aws_sigv4;
      // "aws:amz:<region>:<service>": the provider names AWS's header names
      // (X-Amz-Date) and the credential scope.
      sigv4 = StrCat("aws:amz:", aws.region, ":", aws.service);
      curl_easy_setopt(curl_, CURLOPT_AWS_SIGV4, sigv4.c_str());
      curl_easy_setopt(curl_, CURLOPT_USERNAME, aws.access_key_id.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, aws.secret_access_key.c_str());
    }
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(StrCat("no answer from ", Host(request.url), " within ",
                                                request.timeout.count() / 1000.0, " s"));
    }
    if (rc != CURLE_OK) {
      return absl::UnavailableError(
          StrCat("cannot reach ", Host(request.url), ": ", curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  // scheme://host[:port] of a URL: errors name the server, never the query.
  static std::string Host(std::string_view url) {
    size_t start = url.find("://");
    start = start == std::string_view::npos ? 0 : start + 3;
    size_t end = url.find('/', start);
    return std::string(url.substr(0, end));
  }

  std::mutex mu_;
  CURL* curl_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpTransport> NewCurlTransport() { return std::make_unique<CurlTransport>(); }

}  // namespace ds::daemon::http
