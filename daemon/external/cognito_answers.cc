#include "daemon/external/cognito_answers.h"

#include "common/strings.h"
#include "daemon/external/json_reader.h"

namespace ds::daemon::external {
namespace {

// moto (and AWS's query-protocol front) answers auth failures in XML:
// <Code>SignatureDoesNotMatch</Code>.
std::string XmlErrorCode(std::string_view body) {
  size_t start = body.find("<Code>");
  if (start == std::string_view::npos) return {};
  start += 6;
  size_t end = body.find("</Code>", start);
  if (end == std::string_view::npos) return {};
  return std::string(body.substr(start, end - start));
}

}  // namespace

absl::StatusOr<UserPool> ParseUserPool(std::string_view json) {
  constexpr std::string_view kWhat = "Cognito DescribeUserPool";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  simdjson::dom::element pool;
  if (doc->root().at_key("UserPool").get(pool) != simdjson::SUCCESS || !pool.is_object()) {
    return absl::DataLossError(StrCat(kWhat, ": no UserPool object in the answer"));
  }
  UserPool out;
  if (absl::Status s = ReadRequired(pool, "Id", kWhat, &out.id); !s.ok()) return s;
  if (absl::Status s = ReadRequired(pool, "Name", kWhat, &out.name); !s.ok()) return s;
  if (absl::Status s = ReadOptional(pool, "EstimatedNumberOfUsers", kWhat, &out.estimated_users);
      !s.ok()) {
    return s;
  }
  simdjson::dom::object tags;
  if (pool.at_key("UserPoolTags").get(tags) == simdjson::SUCCESS) {
    for (auto [key, value] : tags) {
      std::string_view v;
      if (value.get(v) == simdjson::SUCCESS) out.tags[std::string(key)] = std::string(v);
    }
  }
  return out;
}

absl::StatusOr<UsersPage> ParseUsersPage(std::string_view json) {
  constexpr std::string_view kWhat = "Cognito ListUsers";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  UsersPage page;
  simdjson::dom::array users;
  if (doc->root().at_key("Users").get(users) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat(kWhat, ": no Users array in the answer"));
  }
  for (simdjson::dom::element user : users) {
    absl::StatusOr<std::string> name = ReqString(user, "Username", kWhat);
    if (!name.ok()) return name.status();
    page.usernames.push_back(std::move(*name));
  }
  if (absl::Status s = ReadOptional(doc->root(), "PaginationToken", kWhat, &page.next_token);
      !s.ok()) {
    return s;
  }
  return page;
}

std::string AwsErrorType(const http::HttpResponse& response) {
  std::string type;
  if (auto it = response.headers.find("x-amzn-errortype"); it != response.headers.end()) {
    type = it->second.substr(0, it->second.find(':'));
  } else if (absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(response.body, "AWS"); doc.ok()) {
    absl::StatusOr<std::optional<std::string>> t = OptString(doc->root(), "__type");
    if (t.ok() && *t) type = **t;
  } else {
    type = XmlErrorCode(response.body);
  }
  if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  return type;
}

std::string AwsErrorMessage(std::string_view body) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(body, "AWS");
  if (!doc.ok()) return {};
  for (std::string_view key : {"message", "Message"}) {
    absl::StatusOr<std::optional<std::string>> m = OptString(doc->root(), key);
    if (m.ok() && *m) return **m;
  }
  return {};
}

}  // namespace ds::daemon::external
