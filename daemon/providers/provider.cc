#include "daemon/providers/provider.h"

#include "common/clock.h"
#include "common/strings.h"
#include "common/usage_error.h"

namespace ds::daemon {

void ProviderRegistry::Add(std::unique_ptr<Provider> provider) {
  std::lock_guard lock(mu_);
  if (listener_) provider->SetChangeListener(listener_);
  providers_.push_back(std::move(provider));
}

void ProviderRegistry::AddFactory(std::string name, Factory factory) {
  std::lock_guard lock(mu_);
  factories_[std::move(name)] = std::move(factory);
}

void ProviderRegistry::SetChangeListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = listener;
  for (const auto& p : providers_) p->SetChangeListener(listener);
}

std::vector<Provider*> ProviderRegistry::All() const {
  std::lock_guard lock(mu_);
  std::vector<Provider*> out;
  for (const auto& p : providers_) out.push_back(p.get());
  return out;
}

absl::StatusOr<Provider*> ProviderRegistry::ForConfig(const common::Config& config) const {
  const std::string name = common::EffectiveProvider(config);
  std::lock_guard lock(mu_);
  auto f = factories_.find(name);
  if (f == factories_.end()) {
    for (const auto& p : providers_) {
      if (p->Name() == name) return p.get();
    }
    return absl::InvalidArgumentError(
        StrCat("unknown provider \"", name, "\"; set provider to local, neon or auto"));
  }
  absl::StatusOr<std::string> instance = f->second.instance(config);
  if (!instance.ok()) return instance.status();
  if (auto it = instances_.find(*instance); it != instances_.end()) return it->second;
  std::unique_ptr<Provider> made = f->second.make(config);
  if (listener_) made->SetChangeListener(listener_);
  Provider* raw = made.get();
  providers_.push_back(std::move(made));
  instances_[*instance] = raw;
  return raw;
}

Resolution ProviderRegistry::Resolve(const common::ConnInfo& conn) const {
  Resolution r;
  std::vector<std::string> errors;
  for (Provider* p : All()) {
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

absl::Status ProviderRegistry::PrepareToConnect(const common::ConnInfo& conn) const {
  for (Provider* p : All()) {
    if (absl::Status s = p->PrepareToConnect(conn); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool ProviderRegistry::ResolveMayWait(const common::ConnInfo& conn) const {
  // Under the lock (no copy of the list): providers answer this at once.
  std::lock_guard lock(mu_);
  for (const auto& p : providers_) {
    if (p->ResolveMayWait(conn)) return true;
  }
  return false;
}

bool ProviderRegistry::WouldMake(const common::Config& config) const {
  const std::string name = common::EffectiveProvider(config);
  std::lock_guard lock(mu_);
  auto f = factories_.find(name);
  if (f == factories_.end()) return false;
  absl::StatusOr<std::string> instance = f->second.instance(config);
  return instance.ok() && !instances_.count(*instance);
}

Provider* ProviderRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& p : providers_) {
    if (p->Name() == name) return p.get();
  }
  return nullptr;
}

absl::Status ValidateBranchName(std::string_view name) {
  if (name.empty()) {
    return common::UsageError("the branch name is empty; give a name");
  }
  size_t chars = 0;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return common::UsageError(
          "the branch name contains a control character; use printable characters only");
    }
    if ((c & 0xC0) != 0x80) ++chars;  // count UTF-8 code points, not bytes
  }
  if (chars > 256) {
    return common::UsageError(
        StrCat("the branch name is ", chars, " characters long; the limit is 256"));
  }
  return absl::OkStatus();
}

absl::Status CheckExpiry(const std::string& expires_at, int max_days) {
  std::optional<int64_t> when = common::ParseRfc3339(expires_at);
  if (!when) {
    return absl::InvalidArgumentError(
        StrCat("expiry \"", expires_at, "\" is not an RFC 3339 time (2026-12-31T12:00:00Z)"));
  }
  const int64_t now = common::UnixMillisNow();
  if (*when <= now) {
    return absl::InvalidArgumentError(StrCat("expiry ", expires_at, " is in the past"));
  }
  if (max_days > 0 && *when - now > int64_t{max_days} * 24 * 3600 * 1000) {
    return absl::InvalidArgumentError(StrCat("expiry ", expires_at, " is more than ", max_days,
                                             " days ahead; Neon allows at most ", max_days));
  }
  return absl::OkStatus();
}

absl::Status CheckExpiryAllowed(const std::string& name, bool is_default, bool is_protected,
                                int children) {
  if (is_default) {
    return absl::PermissionDeniedError(
        StrCat("\"", name, "\" is the default branch; it cannot expire"));
  }
  if (is_protected) {
    return absl::PermissionDeniedError(
        StrCat("branch \"", name, "\" is protected; protected branches cannot expire"));
  }
  if (children > 0) {
    return absl::FailedPreconditionError(
        StrCat("branch \"", name, "\" has ", children, children == 1 ? " child" : " children",
               "; a branch with children cannot expire (delete or expire them first)"));
  }
  return absl::OkStatus();
}

}  // namespace ds::daemon
