// io::duplex(capacity): an in-memory, full-duplex byte pipe, the analogue of tokio's
// `io::duplex`. Both ends are AsyncRead + AsyncWrite; what one end writes, the other reads.
//
//   auto [client, server] = keel::io::duplex(64 * 1024);
//   auto h = keel::spawn(serve(std::move(server)));       // serve() takes the end by value
//   KEEL_ASSERT_OK(co_await keel::io::write_all(client, "ping\n"));
//   char buf[16];
//   absl::StatusOr<std::size_t> n = co_await client.read(std::span<char>(buf));
//
// Each direction is a bounded buffer of `capacity` bytes (a ring): a write accepts as many
// bytes as fit (at least 1) and waits only while the buffer is full; a read takes what is
// there (at least 1) and waits only while it is empty.
//
// End of stream and errors:
//   - shutdown() on one end (or dropping it) ends the stream for the other end's reads once
//     the buffered bytes are read (read gives 0).
//   - writing after shutdown() fails ("write duplex: the stream was shut down").
//   - writing to an end whose peer was dropped fails with EPIPE's status ("write duplex: the
//     other end was dropped"); bytes still buffered towards a dropped peer are discarded.
//   - flush() is a no-op (bytes are visible to the peer as soon as a write completes).
//
// State of one direction (a detail::DuplexPipe), under its mutex: the ring (head, len), the
// flags write_closed (the writing end shut down or was dropped) and reader_dropped, and two
// waiter lists (pending reads, pending writes). Invariants: a waiter is linked only while its
// operation is pending and could not complete; every change that can let a waiter complete
// (bytes written, bytes read, close, drop) unlinks all waiters of the other kind and wakes them
// after the mutex is released. Waking all instead of one costs nothing under the io contract
// (at most one reader and one writer per direction) and makes cancellation trivially safe:
// the bytes are transferred by the operation itself, under the mutex, only when it completes,
// so a destroyed (cancelled) read consumed nothing and a destroyed write wrote nothing; its
// destructor just unlinks it.
//
// Thread-safety: the two ends may be used from different threads at once, and each end may
// have one reader and one writer active at once (in different tasks). Awaiters borrow the
// end and the caller's buffer: await them at once, and keep both alive until then.
#ifndef KEEL_RUNTIME_IO_DUPLEX_H_
#define KEEL_RUNTIME_IO_DUPLEX_H_

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/detail/concurrency.h"
#include "runtime/detail/intrusive_list.h"
#include "runtime/io/ready.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::io {

namespace detail {

struct DuplexWaiter {
  DuplexWaiter* prev = nullptr;
  DuplexWaiter* next = nullptr;
  Waker waker;
  bool linked = false;  // guarded by the pipe's mutex
  bool reader = false;  // which list it is linked in (set when linked)
};

class WakeBatch;

// One direction of a duplex pair. See the file comment for its state and invariants.
class DuplexPipe {
 public:
  explicit DuplexPipe(std::size_t capacity);
  DuplexPipe(const DuplexPipe&) = delete;
  DuplexPipe& operator=(const DuplexPipe&) = delete;

  // Reads into `buf` if bytes are buffered or the writer closed; otherwise, when `waiter` is
  // given, links it (with a waker of the current poll) and returns nullopt.
  std::optional<absl::StatusOr<std::size_t>> try_read(std::span<char> buf, DuplexWaiter* waiter);
  // Writes from `buf` if there is room (or fails if closed); otherwise links `waiter`.
  std::optional<absl::StatusOr<std::size_t>> try_write(std::span<const char> buf,
                                                       DuplexWaiter* waiter);
  // Unlinks `waiter` if it is linked (a cancelled operation).
  void cancel(DuplexWaiter* waiter);

  // The writing end shut down or was dropped: readers see end of stream after the buffer.
  void close_write();
  // The reading end was dropped: writers fail; the buffer is discarded.
  void drop_reader();

 private:
  using List = ::keel::detail::IntrusiveList<DuplexWaiter, &DuplexWaiter::prev, &DuplexWaiter::next>;
  // Unlinks every waiter of `list`, moving their wakers to `out` (woken after unlocking).
  static void take_all(List& list, WakeBatch& out);

  ::keel::detail::Mutex mu_;
  std::unique_ptr<char[]> ring_;
  const std::size_t cap_;
  std::size_t head_ = 0;  // index of the oldest buffered byte
  std::size_t len_ = 0;   // bytes buffered
  bool write_closed_ = false;
  bool reader_dropped_ = false;
  List readers_;
  List writers_;
};

// The awaiter behind read() and write() (Read = true for read()).
template <bool Read>
class [[nodiscard]] DuplexOp final : public ::keel::detail::Leaf {
 public:
  using Buf = std::conditional_t<Read, std::span<char>, std::span<const char>>;

