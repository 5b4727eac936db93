#include "common/dotenv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/atomic_file.h"
#include "common/strings.h"

// dotenv's default parser (dotenv/dist/index.cjs, function H; the `fast`
// option selects a different scanner that ds does not follow) is one regular
// expression run with the m and g flags over the whole file:
//
//   (?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)
//   (\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?
//   \s*(?:#.*)?(?:$|$)
//
// after turning \r\n and \r into \n. Each match's group 2 is trim()med, loses
// a pair of outer quotes, and if it began with " gets \n and \r expanded.
// The expression is reproduced here by hand rather than with std::regex:
// JavaScript's \s, ^ and $ know Unicode spaces and line separators that a
// byte regex does not, libstdc++'s regex recurses once per character (long
// multi-line values overflow the stack), and editing needs the spans.
// Comments below say which backtracking choices can never change the result.

namespace ds::common {
namespace {

constexpr size_t kNone = std::u32string::npos;

// JavaScript's \s, which is also the set String.prototype.trim() removes.
bool IsSpace(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
    case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F:
    case 0x205F: case 0x3000: case 0xFEFF:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Where JavaScript's multiline ^ and $ match and what `.` stops at.
bool IsLineTerminator(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

bool IsKeyChar(char32_t c) {  // [\w.-] without the u flag: ASCII only
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

bool IsQuote(char32_t c) { return c == '\'' || c == '"' || c == '`'; }

// Decodes the code point at *i and advances past it the way Node's
// Buffer#toString does (WHATWG): a broken sequence becomes one U+FFFD and
// consumes only the bytes that were a valid prefix of it.
char32_t DecodeOne(std::string_view b, size_t* i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(b[k]); };
  unsigned char lead = at((*i)++);
  if (lead < 0x80) return lead;
  int need;
  char32_t c;
  unsigned char lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1, c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2, c = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3, c = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0xFFFD;
  }
  for (; need > 0; --need, lo = 0x80, hi = 0xBF) {
    if (*i >= b.size() || at(*i) < lo || at(*i) > hi) return 0xFFFD;
    c = (c << 6) | (at((*i)++) & 0x3F);
  }
  return c;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string ToUtf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) AppendUtf8(c, &out);
  return out;
}

// The file as dotenv sees it: decoded, \r\n and \r turned into \n.
// offset[i] is the byte offset of s[i] in the original text (one extra entry
// for the end) so that an edit can splice the original bytes.
struct Text {
  std::u32string s;
  std::vector<size_t> offset;
};

Text Decode(std::string_view bytes) {
  Text t;
  for (size_t i = 0; i < bytes.size();) {
    size_t start = i;
    char32_t c = DecodeOne(bytes, &i);
    if (c == '\r') {
      if (i < bytes.size() && bytes[i] == '\n') ++i;
      c = '\n';
    }
    t.s.push_back(c);
    t.offset.push_back(start);
  }
  t.offset.push_back(bytes.size());
  return t;
}

size_t SkipSpace(const std::u32string& s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// `\s*(?:#.*)?$` from v: the end of the match, or kNone. Greedy \s* backs off
// until $ holds, so this succeeds when the spaces reach the end, a '#', or
// contain a line terminator (the match then ends before the last one).
size_t MatchTail(const std::u32string& s, size_t v) {
  size_t r = SkipSpace(s, v);
  if (r == s.size()) return r;
  if (s[r] == '#') {
    while (r < s.size() && !IsLineTerminator(s[r])) ++r;
    return r;
  }
  for (size_t j = r; j > v; --j) {
    if (IsLineTerminator(s[j - 1])) return j - 1;
  }
  return kNone;
}

// `Q(?:\\Q|[^Q])*Q` followed by the tail, with the opening quote at o: the
// closing quote's index and the match end. The greedy loop first stops at
// the first Q not preceded by a backslash; when the tail fails there it backs
// off to each backslash-escaped Q before it, last one first.
std::optional<std::pair<size_t, size_t>> MatchQuoted(const std::u32string& s, size_t o) {
  const char32_t q = s[o];
  std::vector<size_t> escaped;
  size_t i = o + 1;
  while (i < s.size() && s[i] != q) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == q) escaped.push_back(++i);
    ++i;
  }
  if (i < s.size()) escaped.push_back(i);
  for (auto it = escaped.rbegin(); it != escaped.rend(); ++it) {
    if (size_t end = MatchTail(s, *it + 1); end != kNone) return std::make_pair(*it, end);
  }
  return std::nullopt;
}

struct Match {
  size_t key_begin, key_end;
  size_t value_begin, value_end;  // group 2; empty when it did not take part
  size_t end;                     // the next search starts here
};

// The expression from the key on. A shorter key, fewer spaces before '=' or
// before a quote, or a longer lazy \s*? / \s+? never lets a match succeed
// that the first choice missed, so only the quoted alternative backtracks.
std::optional<Match> MatchFromKey(const std::u32string& s, size_t k) {
  size_t e = k;
  while (e < s.size() && IsKeyChar(s[e])) ++e;
  if (e == k) return std::nullopt;
  Match m{k, e, 0, 0, 0};
  if (size_t j = SkipSpace(s, e); j < s.size() && s[j] == '=') {
    m.value_begin = j + 1;
  } else if (e + 1 < s.size() && s[e] == ':' && IsSpace(s[e + 1])) {
    m.value_begin = e + 2;
  } else {
    return std::nullopt;
  }
  const size_t v = m.value_begin;
  // \s* before a quote crosses lines: `A=` followed by a line `"x"` sets A.
  if (size_t o = SkipSpace(s, v); o < s.size() && IsQuote(s[o])) {
    if (auto quoted = MatchQuoted(s, o)) {
      m.value_end = quoted->first + 1;
      m.end = quoted->second;
      return m;
    }
  }
  size_t r = v;
  while (r < s.size() && s[r] != '#' && s[r] != '\n' && s[r] != '\r') ++r;
  m.value_end = r;  // empty when [^#\r\n]+ cannot match and the group is skipped
  m.end = MatchTail(s, r);  // cannot fail when r > v: s[r] is '#', '\n' or the end
  if (m.end == kNone) return std::nullopt;
  return m;
}

// The expression at a line start p. `lead_end` gets the end of the leading
// spaces: a failed match fails the same way from every line start before it.
std::optional<Match> MatchAt(const std::u32string& s, size_t p, size_t* lead_end) {
  size_t i = SkipSpace(s, p);
  *lead_end = i;
  if (s.compare(i, 6, U"export") == 0 && i + 6 < s.size() && IsSpace(s[i + 6])) {
    if (auto m = MatchFromKey(s, SkipSpace(s, i + 6))) return m;
  }
  return MatchFromKey(s, i);  // `export = 1` sets a key named export
}

// value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2'): with the m flag a value that
// holds U+2028 or U+2029 can lose quotes in the middle, not just at the ends.
std::u32string StripQuotes(std::u32string_view v) {
  std::u32string out;
  size_t copied = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!IsQuote(v[i]) || (i > 0 && !IsLineTerminator(v[i - 1]))) continue;
    for (size_t k = v.size() - 1; k > i; --k) {
      if (v[k] == v[i] && (k + 1 == v.size() || IsLineTerminator(v[k + 1]))) {
        out.append(v.substr(copied, i - copied)).append(v.substr(i + 1, k - i - 1));
        copied = k + 1;
        i = k;
        break;
      }
    }
  }
  return out.append(v.substr(copied));
}

