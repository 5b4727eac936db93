#include "daemon/migrate/statement_failure.h"

#include <algorithm>

#include "common/strings.h"

namespace ds::daemon {
namespace {

// SQLSTATEs that mean "this statement cannot run in a transaction block".
constexpr std::string_view kActiveSqlTransaction = "25001";
constexpr std::string_view kUnsafeNewEnumValue = "55P04";

// The line of the file on which statement `index` starts (1-based).
int FirstLineOf(const DrizzleMigration& m, size_t index) {
  int line = 1;
  for (size_t i = 0; i < index && i < m.statements.size(); ++i) {
    line += static_cast<int>(std::count(m.statements[i].begin(), m.statements[i].end(), '\n'));
  }
  return line;
}

}  // namespace

std::string StatementFailure(const DrizzleMigration& m, size_t index, const PgResult& r,
                             const PgConnection& conn, bool in_transaction) {
  const std::string& stmt = m.statements[index];
  std::string msg = r.message();
  if (msg.empty()) msg = conn.ErrorMessage();
  std::string out = StrCat(m.file.string(), " failed at statement ", index + 1, " of ",
                           m.statements.size(), ": ", msg);
  if (std::string code = r.sqlstate(); !code.empty()) StrAppend(&out, " (SQLSTATE ", code, ")");
  StrAppend(&out, "\n  statement: ", ShortenStatement(stmt));
  if (int pos = r.position(); pos > 0) {
    StrAppend(&out, "\n  at ", m.file.filename().string(), ":",
              PositionInFile(stmt, pos, FirstLineOf(m, index)));
  }
  if (std::string d = r.detail(); !d.empty()) StrAppend(&out, "\n  detail: ", d);
  if (std::string h = r.hint(); !h.empty()) StrAppend(&out, "\n  hint: ", h);
  std::string code = r.sqlstate();
  if (in_transaction && (code == kActiveSqlTransaction || code == kUnsafeNewEnumValue)) {
    StrAppend(&out, "\n  This statement cannot run inside a transaction. Put `",
              kNoTransactionDirective, "` as the first line of ", m.file.filename().string(),
              code == kUnsafeNewEnumValue
                  ? " (after moving the ALTER TYPE ... ADD VALUE into a file of its own)"
                  : "",
              " so that ds runs it on its own, outside a transaction.");
  }
  return out;
}

std::string ShortenStatement(std::string_view statement, size_t max) {
  // Leading comment lines (the directive, drizzle's custom-file header)
  // say nothing about which statement failed.
  for (;;) {
    std::string_view rest = statement;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n' ||
                             rest.front() == '\r')) {
      rest.remove_prefix(1);
    }
    if (!rest.starts_with("--")) break;
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) break;  // nothing but a comment: show it
    statement = rest.substr(nl + 1);
  }
  std::string out;
  for (char c : statement) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

std::string PositionInFile(std::string_view statement, int position, int first_line) {
  int line = first_line, col = 1, chars = 0;
  for (size_t i = 0; i < statement.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(statement[i]);
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation: same character
    if (++chars == position) break;
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return StrCat(line, ":", col);
}

}  // namespace ds::daemon
