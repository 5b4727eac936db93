// `ds db current --format TEMPLATE`: the answer of GetCurrent as one line
// for shell prompts and scripts, e.g. "{branch}@{provider}".
#ifndef DS_CLIENT_CURRENT_FORMAT_H_
#define DS_CLIENT_CURRENT_FORMAT_H_

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ds/v1/workspace.pb.h"

namespace ds::client {

struct FormatField {
  std::string_view name;  // "branch"; "source_branch" reads the source database
  std::string_view description;
};

// The target database's fields; each one also exists prefixed "source_".
std::span<const FormatField> CurrentFormatFields();

// What FormatCurrent made: the text, or nothing when a database the
// template reads is not set (a prompt then shows nothing).
struct FormattedCurrent {
  std::string text;
  bool unset = false;
};

// Expands {field}s ("{{" and "}}" are literal braces). kInvalidArgument for
// an unknown field or an unmatched brace (usage errors, found before any
// call to dsd by passing an empty response); kFailedPrecondition when a
// database the template reads holds an invalid connection string.
absl::StatusOr<FormattedCurrent> FormatCurrent(std::string_view tmpl,
                                               const v1::GetCurrentResponse& current);

}  // namespace ds::client

#endif  // DS_CLIENT_CURRENT_FORMAT_H_
