// AsyncRead and AsyncWrite: the two concepts every byte stream in Keel satisfies (TCP and Unix
// sockets, TLS streams, files, pipes of child processes, `duplex()` pairs, test mocks), and
// that every io utility, codec and protocol layer is written against.
//
//   template <keel::io::AsyncRead R>
//   keel::Task<absl::StatusOr<std::size_t>> count_bytes(R& r) {
//     char buf[4096];
//     std::size_t total = 0;
//     for (;;) {
//       absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf));
//       if (!n.ok()) co_return n.status();
//       if (*n == 0) co_return total;  // end of stream
//       total += *n;
//     }
//   }
//
// The contract (what an implementation promises, and what callers may rely on):
//   - `r.read(std::span<char> buf)` returns something awaitable whose result is
//     absl::StatusOr<std::size_t>: the number of bytes placed at the front of `buf`, at least 1
//     when `buf` is not empty, or 0 at end of stream. It waits only when no byte is available.
//   - `w.write(std::span<const char> buf)` returns an awaitable of absl::StatusOr<std::size_t>:
//     how many bytes from the front of `buf` were accepted (at least 1 when `buf` is not
//     empty). A short write is normal; `write_all` loops.
//   - `w.flush()` returns an awaitable of absl::Status: everything accepted so far has reached
//     the underlying object (a no-op for unbuffered streams).
//   - `w.shutdown()` returns an awaitable of absl::Status: flushes, then closes the writing
//     direction (the peer reads end of stream). Reading may continue.
//   - Errors are absl::Status values whose message names the operation and the object
//     ("read 127.0.0.1:6379: Connection reset by peer"); the runtime never throws on I/O.
//   - Buffers are borrowed: they must stay valid until the awaitable completes or is destroyed.
//     Callers await these operations at once.
//   - Cancellation: destroying a pending read or write (the awaiting task lost a `select`, a
//     `timeout` expired) transfers nothing: no byte is consumed from, or accepted by, the
//     stream by an operation that did not complete.
//   - One reader and one writer may be active at a time (in different tasks, for full-duplex
//     streams); two concurrent reads, or two concurrent writes, on one stream are a bug.
//
// Thread-safety: the concepts are compile-time only; see each implementation.
#ifndef KEEL_RUNTIME_IO_TRAITS_H_
#define KEEL_RUNTIME_IO_TRAITS_H_

#include <cstddef>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/task/awaitable.h"

namespace keel::io {

template <class R>
concept AsyncRead = requires(R& r, std::span<char> buf) {
  { r.read(buf) } -> AwaitableOf<absl::StatusOr<std::size_t>>;
};

template <class W>
concept AsyncWrite = requires(W& w, std::span<const char> buf) {
  { w.write(buf) } -> AwaitableOf<absl::StatusOr<std::size_t>>;
  { w.flush() } -> AwaitableOf<absl::Status>;
  { w.shutdown() } -> AwaitableOf<absl::Status>;
};

// A full-duplex byte stream.
template <class S>
concept AsyncReadWrite = AsyncRead<S> && AsyncWrite<S>;

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_TRAITS_H_
