// SendToOp and RecvFromOp: sendto(2) and recvfrom(2) as awaiters, for datagram sockets of any
// address type (SocketAddr for UDP, UnixAddr for Unix datagrams).
//
//   // inside UdpSocket:
//   detail::RecvFromOp<SocketAddr> recv_from(std::span<char> buf) {
//     return detail::RecvFromOp<SocketAddr>(fd_, "UdpSocket::recv_from", "recv_from", &name_,
//                                           buf, /*flags=*/0);
//   }
//   ...
//   absl::StatusOr<std::pair<std::size_t, SocketAddr>> r = co_await sock.recv_from(buf);
//
// Like SizeOp (size_op.h) they wrap an IoOp (runtime/io/io_op.h): no allocation, the syscall
// runs in await_ready when the socket is ready. The addresses live inside the awaiter (the
// destination of a send, the source of a receive), which the syscall reaches through
// pointers: the awaiters can be neither copied nor moved, and are returned as prvalues
// (guaranteed copy elision builds them in place) and awaited at once.
//
// Errors name the operation and, for send_to, the destination ("send_to 127.0.0.1:9:
// Connection refused"), for recv_from the socket's name; they carry the errno (error.h).
//
// Cancellation, lifetimes and thread-safety are IoOp's: a destroyed op transferred nothing;
// the socket, the buffer and `target` must outlive the await.
#ifndef KEEL_NET_DETAIL_DATAGRAM_OP_H_
#define KEEL_NET_DETAIL_DATAGRAM_OP_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <coroutine>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "net/error.h"
#include "runtime/io/async_fd.h"

namespace keel::net::detail {

struct SendToCall {
  int fd;
  std::span<const char> buf;
  const sockaddr* to;
  socklen_t to_len;
  ssize_t operator()() const {
    return ::sendto(fd, buf.data(), buf.size(), MSG_NOSIGNAL, to, to_len);
  }
};

struct RecvFromCall {
  int fd;
  std::span<char> buf;
  int flags;
  sockaddr_storage* from;
  socklen_t* from_len;
  ssize_t operator()() const {
    *from_len = sizeof *from;
    return ::recvfrom(fd, buf.data(), buf.size(), flags, reinterpret_cast<sockaddr*>(from),
                      from_len);
  }
};

// Sends one datagram to `to`; gives the bytes sent (all of them: a datagram is never split).
template <class Addr>
class [[nodiscard]] SendToOp {
 public:
  SendToOp(AsyncFd& fd, const char* what, std::span<const char> buf, const Addr& to)
      : to_(to),
        op_(fd.io_op(Interest::kWritable, what,
                     SendToCall{fd.fd(), buf, to_.as_sockaddr(), to_.sockaddr_len()})) {}
  SendToOp(const SendToOp&) = delete;
  SendToOp& operator=(const SendToOp&) = delete;

  bool await_ready() { return op_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  absl::StatusOr<std::size_t> await_resume() {
    keel::detail::IoResult r = op_.await_resume();
    if (r.ok()) return static_cast<std::size_t>(r.value);
    return io_error(r.error, "send_to", to_.to_string());
  }

 private:
  const Addr to_;  // before op_, which points into it
  keel::detail::IoOp<SendToCall> op_;
};

// Receives one datagram (flags: 0, or MSG_PEEK to leave it queued) and its source address.
// A datagram longer than the buffer is truncated to it (see the socket's header).
template <class Addr>
class [[nodiscard]] RecvFromOp {
 public:
  RecvFromOp(AsyncFd& fd, const char* what, const char* op_name, const std::string* target,
             std::span<char> buf, int flags)
      : op_(fd.io_op(Interest::kReadable, what,
                     RecvFromCall{fd.fd(), buf, flags, &from_, &from_len_})),
        op_name_(op_name),
        target_(target) {}
  RecvFromOp(const RecvFromOp&) = delete;
  RecvFromOp& operator=(const RecvFromOp&) = delete;

  bool await_ready() { return op_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return op_.await_suspend(h); }
  absl::StatusOr<std::pair<std::size_t, Addr>> await_resume() {
    keel::detail::IoResult r = op_.await_resume();
    if (!r.ok()) return io_error(r.error, op_name_, *target_);
    absl::StatusOr<Addr> from =
        Addr::from_sockaddr(reinterpret_cast<const sockaddr*>(&from_), from_len_);
    if (!from.ok()) return from.status();
    return std::pair<std::size_t, Addr>(static_cast<std::size_t>(r.value), std::move(*from));
  }

 private:
  sockaddr_storage from_{};  // before op_, which points into them
  socklen_t from_len_ = 0;
  keel::detail::IoOp<RecvFromCall> op_;
  const char* op_name_;
  const std::string* target_;
};

}  // namespace keel::net::detail

#endif  // KEEL_NET_DETAIL_DATAGRAM_OP_H_
