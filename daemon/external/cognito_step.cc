#include "daemon/external/cognito_step.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "common/strings.h"

namespace ds::daemon::external {
namespace {

// A reset that finds users again after emptying the pool (sign-ups while it
// ran) goes round again, this many times at most.
constexpr int kMaxRounds = 3;

std::string HomeDir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) return pw->pw_dir;
  return {};
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

}  // namespace

std::string CognitoPoolId(const common::Config& config, std::string_view stage) {
  return ReplaceAll(config.Get("cognito_user_pool_id"), "{stage}",
                    stage.empty() ? std::string_view(config.Get("stage")) : stage);
}

std::string ProductionReason(const UserPool& pool, std::string_view markers) {
  for (std::string_view raw : SplitSkipEmpty(markers, ',')) {
    const std::string marker = AsciiToLower(TrimAsciiWhitespace(raw));
    if (marker.empty()) continue;
    for (const std::string& w : Words(pool.name)) {
      if (w == marker) return StrCat("its name '", pool.name, "' contains '", marker, "'");
    }
    for (const auto& [key, value] : pool.tags) {
      if (AsciiToLower(TrimAsciiWhitespace(value)) == marker) {
        return StrCat("its tag ", key, "=", value, " marks it as '", marker, "'");
      }
    }
  }
  return {};
}

CognitoUsersStep::CognitoUsersStep(CognitoStepOptions options) : options_(std::move(options)) {
  if (!options_.transport) options_.transport = [] { return http::NewCurlTransport(); };
  if (options_.home.empty()) options_.home = HomeDir();
}

absl::StatusOr<CognitoUsersStep::Target> CognitoUsersStep::Connect(const ExternalStepInput& input) {
  const common::Config& config = *input.config;
  Target t;
  t.pool_id = CognitoPoolId(config, input.stage);
  absl::StatusOr<AwsCredentials> credentials = FindAwsCredentials(input.credentials, options_.home);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::string> region = FindAwsRegion(config, input.credentials, options_.home);
  if (!region.ok()) return region.status();
  CognitoOptions o;
  o.region = *region;
  o.endpoint = AwsEndpoint(input.credentials, "COGNITO_IDENTITY_PROVIDER", "cognito-idp", o.region);
  o.credentials = std::move(*credentials);
  if (options_.client) o.client = *options_.client;
  t.client = std::make_unique<CognitoClient>(std::move(o), options_.transport());
  return t;
}

absl::StatusOr<ExternalStepPlan> CognitoUsersStep::Plan(const ExternalStepInput& input) {
  ExternalStepPlan plan;
  requests_ = 0;
  if (input.config->Get("cognito_user_pool_id").empty()) {
    plan.skip_reason = "not configured: cognito_user_pool_id is unset";
    return plan;
  }
  absl::StatusOr<Target> t = Connect(input);
  if (!t.ok()) return t.status();
  absl::StatusOr<UserPool> pool = t->client->DescribeUserPool(t->pool_id);
  requests_ = t->client->requests_sent();
  if (!pool.ok()) return pool.status();
  const std::string& markers = input.config->Get("cognito_production_markers");
  if (std::string why = ProductionReason(*pool, markers); !why.empty()) {
    return absl::FailedPreconditionError(
        StrCat("refusing to delete the users of Cognito pool ", pool->name, " (", pool->id,
               "): it looks like production (", why,
               "); point cognito_user_pool_id at the stage's pool, or change "
               "cognito_production_markers if this pool is not production"));
  }
  plan.configured = true;
  plan.summary = StrCat("delete every user of Cognito pool ", pool->name, " (", pool->id,
                        "), about ", pool->estimated_users, " users");
  return plan;
}

absl::Status CognitoUsersStep::Run(const ExternalStepInput& input, const ExternalStepPlan& plan,
                                   JobContext& job) {
  (void)plan;
  absl::StatusOr<Target> t = Connect(input);
  if (!t.ok()) return t.status();
  CognitoClient& cognito = *t->client;
  int64_t deleted = 0, already_gone = 0;
  absl::Status result = absl::OkStatus();
  for (int round = 1; round <= kMaxRounds && result.ok(); ++round) {
    // List every user first, then delete: deleting while paging would move
    // the users behind the pagination token, so pages would skip some.
    std::vector<std::string> users;
    std::string token;
    do {
      if (job.cancelled()) return absl::CancelledError("cancelled while listing Cognito users");
      absl::StatusOr<UsersPage> page = cognito.ListUsers(t->pool_id, token);
      if (!page.ok()) {
        result = page.status();
        break;
      }
      for (std::string& u : page->usernames) users.push_back(std::move(u));
      token = page->next_token;
      job.Progress(0, 0, name(), StrCat("listed ", users.size(), " users"));
    } while (!token.empty());
    if (!result.ok() || users.empty()) break;
    if (round == kMaxRounds) {
      result = absl::AbortedError(
          StrCat(users.size(), " users are still in the pool after ", kMaxRounds - 1,
                 " rounds of deleting; something keeps creating them (a running app?)"));
      break;
    }
    const size_t n = users.size();
    for (size_t i = 0; i < n; ++i) {
      if (job.cancelled()) {
        result = absl::CancelledError(
            StrCat("cancelled after deleting ", deleted, " of ", n, " Cognito users"));
        break;
      }
      absl::StatusOr<bool> gone = cognito.AdminDeleteUser(t->pool_id, users[i]);
      if (!gone.ok()) {
        result = absl::Status(
            gone.status().code(),
            StrCat(gone.status().message(), " (after deleting ", deleted, " of ", n, " users)"));
        break;
      }
      ++(*gone ? deleted : already_gone);
      job.Progress(static_cast<int>(i + 1), static_cast<int>(n), name(),
                   StrCat("users deleted ", i + 1, " of ", n));
    }
  }
  requests_ += cognito.requests_sent();
  if (!result.ok()) return result;
  job.Log("info", StrCat("Cognito pool ", t->pool_id, ": deleted ", deleted, " users",
                         already_gone ? StrCat(" (", already_gone, " were already gone)") : "",
                         " in ", cognito.requests_sent(), " requests"));
  return absl::OkStatus();
}

}  // namespace ds::daemon::external
