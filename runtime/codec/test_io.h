// In-memory AsyncRead/AsyncWrite streams for codec tests (independent of runtime/io's mocks):
//   - ScriptedReader: gives the chunks of a script, one chunk (or less, when the caller's
//     buffer is smaller) per read, then end of stream or an error.
//   - TestPipe: a bounded one-way pipe: writes accept what fits and wait while it is full;
//     reads wait while it is empty. `pipe(cap)` gives a PipeWriter and a PipeReader.
// Cancelled reads and writes transfer nothing (the transfer happens in await_resume's
// computation under the lock, only once the operation completed).
//
// Thread-safety: a pipe's two ends may be used from different tasks and threads.
#ifndef KEEL_RUNTIME_CODEC_TEST_IO_H_
#define KEEL_RUNTIME_CODEC_TEST_IO_H_

#include <algorithm>
#include <coroutine>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/io/traits.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::codec::testing {

// An awaitable that is ready at once.
template <class T>
struct Immediate {
  T value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(value); }
};

class ScriptedReader {
 public:
  explicit ScriptedReader(std::vector<std::string> chunks,
                          absl::Status at_end = absl::OkStatus())
      : chunks_(chunks.begin(), chunks.end()), at_end_(std::move(at_end)) {}

  Immediate<absl::StatusOr<std::size_t>> read(std::span<char> buf) {
    if (buf.empty()) return {absl::StatusOr<std::size_t>(0)};
    while (!chunks_.empty() && chunks_.front().empty()) chunks_.pop_front();
    if (chunks_.empty()) {
      if (!at_end_.ok()) return {absl::StatusOr<std::size_t>(at_end_)};
      return {absl::StatusOr<std::size_t>(0)};
    }
    std::string& c = chunks_.front();
    std::size_t n = std::min(c.size(), buf.size());
    std::memcpy(buf.data(), c.data(), n);
    c.erase(0, n);
    ++reads_;
    return {absl::StatusOr<std::size_t>(n)};
  }
  int reads() const { return reads_; }

 private:
  std::deque<std::string> chunks_;
  absl::Status at_end_;
  int reads_ = 0;
};
static_assert(io::AsyncRead<ScriptedReader>);

struct PipeState {
  explicit PipeState(std::size_t cap) : cap(cap) {}
  keel::detail::Mutex mu;
  std::string buf;  // guarded by mu
  const std::size_t cap;
  bool write_closed = false;
  Waker reader;  // guarded by mu
  Waker writer;  // guarded by mu
};

// One operation on a pipe; Read selects read or write.
template <bool Read>
class [[nodiscard]] PipeOp final : public keel::detail::Leaf {
 public:
  using Buf = std::conditional_t<Read, std::span<char>, std::span<const char>>;
  PipeOp(PipeState* st, Buf buf) : st_(st), buf_(buf) {
    await_point = {Read ? "TestPipe::read" : "TestPipe::write", {}};
  }
  PipeOp(const PipeOp&) = delete;
  PipeOp& operator=(const PipeOp&) = delete;
  ~PipeOp() {
    if (!registered_) return;
    keel::detail::LockGuard lock(st_->mu);
    (Read ? st_->reader : st_->writer).reset();
  }
  bool await_ready() { return attempt(false); }
  bool await_suspend(std::coroutine_handle<> h) {
    if (attempt(true)) return false;
    keel::detail::park_current(h, this);
    return true;
  }
  bool poll_ready() override { return attempt(true); }
  absl::StatusOr<std::size_t> await_resume() { return std::move(*result_); }

 private:
  bool attempt(bool reg) {
    Waker wake;
    {
      keel::detail::LockGuard lock(st_->mu);
      if constexpr (Read) {
        if (!st_->buf.empty() || buf_.empty()) {
          std::size_t n = std::min(buf_.size(), st_->buf.size());
          std::memcpy(buf_.data(), st_->buf.data(), n);
          st_->buf.erase(0, n);
          result_ = n;
          wake = std::move(st_->writer);
          st_->writer.reset();
        } else if (st_->write_closed) {
          result_ = std::size_t{0};
        }
      } else {
        if (st_->write_closed) {
          result_ = absl::FailedPreconditionError("write TestPipe: the pipe was shut down");
        } else if (st_->buf.size() < st_->cap || buf_.empty()) {
          std::size_t n = std::min(buf_.size(), st_->cap - st_->buf.size());
          st_->buf.append(buf_.data(), n);
          result_ = n;
          wake = std::move(st_->reader);
          st_->reader.reset();
        }
      }
      if (!result_.has_value() && reg) {
        (Read ? st_->reader : st_->writer) = keel::detail::current_waker(await_point.what);
        registered_ = true;
      }
      if (result_.has_value()) registered_ = false;
    }
    std::move(wake).wake();
    return result_.has_value();
  }

  PipeState* st_;
  Buf buf_;
  std::optional<absl::StatusOr<std::size_t>> result_;
  bool registered_ = false;
};

class PipeReader {
 public:
  explicit PipeReader(std::shared_ptr<PipeState> st) : st_(std::move(st)) {}
  PipeOp<true> read(std::span<char> buf) { return PipeOp<true>(st_.get(), buf); }
  // Bytes written and not yet read.
  std::size_t buffered() const {
    keel::detail::LockGuard lock(st_->mu);
    return st_->buf.size();
  }

 private:
  std::shared_ptr<PipeState> st_;
};

class PipeWriter {
 public:
  explicit PipeWriter(std::shared_ptr<PipeState> st) : st_(std::move(st)) {}
  PipeOp<false> write(std::span<const char> buf) { return PipeOp<false>(st_.get(), buf); }
  Immediate<absl::Status> flush() { return {absl::OkStatus()}; }
  Immediate<absl::Status> shutdown() {
    Waker w;
    {
      keel::detail::LockGuard lock(st_->mu);
      st_->write_closed = true;
      w = std::move(st_->reader);
      st_->reader.reset();
    }
    std::move(w).wake();
    return {absl::OkStatus()};
  }

 private:
  std::shared_ptr<PipeState> st_;
};

inline std::pair<PipeWriter, PipeReader> pipe(std::size_t cap) {
  auto st = std::make_shared<PipeState>(cap);
  return {PipeWriter(st), PipeReader(st)};
}

// Both directions: reads from one pipe, writes to another.
class PipeDuplex {
 public:
  PipeDuplex(PipeReader r, PipeWriter w) : r_(std::move(r)), w_(std::move(w)) {}
  PipeOp<true> read(std::span<char> buf) { return r_.read(buf); }
  PipeOp<false> write(std::span<const char> buf) { return w_.write(buf); }
  Immediate<absl::Status> flush() { return w_.flush(); }
  Immediate<absl::Status> shutdown() { return w_.shutdown(); }

 private:
  PipeReader r_;
  PipeWriter w_;
};

static_assert(io::AsyncRead<PipeReader>);
static_assert(io::AsyncWrite<PipeWriter>);
static_assert(io::AsyncReadWrite<PipeDuplex>);

}  // namespace keel::codec::testing

#endif  // KEEL_RUNTIME_CODEC_TEST_IO_H_
