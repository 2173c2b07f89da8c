// io::Ready<T>: an awaitable that is complete from the start and gives a stored value.
//
// For AsyncRead/AsyncWrite implementations whose operation never waits (flush() of an
// unbuffered stream, shutdown() of an in-memory pipe): `co_await` on it costs no suspension
// and no coroutine frame.
//
//   io::Ready<absl::Status> flush() { return io::Ready<absl::Status>(absl::OkStatus()); }
//
// Thread-safety: a value type; one awaiter belongs to one task.
#ifndef KEEL_RUNTIME_IO_READY_H_
#define KEEL_RUNTIME_IO_READY_H_

#include <coroutine>
#include <utility>

namespace keel::io {

template <class T>
class [[nodiscard]] Ready {
 public:
  explicit Ready(T value) : value_(std::move(value)) {}
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(value_); }

 private:
  T value_;
};

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_READY_H_
