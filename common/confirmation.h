// The words by which dsd asks for a confirmation it did not get. dsd
// refuses to point a workspace's target at, or migrate, a protected or
// default branch unless the request says the caller confirmed it
// (`allow_protected`); the refusal (FAILED_PRECONDITION) reads
//   branch "main" is the default branch; migrating it <kNeedsConfirmation>
// and ds, seeing these words, asks on a terminal (or wants --yes) and
// sends the request again with allow_protected.
#ifndef DS_COMMON_CONFIRMATION_H_
#define DS_COMMON_CONFIRMATION_H_

#include <string_view>

namespace ds::common {

inline constexpr std::string_view kNeedsConfirmation =
    "needs confirmation: run again with --yes (API: set allow_protected)";

}  // namespace ds::common

#endif  // DS_COMMON_CONFIRMATION_H_
