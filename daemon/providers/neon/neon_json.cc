#include "daemon/providers/neon/neon_json.h"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "common/strings.h"

namespace ds::daemon::neon {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// The DOM parser, not On-Demand: Debian builds libsimdjson with runtime
// dispatch, which the DOM parser (compiled into the library) uses, while
// On-Demand is inlined into our code and, built for baseline x86-64, falls
// back to the slow generic kernel (twice as slow as DOM on a branch page).
// The DOM also validates the whole body, so a truncated one never yields a
// partial page.

// Bodies up to this size reuse the thread's parser; a bigger one (a project
// with hundreds of branches in one page) gets its own, freed afterwards: the
// parser keeps ~15 bytes of buffers per byte of its largest document. A
// 100-branch page is about 75 KB.
constexpr size_t kReusedParserMaxBytes = size_t{256} << 10;

// An endpoint's last_active when it never ran; and Go's zero time, which the
// API uses for other unset timestamps (consumption_period_end).
constexpr std::string_view kNeverActive = "2000-01-01T00:00:00Z";
constexpr std::string_view kGoZeroTime = "0001-01-01T00:00:00Z";

constexpr std::string_view kUnexpected = "unexpected Neon API response: ";

// Where a value sits in the response, e.g. `branches[3].created_by`: a chain
// through the callers' frames, turned into text only for an error.
struct Where {
  std::string_view key;  // empty at the root
  int64_t index = -1;    // set for an array element
  const Where* parent = nullptr;

  Where Field(std::string_view k) const { return {k, -1, this}; }
  Where Item(int64_t i) const { return {key, i, parent}; }

  std::string Path() const {
    std::string out = parent ? parent->Path() : std::string();
    if (!key.empty()) StrAppend(&out, out.empty() ? "" : ".", key);
    if (index >= 0) StrAppend(&out, "[", index, "]");
    return out;
  }
  std::string PathTo(std::string_view k) const {
    std::string p = Path();
    return p.empty() ? std::string(k) : StrCat(p, ".", k);
  }
};

std::string_view TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64: return "an integer";
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "a value";
}

absl::Status WrongType(const Where& w, std::string_view key, element v, std::string_view expected) {
  const std::string path = key.empty() ? w.Path() : w.PathTo(key);
  return absl::InvalidArgumentError(StrCat(kUnexpected, path.empty() ? "the body" : path, " is ",
                                           TypeName(v.type()), ", expected ", expected));
}

// Conversions of a present, non-null value; false on a type mismatch.
bool Get(element v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s);
  return true;
}
bool Get(element v, bool& out) { return !v.get_bool().get(out); }
bool Get(element v, int64_t& out) { return !v.get_int64().get(out); }
bool Get(element v, int& out) {
  int64_t n = 0;
  if (v.get_int64().get(n) || n < std::numeric_limits<int>::min() ||
      n > std::numeric_limits<int>::max()) {
    return false;
  }
  out = static_cast<int>(n);
  return true;
}
bool Get(element v, object& out) { return !v.get_object().get(out); }
bool Get(element v, array& out) { return !v.get_array().get(out); }

constexpr std::string_view Expected(const std::string&) { return "a string"; }
constexpr std::string_view Expected(const bool&) { return "a boolean"; }
constexpr std::string_view Expected(const int64_t&) { return "an integer"; }
constexpr std::string_view Expected(const int&) { return "a 32-bit integer"; }
constexpr std::string_view Expected(const object&) { return "an object"; }
constexpr std::string_view Expected(const array&) { return "an array"; }

// Reads the fields of one object. Required fields must be present and not
// null; optional ones that are missing or null leave `out` untouched. The
// first problem sticks in status() and makes later reads no-ops, so a
// reader is a chain of calls followed by one check.
class Reader {
 public:
  Reader(object obj, const Where& where) : obj_(obj), where_(where) {}

  template <typename T>
  Reader& Required(std::string_view key, T& out) {
    Read(key, out, true);
    return *this;
  }
  template <typename T>
  Reader& Optional(std::string_view key, T& out) {
    Read(key, out, false);
    return *this;
  }
  // Like Optional, but reports whether the value was there.
  template <typename T>
  bool Has(std::string_view key, T& out) {
    return Read(key, out, false);
  }

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  const Where& where() const { return where_; }

