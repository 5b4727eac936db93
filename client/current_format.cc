#include "client/current_format.h"

#include <optional>

#include "common/strings.h"

namespace ds::client {
namespace {

constexpr FormatField kFields[] = {
    {"branch", "branch name (empty when no provider knows the database)"},
    {"project", "project name, else its id"},
    {"project_id", "project id"},
    {"provider", "provider of the branch (local, neon), else the workspace's provider"},
    {"protected",
     "\"protected\" when the branch is protected or its project's default branch, else empty"},
    {"host", "host name, empty for a local socket"},
    {"port", "port, empty when the connection string names none"},
    {"database", "database name"},
    {"user", "user name"},
    {"endpoint", "Neon endpoint id (ep-...), empty for other hosts"},
    {"variable", ".env variable read (DB_CONNECTION_STRING)"},
};

constexpr std::string_view kSourcePrefix = "source_";

// The value of `field` (without "source_") for one database; nullopt when
// the field does not exist.
std::optional<std::string> Value(std::string_view field, const v1::DatabaseTarget& t,
                                 const v1::GetCurrentResponse& current) {
  const v1::BranchRef& b = t.branch();
  const v1::ConnectionSummary& c = t.connection();
  if (field == "branch") return t.resolved() ? b.branch_name() : "";
  if (field == "project") {
    if (!t.resolved()) return "";
    return b.project_name().empty() ? b.project_id() : b.project_name();
  }
  if (field == "project_id") return t.resolved() ? b.project_id() : "";
  if (field == "provider") return t.resolved() ? b.provider() : current.provider();
  if (field == "protected") {
    return t.resolved() && (b.branch_protected() || b.branch_is_default()) ? "protected" : "";
  }
  if (field == "host") return c.host();
  if (field == "port") return c.port();
  if (field == "database") return c.database();
  if (field == "user") return c.user();
  if (field == "endpoint") return c.neon_endpoint_id();
  if (field == "variable") return t.variable();
  return std::nullopt;
}

std::string FieldList() {
  std::vector<std::string_view> names;
  for (const FormatField& f : kFields) names.push_back(f.name);
  return StrCat("{", Join(names, "}, {"), "} (and the same with source_: {source_branch})");
}

}  // namespace

std::span<const FormatField> CurrentFormatFields() { return kFields; }

absl::StatusOr<FormattedCurrent> FormatCurrent(std::string_view tmpl,
                                               const v1::GetCurrentResponse& current) {
  FormattedCurrent out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char ch = tmpl[i];
    if (ch == '}') {
      if (i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
        out.text.push_back('}');
        ++i;
        continue;
      }
      return absl::InvalidArgumentError(
          StrCat("--format: unmatched '}' at offset ", i, "; write '}}' for a literal brace"));
    }
    if (ch != '{') {
      out.text.push_back(ch);
      continue;
    }
    if (i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out.text.push_back('{');
      ++i;
      continue;
    }
    size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("--format: '{' at offset ", i, " is not closed; write '{{' for a literal brace"));
    }
    std::string_view name = tmpl.substr(i + 1, close - i - 1);
    const bool source = name.substr(0, kSourcePrefix.size()) == kSourcePrefix;
    const v1::DatabaseTarget& t = source ? current.source() : current.target();
    std::optional<std::string> value =
        Value(source ? name.substr(kSourcePrefix.size()) : name, t, current);
    if (!value) {
      return absl::InvalidArgumentError(
          StrCat("--format: unknown field {", name, "}; fields: ", FieldList()));
    }
    if (!t.is_set()) out.unset = true;
    if (t.is_set() && !t.error().empty()) return absl::FailedPreconditionError(t.error());
    out.text += *value;
    i = close;
  }
  if (out.unset) out.text.clear();
  return out;
}

}  // namespace ds::client
