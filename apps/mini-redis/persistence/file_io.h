// file_io: the blocking file operations behind the append-only file, each meant for a thread
// of Keel's blocking pool (keel::run_blocking runs one from a task): whole writes
// (write/writev until every byte is out), fdatasync, a directory fsync, opening for appending.
// Errors name the operation and the path ("write /d/appendonly.aof: No space left on
// device").
//
//   absl::StatusOr<int> fd = file_io::open_append(path, /*truncate=*/false);
//   auto holder = std::make_shared<file_io::OpenFile>(*fd, path);
//   absl::Status s = co_await keel::run_blocking(
//       [holder, data]() { return file_io::write_all(holder->fd, data, holder->path); });
//
// Thread-safety: the functions touch only what they are given; an OpenFile may be shared
// (shared_ptr) between a task and the blocking job it runs.
#ifndef KEEL_APPS_MINI_REDIS_PERSISTENCE_FILE_IO_H_
#define KEEL_APPS_MINI_REDIS_PERSISTENCE_FILE_IO_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mini_redis::file_io {

// An open file descriptor and the path it was opened as (for error texts); closed by the
// destructor.
struct OpenFile {
  OpenFile(int f, std::string p) : fd(f), path(std::move(p)) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();
  const int fd;
  const std::string path;
};

// "<op> <path>: <strerror(err)>" with the status code errno maps to.
absl::Status errno_status(int err, std::string_view op, std::string_view path);

// write(2) until every byte is out.
absl::Status write_all(int fd, std::string_view data, const std::string& path);

// writev(2) of every piece, in order, until every byte is out: one syscall for a batch whose
// records sit in several buffers, with no copy into one.
absl::Status write_all(int fd, const std::vector<std::string>& pieces, const std::string& path);

// fdatasync(2), retried on EINTR.
absl::Status sync_fd(int fd, const std::string& path);

// fsync of a directory: makes a file created or renamed in it survive a crash.
absl::Status sync_dir(const std::string& dir);

// Opens `path` for appending (O_APPEND: every write goes to the end, also after ftruncate),
// creating it; `truncate` empties it.
absl::StatusOr<int> open_append(const std::string& path, bool truncate);

}  // namespace mini_redis::file_io

#endif  // KEEL_APPS_MINI_REDIS_PERSISTENCE_FILE_IO_H_
