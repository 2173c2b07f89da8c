// keel::fs::File: an open file as an AsyncRead + AsyncWrite, its system calls running on the
// blocking pool (Tokio's tokio::fs::File).
//
//   absl::StatusOr<keel::fs::File> f = co_await keel::fs::OpenOptions()
//                                          .write(true).append(true).create(true)
//                                          .open("/tmp/app.log");
//   if (!f.ok()) co_return f.status();      // "open /tmp/app.log: Permission denied"
//   absl::StatusOr<std::size_t> n = co_await f->write(std::span<const char>(line));
//   absl::Status s = co_await f->flush();   // the write has reached the kernel
//   s = co_await f->sync_all();             // ... and the disk
//
//   absl::StatusOr<keel::fs::File> r = co_await keel::fs::File::open("/tmp/app.log");
//   co_await r->seek(keel::fs::SeekFrom::start(100));
//   char buf[4096];
//   absl::StatusOr<std::size_t> got = co_await r->read(std::span<char>(buf));  // 0: end of file
//
// How it works (as Tokio's File): at most one blocking operation is in flight per File. The
// File is either idle (perhaps holding bytes read ahead) or busy (`inflight_` holds the
// JoinHandle of the blocking operation, which owns its own copy of the data and a reference
// to the fd). Every operation first completes the in-flight one (folding a read's bytes into
// the buffer, or taking a failure to report), then starts its own.
//   - read() asks the pool for up to min(buf.size(), kMaxBufSize) bytes into an internal
//     buffer and copies from it; bytes left over serve the next read() without a syscall.
//   - write() copies up to kMaxBufSize bytes into the internal buffer, starts the write on the
//     pool and returns at once, having accepted those bytes. The write runs in the background:
//     flush() (and every other operation: a read after a write, a seek, sync_all, metadata)
//     first waits for it, and a failed background write is reported by the next operation.
//     So call flush() (or sync_all()) before trusting that a write succeeded, and before
//     dropping the File if you care about its error. shutdown() is flush() (a file has no
//     write direction to close); dropping the File closes the fd once its in-flight operation
//     is done.
//   - Bytes read ahead are accounted for: a write, seek(SeekFrom::current(..)) or set_len
//     after a read happens at the logical position (the file offset is moved back first).
//
// Cancellation (destroying a pending operation: its task was aborted, lost a select, timed
// out):
//   - read(): the blocking read already started keeps running; its bytes are kept in the
//     buffer and returned by the next read(). Nothing read is lost.
//   - write(): it only waits while an earlier operation is in flight; cancelled there, it has
//     accepted nothing. Once accepted, a write always completes in the background; its error,
//     if any, is reported by the next operation.
//   - seek(), set_len(), sync_all(), sync_data(), metadata(): the operation completes in the
//     background (the offset does move, the length does change); its result is dropped, or
//     its error reported by the next operation.
//
// Errors name the operation and the path given at open ("read /tmp/x: Is a directory").
//
// Thread-safety: a File is used by one task at a time: one operation at a time, reads and
// writes included (unlike a socket it is not full-duplex). It may move between tasks and
// threads between operations. Operations are member coroutines: await them at once, the File
// must outlive them, and buffers are borrowed until the operation completes or is destroyed.
#ifndef KEEL_RUNTIME_FS_FILE_H_
#define KEEL_RUNTIME_FS_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/fs/fs.h"
#include "runtime/task/join_handle.h"
#include "runtime/task/task.h"

namespace keel::fs {

class File;

// The largest read or write handed to the blocking pool at once (Tokio's value, 2 MiB: big
// enough that a large transfer costs few pool round trips, small enough that one File does
// not pin much memory).
inline constexpr std::size_t kMaxBufSize = 2 * 1024 * 1024;

// Where seek() moves to.
struct SeekFrom {
  enum class Whence { kStart, kEnd, kCurrent };
  static SeekFrom start(std::uint64_t offset) {
    return SeekFrom{Whence::kStart, static_cast<std::int64_t>(offset)};
  }
  static SeekFrom end(std::int64_t offset) { return SeekFrom{Whence::kEnd, offset}; }
  static SeekFrom current(std::int64_t offset) { return SeekFrom{Whence::kCurrent, offset}; }
  Whence whence;
  std::int64_t offset;
};

// The flags of open(2), as a builder (Rust's OpenOptions). At least one of read, write or
// append must be set; truncate needs write; create and create_new need write or append.
class OpenOptions {
 public:
  // clang-format off
  OpenOptions& read(bool on) { read_ = on; return *this; }
  OpenOptions& write(bool on) { write_ = on; return *this; }
  // Every write goes to the end of the file (implies writing).
  OpenOptions& append(bool on) { append_ = on; return *this; }
  OpenOptions& truncate(bool on) { truncate_ = on; return *this; }
  // Creates the file if it does not exist.
  OpenOptions& create(bool on) { create_ = on; return *this; }
  // Creates the file, failing with ALREADY_EXISTS if it exists (O_CREAT | O_EXCL).
  OpenOptions& create_new(bool on) { create_new_ = on; return *this; }
  // Permission bits of a created file (default 0666, minus the umask).
  OpenOptions& mode(std::uint32_t mode) { mode_ = mode; return *this; }
  // Extra open(2) flags (e.g. O_NOFOLLOW); the access mode bits are ignored.
  OpenOptions& custom_flags(int flags) { custom_flags_ = flags; return *this; }
  // clang-format on

