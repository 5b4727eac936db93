#include "daemon/sys/inherited_fds.h"

#include <gtest/gtest.h>

namespace ds::daemon {
namespace {

TEST(FirstUnwantedFdTest, KeepsSystemdSocketsOnlyWhenTheyAreOurs) {
  EXPECT_EQ(FirstUnwantedFd(nullptr, nullptr, 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "1", 100), 4);
  EXPECT_EQ(FirstUnwantedFd("100", "2", 100), 5);
  // Meant for another process (a parent that was activated): not ours.
  EXPECT_EQ(FirstUnwantedFd("99", "1", 100), 3);
}

TEST(FirstUnwantedFdTest, GarbageKeepsNothing) {
  EXPECT_EQ(FirstUnwantedFd("100", nullptr, 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "", 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "x", 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "-1", 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "0", 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100", "100000", 100), 3);
  EXPECT_EQ(FirstUnwantedFd("100x", "1", 100), 3);
}

}  // namespace
}  // namespace ds::daemon
