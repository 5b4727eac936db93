#include "common/version.h"

// DS_VERSION is set by CMake. The test suite links a second dsd with another
// value to exercise the version-skew restart in ds.
#ifndef DS_VERSION
#error "DS_VERSION must be defined by the build"
#endif

namespace ds::common {

std::string_view Version() { return DS_VERSION; }

}  // namespace ds::common
