#include "runtime/fs/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/blocking/run_blocking.h"
#include "runtime/fs/errors.h"
#include "runtime/runtime.h"

namespace keel::fs {

using detail::errno_error;
using detail::FileOp;
using detail::FileShared;

detail::FileShared::~FileShared() {
  if (fd >= 0) ::close(fd);
}

Task<absl::StatusOr<File>> OpenOptions::open(std::string path) const {
  int flags = O_CLOEXEC | (custom_flags_ & ~O_ACCMODE);
  bool writing = write_ || append_;
  absl::Status invalid;
  if (!read_ && !writing) {
    invalid = absl::InvalidArgumentError(
        absl::StrCat("open ", path, ": one of read, write or append must be set"));
  } else if (truncate_ && !write_) {
    invalid = absl::InvalidArgumentError(absl::StrCat("open ", path, ": truncate needs write"));
  } else if ((create_ || create_new_) && !writing) {
    invalid = absl::InvalidArgumentError(
        absl::StrCat("open ", path, ": create and create_new need write or append"));
  }
  flags |= read_ && writing ? O_RDWR : writing ? O_WRONLY : O_RDONLY;
  if (append_) flags |= O_APPEND;
  if (truncate_) flags |= O_TRUNC;
  if (create_new_) {
    flags |= O_CREAT | O_EXCL;
  } else if (create_) {
    flags |= O_CREAT;
  }
  mode_t mode = static_cast<mode_t>(mode_);
  return keel::run_blocking(
      [path = std::move(path), flags, mode, invalid]() -> absl::StatusOr<File> {
        if (!invalid.ok()) return invalid;
        int fd;
        do {
          fd = ::open(path.c_str(), flags, mode);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) return errno_error(errno, "open", path);
        return File::from_fd(fd, path);
      });
}

Task<absl::StatusOr<File>> File::open(std::string path) {
  return OpenOptions().read(true).open(std::move(path));
}

Task<absl::StatusOr<File>> File::create(std::string path) {
  return OpenOptions().write(true).create(true).truncate(true).open(std::move(path));
}

File File::from_fd(int fd, std::string path) {
  return File(std::make_shared<FileShared>(fd, std::move(path)));
}

File::File(std::shared_ptr<FileShared> shared) : shared_(std::move(shared)) {}
File::File(File&& other) noexcept = default;
File& File::operator=(File&& other) noexcept = default;
File::~File() = default;  // a detached in-flight operation keeps `shared_` (the fd) alive

int File::fd() const { return shared_ ? shared_->fd : -1; }
const std::string& File::path() const {
  static const std::string kNone;
  return shared_ ? shared_->path : kNone;
}

template <class Op>
void File::start(Op op) {
  inflight_ = keel::spawn_blocking(
      [shared = shared_, op = std::move(op)]() mutable { return op(*shared); });
}

template <class Op>
Task<absl::StatusOr<FileOp>> File::run(Op op) {
  start(std::move(op));
  Task<absl::StatusOr<FileOp>> done = complete_inflight();
  co_return co_await std::move(done);
}

Task<absl::StatusOr<FileOp>> File::complete_inflight() {
  if (!inflight_.valid()) co_return FileOp{};
  // Cancelled here, the handle stays in inflight_: the next operation awaits it again.
  absl::StatusOr<FileOp> r = co_await inflight_;
  if (!r.ok()) {
    co_return absl::Status(r.status().code(),
                           absl::StrCat("file ", shared_->path, ": ", r.status().message()));
  }
  FileOp op = std::move(*r);
  if (!op.status.ok()) co_return op.status;
  if (op.kind == FileOp::Kind::kRead) {
    buf_ = std::move(op.data);
    pos_ = 0;
  }
  co_return op;
}

std::int64_t File::discard_read_ahead() {
  std::int64_t ahead = static_cast<std::int64_t>(buf_.size() - pos_);
  buf_.clear();
  pos_ = 0;
  return ahead;
}

namespace {

// Moves the fd's offset back over bytes read ahead; false (with op.status set) on failure.
bool seek_back(const FileShared& f, std::int64_t ahead, FileOp& op) {
  if (ahead == 0) return true;
  if (::lseek(f.fd, -static_cast<off_t>(ahead), SEEK_CUR) < 0) {
    op.status = errno_error(errno, "seek", f.path);
    return false;
  }
  return true;
}

}  // namespace

Task<absl::StatusOr<std::size_t>> File::read(std::span<char> out) {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  if (pos_ == buf_.size() && !out.empty()) {
    std::size_t cap = std::min(out.size(), kMaxBufSize);
    std::string spare = std::move(buf_);
    buf_.clear();
    pos_ = 0;
    start([cap, spare = std::move(spare)](const FileShared& f) mutable {
      FileOp op;
      op.kind = FileOp::Kind::kRead;
      spare.resize(cap);
      ssize_t n;
      do {
        n = ::read(f.fd, spare.data(), cap);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        op.status = errno_error(errno, "read", f.path);
      } else {
        spare.resize(static_cast<std::size_t>(n));
        op.data = std::move(spare);
      }
      return op;
    });
    // Cancelled here, the bytes land in buf_ at the next operation: nothing is lost.
    done = co_await complete_inflight();
    if (!done.ok()) co_return done.status();
  }
  std::size_t n = std::min(out.size(), buf_.size() - pos_);
  if (n > 0) std::memcpy(out.data(), buf_.data() + pos_, n);
  pos_ += n;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  co_return n;  // 0: end of file (or an empty buffer)
}

Task<absl::StatusOr<std::size_t>> File::write(std::span<const char> data) {
  // Cancelled while waiting here, nothing is accepted.
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  if (data.empty()) co_return 0;
  std::size_t n = std::min(data.size(), kMaxBufSize);
  std::int64_t ahead = discard_read_ahead();
  start([ahead, bytes = std::string(data.data(), n)](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kWrite;
    if (!seek_back(f, ahead, op)) return op;
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      ssize_t w = ::write(f.fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        op.status = errno_error(errno, "write", f.path);
        return op;
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    return op;
  });
  co_return n;  // accepted: the write completes in the background
}

Task<absl::Status> File::flush() {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  co_return done.status();
}

Task<absl::Status> File::shutdown() {
  Task<absl::Status> f = flush();
  co_return co_await std::move(f);
}

Task<absl::StatusOr<std::uint64_t>> File::seek(SeekFrom pos) {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  std::int64_t ahead = discard_read_ahead();
  std::int64_t offset = pos.offset;
  int whence = SEEK_SET;
  if (pos.whence == SeekFrom::Whence::kEnd) {
    whence = SEEK_END;
  } else if (pos.whence == SeekFrom::Whence::kCurrent) {
    whence = SEEK_CUR;
    offset -= ahead;  // the fd's offset is `ahead` past the logical one
  }
  Task<absl::StatusOr<FileOp>> t = run([offset, whence](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kOther;
    off_t p = ::lseek(f.fd, static_cast<off_t>(offset), whence);
    if (p < 0) {
      op.status = errno_error(errno, "seek", f.path);
    } else {
      op.value = p;
    }
    return op;
  });
  done = co_await std::move(t);
  if (!done.ok()) co_return done.status();
  co_return static_cast<std::uint64_t>(done->value);
}

Task<absl::Status> File::sync_all() {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  Task<absl::StatusOr<FileOp>> t = run([](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kOther;
    if (::fsync(f.fd) != 0) op.status = errno_error(errno, "sync_all", f.path);
    return op;
  });
  done = co_await std::move(t);
  co_return done.status();
}

Task<absl::Status> File::sync_data() {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  Task<absl::StatusOr<FileOp>> t = run([](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kOther;
    if (::fdatasync(f.fd) != 0) op.status = errno_error(errno, "sync_data", f.path);
    return op;
  });
  done = co_await std::move(t);
  co_return done.status();
}

Task<absl::Status> File::set_len(std::uint64_t size) {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  std::int64_t ahead = discard_read_ahead();
  Task<absl::StatusOr<FileOp>> t = run([ahead, size](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kOther;
    if (!seek_back(f, ahead, op)) return op;
    int r;
    do {
      r = ::ftruncate(f.fd, static_cast<off_t>(size));
    } while (r != 0 && errno == EINTR);
    if (r != 0) op.status = errno_error(errno, "set_len", f.path);
    return op;
  });
  done = co_await std::move(t);
  co_return done.status();
}

Task<absl::StatusOr<Metadata>> File::metadata() {
  absl::StatusOr<FileOp> done = co_await complete_inflight();
  if (!done.ok()) co_return done.status();
  Task<absl::StatusOr<FileOp>> t = run([](const FileShared& f) {
    FileOp op;
    op.kind = FileOp::Kind::kOther;
    if (::fstat(f.fd, &op.st) != 0) op.status = errno_error(errno, "metadata", f.path);
    return op;
  });
  done = co_await std::move(t);
  if (!done.ok()) co_return done.status();
  co_return Metadata(done->st);
}

}  // namespace keel::fs
