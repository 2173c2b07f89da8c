#include "runtime/fs/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/blocking/run_blocking.h"
#include "runtime/fs/errors.h"

namespace keel::fs {

using detail::errno_error;
using detail::errno_error2;

namespace {

std::chrono::system_clock::time_point to_time_point(const struct timespec& ts) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

// Closes an fd on scope exit (EINTR from close is not retried on Linux).
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

absl::StatusOr<std::string> read_blocking(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open", path);
  FdCloser closer{fd};
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reserve(static_cast<std::size_t>(st.st_size));
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read", path);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status write_all_fd(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write", path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status create_dir_all_blocking(const std::string& path) {
  if (path.empty()) return errno_error(ENOENT, "create_dir_all", path);
  // Each prefix ending before a '/', then the whole path.
  std::size_t pos = 0;
  for (;;) {
    std::size_t slash = path.find('/', pos);
    std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    pos = slash == std::string::npos ? path.size() : slash + 1;
    if (!prefix.empty() && prefix != "." && prefix != "..") {
      if (::mkdir(prefix.c_str(), 0777) != 0) {
        int err = errno;
        struct stat st;
        bool is_dir = ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        if (!is_dir) {
          if (err == EEXIST) err = ENOTDIR;  // a file is in the way
          return errno_error(err, "create_dir_all", prefix);
        }
      }
    }
    if (slash == std::string::npos) return absl::OkStatus();
  }
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

absl::Status remove_tree(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return errno_error(errno, "remove_dir_all", path);
  std::vector<std::pair<std::string, bool>> children;  // name, is a directory
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir);
    if (e == nullptr) {
      int err = errno;
      ::closedir(dir);
      if (err != 0) return errno_error(err, "remove_dir_all", path);
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      std::string child = join(path, name);
      if (::lstat(child.c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT) continue;  // removed meanwhile
        ::closedir(dir);
        return errno_error(err, "remove_dir_all", child);
      }
      is_dir = S_ISDIR(st.st_mode);
    } else {
      is_dir = e->d_type == DT_DIR;
    }
    children.emplace_back(std::move(name), is_dir);
  }
  for (const auto& [name, is_dir] : children) {
    std::string child = join(path, name);
    if (is_dir) {
      absl::Status s = remove_tree(child);
      if (!s.ok()) return s;
    } else if (::unlink(child.c_str()) != 0 && errno != ENOENT) {
      return errno_error(errno, "remove_dir_all", child);
    }
  }
  if (::rmdir(path.c_str()) != 0) return errno_error(errno, "remove_dir_all", path);
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> copy_blocking(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno_error2(errno, "copy", from, to);
  FdCloser in_closer{in};
  struct stat st;
  if (::fstat(in, &st) != 0) return errno_error2(errno, "copy", from, to);
  if (!S_ISREG(st.st_mode)) return errno_error2(EINVAL, "copy", from, to);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) return errno_error2(errno, "copy", from, to);
  FdCloser out_closer{out};
  std::uint64_t total = 0;
  bool use_range = true;
  char buf[65536];
  for (;;) {
    ssize_t n;
    if (use_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                    errno == EPERM)) {
        if (total != 0) return errno_error2(errno, "copy", from, to);
        use_range = false;
        continue;
      }
    } else {
      n = ::read(in, buf, sizeof buf);
      if (n > 0) {
        absl::Status s = write_all_fd(out, buf, static_cast<std::size_t>(n), to);
        if (!s.ok()) return s;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error2(errno, "copy", from, to);
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  if (::fchmod(out, st.st_mode & 07777) != 0) return errno_error2(errno, "copy", from, to);
  return total;
}

absl::StatusOr<Metadata> stat_blocking(const std::string& path, bool follow, const char* op) {
  struct stat st;
  int r = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (r != 0) return errno_error(errno, op, path);
  return Metadata(st);
}

FileType type_of_dirent(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return FileType::kFile;
    case DT_DIR:
      return FileType::kDir;
    case DT_LNK:
      return FileType::kSymlink;
    case DT_UNKNOWN:
      return FileType::kUnknown;
    default:
      return FileType::kOther;
  }
}

// An open directory shared by the stream and the blocking task reading its next batch.
struct DirHandle {
  DIR* dir = nullptr;
  std::string path;
  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;
  DirHandle(DIR* d, std::string p) : dir(d), path(std::move(p)) {}
  ~DirHandle() {
    if (dir != nullptr) ::closedir(dir);
  }
};

}  // namespace

FileType Metadata::file_type() const {
  if (S_ISREG(st_.st_mode)) return FileType::kFile;
  if (S_ISDIR(st_.st_mode)) return FileType::kDir;
  if (S_ISLNK(st_.st_mode)) return FileType::kSymlink;
  return FileType::kOther;
}

std::chrono::system_clock::time_point Metadata::modified() const {
  return to_time_point(st_.st_mtim);
}
std::chrono::system_clock::time_point Metadata::accessed() const {
  return to_time_point(st_.st_atim);
}

Task<absl::StatusOr<std::string>> read(std::string path) {
  return run_blocking([path = std::move(path)] { return read_blocking(path); });
}

Task<absl::StatusOr<std::string>> read_to_string(std::string path) {
  return run_blocking([path = std::move(path)]() -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> s = read_blocking(path);
    if (s.ok() && !valid_utf8(*s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("read_to_string ", path, ": stream did not contain valid UTF-8"));
    }
    return s;
  });
}

