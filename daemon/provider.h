// The seam every database provider plugs into. dsd asks the registered
// providers, in order, which branch a database address belongs to; the
// branch services of later issues extend Provider with list/create/delete.
//
// Providers never see the RPC layer: they take and return plain structs.
#ifndef DS_DAEMON_PROVIDER_H_
#define DS_DAEMON_PROVIDER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/conninfo.h"

namespace ds::daemon {

struct BranchLocation {
  std::string provider;
  std::string project_id;
  std::string project_name;
  std::string branch_id;
  std::string branch_name;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view Name() const = 0;
  // The branch that owns (host, port, database) of `conn`; nullopt when the
  // address is not one of this provider's. Errors mean "mine, but I could
  // not tell" (e.g. the provider's API is unreachable).
  virtual absl::StatusOr<std::optional<BranchLocation>> Resolve(
      const common::ConnInfo& conn) = 0;
};

struct Resolution {
  std::optional<BranchLocation> branch;
  std::string unresolved_reason;  // set when branch is empty
};

// The providers dsd knows, asked in registration order.
class ProviderRegistry {
 public:
  void Add(std::unique_ptr<Provider> provider);
  Resolution Resolve(const common::ConnInfo& conn) const;
  bool empty() const { return providers_.empty(); }

 private:
  std::vector<std::unique_ptr<Provider>> providers_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDER_H_
