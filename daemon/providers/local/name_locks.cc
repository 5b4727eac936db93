#include "daemon/providers/local/name_locks.h"

#include <algorithm>

namespace ds::daemon {
namespace {

void SortUnique(std::vector<std::string>* names) {
  std::sort(names->begin(), names->end());
  names->erase(std::unique(names->begin(), names->end()), names->end());
}

}  // namespace

NameLocks::Held::Held(Held&& other) noexcept
    : owner_(other.owner_),
      exclusive_(std::move(other.exclusive_)),
      shared_(std::move(other.shared_)) {
  other.owner_ = nullptr;
}

NameLocks::Held::~Held() {
  if (owner_) owner_->Release(exclusive_, shared_);
}

bool NameLocks::Free(const std::vector<std::string>& exclusive,
                     const std::vector<std::string>& shared) const {
  for (const std::string& name : exclusive) {
    if (held_.contains(name)) return false;
  }
  for (const std::string& name : shared) {
    auto it = held_.find(name);
    if (it != held_.end() && it->second.exclusive) return false;
  }
  return true;
}

NameLocks::Held NameLocks::Lock(std::vector<std::string> exclusive,
                                std::vector<std::string> shared) {
  SortUnique(&exclusive);
  SortUnique(&shared);
  std::erase_if(shared, [&](const std::string& name) {
    return std::binary_search(exclusive.begin(), exclusive.end(), name);
  });
  std::unique_lock lock(mu_);
  if (!Free(exclusive, shared)) {
    ++waiting_;
    released_.wait(lock, [&] { return Free(exclusive, shared); });
    --waiting_;
  }
  for (const std::string& name : exclusive) held_[name].exclusive = true;
  for (const std::string& name : shared) ++held_[name].shared;
  return Held(this, std::move(exclusive), std::move(shared));
}

void NameLocks::Release(const std::vector<std::string>& exclusive,
                        const std::vector<std::string>& shared) {
  {
    std::lock_guard lock(mu_);
    for (const std::string& name : exclusive) held_.erase(name);
    for (const std::string& name : shared) {
      auto it = held_.find(name);
      if (it != held_.end() && --it->second.shared == 0) held_.erase(it);
    }
  }
  released_.notify_all();
}

int NameLocks::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace ds::daemon