Task<absl::Status> write(std::string path, std::string data) {
  return run_blocking([path = std::move(path), data = std::move(data)] {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return errno_error(errno, "open", path);
    FdCloser closer{fd};
    return write_all_fd(fd, data.data(), data.size(), path);
  });
}

Task<absl::Status> create_dir(std::string path) {
  return run_blocking([path = std::move(path)] {
    if (::mkdir(path.c_str(), 0777) != 0) return errno_error(errno, "create_dir", path);
    return absl::OkStatus();
  });
}

Task<absl::Status> create_dir_all(std::string path) {
  return run_blocking([path = std::move(path)] { return create_dir_all_blocking(path); });
}

Task<absl::Status> remove_file(std::string path) {
  return run_blocking([path = std::move(path)] {
    if (::unlink(path.c_str()) != 0) return errno_error(errno, "remove_file", path);
    return absl::OkStatus();
  });
}

Task<absl::Status> remove_dir(std::string path) {
  return run_blocking([path = std::move(path)] {
    if (::rmdir(path.c_str()) != 0) return errno_error(errno, "remove_dir", path);
    return absl::OkStatus();
  });
}

Task<absl::Status> remove_dir_all(std::string path) {
  return run_blocking([path = std::move(path)] {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno_error(errno, "remove_dir_all", path);
    if (S_ISLNK(st.st_mode)) {  // the link itself, never its target
      if (::unlink(path.c_str()) != 0) return errno_error(errno, "remove_dir_all", path);
      return absl::OkStatus();
    }
    if (!S_ISDIR(st.st_mode)) return errno_error(ENOTDIR, "remove_dir_all", path);
    return remove_tree(path);
  });
}

Task<absl::Status> rename(std::string from, std::string to) {
  return run_blocking([from = std::move(from), to = std::move(to)] {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error2(errno, "rename", from, to);
    return absl::OkStatus();
  });
}

Task<absl::StatusOr<std::uint64_t>> copy(std::string from, std::string to) {
  return run_blocking(
      [from = std::move(from), to = std::move(to)] { return copy_blocking(from, to); });
}

Task<absl::Status> hard_link(std::string original, std::string link) {
  return run_blocking([original = std::move(original), link = std::move(link)] {
    if (::link(original.c_str(), link.c_str()) != 0) {
      return errno_error2(errno, "hard_link", original, link);
    }
    return absl::OkStatus();
  });
}

Task<absl::Status> symlink(std::string target, std::string link) {
  return run_blocking([target = std::move(target), link = std::move(link)] {
    if (::symlink(target.c_str(), link.c_str()) != 0) {
      return errno_error2(errno, "symlink", link, target);
    }
    return absl::OkStatus();
  });
}

