// Test helpers of //runtime/fs: a fresh temporary directory per test body, and plain
// (synchronous) file helpers for setting up and checking what the async code did.
#ifndef KEEL_RUNTIME_FS_FS_TEST_UTIL_H_
#define KEEL_RUNTIME_FS_FS_TEST_UTIL_H_

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace keel::fs::testing {

// A new empty directory under $TEST_TMPDIR (or /tmp), unique to this call.
inline std::string fresh_dir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/keel_fs_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    std::abort();
  }
  return tmpl;
}

inline void put(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

inline std::string get(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<missing>";
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

inline bool present(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace keel::fs::testing

#endif  // KEEL_RUNTIME_FS_FS_TEST_UTIL_H_