std::u32string ExpandEscape(std::u32string_view v, char32_t escape, char32_t with) {
  std::u32string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == escape) {
      out.push_back(with);
      ++i;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

const char* QuoteName(char32_t q) {
  return q == '"' ? "double" : q == '\'' ? "single" : "back";
}

struct Assignment {
  DotenvEntry entry;
  // The value as written (quotes included): what SetDotenvValue replaces.
  size_t edit_begin, edit_end;
};

absl::StatusOr<std::vector<Assignment>> ParseText(const Text& t, std::string_view file_name) {
  const std::u32string& s = t.s;
  std::vector<Assignment> out;
  int line = 1;
  size_t counted = 0;  // s[0, counted) has been scanned for line breaks
  size_t pos = 0;
  while (pos < s.size()) {
    if (pos > 0 && !IsLineTerminator(s[pos - 1])) {  // ^
      ++pos;
      continue;
    }
    size_t lead_end;
    std::optional<Match> m = MatchAt(s, pos, &lead_end);
    if (!m) {  // not an assignment: dotenv ignores it
      pos = lead_end + 1;
      continue;
    }
    for (; counted < m->key_begin; ++counted) line += s[counted] == '\n';
    Assignment a;
    a.entry.key = ToUtf8(std::u32string_view(s).substr(m->key_begin, m->key_end - m->key_begin));
    a.entry.line = line;
    size_t b = SkipSpace(s, m->value_begin);  // trim()
    size_t e = std::max(b, m->value_end);
    while (e > b && IsSpace(s[e - 1])) --e;
    // dotenv would keep the raw text, quote and all, and read on as if
    // nothing were wrong; the rest of the file is usually fine, this one
    // value is not.
    if (b < e && IsQuote(s[b]) && s.find(s[b], b + 1) == kNone) {
      return absl::InvalidArgumentError(
          StrCat(file_name, ":", line, ": unterminated ", QuoteName(s[b]),
                 " quote in the value of ", a.entry.key,
                 "; close the quote or remove the line"));
    }
    std::u32string value = StripQuotes(std::u32string_view(s).substr(b, e - b));
    if (b < e && s[b] == '"') value = ExpandEscape(ExpandEscape(value, 'n', '\n'), 'r', '\r');
    a.entry.value = ToUtf8(value);
    // Replace from the first character of the value, unless the value starts
    // on a later line than the key: then from right after the separator, so
    // that the edited value is on the key's line.
    a.edit_begin = a.edit_end = m->value_begin;
    if (b < e) {
      a.edit_begin = b;
      for (size_t i = m->value_begin; i < b; ++i) {
        if (IsLineTerminator(s[i])) a.edit_begin = m->value_begin;
      }
      a.edit_end = e;
    }
    out.push_back(std::move(a));
    pos = m->end;
  }
  return out;
}

std::map<std::string, std::string> Effective(const std::vector<Assignment>& parsed) {
  std::map<std::string, std::string> out;
  for (const Assignment& a : parsed) out[a.entry.key] = a.entry.value;
  return out;
}

bool IsValidUtf8(std::string_view b) {
  for (size_t i = 0; i < b.size();) {
    size_t start = i;
    if (DecodeOne(b, &i) == 0xFFFD && b.substr(start, i - start) != "\xEF\xBF\xBD") return false;
  }
  return true;
}

// The ways to write `value` that dotenv reads back unchanged, best first:
//   bare      non-empty, no whitespace (JavaScript's \s: this includes line
//             breaks and U+00A0), no '#', no quote character of any kind;
//   '...'     no ', no \n or \r, not ending in a backslash (it would escape
//             the closing quote);
//   "..."     no ", no backslash followed by n or r (dotenv would expand it),
//             not ending in a backslash; \n and \r are written as \n and \r;
//   `...`     no `, no \r (dotenv turns a raw \r into \n), not ending in a
//             backslash; line breaks are written as line breaks.
// `newline` is the file's line ending, used inside multi-line backticks.
std::vector<std::string> Spellings(std::string_view value, std::string_view newline) {
  std::u32string v;
  for (size_t i = 0; i < value.size();) v.push_back(DecodeOne(value, &i));
  bool space = false, hash = false, sq = false, dq = false, bq = false, lf = false, cr = false;
  bool escape = false;  // a literal \n or \r, which "..." would expand
  for (size_t i = 0; i < v.size(); ++i) {
    space |= IsSpace(v[i]);
    hash |= v[i] == '#';
    sq |= v[i] == '\'';
    dq |= v[i] == '"';
    bq |= v[i] == '`';
    lf |= v[i] == '\n';
    cr |= v[i] == '\r';
    escape |= v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == 'n' || v[i + 1] == 'r');
  }
  const bool ends_in_backslash = !v.empty() && v.back() == '\\';
  std::vector<std::string> out;
  if (!v.empty() && !space && !hash && !sq && !dq && !bq) out.emplace_back(value);
  if (ends_in_backslash) return out;
  if (!sq && !lf && !cr) out.push_back(StrCat("'", value, "'"));
  if (!dq && !escape) {
    std::string s = "\"";
    for (char c : value) s += c == '\n' ? "\\n" : c == '\r' ? "\\r" : std::string(1, c);
    out.push_back(s + "\"");
  }
  if (!bq && !cr) {
    std::string s = "`";
    for (char c : value) {
      if (c == '\n') {
        s.append(newline);
      } else {
        s.push_back(c);
      }
    }
    out.push_back(s + "`");
  }
  return out;
}