Task<absl::StatusOr<std::string>> read_link(std::string path) {
  return run_blocking([path = std::move(path)]() -> absl::StatusOr<std::string> {
    std::string buf(256, '\0');
    for (;;) {
      ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
      if (n < 0) return errno_error(errno, "read_link", path);
      if (static_cast<std::size_t>(n) < buf.size()) {
        buf.resize(static_cast<std::size_t>(n));
        return buf;
      }
      buf.resize(buf.size() * 2);
    }
  });
}

Task<absl::StatusOr<std::string>> canonicalize(std::string path) {
  return run_blocking([path = std::move(path)]() -> absl::StatusOr<std::string> {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return errno_error(errno, "canonicalize", path);
    std::string out(resolved);
    ::free(resolved);
    return out;
  });
}

Task<absl::Status> set_permissions(std::string path, std::uint32_t mode) {
  return run_blocking([path = std::move(path), mode] {
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
      return errno_error(errno, "set_permissions", path);
    }
    return absl::OkStatus();
  });
}

Task<absl::StatusOr<Metadata>> metadata(std::string path) {
  return run_blocking(
      [path = std::move(path)] { return stat_blocking(path, true, "metadata"); });
}

Task<absl::StatusOr<Metadata>> symlink_metadata(std::string path) {
  return run_blocking(
      [path = std::move(path)] { return stat_blocking(path, false, "symlink_metadata"); });
}

Task<absl::StatusOr<bool>> try_exists(std::string path) {
  return run_blocking([path = std::move(path)]() -> absl::StatusOr<bool> {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return errno_error(errno, "try_exists", path);
  });
}

Task<bool> exists(std::string path) {
  Task<absl::StatusOr<bool>> t = try_exists(std::move(path));
  absl::StatusOr<bool> r = co_await std::move(t);
  co_return r.ok() && *r;
}

std::string DirEntry::path() const { return join(dir_, name_); }

Task<absl::StatusOr<Metadata>> DirEntry::metadata() const { return symlink_metadata(path()); }

Stream<absl::StatusOr<DirEntry>> read_dir(std::string path) {
  Task<absl::StatusOr<std::shared_ptr<DirHandle>>> open_task =
      run_blocking(
          [path]() -> absl::StatusOr<std::shared_ptr<DirHandle>> {
            DIR* dir = ::opendir(path.c_str());
            if (dir == nullptr) return errno_error(errno, "read_dir", path);
            return std::make_shared<DirHandle>(dir, path);
          });
  absl::StatusOr<std::shared_ptr<DirHandle>> opened = co_await std::move(open_task);
  if (!opened.ok()) {
    co_yield absl::StatusOr<DirEntry>(opened.status());
    co_return;
  }
  std::shared_ptr<DirHandle> dir = std::move(*opened);
  for (;;) {
    // The handle is shared with the blocking task: if this stream is destroyed while a batch
    // is being read, the directory stays open until that task is done.
    Task<absl::StatusOr<std::vector<DirEntry>>> batch_task =
        run_blocking([dir]() -> absl::StatusOr<std::vector<DirEntry>> {
          std::vector<DirEntry> batch;
          batch.reserve(kReadDirBatch);
          while (batch.size() < kReadDirBatch) {
            errno = 0;
            struct dirent* e = ::readdir(dir->dir);
            if (e == nullptr) {
              if (errno != 0) return errno_error(errno, "read_dir", dir->path);
              break;
            }
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            batch.emplace_back(dir->path, std::move(name), type_of_dirent(e->d_type));
          }
          return batch;
        });
    absl::StatusOr<std::vector<DirEntry>> batch = co_await std::move(batch_task);
    if (!batch.ok()) {
      co_yield absl::StatusOr<DirEntry>(batch.status());
      co_return;
    }
    if (batch->empty()) co_return;
    for (DirEntry& e : *batch) co_yield absl::StatusOr<DirEntry>(std::move(e));
  }
}

}  // namespace keel::fs
