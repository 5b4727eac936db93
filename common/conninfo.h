// PostgreSQL connection strings: parsing (by libpq itself), Neon endpoint ids
// and redaction. Every place that shows or logs a connection string goes
// through RedactConnectionString or ScrubSecrets.
#ifndef DS_COMMON_CONNINFO_H_
#define DS_COMMON_CONNINFO_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secrets.h"

namespace ds::common {

struct ConnInfo {
  bool is_uri = false;  // postgres:// or postgresql:// form
  std::string host;     // may be a comma-separated list, or a socket dir
  std::string port;
  std::string dbname;
  std::string user;
  std::string password;
  std::string options;  // libpq `options`, e.g. "endpoint=ep-x-y-123"
  // Every keyword the string set explicitly, in libpq's keyword order.
  std::vector<std::pair<std::string, std::string>> params;
  // Neon endpoint id ("ep-cool-darkness-123456") or empty.
  std::string neon_endpoint_id;
};

// Parses with libpq's PQconninfoParse, so URI and key=value forms are read
// exactly as every libpq client reads them. The error names the problem and
// shows the string redacted.
absl::StatusOr<ConnInfo> ParseConnInfo(std::string_view conn);

// The Neon endpoint id for a host such as
// "ep-cool-darkness-123456-pooler.c-2.us-east-2.aws.neon.tech" (first label,
// "-pooler" stripped), or from libpq options "endpoint=ep-..." (the SNI
// workaround), which wins when both are present. Empty if neither applies.
std::string NeonEndpointId(std::string_view host, std::string_view options);

// A canonical URI for `info` with the password replaced by "****".
std::string RedactedUri(const ConnInfo& info);

// The redacted form of any connection string, valid or not. Valid strings
// are re-rendered from libpq's parse; invalid ones are masked by ScrubSecrets.
std::string RedactConnectionString(std::string_view conn);

}  // namespace ds::common

#endif  // DS_COMMON_CONNINFO_H_
