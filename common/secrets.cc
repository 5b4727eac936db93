#include "common/secrets.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace ds::common {
namespace {

// Secrets that say what they are by their first characters.
bool TokenPrefixAt(std::string_view text, size_t i) {
  static constexpr std::string_view kPrefixes[] = {
      "napi_",                                                        // Neon
      "sk_live_", "sk_test_", "rk_live_", "rk_test_",                 // Stripe
      "ghp_",     "gho_",     "ghs_",     "ghu_",     "github_pat_",  // GitHub
  };
  // At a word's start only, so "task_test_x" stays as it is.
  if (i > 0 &&
      (absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_')) {
    return false;
  }
  for (std::string_view p : kPrefixes) {
    if (text.compare(i, p.size(), p) == 0) return true;
  }
  return false;
}

// Whether `span` assigns a password in keyword=value syntax
// ("password = '...'"), any case.
bool AssignsPassword(std::string_view span) {
  for (size_t i = 0; i + 8 <= span.size(); ++i) {
    if (!StartsWithIgnoreCase(span.substr(i), "password")) continue;
    size_t j = i + 8;
    while (j < span.size() && (span[j] == ' ' || span[j] == '\t')) ++j;
    if (j < span.size() && span[j] == '=') return true;
  }
  return false;
}

}  // namespace

std::string ScrubSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  auto is_space = [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); };
  while (i < text.size()) {
    // scheme://user:secret@host -> scheme://user:****@host. The userinfo
    // ends at the last '@' (before white space if there is one there), so
    // a password holding '@', '/', '?', '#', quotes or spaces is still
    // masked whole: libpq reads a raw '?' or '#' before the '@' as part of
    // the password, so neither may end the search. A query value holding
    // '@' gets masked with it, which errs the safe way.
    if (text.compare(i, 3, "://") == 0) {
      size_t start = i + 3;
      // The authority normally ends at the first white space; a password
      // with spaces in it is recognised by an '@' only after that space.
      // Another "://" starts the next URI only after white space: a raw
      // password may hold "://" itself.
      size_t end = start;
      bool spaced = false;
      while (end < text.size() && text[end] != '\n' &&
             !(spaced && text.compare(end, 3, "://") == 0)) {
        spaced |= is_space(text[end]);
        ++end;
      }
      std::string_view segment = text.substr(start, end - start);
      size_t space = 0;
      while (space < segment.size() && !is_space(segment[space])) ++space;
      size_t at = segment.substr(0, space).rfind('@');
      if (at == std::string_view::npos) at = segment.rfind('@');
      size_t colon = segment.find(':');
      size_t first_at = segment.find('@');
      out.append("://");
      // user:secret@host has its first ':' before its first '@'; a plain
      // user@host:port does not.
      // A user part with white space in it is not one: the "://" was text
      // in a key=value string (user='a://b' password='...'), which the
      // scan below must still see.
      const bool user_ok = colon != std::string_view::npos &&
                           std::none_of(segment.begin(), segment.begin() + colon, is_space);
      // An '@' found only past white space, with a password=... between
      // the ':' and it, belongs to that keyword/value password (host='x://h:/'
      // password='p@ss'): masking up to it would show the password's tail.
      // Then the "://" was text, and the keyword scan below masks the value.
      const bool keyword_password = at != std::string_view::npos && at > space && colon < at &&
                                    AssignsPassword(segment.substr(colon, at - colon));
      if (at != std::string_view::npos && user_ok && colon < first_at && !keyword_password) {
        out.append(segment.substr(0, colon + 1));
        out.append(kMask);
        i = start + at;  // continue at '@': the host part is scanned normally
      } else {
        i = start;
      }
      continue;
    }
    // password=secret, sslpassword = 'se cret', PGPASSWORD=secret, and
    // SQL's PASSWORD 'secret' (CREATE/ALTER ROLE in a migration's text).
    if (StartsWithIgnoreCase(text.substr(i), "password")) {
      size_t j = i + 8;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n')) ++j;
      if (j > i + 8 && j < text.size() && text[j] == '\'') {
        out.append(text.substr(i, j - i));
        size_t k = j + 1;
        while (k < text.size() &&
               !(text[k] == '\'' && (k + 1 >= text.size() || text[k + 1] != '\''))) {
          k += text[k] == '\'' ? 2 : 1;  // '' is a quote inside the literal
        }
        k = std::min(k + 1, text.size());
        out.append("'");
        out.append(kMask);
        out.append("'");
        i = k;
        continue;
      }
      // libpq skips any white space (isspace: tabs, \v, \f too) around
      // '=', so the value starts after all of it.
      j = i + 8;
      while (j < text.size() && is_space(text[j])) ++j;
      if (j < text.size() && (text[j] == '=' || text[j] == ':')) {
        ++j;
        while (j < text.size() && is_space(text[j])) ++j;
        out.append(text.substr(i, j - i));
        size_t k = j;
        if (k < text.size() && (text[k] == '\'' || text[k] == '"')) {
          char q = text[k++];
          while (k < text.size() && text[k] != q) k += (text[k] == '\\') ? 2 : 1;
          k = std::min(k + 1, text.size());
        } else {
          // Unquoted: up to white space (a backslash escapes the next one),
          // or in a URI query up to the next parameter ('&' is encoded in
          // query values).
          const bool in_query = i > 0 && (text[i - 1] == '?' || text[i - 1] == '&');
          while (k < text.size() && !is_space(text[k]) && !(in_query && text[k] == '&')) {
            k += (text[k] == '\\') ? 2 : 1;
          }
          k = std::min(k, text.size());
        }
        if (k > j) out.append(kMask);
        i = k;
        continue;
      }
    }
    // keyword='quoted value' of any other keyword (a "password" one was
    // handled above): the value is scanned on its own, so text inside it
    // cannot pose as the string's structure. Without this, user='a\'password='
    // password='secret' reads as a password "' password='" followed by
    // plain text. libpq escapes a quote inside the value with a backslash.
    // An unterminated value is left to the plain scan.
    if (text[i] == '=' && i > 0 &&
        (absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_' ||
         is_space(text[i - 1]))) {
      size_t j = i + 1;
      while (j < text.size() && is_space(text[j])) ++j;
      if (j < text.size() && text[j] == '\'') {
        size_t k = j + 1;
        while (k < text.size() && text[k] != '\'') k += (text[k] == '\\') ? 2 : 1;
        if (k < text.size()) {
          out.append(text.substr(i, j + 1 - i));
          out.append(ScrubSecrets(text.substr(j + 1, k - j - 1)));
          out.push_back('\'');
          i = k + 1;
          continue;
        }
      }
    }
    // API keys by their prefixes (Neon, Stripe, GitHub) and bearer tokens.
    bool key = TokenPrefixAt(text, i);
    if (key || StartsWithIgnoreCase(text.substr(i), "bearer ")) {
      size_t j = key ? i : i + 7;
      out.append(text.substr(i, j - i));
      size_t k = j;
      while (k < text.size() && !is_space(text[k]) && text[k] != '"' && text[k] != '\'' &&
             text[k] != ',') {
        ++k;
      }
      out.append(kMask);
      i = k;
      continue;
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

}  // namespace ds::common
