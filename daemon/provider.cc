#include "daemon/provider.h"
#include "common/strings.h"


namespace ds::daemon {

void ProviderRegistry::Add(std::unique_ptr<Provider> provider) {
  providers_.push_back(std::move(provider));
}

Resolution ProviderRegistry::Resolve(const common::ConnInfo& conn) const {
  Resolution r;
  std::vector<std::string> errors;
  for (const auto& p : providers_) {
    absl::StatusOr<std::optional<BranchLocation>> found = p->Resolve(conn);
    if (!found.ok()) {
      errors.push_back(StrCat(p->Name(), ": ", found.status().message()));
      continue;
    }
    if (found->has_value()) {
      r.branch = std::move(**found);
      return r;
    }
  }
  if (!errors.empty()) {
    r.unresolved_reason = errors.front();
  } else {
    std::string what = conn.neon_endpoint_id.empty()
                           ? StrCat("host ", conn.host.empty() ? "(default)" : conn.host)
                           : StrCat("Neon endpoint ", conn.neon_endpoint_id);
    r.unresolved_reason =
        StrCat("project and branch are not resolved: no configured provider knows ", what);
  }
  return r;
}

Provider* ProviderRegistry::Find(std::string_view name) const {
  for (const auto& p : providers_) {
    if (p->Name() == name) return p.get();
  }
  return nullptr;
}

absl::Status ValidateBranchName(std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("the branch name is empty; give a name");
  }
  size_t chars = 0;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "the branch name contains a control character; use printable characters only");
    }
    if ((c & 0xC0) != 0x80) ++chars;  // count UTF-8 code points, not bytes
  }
  if (chars > 256) {
    return absl::InvalidArgumentError(StrCat("the branch name is ", chars,
                                             " characters long; the limit is 256"));
  }
  return absl::OkStatus();
}

}  // namespace ds::daemon