// The line ending the file already uses (its first one), "\n" if none.
std::string_view LineEnding(std::string_view text) {
  size_t i = text.find_first_of("\r\n");
  if (i == std::string_view::npos || text[i] == '\n') return "\n";
  return text.substr(i + 1, 1) == "\n" ? "\r\n" : "\r";
}

}  // namespace

absl::StatusOr<std::vector<DotenvEntry>> ParseDotenv(std::string_view text,
                                                     std::string_view file_name) {
  absl::StatusOr<std::vector<Assignment>> parsed = ParseText(Decode(text), file_name);
  if (!parsed.ok()) return parsed.status();
  std::vector<DotenvEntry> out;
  out.reserve(parsed->size());
  for (Assignment& a : *parsed) out.push_back(std::move(a.entry));
  return out;
}

const DotenvEntry* FindDotenvKey(const std::vector<DotenvEntry>& entries,
                                 std::string_view key) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

absl::StatusOr<std::string> SetDotenvValue(std::string_view text, std::string_view key,
                                           std::string_view value,
                                           std::string_view file_name) {
  bool key_ok = !key.empty();
  for (char c : key) key_ok &= IsKeyChar(static_cast<unsigned char>(c));
  if (!key_ok) {
    return absl::InvalidArgumentError(
        StrCat("\"", absl::CHexEscape(absl::string_view(key.data(), key.size())),
               "\" is not a valid .env key; use only letters, digits, '_', '.' and '-'"));
  }
  // Messages below name the key, never the value: it may be a password.
  if (!IsValidUtf8(value) || value.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("the new value of ", key,
               " is not valid UTF-8 text (or holds a NUL byte), so no .env "
               "file can carry it; pass a text value"));
  }
  Text t = Decode(text);
  absl::StatusOr<std::vector<Assignment>> parsed = ParseText(t, file_name);
  if (!parsed.ok()) return parsed.status();
  std::map<std::string, std::string> want = Effective(*parsed);
  want[std::string(key)] = std::string(value);

  const Assignment* target = nullptr;
  for (const Assignment& a : *parsed) {
    if (a.entry.key == key) target = &a;
  }
  std::string_view newline = LineEnding(text);
  std::vector<std::string> spellings = Spellings(value, newline);
  if (spellings.empty()) {
    return absl::InvalidArgumentError(StrCat(
        "the new value of ", key, " cannot be represented in .env so that dotenv reads it ",
        "back unchanged (it ends in a backslash after characters that need quotes, or mixes ",
        "', \" and ` with line breaks or literal \\n); change the value"));
  }
  // Re-parse every candidate: the rules above are about the value alone, and
  // only the whole file shows whether a neighbour reads differently now.
  for (const std::string& spelling : spellings) {
    std::string out;
    if (target != nullptr) {
      out = StrCat(text.substr(0, t.offset[target->edit_begin]), spelling,
                   text.substr(t.offset[target->edit_end]));
    } else {
      out = std::string(text);
      if (!out.empty() && out.back() != '\n' && out.back() != '\r') out.append(newline);
      StrAppend(&out, key, "=", spelling, newline);
    }
    absl::StatusOr<std::vector<Assignment>> check = ParseText(Decode(out), file_name);
    if (check.ok() && Effective(*check) == want) return out;
  }
  if (target != nullptr) {
    return absl::FailedPreconditionError(StrCat(
        file_name, ":", target->entry.line, ": cannot set ", key,
        " there without changing how dotenv reads other lines; edit that line by hand"));
  }
  return absl::FailedPreconditionError(StrCat(
      file_name, ": cannot append ", key,
      " without changing how dotenv reads the lines before it; fix the end of the file by hand"));
}

