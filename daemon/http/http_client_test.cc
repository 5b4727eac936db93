#include "daemon/http/http_client.h"

#include <gtest/gtest.h>

#include <set>

#include "common/strings.h"
#include "daemon/http/scripted_transport.h"

namespace ds::daemon::http {
namespace {

using std::chrono::milliseconds;

struct Fixture {
  ManualClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  Client client;

  explicit Fixture(ClientOptions options = {}) : client(WithClock(std::move(options)), transport) {}

  ClientOptions WithClock(ClientOptions o) {
    o.clock = &clock;
    return o;
  }
};

HttpRequest Get() {
  HttpRequest r;
  r.url = "http://api.test/things";
  return r;
}

HttpRequest Post() {
  HttpRequest r;
  r.method = "POST";
  r.url = "http://api.test/things";
  r.body = "{}";
  return r;
}

TEST(HttpClientTest, AnAnswerOutsideThePolicyIsReturnedAsItIs) {
  Fixture f;
  f.transport->Add(404, "gone", {{"x-id", "1"}});
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response.status, 404);
  EXPECT_EQ(r->response.body, "gone");
  EXPECT_EQ(r->attempts, 1);
  EXPECT_TRUE(f.clock.sleeps().empty());
}

TEST(HttpClientTest, RetriesThePolicysStatusesHonouringRetryAfter) {
  ClientOptions o;
  o.retry.retry_statuses = {423, 429, 503};
  Fixture f(o);
  f.transport->Add(429, "slow down", {{"retry-after", "2"}});
  f.transport->Add(503, "down");
  f.transport->Add(423, "busy");
  f.transport->Add(200, "ok");
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response.status, 200);
  EXPECT_EQ(r->attempts, 4);
  std::vector<milliseconds> sleeps = f.clock.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_GE(sleeps[0], milliseconds(2000)) << "Retry-After wins over a shorter backoff";
  // Then the backoff of attempts 2 and 3: equal jitter below 400 and 800 ms.
  EXPECT_GE(sleeps[1], milliseconds(200));
  EXPECT_LE(sleeps[1], milliseconds(400));
  EXPECT_GE(sleeps[2], milliseconds(400));
  EXPECT_LE(sleeps[2], milliseconds(800));
  EXPECT_EQ(f.client.requests_sent(), 4);
}

TEST(HttpClientTest, RetryAfterAsAnHttpDate) {
  Fixture f;
  // The manual clock's wall time is 2026-01-01T00:00:00Z.
  f.transport->Add(503, "", {{"retry-after", "Thu, 01 Jan 2026 00:00:10 GMT"}});
  f.transport->Add(200, "ok");
  ASSERT_TRUE(f.client.Send(Get()).ok());
  ASSERT_EQ(f.clock.sleeps().size(), 1u);
  EXPECT_EQ(f.clock.sleeps()[0], milliseconds(10000));
}

TEST(HttpClientTest, AStatusThePolicyDoesNotNameIsNotRetried) {
  Fixture f;  // the default policy: 429 and 503
  f.transport->Add(423, "busy");
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->response.status, 423);
  EXPECT_EQ(f.transport->requests().size(), 1u);
}

TEST(HttpClientTest, GivesUpAfterMaxAttemptsWithTheLastAnswer) {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.transport->Add(503, StrCat("down ", i));
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response.status, 503);
  EXPECT_EQ(r->response.body, "down 5");
  EXPECT_EQ(r->attempts, 6);
  EXPECT_EQ(f.transport->requests().size(), 6u);
  EXPECT_EQ(f.clock.sleeps().size(), 5u);
  milliseconds waited(0);
  for (milliseconds d : f.clock.sleeps()) waited += d;
  EXPECT_EQ(r->elapsed, waited);
  EXPECT_NE(r->Effort().find("6 attempts over "), std::string::npos) << r->Effort();
}

TEST(HttpClientTest, GivesUpRatherThanWaitPastMaxTotal) {
  ClientOptions o;
  o.retry.max_total = milliseconds(45000);
  Fixture f(o);
  f.transport->Add(429, "", {{"retry-after", "60"}});
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->response.status, 429);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_TRUE(f.clock.sleeps().empty());
}

TEST(HttpClientTest, EachAttemptGetsWhatIsLeftOfTheTotalTime) {
  ClientOptions o;
  o.retry.max_total = milliseconds(45000);
  Fixture f(o);
  f.transport->Add(429, "", {{"retry-after", "30"}});
  f.transport->Add(429, "", {{"retry-after", "14.5"}});
  f.transport->Add(200, "ok");
  HttpRequest req = Get();
  req.timeout = milliseconds(20000);
  ASSERT_TRUE(f.client.Send(req).ok());
  std::vector<HttpRequest> sent = f.transport->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].timeout, milliseconds(20000));
  EXPECT_EQ(sent[1].timeout, milliseconds(15000));
  EXPECT_EQ(sent[2].timeout, milliseconds(1000)) << "never below min_attempt_timeout";
}

