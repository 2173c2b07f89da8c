// TcpStream: a connected TCP socket, AsyncRead and AsyncWrite (runtime/io/traits.h).
//
//   absl::StatusOr<keel::net::TcpStream> s = co_await keel::net::TcpStream::connect("localhost:6379");
//   if (!s.ok()) co_return s.status();          // "connect 127.0.0.1:6379: Connection refused"
//   s->set_nodelay(true);
//   KEEL_ASSERT_OK(co_await keel::io::write_all(*s, "PING\r\n"));
//   char buf[64];
//   absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));   // 0: peer closed
//
// connect(host_port) resolves the name (lookup_host) and tries every address in turn,
// returning the last error when all fail. A connect that never completes waits for the
// kernel's timeout: bound it with keel::timeout(d, TcpStream::connect(...)).
//
// read/write/peek are single syscalls on the I/O driver (no allocation; a ready socket
// completes without suspending). Errors name the operation and the peer ("read
// 10.0.0.2:443: Connection reset by peer") and carry the errno (errno_of, error.h). Writing
// to a connection the peer closed fails with EPIPE; SIGPIPE is never raised (MSG_NOSIGNAL).
//
// Halves: one reader and one writer may be active at once, in different tasks (on any
// threads). split() gives two borrowing halves for one scope; keel::io::split(std::move(s))
// gives owned halves (shared ownership) to move into separate tasks, and io::unsplit puts
// them back.
//
// Cancellation: a read or write destroyed mid-wait transferred nothing (traits.h).
// Thread-safety: one reader and one writer at a time; options may be set from either.
#ifndef KEEL_NET_TCP_STREAM_H_
#define KEEL_NET_TCP_STREAM_H_

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/detail/size_op.h"
#include "net/socket_addr.h"
#include "runtime/io/async_fd.h"
#include "runtime/io/ready.h"
#include "runtime/task/task.h"

namespace keel::net {

class TcpStream {
 public:
  // Connects to `addr`.
  static Task<absl::StatusOr<TcpStream>> connect(SocketAddr addr);
  // Connects to "host:port" (a literal address or a name), trying each address in turn.
  static Task<absl::StatusOr<TcpStream>> connect(std::string host_port);
  // Adopts a connected, non-blocking socket (closed on failure).
  static absl::StatusOr<TcpStream> from_fd(int fd);

  TcpStream(TcpStream&&) noexcept = default;
  TcpStream& operator=(TcpStream&&) noexcept = default;

  // AsyncRead: up to buf.size() bytes, 0 at end of stream.
  auto read(std::span<char> buf) {
    return detail::SizeOp(fd_, Interest::kReadable, "TcpStream::read", "read", &name_,
                          [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), 0); },
                          detail::ShorterThan{buf.size()});
  }
  // Like read, but leaves the bytes in the socket for the next read.
  auto peek(std::span<char> buf) {
    return detail::SizeOp(
        fd_, Interest::kReadable, "TcpStream::peek", "peek", &name_,
        [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), MSG_PEEK); });
  }
  // AsyncWrite: accepts up to buf.size() bytes (a short write when the send buffer fills).
  auto write(std::span<const char> buf) {
    return detail::SizeOp(
        fd_, Interest::kWritable, "TcpStream::write", "write", &name_,
        [fd = fd_.fd(), buf] { return ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL); },
        detail::ShorterThan{buf.size()});
  }
  // Nothing is buffered in user space: complete at once.
  io::Ready<absl::Status> flush() { return io::Ready<absl::Status>(absl::OkStatus()); }
  // Closes the writing direction (the peer reads end of stream); reading continues.
  io::Ready<absl::Status> shutdown() { return io::Ready<absl::Status>(shutdown_now(SHUT_WR)); }
  // shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR, at once.
  absl::Status shutdown_now(int how);

  absl::StatusOr<SocketAddr> local_addr() const;
  absl::StatusOr<SocketAddr> peer_addr() const;

  absl::Status set_nodelay(bool on);
  absl::StatusOr<bool> nodelay() const;
  // TCP keepalive: nullopt disables it; otherwise idle time before the first probe (also the
  // interval between probes).
  absl::Status set_keepalive(std::optional<std::chrono::seconds> idle);
  // SO_LINGER: nullopt is the default (close returns at once, data is sent in the
  // background); zero makes close send a reset.
  absl::Status set_linger(std::optional<std::chrono::seconds> linger);
  absl::StatusOr<std::optional<std::chrono::seconds>> linger() const;
  absl::Status set_ttl(int ttl);

  int fd() const { return fd_.fd(); }
  // The peer as printed in error messages.
  const std::string& name() const { return name_; }

  // Borrowing halves for use within one scope (the stream must outlive them).
  class ReadRef {
   public:
    explicit ReadRef(TcpStream* s) : s_(s) {}
    auto read(std::span<char> buf) { return s_->read(buf); }
    auto peek(std::span<char> buf) { return s_->peek(buf); }

   private:
    TcpStream* s_;
  };
  class WriteRef {
   public:
    explicit WriteRef(TcpStream* s) : s_(s) {}
    auto write(std::span<const char> buf) { return s_->write(buf); }
    auto flush() { return s_->flush(); }
    auto shutdown() { return s_->shutdown(); }

   private:
    TcpStream* s_;
  };
  std::pair<ReadRef, WriteRef> split() { return {ReadRef(this), WriteRef(this)}; }

 private:
  TcpStream(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  friend class TcpListener;
  friend class TcpSocket;

  AsyncFd fd_;
  std::string name_;
};

}  // namespace keel::net

#endif  // KEEL_NET_TCP_STREAM_H_