  Task<absl::StatusOr<File>> open(std::string path) const;

 private:
  bool read_ = false, write_ = false, append_ = false, truncate_ = false, create_ = false,
       create_new_ = false;
  std::uint32_t mode_ = 0666;
  int custom_flags_ = 0;
};

namespace detail {
// The fd, shared by the File and its in-flight blocking operation (the fd is closed when both
// are done with it).
struct FileShared {
  FileShared(int f, std::string p) : fd(f), path(std::move(p)) {}
  FileShared(const FileShared&) = delete;
  FileShared& operator=(const FileShared&) = delete;
  ~FileShared();
  const int fd;
  const std::string path;
};

// What a blocking operation gives back.
struct FileOp {
  enum class Kind { kNone, kRead, kWrite, kOther };
  Kind kind = Kind::kNone;
  absl::Status status;
  std::string data;        // kRead: the bytes read
  std::int64_t value = 0;  // seek: the new offset
  struct stat st {};       // metadata
};
}  // namespace detail

class File {
 public:
  // Opens for reading.
  static Task<absl::StatusOr<File>> open(std::string path);
  // Opens for writing, creating or truncating.
  static Task<absl::StatusOr<File>> create(std::string path);
  // Adopts an open fd (in blocking mode); `path` is used in error messages.
  static File from_fd(int fd, std::string path);

  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  // Closes the fd once the in-flight operation (if any) is done, in the background.
  ~File();

  // AsyncRead: up to buf.size() bytes; 0 at end of file.
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf);
  // AsyncWrite: accepts up to kMaxBufSize bytes and writes them in the background.
  Task<absl::StatusOr<std::size_t>> write(std::span<const char> buf);
  // Waits for the in-flight write; reports its error.
  Task<absl::Status> flush();
  // flush(): a file has no write direction to close.
  Task<absl::Status> shutdown();

  // Moves the offset; gives the new offset from the start.
  Task<absl::StatusOr<std::uint64_t>> seek(SeekFrom pos);
  // fsync: data and metadata on disk (flushes first).
  Task<absl::Status> sync_all();
  // fdatasync: data on disk (flushes first).
  Task<absl::Status> sync_data();
  // Truncates or extends (with zeros) to `size` bytes; the offset is unchanged.
  Task<absl::Status> set_len(std::uint64_t size);
  Task<absl::StatusOr<Metadata>> metadata();

  // The open file descriptor (owned by the File) and the path it was opened with.
  int fd() const;
  const std::string& path() const;

 private:
  explicit File(std::shared_ptr<detail::FileShared> shared);

  // Waits for the in-flight operation and folds its result into the File: a read's bytes go
  // to the buffer; a failure is returned (once). Gives the finished operation (kind kNone
  // when none was in flight). Cancelled mid-wait, the operation stays in flight.
  Task<absl::StatusOr<detail::FileOp>> complete_inflight();
  // Forgets read-ahead bytes; gives how many the file offset is ahead of the logical one.
  std::int64_t discard_read_ahead();
  // Starts `op` (FileOp(FileShared&)) on the pool as the in-flight operation.
  template <class Op>
  void start(Op op);
  // start(op), then complete_inflight().
  template <class Op>
  Task<absl::StatusOr<detail::FileOp>> run(Op op);

  std::shared_ptr<detail::FileShared> shared_;
  std::string buf_;  // read-ahead: buf_[pos_, size) not yet returned by read()
  std::size_t pos_ = 0;
  JoinHandle<detail::FileOp> inflight_;  // valid while an operation is in flight
};

}  // namespace keel::fs

#endif  // KEEL_RUNTIME_FS_FILE_H_
