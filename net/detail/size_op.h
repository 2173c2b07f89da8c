// SizeOp: a socket syscall that transfers bytes, as an awaitable of absl::StatusOr<size_t>.
//
// The read/write/peek/send/recv operations of Keel's sockets return one of these: an IoOp
// (runtime/io/io_op.h: no allocation, the syscall runs in await_ready when the socket is
// ready) whose result becomes a byte count, or an error naming the operation and the socket
// ("read 127.0.0.1:6379: Connection reset by peer", with the errno attached, see error.h).
//
//   return detail::SizeOp(fd_, Interest::kReadable, "TcpStream::read", "read", &peer_name_,
//                         [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), 0); },
//                         detail::ShorterThan{buf.size()});
//
// Cancellation, lifetimes and thread-safety are IoOp's: the socket and `target` must outlive
// the await, and a destroyed SizeOp transferred nothing.
#ifndef KEEL_NET_DETAIL_SIZE_OP_H_
#define KEEL_NET_DETAIL_SIZE_OP_H_

#include <coroutine>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "net/error.h"
#include "runtime/io/async_fd.h"

namespace keel::net::detail {

// A stream transfer shorter than asked emptied the kernel's buffer (or filled its send
// buffer): the readiness it consumed can be cleared without another syscall's EAGAIN.
struct ShorterThan {
  std::size_t asked;
  bool operator()(ssize_t got) const { return static_cast<std::size_t>(got) < asked; }
};

template <class Op, class Drained = keel::detail::NeverDrained>
class [[nodiscard]] SizeOp {
 public:
  SizeOp(AsyncFd& fd, Interest interest, const char* what, const char* op_name,
         const std::string* target, Op op, Drained drained = {})
      : op_(fd.io_op(interest, what, std::move(op), std::move(drained))),
        op_name_(op_name),
        target_(target) {}
  SizeOp(const SizeOp&) = delete;
  SizeOp& operator=(const SizeOp&) = delete;

  bool await_ready() { return op_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  absl::StatusOr<std::size_t> await_resume() {
    keel::detail::IoResult r = op_.await_resume();
    if (r.ok()) return static_cast<std::size_t>(r.value);
    return io_error(r.error, op_name_, *target_);
  }

 private:
  keel::detail::IoOp<Op, Drained> op_;
  const char* op_name_;
  const std::string* target_;
};

}  // namespace keel::net::detail

#endif  // KEEL_NET_DETAIL_SIZE_OP_H_
