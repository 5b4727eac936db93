// TOML configuration files. Kept apart from config.cc so that ds, which
// never reads TOML itself (dsd does), does not link the TOML parser.
#include <sstream>
#include <string>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include "common/config.h"
#include "common/strings.h"

namespace ds::common {
namespace {

// Walks a TOML table, turning nested tables into dotted keys.
absl::Status CollectToml(const toml::table& table, const std::string& prefix,
                         const std::filesystem::path& file, ConfigLayer& layer) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : StrCat(prefix, ".", k.str());
    int line = static_cast<int>(node.source().begin.line);
    std::string where = StrCat(file.string(), ":", line);
    if (const toml::table* sub = node.as_table()) {
      if (absl::Status s = CollectToml(*sub, key, file, layer); !s.ok()) return s;
      continue;
    }
    if (!FindConfigKey(key)) {
      return absl::InvalidArgumentError(
          StrCat(where, ": unknown key '", key, "'; ", UnknownConfigKeyHint()));
    }
    // Test the node's type first: value<int64_t>() would also convert a
    // boolean to 0 or 1.
    std::string value;
    if (node.is_string()) {
      value = *node.value<std::string>();
    } else if (node.is_boolean()) {
      value = *node.value<bool>() ? "true" : "false";
    } else if (node.is_integer()) {
      value = std::to_string(*node.value<int64_t>());
    } else if (node.is_floating_point()) {
      std::ostringstream v;
      v << *node.value<double>();
      value = v.str();
    } else {
      return absl::InvalidArgumentError(
          StrCat(where, ": '", key, "' must be a string, number or boolean"));
    }
    layer.entries.push_back({key, std::move(value), {layer.kind, where}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConfigLayer> TomlLayer(std::string_view text, const std::filesystem::path& file,
                                      OriginKind kind) {
  ConfigLayer layer{kind, {}};
  try {
    toml::table table = toml::parse(text, file.string());
    if (absl::Status s = CollectToml(table, "", file, layer); !s.ok()) return s;
    if (absl::Status s = CheckConfigLayer(layer); !s.ok()) return s;
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(StrCat(file.string(), ":", e.source().begin.line,
                                                   ": invalid TOML: ", e.description()));
  }
  return layer;
}

}  // namespace ds::common