TEST(HttpClientTest, TransportErrorsAreResentOnlyForIdempotentRequests) {
  {
    Fixture f;
    f.transport->AddError(absl::UnavailableError("cannot reach http://api.test: refused"));
    f.transport->Add(200, "ok");
    absl::StatusOr<Reply> r = f.client.Send(Get());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->attempts, 2);
  }
  {
    Fixture f;
    f.transport->AddError(absl::UnavailableError("cannot reach http://api.test: reset"));
    absl::StatusOr<Reply> r = f.client.Send(Post());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(r.status().message(), "cannot reach http://api.test: reset");
    EXPECT_EQ(f.transport->requests().size(), 1u);
  }
  {
    Fixture f;  // a POST the caller knows the API deduplicates
    f.transport->AddError(absl::UnavailableError("reset"));
    f.transport->Add(201, "made");
    absl::StatusOr<Reply> r = f.client.Send(Post(), Idempotency::kIdempotent);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->response.status, 201);
  }
  {
    Fixture f;  // a DELETE is idempotent by its method; unless the caller says otherwise
    HttpRequest del = Get();
    del.method = "DELETE";
    f.transport->AddError(absl::UnavailableError("reset"));
    f.transport->Add(204, "");
    EXPECT_TRUE(f.client.Send(del).ok());
    f.transport->AddError(absl::UnavailableError("reset"));
    EXPECT_FALSE(f.client.Send(del, Idempotency::kNotIdempotent).ok());
    EXPECT_EQ(f.transport->requests().size(), 3u);
  }
}

TEST(HttpClientTest, ATransportErrorAfterRetriesSaysHowHardItTried) {
  Fixture f;
  for (int i = 0; i < 6; ++i) f.transport->AddError(absl::DeadlineExceededError("no answer"));
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("no answer (6 attempts over "), std::string::npos)
      << r.status();
}

TEST(HttpClientTest, EveryAttemptCarriesAFreshRequestId) {
  ClientOptions o;
  o.request_id_header = "X-Request-ID";
  Fixture f(o);
  f.transport->Add(503, "");
  f.transport->Add(200, "");
  HttpRequest req = Get();
  req.headers = {{"Accept", "application/json"}};
  ASSERT_TRUE(f.client.Send(req).ok());
  std::set<std::string> ids;
  for (const HttpRequest& sent : f.transport->requests()) {
    ASSERT_EQ(sent.headers.size(), 2u);
    EXPECT_EQ(sent.headers[0].first, "Accept");
    EXPECT_EQ(sent.headers[1].first, "X-Request-ID");
    EXPECT_FALSE(sent.headers[1].second.empty());
    ids.insert(sent.headers[1].second);
  }
  EXPECT_EQ(ids.size(), 2u);
}

TEST(HttpClientTest, RequestsArePaced) {
  ClientOptions o;
  o.pacing.min_spacing = milliseconds(25);
  Fixture f(o);
  for (int i = 0; i < 3; ++i) f.transport->Add(200, "");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.client.Send(Get()).ok());
  EXPECT_EQ(f.clock.sleeps(), (std::vector<milliseconds>{milliseconds(25), milliseconds(25)}));
}

TEST(HttpClientTest, TheAdvisorRetriesWhatTheStatusDoesNotAndSaysHowLong) {
  ClientOptions o;
  o.advisor = [](const HttpResponse& r, std::chrono::system_clock::time_point) {
    RetryAdvice a;
    a.retry = r.status == 400 && r.body == "throttled";
    if (r.headers.count("x-wait")) a.wait = milliseconds(7000);
    return a;
  };
  Fixture f(o);
  f.transport->Add(400, "throttled", {{"x-wait", "1"}});
  f.transport->Add(400, "throttled", {{"retry-after", "3"}});
  f.transport->Add(400, "bad input");
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response.body, "bad input") << "an answer the advisor declines is final";
  EXPECT_EQ(r->attempts, 3);
  std::vector<milliseconds> sleeps = f.clock.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0], milliseconds(7000)) << "the advisor's wait";
  EXPECT_GE(sleeps[1], milliseconds(3000)) << "else Retry-After";
}

TEST(HttpClientTest, AnAdvisedWaitPastTheDeadlineReturnsTheAnswer) {
  ClientOptions o;
  o.retry.max_total = milliseconds(10000);
  o.advisor = [](const HttpResponse&, std::chrono::system_clock::time_point) {
    return RetryAdvice{true, milliseconds(3600 * 1000)};
  };
  Fixture f(o);
  f.transport->Add(403, "rate limited");
  absl::StatusOr<Reply> r = f.client.Send(Get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response.status, 403);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_TRUE(f.clock.sleeps().empty()) << "no hour-long wait only to give up";
}

}  // namespace
}  // namespace ds::daemon::http
