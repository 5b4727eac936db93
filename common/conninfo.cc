#include "common/conninfo.h"

#include <libpq-fe.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace ds::common {
namespace {

struct OptionsDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

bool IsUriForm(std::string_view s) {
  s = TrimAsciiWhitespace(s);
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// Percent-encodes everything but RFC 3986 unreserved characters (and any
// extra characters the caller allows).
std::string PercentEncode(std::string_view s, std::string_view also_allowed = "") {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        also_allowed.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsSecretKeyword(std::string_view k) {
  // sslpassword unlocks a client key; treat it like a password.
  return k == "password" || k == "sslpassword";
}

}  // namespace

std::string NeonEndpointId(std::string_view host, std::string_view options) {
  // options may hold several space-separated settings, e.g.
  // "endpoint=ep-x -c search_path=app"; the endpoint= one names the endpoint.
  for (std::string_view token : SplitSkipEmpty(options, ' ')) {
    if (ConsumePrefix(&token, "endpoint=") && token.starts_with("ep-")) {
      ConsumeSuffix(&token, "-pooler");
      return std::string(token);
    }
  }
  // A multi-host string names one endpoint per host; the first is the primary.
  std::string_view first_host = host.substr(0, host.find(','));
  std::string_view label = first_host.substr(0, first_host.find('.'));
  if (!label.starts_with("ep-") || label.size() == first_host.size()) return "";
  std::string_view domain = first_host.substr(label.size() + 1);
  // Neon hosts live under neon.tech (aws, azure, c-N cells) or neon.build.
  if (!domain.ends_with("neon.tech") && !domain.ends_with("neon.build")) {
    return "";
  }
  ConsumeSuffix(&label, "-pooler");
  return std::string(label);
}

absl::StatusOr<ConnInfo> ParseConnInfo(std::string_view conn) {
  std::string s(conn);
  if (TrimAsciiWhitespace(s).empty()) {
    return absl::InvalidArgumentError("the connection string is empty");
  }
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsDeleter> opts(PQconninfoParse(s.c_str(), &err));
  if (!opts) {
    std::string why = err ? std::string(TrimAsciiWhitespace(err))
                          : std::string("out of memory");
    if (err) PQfreemem(err);
    // libpq quotes fragments of the input in its messages; scrub them too.
    return absl::InvalidArgumentError(StrCat("invalid connection string ",
                                                   RedactConnectionString(conn), ": ",
                                                   ScrubSecrets(why)));
  }
  ConnInfo info;
  info.is_uri = IsUriForm(conn);
  for (PQconninfoOption* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    std::string v = o->val;
    if (k == "host") info.host = v;
    else if (k == "hostaddr" && info.host.empty()) info.host = v;
    else if (k == "port") info.port = v;
    else if (k == "dbname") info.dbname = v;
    else if (k == "user") info.user = v;
    else if (k == "password") info.password = v;
    else if (k == "options") info.options = v;
    info.params.emplace_back(std::string(k), std::move(v));
  }
  info.neon_endpoint_id = NeonEndpointId(info.host, info.options);
  return info;
}

std::string RedactedUri(const ConnInfo& info) {
  std::string out = "postgresql://";
  if (!info.user.empty()) {
    StrAppend(&out, PercentEncode(info.user));
    if (!info.password.empty()) StrAppend(&out, ":", kMask);
    out.push_back('@');
  } else if (!info.password.empty()) {
    StrAppend(&out, ":", kMask, "@");
  }
  // A socket directory (or several hosts with one) goes in the query.
  bool host_in_query = info.host.find('/') != std::string::npos;
  if (!host_in_query) {
    bool first = true;
    for (std::string_view h : Split(info.host, ',')) {
      if (!first) out.push_back(',');
      first = false;
      if (h.find(':') != std::string_view::npos) {
        StrAppend(&out, "[", h, "]");  // IPv6 literal
      } else {
        StrAppend(&out, PercentEncode(h));
      }
    }
    if (!info.port.empty()) StrAppend(&out, ":", info.port);
  }
  if (!info.dbname.empty()) StrAppend(&out, "/", PercentEncode(info.dbname));
  char sep = '?';
  for (const auto& [k, v] : info.params) {
    // user and password are in the authority part already.
    if (k == "user" || k == "password" || k == "dbname" || k == "hostaddr") continue;
    if ((k == "host" && !host_in_query) || (k == "port" && !host_in_query)) continue;
    StrAppend(&out, std::string(1, sep), k, "=",
                    IsSecretKeyword(k) ? std::string(kMask) : PercentEncode(v));
    sep = '&';
  }
  return out;
}

std::string RedactConnectionString(std::string_view conn) {
  std::string s(conn);
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsDeleter> opts(PQconninfoParse(s.c_str(), &err));
  if (err) PQfreemem(err);
  if (!opts) return ScrubSecrets(conn);
  // Reuse the parse above rather than ParseConnInfo, which would recurse
  // into this function for its error message.
  ConnInfo info;
  for (PQconninfoOption* o = opts.get(); o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "host") info.host = o->val;
    else if (k == "port") info.port = o->val;
    else if (k == "dbname") info.dbname = o->val;
    else if (k == "user") info.user = o->val;
    else if (k == "password") info.password = o->val;
    info.params.emplace_back(std::string(k), o->val);
  }
  return RedactedUri(info);
}

std::string ScrubSecrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  auto is_stop = [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' ||
           c == '`' || c == ',' || c == ';' || c == ')' || c == ']' || c == '}';
  };
  while (i < text.size()) {
    // scheme://user:secret@host  ->  scheme://user:****@host
    if (text.compare(i, 3, "://") == 0) {
      size_t start = i + 3;
      size_t end = start;
      while (end < text.size() && !is_stop(text[end]) && text[end] != '/' &&
             text[end] != '?' && text[end] != '#') {
        ++end;
      }
      std::string_view authority = text.substr(start, end - start);
      size_t at = authority.rfind('@');
      size_t colon = authority.find(':');
      out.append("://");
      if (at != std::string_view::npos && colon != std::string_view::npos && colon < at) {
        out.append(authority.substr(0, colon + 1));
        out.append(kMask);
        out.append(authority.substr(at));
      } else {
        out.append(authority);
      }
      i = end;
      continue;
    }
    // password=secret, sslpassword = 'se cret', PGPASSWORD=secret
    if (absl::ascii_tolower(static_cast<unsigned char>(text[i])) == 'p' &&
        StartsWithIgnoreCase(text.substr(i), "password")) {
      size_t j = i + 8;
      while (j < text.size() && text[j] == ' ') ++j;
      if (j < text.size() && (text[j] == '=' || text[j] == ':')) {
        ++j;
        while (j < text.size() && text[j] == ' ') ++j;
        out.append(text.substr(i, j - i));
        if (j < text.size() && (text[j] == '\'' || text[j] == '"')) {
          char q = text[j];
          size_t k = j + 1;
          while (k < text.size() && text[k] != q) k += (text[k] == '\\') ? 2 : 1;
          out.append(kMask);
          i = std::min(k + 1, text.size());
        } else {
          size_t k = j;
          while (k < text.size() && !is_stop(text[k]) && text[k] != '&') ++k;
          if (k > j) out.append(kMask);
          i = k;
        }
        continue;
      }
    }
    // Neon API keys and bearer tokens.
    if (text.compare(i, 5, "napi_") == 0 || StartsWithIgnoreCase(text.substr(i), "bearer ")) {
      size_t j = text.compare(i, 5, "napi_") == 0 ? i : i + 7;
      out.append(text.substr(i, j - i));
      size_t k = j;
      while (k < text.size() && !is_stop(text[k])) ++k;
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