 private:
  template <typename T>
  bool Read(std::string_view key, T& out, bool required) {
    if (!status_.ok()) return false;
    element v;
    if (obj_.at_key(key).get(v)) {
      if (required) {
        status_ = absl::InvalidArgumentError(
            StrCat(kUnexpected, "no \"", key, "\"", InWhere()));
      }
      return false;
    }
    if (v.is_null()) {
      if (required) {
        status_ = absl::InvalidArgumentError(
            StrCat(kUnexpected, "\"", key, "\" is null", InWhere()));
      }
      return false;
    }
    if (!Get(v, out)) {
      status_ = WrongType(where_, key, v, Expected(out));
      return false;
    }
    return true;
  }

  std::string InWhere() const {
    std::string p = where_.Path();
    return p.empty() ? p : StrCat(" in ", p);
  }

  object obj_;
  const Where& where_;
  absl::Status status_;
};

// Reads the array of objects at `key` into `out` with
// read(object, const Where&, T&) -> absl::Status.
template <typename T, typename ReadItem>
absl::Status ReadList(Reader& r, std::string_view key, bool required, std::vector<T>& out,
                      ReadItem read) {
  array items;
  const bool present = required ? r.Required(key, items).ok() : r.Has(key, items);
  if (!r.ok() || !present) return r.status();
  const Where list = r.where().Field(key);
  out.reserve(items.size());
  int64_t i = 0;
  for (element e : items) {
    const Where w = list.Item(i++);
    object o;
    if (!Get(e, o)) return WrongType(w, "", e, "an object");
    T item;
    if (absl::Status s = read(o, w, item); !s.ok()) return s;
    out.push_back(std::move(item));
  }
  return absl::OkStatus();
}