  DuplexOp(DuplexPipe* pipe, Buf buf, std::source_location where) : pipe_(pipe), buf_(buf) {
    await_point = {Read ? "duplex read" : "duplex write", where};
  }
  DuplexOp(const DuplexOp&) = delete;
  DuplexOp& operator=(const DuplexOp&) = delete;
  ~DuplexOp() {
    if (registered_) pipe_->cancel(&waiter_);
  }

  bool await_ready() {
    if (!::keel::detail::coop_has_budget()) return false;
    result_ = attempt(nullptr);
    if (!result_.has_value()) return false;
    ::keel::detail::coop_proceed();
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!::keel::detail::coop_has_budget()) {
      // Out of budget: yield, and try again (and register) when polled next.
      Waker self = ::keel::detail::suspend_leaf(h, this);
      self.wake_by_ref();
      return true;
    }
    // Links the waiter (with the current waker) unless the operation completes now.
    if (attempt_or_register()) return false;
    ::keel::detail::park_current(h, this);
    return true;
  }
  bool poll_ready() override { return attempt_or_register(); }
  absl::StatusOr<std::size_t> await_resume() { return std::move(*result_); }

 private:
  // True when the operation completed (the pipe then unlinked the waiter, if it was linked).
  bool attempt_or_register() {
    result_ = attempt(&waiter_);
    registered_ = !result_.has_value();
    return !registered_;
  }
  std::optional<absl::StatusOr<std::size_t>> attempt(DuplexWaiter* waiter) {
    if constexpr (Read) {
      return pipe_->try_read(buf_, waiter);
    } else {
      return pipe_->try_write(buf_, waiter);
    }
  }

  DuplexPipe* pipe_;
  Buf buf_;
  DuplexWaiter waiter_;
  bool registered_ = false;  // waiter_ may be linked (only this awaiter sets it)
  std::optional<absl::StatusOr<std::size_t>> result_;
};

}  // namespace detail

// One end of a duplex pair (AsyncRead + AsyncWrite). Movable; dropping it closes both of its
// directions for the peer (see the file comment).
class DuplexStream {
 public:
  DuplexStream(DuplexStream&&) noexcept = default;
  DuplexStream& operator=(DuplexStream&& other) noexcept;
  DuplexStream(const DuplexStream&) = delete;
  DuplexStream& operator=(const DuplexStream&) = delete;
  ~DuplexStream();

  // Reads at least one byte (waiting while none is buffered), or 0 at end of stream / for an
  // empty `buf`.
  detail::DuplexOp<true> read(std::span<char> buf,
                              std::source_location where = std::source_location::current()) {
    return detail::DuplexOp<true>(&checked_in("read"), buf, where);
  }
  // Writes at least one byte (waiting while the peer's buffer is full), 0 for an empty `buf`.
  detail::DuplexOp<false> write(std::span<const char> buf,
                                std::source_location where = std::source_location::current()) {
    return detail::DuplexOp<false>(&checked_out("write"), buf, where);
  }
  // A no-op: written bytes are visible to the peer at once.
  Ready<absl::Status> flush() {
    checked_out("flush");
    return Ready<absl::Status>(absl::OkStatus());
  }
  // Ends the stream for the peer's reads (after what is buffered). Idempotent.
  Ready<absl::Status> shutdown() {
    checked_out("shutdown").close_write();
    return Ready<absl::Status>(absl::OkStatus());
  }

 private:
  friend std::pair<DuplexStream, DuplexStream> duplex(std::size_t capacity);
  DuplexStream(std::shared_ptr<detail::DuplexPipe> in, std::shared_ptr<detail::DuplexPipe> out)
      : in_(std::move(in)), out_(std::move(out)) {}
  detail::DuplexPipe& checked_in(const char* op);
  detail::DuplexPipe& checked_out(const char* op);
  void release();

  std::shared_ptr<detail::DuplexPipe> in_;   // the peer writes, we read
  std::shared_ptr<detail::DuplexPipe> out_;  // we write, the peer reads
};

// A connected pair; each direction buffers up to `capacity` bytes (capacity > 0, else abort).
std::pair<DuplexStream, DuplexStream> duplex(std::size_t capacity);

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_DUPLEX_H_
