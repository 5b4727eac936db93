// Test helper shared by the unit tests that check what an error says.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace ds {

// The status's message as a std::string, for gMock's HasSubstr and EXPECT_EQ.
inline std::string Msg(const absl::Status& s) { return std::string(s.message()); }

}  // namespace ds