absl::Status CheckDotenvWritable(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  fs::path real = file;
  struct stat lst {};
  if (::lstat(file.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(file, ec);
    fs::path resolved = target.is_absolute() ? target : file.parent_path() / target;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 && errno == ENOENT) {
      // Replacing the link with a regular file would quietly unshare it.
      return absl::FailedPreconditionError(
          StrCat(file.string(), " is a symlink to ", target.string(),
                 ", which does not exist; ds does not replace the link with a file. Create "
                 "it (`touch ",
                 resolved.lexically_normal().string(), "`) or remove the link, and run again"));
    }
    real = fs::weakly_canonical(file, ec);
    if (ec) real = resolved;
  }
  struct stat st {};
  if (::stat(real.c_str(), &st) == 0) {
    // Root may write anything: a file nobody may write was made read-only
    // on purpose, and ds respects that too.
    // (Effective ids, as open() would use.)
    const bool read_only = (st.st_mode & 0222) == 0 ||
                           (::geteuid() != 0 &&
                            ::faccessat(AT_FDCWD, real.c_str(), W_OK, AT_EACCESS) != 0);
    if (read_only && S_ISREG(st.st_mode)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return absl::FailedPreconditionError(
          StrCat(real.string(), " is read-only (mode ", mode,
                 "), so ds leaves it alone; make it writable (`chmod u+w ", real.string(),
                 "`) and run again, or edit it by hand"));
    }
  }
  fs::path dir = real.parent_path();
  if (dir.empty()) dir = ".";
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(StrCat("cannot write ", file.string(), ": its directory ",
                                                dir.string(),
                                                " is not "
                                                "writable (",
                                                std::strerror(errno),
                                                "); fix its permissions, or pick another "
                                                "workspace with -C DIR"));
  }
  return absl::OkStatus();
}

