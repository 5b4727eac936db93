// Man pages from CLI11 command trees: ds(1) and dsd(8) are generated from the
// same App objects that parse their command lines, so they cannot drift.
#ifndef DS_COMMON_CLI_DOC_H_
#define DS_COMMON_CLI_DOC_H_

#include <string>
#include <string_view>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace ds::common {

// Text made safe for roff: backslashes, hyphens (as \-, so they stay
// hyphens and copy-paste), and a leading '.' or '\''.
std::string RoffEscape(std::string_view text);

// ".TH NAME SECTION" with the version as the footer; no date, so that the
// page is the same however often it is built.
std::string RoffTitle(std::string_view name, int section, std::string_view version,
                      std::string_view manual);

// The placeholder an option's value is shown with ("DIR"; "" for a flag):
// its type name without CLI11's validator suffixes.
std::string OptionValueName(const CLI::Option& option);

// One ".TP" entry per visible option of `app` (not --help, not hidden,
// not positionals): "-n, --lines N" and its description.
std::string RoffOptions(const CLI::App& app);

// The positionals of `app` as a synopsis fragment: "[NAME]" or "ID".
std::string PositionalSynopsis(const CLI::App& app);

}  // namespace ds::common

#endif  // DS_COMMON_CLI_DOC_H_
