#include "common/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <vector>

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
  std::string dotted = StrCat(".", domain);
  if (!dotted.ends_with(".neon.tech") && !dotted.ends_with(".neon.build")) {
    return "";
  }
  ConsumeSuffix(&label, "-pooler");
  return std::string(label);
}

namespace {

struct ParseResult {
  std::unique_ptr<PQconninfoOption, OptionsDeleter> options;
  std::string error;
};

ParseResult Parse(std::string_view conn) {
  std::string s(conn);
  char* err = nullptr;
  ParseResult r;
  r.options.reset(PQconninfoParse(s.c_str(), &err));
  if (err) {
    r.error = std::string(TrimAsciiWhitespace(err));
    PQfreemem(err);
  } else if (!r.options) {
    r.error = "out of memory";
  }
  return r;
}

ConnInfo FromOptions(const PQconninfoOption* opts, bool is_uri) {
  ConnInfo info;
  info.is_uri = is_uri;
  std::string hostaddr;
  for (const PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    std::string v = o->val;
    if (k == "host") info.host = v;
    else if (k == "hostaddr") hostaddr = v;
    else if (k == "port") info.port = v;
    else if (k == "dbname") info.dbname = v;
    else if (k == "user") info.user = v;
    else if (k == "password") info.password = v;
    else if (k == "options") info.options = v;
    info.params.emplace_back(std::string(k), std::move(v));
  }
  if (info.host.empty()) info.host = hostaddr;  // hostaddr alone names the server too
  info.neon_endpoint_id = NeonEndpointId(info.host, info.options);
  return info;
}

// The password of a URI exactly as written, taking the userinfo to end at
// the last '@' before the query. A password with an unencoded '@' or '/'
// makes libpq read the URI differently from what its author meant; this
// reading errs towards treating more of the string as secret.
std::string_view RawUriPassword(std::string_view conn) {
  size_t scheme = conn.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = conn.substr(scheme + 3);
  rest = rest.substr(0, rest.find('?'));
  size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view userinfo = rest.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return userinfo.substr(colon + 1);
}

// Every span of a URI that may be its password, for masking libpq's error
// messages (which quote the token they choke on): the RawUriPassword
// reading, and the one that takes the userinfo to end at the last '@'
// anywhere, since libpq reads a raw '?' before the '@' as password text.
std::vector<std::string_view> RawUriPasswordCandidates(std::string_view conn) {
  std::vector<std::string_view> out;
  if (std::string_view p = RawUriPassword(conn); !p.empty()) out.push_back(p);
  size_t scheme = conn.find("://");
  if (scheme == std::string_view::npos) return out;
  std::string_view rest = conn.substr(scheme + 3);
  size_t at = rest.rfind('@');
  if (at == std::string_view::npos) return out;
  std::string_view userinfo = rest.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
    out.push_back(userinfo.substr(colon + 1));
  }
  return out;
}

// Replaces every occurrence of `secret` in `text` with the mask.
std::string MaskOccurrences(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  return ReplaceAll(text, secret, kMask);
}

// ScrubSecrets(text), then every reading of `conn`'s raw password masked
// too. ScrubSecrets alone works line by line and on what looks like a URI;
// `conn` is one string whose password may hold a line break.
std::string ScrubWithRawPasswords(std::string_view text, std::string_view conn) {
  std::string out = ScrubSecrets(text);
  // Longest first: a shorter candidate may be a piece of a longer one.
  std::vector<std::string_view> candidates = RawUriPasswordCandidates(conn);
  std::sort(candidates.begin(), candidates.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (std::string_view secret : candidates) out = MaskOccurrences(std::move(out), secret);
  return out;
}

}  // namespace

absl::StatusOr<ConnInfo> ParseConnInfo(std::string_view conn) {
  if (TrimAsciiWhitespace(conn).empty()) {
    return absl::InvalidArgumentError("the connection string is empty");
  }
  ParseResult r = Parse(conn);
  if (!r.options) {
    // libpq quotes fragments of the input in its messages, the password
    // among them: mask it wherever it appears.
    std::string why = ScrubWithRawPasswords(r.error, conn);
    return absl::InvalidArgumentError(
        StrCat("invalid connection string ", RedactConnectionString(conn), ": ", why));
  }
  ConnInfo info = FromOptions(r.options.get(), IsUriForm(conn));
  // An unencoded '/' or '@' in a URI's password makes libpq read part of it
  // as the host, port or database, where RedactedUri would show it: refuse
  // the string rather than connect somewhere its author did not mean.
  if (info.is_uri) {
    std::string_view raw = RawUriPassword(conn);
    if (!raw.empty() && PercentDecode(raw) != info.password) {
      return absl::InvalidArgumentError(StrCat(
          "invalid connection string ", RedactConnectionString(conn),
          ": the password holds a character libpq reads as the end of the user part ('/', '@' "
          "or '?'); percent-encode it (/ as %2F, @ as %40, ? as %3F)"));
    }
  }
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
  std::vector<std::string_view> hosts = Split(info.host, ',');
  std::vector<std::string_view> ports = Split(info.port, ',');
  bool any_port = false;
  for (std::string_view p : ports) any_port |= !p.empty();
  if (!any_port) ports.clear();
  // A socket directory goes in the query, as does one port shared by
  // several hosts (libpq applies a single port to every host).
  const bool host_in_query = info.host.find('/') != std::string::npos;
  const bool port_in_query = !host_in_query && hosts.size() > 1 && ports.size() == 1;
  if (!host_in_query) {
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (i) out.push_back(',');
      std::string_view h = hosts[i];
      if (h.find(':') != std::string_view::npos) {
        StrAppend(&out, "[", h, "]");  // IPv6 literal
      } else {
        // A host holding '@' can only be a password fragment that libpq
        // took for a host name: never show it.
        size_t at = h.rfind('@');
        StrAppend(&out, at == std::string_view::npos ? "" : StrCat(kMask, "@"),
                  PercentEncode(h.substr(at == std::string_view::npos ? 0 : at + 1)));
      }
      if (!port_in_query && i < ports.size() && !ports[i].empty()) {
        StrAppend(&out, ":", ports[i]);
      }
    }
  }
  if (!info.dbname.empty()) StrAppend(&out, "/", PercentEncode(info.dbname));
  char sep = '?';
  for (const auto& [k, v] : info.params) {
    // user and password are in the authority part already.
    if (k == "user" || k == "password" || k == "dbname") continue;
    if (k == "host" && !host_in_query) continue;
    if (k == "port" && !host_in_query && !port_in_query) continue;
    if (k == "hostaddr" && info.host == v && !host_in_query) continue;
    StrAppend(&out, std::string(1, sep), k, "=",
              IsSecretKeyword(k) ? std::string(kMask) : PercentEncode(v));
    sep = '&';
  }
  return out;
}

std::string RedactConnectionString(std::string_view conn) {
  ParseResult r = Parse(conn);
  if (!r.options) return ScrubWithRawPasswords(conn, conn);
  ConnInfo info = FromOptions(r.options.get(), IsUriForm(conn));
  // When libpq's reading of the password differs from the raw one, the URI
  // is ambiguous (an unencoded '@' or '/' in the password): mask by the
  // cautious reading instead of rendering libpq's.
  if (info.is_uri) {
    std::string_view raw = RawUriPassword(conn);
    if (!raw.empty() && PercentDecode(raw) != info.password) {
      return ScrubWithRawPasswords(conn, conn);
    }
  }
  return RedactedUri(info);
}

}  // namespace ds::common
