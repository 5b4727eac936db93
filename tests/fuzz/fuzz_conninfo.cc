// Connection strings: libpq's parse (ParseConnInfo), the redacted forms
// (RedactConnectionString, RedactedUri) and ScrubSecrets over a log line
// that quotes the string. The fuzzer builds the string around a password it
// knows, so it can check the one property that matters: the password never
// survives redaction (raw, as written in the string, or as libpq decoded
// it). Input: a few choice bytes, then user, host, dbname, password and an
// extra parameter (FuzzedDataProvider splits them).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/conninfo.h"
#include "common/secrets.h"

namespace {

using ds::common::ParseConnInfo;
using ds::common::RedactConnectionString;
using ds::common::RedactedUri;
using ds::common::ScrubSecrets;

std::string PercentEncodeAll(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// A libpq keyword value: quoted, with ' and \ escaped.
std::string Quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

enum class Spelling { kUriEncoded, kUriRaw, kKeywordQuoted, kKeywordBare };

struct Built {
  std::string conn;
  std::string written;  // the password as it appears in `conn`
};

Built Build(Spelling how, std::string_view user, std::string_view host, std::string_view db,
            std::string_view password, std::string_view extra) {
  Built b;
  switch (how) {
    case Spelling::kUriEncoded:
    case Spelling::kUriRaw:
      b.written = how == Spelling::kUriRaw ? std::string(password) : PercentEncodeAll(password);
      b.conn = "postgresql://" + PercentEncodeAll(user) + ":" + b.written + "@" +
               PercentEncodeAll(host) + "/" + PercentEncodeAll(db);
      if (!extra.empty()) b.conn += "?sslmode=" + PercentEncodeAll(extra);
      break;
    case Spelling::kKeywordQuoted:
    case Spelling::kKeywordBare:
      // Bare only where libpq reads it whole: no white space, quote or
      // backslash (isspace: libpq's own test).
      b.written = how == Spelling::kKeywordBare && !password.empty() &&
                          password.find_first_of(" \t\n\v\f\r'\\") == std::string::npos
                      ? std::string(password)
                      : Quoted(password);
      b.conn = "host=" + Quoted(host) + " user=" + Quoted(user) + " password=" + b.written +
               " dbname=" + Quoted(db);
      if (!extra.empty()) b.conn += " application_name=" + Quoted(extra);
      break;
  }
  return b;
}

// Every text a user could see for `conn`. ScrubSecrets works on log lines
// of free text, where a raw (not percent-encoded) URI password holding
// white space cannot be told from the words after the URI (a line break,
// "://" after a space reading as the next URI, an '@' before the space
// taken for the userinfo's end). `scrub` is false for those;
// RedactConnectionString, which every caller holding the string alone
// uses, must still mask them. docs/fuzzing.md lists these limits.
std::vector<std::string> Shown(const std::string& conn, bool scrub) {
  std::vector<std::string> out = {RedactConnectionString(conn)};
  if (scrub) out.push_back(ScrubSecrets("dsd: connecting to " + conn + " failed"));
  auto parsed = ParseConnInfo(conn);
  if (parsed.ok()) {
    out.push_back(RedactedUri(*parsed));
  } else {
    out.emplace_back(parsed.status().message());
  }
  return out;
}

bool Contains(const std::vector<std::string>& texts, std::string_view needle) {
  for (const std::string& t : texts) {
    if (t.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto how = static_cast<Spelling>(in.ConsumeIntegralInRange<int>(0, 3));
  const std::string user = in.ConsumeRandomLengthString(16);
  const std::string host = in.ConsumeRandomLengthString(24);
  const std::string db = in.ConsumeRandomLengthString(16);
  const std::string extra = in.ConsumeRandomLengthString(16);
  const std::string password = in.ConsumeRemainingBytesAsString();
  // NUL ends a C string: libpq never sees what follows, nor does a user.
  if (password.find('\0') != std::string::npos || user.find('\0') != std::string::npos ||
      host.find('\0') != std::string::npos || db.find('\0') != std::string::npos ||
      extra.find('\0') != std::string::npos) {
    return 0;
  }
  const Built b = Build(how, user, host, db, password, extra);
  const bool scrub =
      how != Spelling::kUriRaw || password.find_first_of(" \t\n\v\f\r") == std::string::npos;
  const std::vector<std::string> shown = Shown(b.conn, scrub);

  // The same string with passwords that cannot leak: a needle that shows
  // up there too came from the other fields or from fixed text (the
  // redacted form's "sslmode", an error message's prose), not from the
  // password. One control per way a password can fail to parse, so every
  // error's wording is among them: a password that quotes an error message
  // (a fuzzer learns them from comparisons) is not a leak.
  std::vector<std::string> innocent;
  for (std::string_view control_password : {"Z", "Z/Z", "Z@Z", "Z?Z", "Z%ZZ", "Z'Z", "Z\\"}) {
    const Built control = Build(how, user, host, db, control_password, extra);
    for (std::string& s : Shown(control.conn, true)) innocent.push_back(std::move(s));
    innocent.push_back(control.conn);
  }

  std::vector<std::string> needles = {password, b.written};
  auto parsed = ParseConnInfo(b.conn);
  if (parsed.ok()) needles.push_back(parsed->password);
  for (const std::string& needle : needles) {
    // Short needles occur everywhere by chance ("a", "=").
    if (needle.size() < 4 || Contains(innocent, needle)) continue;
    if (Contains(shown, needle)) {
      fprintf(stderr, "password survived redaction\n  conn: %s\n  needle: %s\n", b.conn.c_str(),
              needle.c_str());
      for (const std::string& s : shown) fprintf(stderr, "  shown: %s\n", s.c_str());
      abort();
    }
  }
  return 0;
}
