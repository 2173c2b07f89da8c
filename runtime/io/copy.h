// copy and copy_bidirectional: move bytes between streams until end of stream.
//
//   absl::StatusOr<std::uint64_t> n = co_await keel::io::copy(file, sock);
//
//   // A TCP proxy: both directions at once; each side's write half is shut down when the
//   // other side ends its stream.
//   absl::StatusOr<std::pair<std::uint64_t, std::uint64_t>> r =
//       co_await keel::io::copy_bidirectional(client, upstream);   // {client->up, up->client}
//
// copy(r, w) reads from `r` and write_all()s to `w` until `r` ends, then flushes `w` (it does
// not shut `w` down) and gives the number of bytes copied. copy_bidirectional(a, b) runs
// copy(a, b) and copy(b, a) concurrently (with `join`, on the awaiting task), shuts down b's
// writing side when a ends and a's when b ends, and gives {bytes a->b, bytes b->a} once both
// directions ended. The first error in either direction stops both (the other direction is
// cancelled) and is returned.
//
// Both take the streams by reference: await them at once; the streams must outlive the await.
// copy_bidirectional reads and writes each stream at the same time (one reader and one
// writer), which every full-duplex stream allows.
//
// Cancellation: destroying the awaiting task stops the copy at its suspension points and
// leaves the streams usable, but bytes already read and not yet written (at most one buffer,
// `buffer_size` bytes per direction) are lost: a copy is not resumable.
//
// Thread-safety: as the streams'; both directions run on the awaiting task.
#ifndef KEEL_RUNTIME_IO_COPY_H_
#define KEEL_RUNTIME_IO_COPY_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/io/buf_reader.h"
#include "runtime/io/traits.h"
#include "runtime/io/util.h"
#include "runtime/task/combinators.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"

namespace keel::io {

// Copies `r` to `w` until `r` ends, then flushes `w`. Gives the number of bytes copied.
template <AsyncRead R, AsyncWrite W>
Task<absl::StatusOr<std::uint64_t>> copy(R& r, W& w, std::size_t buffer_size = kDefaultBufCapacity) {
  if (buffer_size == 0) buffer_size = 1;
  std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(buffer_size);
  std::uint64_t total = 0;
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf.get(), buffer_size));
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    // write_all's loop, inline: a Task per chunk would cost a frame on the hot path of every
    // proxy and echo loop, and the first write nearly always takes the whole chunk.
    for (std::size_t done = 0; done < *n;) {
      absl::StatusOr<std::size_t> m =
          co_await w.write(std::span<const char>(buf.get() + done, *n - done));
      if (!m.ok()) co_return m.status();
      if (*m == 0) co_return detail::write_zero_error("copy", done, *n);
      done += *m;
    }
    total += *n;
  }
  absl::Status s = co_await w.flush();
  if (!s.ok()) co_return s;
  co_return total;
}

namespace detail {

// The first error of copy_bidirectional's two directions, which both run as branches of one
// task: a leaf that completes once fail() was called. Only touched from that task's polls
// (one thread at a time, ordered by the scheduler's hand-off), so it needs no lock.
class FirstError {
 public:
  void fail(absl::Status s) {
    if (!failed_) {
      failed_ = true;
      status_ = std::move(s);
      std::move(waker_).wake();
    }
  }
  const absl::Status& status() const { return status_; }

  class [[nodiscard]] Awaiter final : public ::keel::detail::Leaf {
   public:
    explicit Awaiter(FirstError* e) : e_(e) { await_point = {"copy_bidirectional", {}}; }
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    // Cancelled (both directions finished first): forget the waker.
    ~Awaiter() { e_->waker_.reset(); }
    bool await_ready() const { return e_->failed_; }
    void await_suspend(std::coroutine_handle<> h) { e_->waker_ = ::keel::detail::suspend_leaf(h, this); }
    bool poll_ready() override { return e_->failed_; }
    void await_resume() const {}

   private:
    FirstError* e_;
  };
  Awaiter wait() { return Awaiter(this); }

 private:
  bool failed_ = false;
  absl::Status status_;
  Waker waker_;
};

inline Task<void> wait_first_error(FirstError* e) { co_await e->wait(); }

// One direction: copy, then shut the destination's writing side down.
template <class A, class B>
Task<std::uint64_t> copy_one_way(A& from, B& to, std::size_t buffer_size, FirstError* err) {
  absl::StatusOr<std::uint64_t> n = co_await copy(from, to, buffer_size);
  if (!n.ok()) {
    err->fail(n.status());
    co_return 0;
  }
  absl::Status s = co_await to.shutdown();
  if (!s.ok()) {
    err->fail(std::move(s));
    co_return 0;
  }
  co_return *n;
}

template <class A, class B>
Task<std::pair<std::uint64_t, std::uint64_t>> copy_both_ways(A& a, B& b, std::size_t buffer_size,
                                                             FirstError* err) {
  Task<std::uint64_t> ab = copy_one_way(a, b, buffer_size, err);
  Task<std::uint64_t> ba = copy_one_way(b, a, buffer_size, err);
  auto [x, y] = co_await join(std::move(ab), std::move(ba));
  co_return std::pair<std::uint64_t, std::uint64_t>(x, y);
}

}  // namespace detail

// Copies a->b and b->a concurrently until both end (see the file comment). Gives
// {bytes a->b, bytes b->a}, or the first error.
template <class A, class B>
  requires AsyncRead<A> && AsyncWrite<A> && AsyncRead<B> && AsyncWrite<B>
Task<absl::StatusOr<std::pair<std::uint64_t, std::uint64_t>>> copy_bidirectional(
    A& a, B& b, std::size_t buffer_size = kDefaultBufCapacity) {
  detail::FirstError err;
  Task<std::pair<std::uint64_t, std::uint64_t>> both = detail::copy_both_ways(a, b, buffer_size, &err);
  Task<void> failed = detail::wait_first_error(&err);
  auto r = co_await select(std::move(both), std::move(failed));
  if (r.index() == 1 || !err.status().ok()) co_return err.status();
  co_return std::get<0>(std::move(r));
}

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_COPY_H_
