// Cognito's answers (daemon/external/cognito_answers): DescribeUserPool,
// ListUsers, and the type and message of an error (from the
// x-amzn-errortype header, the JSON `__type`, or moto's XML <Code>).
// Properties:
//   - the body parsers fail only with kDataLoss, as cognito_answers.h says;
//   - what parses re-serialises to JSON that parses back to the same value
//     (pool id, name, user estimate, tags; user names, pagination token);
//   - AwsErrorType is the bare type: no namespace left ('#'), no header
//     suffix (':'), and it is empty or a piece of what the server sent.
// Input: the whole of it is the body the parsers read. For AwsErrorType,
// FuzzedDataProvider splits it (docs/fuzzing.md): from the end a presence
// byte for the header; from the front its value, then the body.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "daemon/external/cognito_answers.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ds::JsonQuote;
using ds::StrAppend;
using ds::StrCat;
using ds::fuzz::Fail;
using ds::fuzz::RoundTrip;
using ds::fuzz::StringMapJson;
using namespace ds::daemon::external;  // NOLINT: the parsers under test

std::string PoolJson(const UserPool& p) {
  return StrCat("{\"UserPool\":{\"Id\":", JsonQuote(p.id), ",\"Name\":", JsonQuote(p.name),
                ",\"EstimatedNumberOfUsers\":", p.estimated_users,
                ",\"UserPoolTags\":", StringMapJson(p.tags), "}}");
}

std::string UsersJson(const UsersPage& page) {
  std::string out = "{\"Users\":[";
  for (size_t i = 0; i < page.usernames.size(); ++i) {
    StrAppend(&out, i ? "," : "", "{\"Username\":", JsonQuote(page.usernames[i]), "}");
  }
  out += "]";
  if (!page.next_token.empty())
    StrAppend(&out, ",\"PaginationToken\":", JsonQuote(page.next_token));
  return out + "}";
}

void CheckErrorType(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ds::daemon::http::HttpResponse r;
  r.status = 400;
  const bool has_header = in.ConsumeBool();
  if (has_header) r.headers["x-amzn-errortype"] = in.ConsumeRandomLengthString(64);
  r.body = in.ConsumeRemainingBytesAsString();
  const std::string type = AwsErrorType(r);
  if (type.find('#') != std::string::npos) Fail("AwsErrorType kept a namespace", type);
  if (has_header && type.find(':') != std::string::npos) {
    Fail("AwsErrorType kept the header's suffix", type);
  }
  if (has_header && r.headers["x-amzn-errortype"].find(type) == std::string::npos) {
    Fail("AwsErrorType is not from the header it was given", type);
  }
  (void)AwsErrorMessage(r.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  RoundTrip<UserPool>("ParseUserPool", json, ParseUserPool, PoolJson);
  RoundTrip<UsersPage>("ParseUsersPage", json, ParseUsersPage, UsersJson);
  (void)AwsErrorMessage(json);
  CheckErrorType(data, size);
  return 0;
}
