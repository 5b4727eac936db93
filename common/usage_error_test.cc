#include "common/usage_error.h"

#include <gtest/gtest.h>

namespace ds::common {
namespace {

TEST(UsageError, IsInvalidArgumentWithItsMessage) {
  absl::Status s = UsageError("the branch name is empty; give a name");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "the branch name is empty; give a name");
  EXPECT_TRUE(IsUsageError(s));
}

TEST(UsageError, PlainInvalidArgumentIsNotAUsageError) {
  EXPECT_FALSE(IsUsageError(absl::InvalidArgumentError("/w/.env:3: unterminated quote")));
  EXPECT_FALSE(IsUsageError(absl::OkStatus()));
  EXPECT_FALSE(IsUsageError(absl::NotFoundError("x")));
}

TEST(UsageError, MarkSurvivesCopies) {
  absl::Status s = UsageError("x");
  absl::Status copy = s;
  EXPECT_TRUE(IsUsageError(copy));
}

}  // namespace
}  // namespace ds::common
