#include "common/cli_doc.h"

#include <CLI/CLI.hpp>

#include "common/strings.h"

namespace ds::common {

std::string RoffEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RoffTitle(std::string_view name, int section, std::string_view version,
                      std::string_view manual) {
  return StrCat(".TH ", RoffEscape(name), " ", section, " \"\" \"", RoffEscape(version), "\" \"",
                RoffEscape(manual), "\"\n");
}

std::string OptionValueName(const CLI::Option& option) {
  if (option.get_type_size() == 0) return "";
  std::string type = option.get_type_name();
  if (size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  return type;
}

std::string RoffOptions(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    if (o == app.get_help_ptr() || o->get_group().empty() || o->get_positional()) continue;
    std::vector<std::string> names;
    for (const std::string& s : o->get_snames()) names.push_back(StrCat("\\fB\\-", s, "\\fR"));
    for (const std::string& l : o->get_lnames()) {
      names.push_back(StrCat("\\fB\\-\\-", RoffEscape(l), "\\fR"));
    }
    std::vector<std::string_view> views(names.begin(), names.end());
    std::string value = OptionValueName(*o);
    StrAppend(&out, ".TP\n", Join(views, ", "),
              value.empty() ? "" : StrCat(" \\fI", RoffEscape(value), "\\fR"), "\n",
              RoffEscape(o->get_description()), "\n");
  }
  return out;
}

std::string PositionalSynopsis(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional()) continue;
    std::string value = OptionValueName(*o);
    if (value.empty()) value = o->get_name(true);
    if (!out.empty()) out += " ";
    StrAppend(&out, o->get_required() ? value : StrCat("[", value, "]"));
  }
  return out;
}

}  // namespace ds::common
