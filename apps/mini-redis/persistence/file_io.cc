#include "apps/mini-redis/persistence/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mini_redis::file_io {

OpenFile::~OpenFile() {
  if (fd >= 0) ::close(fd);
}

absl::Status errno_status(int err, std::string_view op, std::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(std::string(op), " ", std::string(path)));
}

absl::Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "write", path);
    }
    if (n == 0) return errno_status(EIO, "write", path);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status write_all(int fd, const std::vector<std::string>& pieces, const std::string& path) {
  std::vector<iovec> iov;
  iov.reserve(pieces.size());
  for (const std::string& p : pieces) {
    if (!p.empty()) iov.push_back(iovec{const_cast<char*>(p.data()), p.size()});
  }
  std::size_t first = 0;
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::writev(fd, iov.data() + first, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "write", path);
    }
    if (n == 0) return errno_status(EIO, "write", path);
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

absl::Status sync_fd(int fd, const std::string& path) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno_status(errno, "fdatasync", path);
  }
  return absl::OkStatus();
}

absl::Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open", dir);
  absl::Status s;
  if (::fsync(fd) != 0) s = errno_status(errno, "fsync", dir);
  ::close(fd);
  return s;
}

absl::StatusOr<int> open_append(const std::string& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return errno_status(errno, "open", path);
  return fd;
}

}  // namespace mini_redis::file_io
