// keel::fs: the file system from async code (Tokio's tokio::fs). Every call runs its blocking
// system calls on the runtime's blocking pool (keel::spawn_blocking), so a slow disk never
// holds a worker thread.
//
//   absl::Status s = co_await keel::fs::create_dir_all("/tmp/app/logs");
//   s = co_await keel::fs::write("/tmp/app/config", "port=6379\n");
//   absl::StatusOr<std::string> text = co_await keel::fs::read_to_string("/tmp/app/config");
//   absl::StatusOr<keel::fs::Metadata> md = co_await keel::fs::metadata("/tmp/app/config");
//   if (md.ok() && md->is_file()) { ... md->len() ... }
//
//   keel::Stream<absl::StatusOr<keel::fs::DirEntry>> dir = keel::fs::read_dir("/tmp/app");
//   while (auto entry = co_await dir.next()) {
//     if (!entry->ok()) { ... entry->status() ... ; break; }
//     use((*entry)->file_name());
//   }
//
// For open files (keel::fs::File, an AsyncRead + AsyncWrite) see file.h.
//
// Errors: an absl::Status whose message names the operation and the path, as the shell
// would ("open /tmp/x: No such file or directory", "rename /a -> /b: ..."); the code follows
// errno (NOT_FOUND, PERMISSION_DENIED, ALREADY_EXISTS, ...). When the runtime shuts down while
// a call waits for its blocking task, the result is CANCELLED.
//
// Cancellation: destroying a pending call (its task was aborted, lost a select, timed out)
// cannot stop a system call that already started on the blocking pool: the operation then
// completes (or fails) in the background and its result is dropped. So a cancelled
// fs::write() may or may not have written the file, as with any interrupted write; a call
// whose blocking task had not started yet does nothing.
//
// Lifetimes: every function takes its paths and data by value (copied into the blocking
// task), so the caller's strings need not outlive the call. read_dir's Stream owns the open
// directory and closes it when destroyed.
//
// Thread-safety: all functions may be called from any task at once; the usual file-system
// races (another process renaming a file in between) are the caller's concern.
#ifndef KEEL_RUNTIME_FS_FS_H_
#define KEEL_RUNTIME_FS_FS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/stream/stream.h"
#include "runtime/task/task.h"

namespace keel::fs {

enum class FileType { kFile, kDir, kSymlink, kOther, kUnknown };

// What stat(2) says about a file.
class Metadata {
 public:
  explicit Metadata(const struct stat& st) : st_(st) {}

  std::uint64_t len() const { return static_cast<std::uint64_t>(st_.st_size); }
  std::uint64_t size() const { return len(); }
  bool is_dir() const { return S_ISDIR(st_.st_mode); }
  bool is_file() const { return S_ISREG(st_.st_mode); }
  // Only from symlink_metadata() (metadata() follows links).
  bool is_symlink() const { return S_ISLNK(st_.st_mode); }
  FileType file_type() const;
  // The permission bits (st_mode & 07777), e.g. 0644.
  std::uint32_t permissions() const { return st_.st_mode & 07777; }
  bool readonly() const { return (st_.st_mode & 0222) == 0; }
  // The whole st_mode (type and permission bits).
  std::uint32_t mode() const { return st_.st_mode; }
  std::chrono::system_clock::time_point modified() const;
  std::chrono::system_clock::time_point accessed() const;
  std::uint64_t ino() const { return st_.st_ino; }
  std::uint64_t nlink() const { return st_.st_nlink; }
  std::uint32_t uid() const { return st_.st_uid; }
  std::uint32_t gid() const { return st_.st_gid; }
  const struct stat& raw() const { return st_; }

 private:
  struct stat st_;
};

// The whole file's contents.
Task<absl::StatusOr<std::string>> read(std::string path);
// The same, failing with INVALID_ARGUMENT when the contents are not valid UTF-8.
Task<absl::StatusOr<std::string>> read_to_string(std::string path);
// Creates or truncates `path` (mode 0666 & ~umask) and writes `data`.
Task<absl::Status> write(std::string path, std::string data);

// mkdir (mode 0777 & ~umask); fails if `path` exists.
Task<absl::Status> create_dir(std::string path);
// mkdir -p: creates every missing ancestor; succeeds if `path` already is a directory.
Task<absl::Status> create_dir_all(std::string path);
Task<absl::Status> remove_file(std::string path);
// Removes an empty directory.
Task<absl::Status> remove_dir(std::string path);
// rm -r: removes the directory and everything below it, without following symbolic links
// (a link inside is removed, not what it points to; a link given as `path` is removed too).
Task<absl::Status> remove_dir_all(std::string path);
// rename(2): replaces `to` if it exists (and is not a non-empty directory).
Task<absl::Status> rename(std::string from, std::string to);
// Copies the contents and permission bits of file `from` to `to` (created or truncated);
// gives the number of bytes copied.
Task<absl::StatusOr<std::uint64_t>> copy(std::string from, std::string to);
Task<absl::Status> hard_link(std::string original, std::string link);
// Creates `link` as a symbolic link pointing to `target`.
Task<absl::Status> symlink(std::string target, std::string link);
Task<absl::StatusOr<std::string>> read_link(std::string path);
// The absolute path with every link and "." / ".." resolved (realpath(3)).
Task<absl::StatusOr<std::string>> canonicalize(std::string path);
// chmod(2) with permission bits such as 0644.
Task<absl::Status> set_permissions(std::string path, std::uint32_t mode);

// stat(2): follows symbolic links.
Task<absl::StatusOr<Metadata>> metadata(std::string path);
// lstat(2): describes a symbolic link itself.
Task<absl::StatusOr<Metadata>> symlink_metadata(std::string path);
// Whether `path` exists (following links); false also when it cannot be checked.
Task<bool> exists(std::string path);
// Whether `path` exists: false for NOT_FOUND (and ENOTDIR), an error when it cannot be told
// (e.g. PERMISSION_DENIED on a parent directory).
Task<absl::StatusOr<bool>> try_exists(std::string path);

// One entry of a directory listing.
class DirEntry {
 public:
  DirEntry(std::string dir, std::string name, FileType type)
      : dir_(std::move(dir)), name_(std::move(name)), type_(type) {}

  // The directory given to read_dir joined with file_name().
  std::string path() const;
  const std::string& file_name() const { return name_; }
  // From the directory itself when the file system says (no extra syscall); kUnknown
  // otherwise (then call metadata()). A symbolic link is kSymlink.
  FileType file_type() const { return type_; }
  // lstat of the entry (does not follow a symbolic link).
  Task<absl::StatusOr<Metadata>> metadata() const;

 private:
  std::string dir_;
  std::string name_;
  FileType type_;
};

// The entries of directory `path` ("." and ".." excluded), in the order the file system gives
// them, read in batches on the blocking pool. An error (opening the directory, or reading it)
// is yielded as one failed item, after which the stream ends. `next()` is cancellation-safe
// (see stream.h): a batch being read when a next() is cancelled is kept for the next call.
Stream<absl::StatusOr<DirEntry>> read_dir(std::string path);

// How many entries read_dir reads per blocking task: enough to amortize the trip to the pool
// (a few microseconds) over cheap readdir calls, small enough that the first entries arrive
// at once even for a huge directory.
inline constexpr std::size_t kReadDirBatch = 128;

}  // namespace keel::fs

#endif  // KEEL_RUNTIME_FS_FS_H_