// Reads the object at `key` with read(object, const Where&, T&).
template <typename T, typename ReadItem>
absl::Status ReadChild(Reader& r, std::string_view key, bool required, T& out, ReadItem read) {
  object o;
  const bool present = required ? r.Required(key, o).ok() : r.Has(key, o);
  if (!r.ok() || !present) return r.status();
  return read(o, r.where().Field(key), out);
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

absl::Status Malformed(simdjson::error_code err, size_t size) {
  if (err == simdjson::EMPTY) {
    return absl::DataLossError("the Neon API returned an empty body where JSON was expected");
  }
  // simdjson's DOM parser reports what is wrong but not where; the size
  // helps to spot a body cut short.
  return absl::DataLossError(StrCat("the Neon API returned malformed JSON (",
                                    simdjson::error_message(err), "; ", size, " bytes)"));
}

// Parses `json` and hands its root object to read(object, const Where&, T&).
// `read` must copy out what it keeps: the document lives in a parser that
// the thread's next parse reuses, so readers never call a Parse* function.
template <typename T, typename ReadRoot>
absl::StatusOr<T> ParseRoot(std::string_view json, ReadRoot read) {
  if (json.empty()) return Malformed(simdjson::EMPTY, 0);
  std::unique_ptr<simdjson::dom::parser> own;
  simdjson::dom::parser* parser = &ThreadParser();
  if (json.size() > kReusedParserMaxBytes) {
    own = std::make_unique<simdjson::dom::parser>();
    parser = own.get();
  }
  element root;
  // Copies into the parser's padded buffer (reused): json needs no padding.
  if (auto err = parser->parse(json.data(), json.size()).get(root)) {
    return Malformed(err, json.size());
  }
  const Where where;
  object o;
  if (!Get(root, o)) return WrongType(where, "", root, "an object");
  T out;
  if (absl::Status s = read(o, where, out); !s.ok()) return s;
  return out;
}

// --- One reader per object type ---------------------------------------------

// Required: id, name (spec-required region_id, proxy_host, pg_version... are
// optional here: ds can list a project without them).
absl::Status ReadProject(object o, const Where& w, Project& p) {
  return Reader(o, w)
      .Required("id", p.id)
      .Required("name", p.name)
      .Optional("region_id", p.region_id)
      .Optional("org_id", p.org_id)
      .Optional("created_at", p.created_at)
      .Optional("updated_at", p.updated_at)
      .Optional("proxy_host", p.proxy_host)
      .Optional("pg_version", p.pg_version)
      .status();
}

// Required: id, project_id, name, current_state and `default`, whose
// absence must not read as "not the default branch". Responses from before
// `primary` was renamed (a 2024 recording in neondatabase/neon-api-python)
// carry only `primary`, and no `protected`: that one stays optional (false),
// and Neon itself refuses to delete a protected or default branch.
absl::Status ReadBranch(object o, const Where& w, Branch& b) {
  Reader r(o, w);
  r.Required("id", b.id)
      .Required("project_id", b.project_id)
      .Required("name", b.name)
      .Required("current_state", b.current_state)
      .Optional("logical_size", b.logical_size);
  const bool has_default = r.Has("default", b.is_default) || r.Has("primary", b.is_default);
  if (!r.ok()) return r.status();
  if (!has_default) r.Required("default", b.is_default);  // reports it missing
  r.Optional("protected", b.is_protected)
      .Optional("created_at", b.created_at)
      .Optional("updated_at", b.updated_at)
      .Optional("pending_state", b.pending_state)
      .Optional("parent_id", b.parent_id)
      .Optional("expires_at", b.expires_at);
  return ReadChild(r, "created_by", false, b.created_by,
                   [](object by, const Where& bw, std::string& name) {
                     return Reader(by, bw).Optional("name", name).status();
                   });
}

// Required: id, project_id, branch_id, host, type, current_state.
absl::Status ReadEndpoint(object o, const Where& w, Endpoint& e) {
  absl::Status s = Reader(o, w)
                       .Required("id", e.id)
                       .Required("project_id", e.project_id)
                       .Required("branch_id", e.branch_id)
                       .Required("host", e.host)
                       .Required("type", e.type)
                       .Required("current_state", e.current_state)
                       .Optional("last_active", e.last_active)
                       .Optional("disabled", e.disabled)
                       .status();
  if (e.last_active == kNeverActive || e.last_active == kGoZeroTime) e.last_active.clear();
  return s;
}

absl::Status ReadRole(object o, const Where& w, Role& role) {
  return Reader(o, w).Required("name", role.name).Optional("protected", role.is_protected).status();
}

absl::Status ReadDatabase(object o, const Where& w, Database& db) {
  return Reader(o, w).Required("name", db.name).Required("owner_name", db.owner_name).status();
}

// Required: id, action, status (a poll loop must not guess the status).
absl::Status ReadOperation(object o, const Where& w, Operation& op) {
  return Reader(o, w)
      .Required("id", op.id)
      .Required("action", op.action)
      .Required("status", op.status)
      .Optional("error", op.error)
      .Optional("branch_id", op.branch_id)
      .Optional("endpoint_id", op.endpoint_id)
      .status();
}

// {connection_uri, connection_parameters:{database, password, role, host,
// pooler_host}}; the password is only kept inside `uri`.
absl::Status ReadConnectionUri(object o, const Where& w, ConnectionUri& c) {
  Reader r(o, w);
  r.Required("connection_uri", c.uri);
  return ReadChild(r, "connection_parameters", false, c,
                   [](object params, const Where& pw, ConnectionUri& out) {
                     return Reader(params, pw)
                         .Optional("role", out.role)
                         .Optional("database", out.database)
                         .Optional("host", out.host)
                         .Optional("pooler_host", out.pooler_host)
                         .status();
                   });
}

// A root {key: [...]}, the shape of every unpaginated list.
template <typename T, typename ReadItem>
absl::StatusOr<std::vector<T>> ParseList(std::string_view json, std::string_view key,
                                         ReadItem read) {
  return ParseRoot<std::vector<T>>(json, [&](object o, const Where& w, std::vector<T>& out) {
    Reader r(o, w);
    return ReadList(r, key, true, out, read);
  });
}

// A root {key: {...}}, the shape of every single-object get.
template <typename T, typename ReadItem>
absl::StatusOr<T> ParseSingle(std::string_view json, std::string_view key, ReadItem read) {
  return ParseRoot<T>(json, [&](object o, const Where& w, T& out) {
    Reader r(o, w);
    return ReadChild(r, key, true, out, read);
  });
}

// A root {key: "string"}.
absl::StatusOr<std::string> ParseRootString(std::string_view json, std::string_view key) {
  return ParseRoot<std::string>(json, [&](object o, const Where& w, std::string& out) {
    return Reader(o, w).Required(key, out).status();
  });
}

}  // namespace

