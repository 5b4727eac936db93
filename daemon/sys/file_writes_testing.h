// Test helper shared by the tests of the file watches and caches
// (path_watch_test, file_cache_test): a write that keeps the inode, the way
// an editor saving in place or `echo >>` changes a file.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace ds::daemon {

// Writes `text` into the existing inode (or creates the file).
inline void WriteInPlace(const std::filesystem::path& p, const std::string& text) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << p;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

}  // namespace ds::daemon