namespace {

absl::Status WriteDotenv(const std::filesystem::path& file, std::string_view key,
                         std::string_view value, mode_t clear_bits) {
  if (absl::Status s = CheckDotenvWritable(file); !s.ok()) return s;
  std::string text;
  absl::StatusOr<std::string> read = ReadFile(file);
  if (read.ok()) {
    text = *std::move(read);
  } else if (!absl::IsNotFound(read.status())) {
    return read.status();  // names the file
  }
  absl::StatusOr<std::string> updated = SetDotenvValue(text, key, value, file.string());
  if (!updated.ok()) return updated.status();
  // A new .env usually receives a password: owner-only from the start.
  return ReplaceFileAtomically(file, *updated, 0600, Durability::kPowerLoss, clear_bits);
}

}  // namespace

absl::Status WriteDotenvValue(const std::filesystem::path& file, std::string_view key,
                              std::string_view value) {
  return WriteDotenv(file, key, value, 0);
}

absl::StatusOr<std::optional<mode_t>> WriteDotenvSecret(const std::filesystem::path& file,
                                                        std::string_view key,
                                                        std::string_view value) {
  // stat follows a symlinked .env to the file that is replaced.
  struct stat st {};
  const bool exists = ::stat(file.c_str(), &st) == 0;
  constexpr mode_t kGroupOther = 0077;
  if (absl::Status s = WriteDotenv(file, key, value, kGroupOther); !s.ok()) return s;
  if (exists && (st.st_mode & kGroupOther) != 0) return std::optional<mode_t>(st.st_mode & 07777);
  return std::optional<mode_t>();
}

}  // namespace ds::common