absl::StatusOr<ProjectsPage> ParseProjectsPage(std::string_view json) {
  return ParseRoot<ProjectsPage>(json, [](object o, const Where& w, ProjectsPage& page) {
    Reader r(o, w);
    if (absl::Status s = ReadList(r, "projects", true, page.projects, ReadProject); !s.ok()) {
      return s;
    }
    // Projects that exist but did not answer within the list's timeout: a
    // caller that audits or prunes must not read them as gone.
    array unavailable;
    if (r.Has("unavailable_project_ids", unavailable)) {
      const Where list = w.Field("unavailable_project_ids");
      int64_t i = 0;
      for (element id : unavailable) {
        std::string s;
        if (!Get(id, s)) return WrongType(list.Item(i), "", id, "a string");
        page.unavailable_project_ids.push_back(std::move(s));
        ++i;
      }
    }
    return ReadChild(r, "pagination", false, page.cursor,
                     [](object p, const Where& pw, std::string& cursor) {
                       return Reader(p, pw).Optional("cursor", cursor).status();
                     });
  });
}

absl::StatusOr<Project> ParseProject(std::string_view json) {
  return ParseSingle<Project>(json, "project", ReadProject);
}

absl::StatusOr<BranchesPage> ParseBranchesPage(std::string_view json) {
  return ParseRoot<BranchesPage>(json, [](object o, const Where& w, BranchesPage& page) {
    Reader r(o, w);
    if (absl::Status s = ReadList(r, "branches", true, page.branches, ReadBranch); !s.ok()) {
      return s;
    }
    // `next` is opaque (base64 JSON) and comes even on a one-item page;
    // sort_by and sort_order ("DESC", upper case) only echo the request.
    return ReadChild(r, "pagination", false, page.next,
                     [](object p, const Where& pw, std::string& next) {
                       return Reader(p, pw).Optional("next", next).status();
                     });
  });
}

absl::StatusOr<Branch> ParseBranch(std::string_view json) {
  return ParseSingle<Branch>(json, "branch", ReadBranch);
}

absl::StatusOr<std::vector<Endpoint>> ParseEndpoints(std::string_view json) {
  return ParseList<Endpoint>(json, "endpoints", ReadEndpoint);
}

absl::StatusOr<std::vector<Role>> ParseRoles(std::string_view json) {
  return ParseList<Role>(json, "roles", ReadRole);
}

absl::StatusOr<std::vector<Database>> ParseDatabases(std::string_view json) {
  return ParseList<Database>(json, "databases", ReadDatabase);
}

absl::StatusOr<Operation> ParseOperation(std::string_view json) {
  return ParseSingle<Operation>(json, "operation", ReadOperation);
}

absl::StatusOr<BranchMutation> ParseBranchMutation(std::string_view json) {
  return ParseRoot<BranchMutation>(json, [](object o, const Where& w, BranchMutation& m) {
    Reader r(o, w);
    absl::Status s = ReadChild(r, "branch", true, m.branch, ReadBranch);
    if (s.ok()) s = ReadList(r, "operations", true, m.operations, ReadOperation);
    // Delete and restore answer without endpoints or connection_uris.
    if (s.ok()) s = ReadList(r, "endpoints", false, m.endpoints, ReadEndpoint);
    if (s.ok()) s = ReadList(r, "connection_uris", false, m.connection_uris, ReadConnectionUri);
    return s;
  });
}

absl::StatusOr<std::string> ParseConnectionUri(std::string_view json) {
  return ParseRootString(json, "uri");
}

absl::StatusOr<std::string> ParseRevealedPassword(std::string_view json) {
  return ParseRootString(json, "password");
}

std::optional<ApiError> ParseApiError(std::string_view json) {
  absl::StatusOr<ApiError> e =
      ParseRoot<ApiError>(json, [](object o, const Where& w, ApiError& out) {
        // `code` is a string enum that may be ""; tolerate its absence too.
        return Reader(o, w)
            .Required("message", out.message)
            .Optional("code", out.code)
            .Optional("request_id", out.request_id)
            .status();
      });
  if (!e.ok()) return std::nullopt;
  return *std::move(e);
}

}  // namespace ds::daemon::neon
