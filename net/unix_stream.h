// UnixListener and UnixStream: Unix-domain stream sockets (filesystem paths and Linux
// abstract names, see unix_addr.h), with peer credentials. UnixStream is AsyncRead and
// AsyncWrite (runtime/io/traits.h).
//
//   absl::StatusOr<keel::net::UnixListener> l = keel::net::UnixListener::bind("/run/app.sock");
//   auto [conn, peer] = *co_await l->accept();
//   absl::StatusOr<keel::net::UnixCred> who = conn.peer_cred();     // pid, uid, gid
//
//   absl::StatusOr<keel::net::UnixStream> c = co_await keel::net::UnixStream::connect("@app");
//   KEEL_ASSERT_OK(co_await keel::io::write_all(*c, "PING\r\n"));
//
// Strings name addresses by unix_addr.h's convention: "@name" is abstract, anything else a
// path.
//
// Files: bind() creates the socket file and nothing ever removes it: not the listener's
// destructor, not bind(). A path left by an earlier run makes bind() fail with "bind
// /run/app.sock: Address already in use (the path exists: remove a stale socket file before
// binding)"; remove it (::unlink) when you know no server uses it. Abstract names need no
// cleanup.
//
// connect() completes at once when the listener's backlog has room. A Unix connect to a full
// backlog fails with EAGAIN (not EINPROGRESS as TCP's does), and the kernel gives the
// connecting socket no readiness event when the backlog drains, so connect() retries with a
// back-off (detail::kConnectRetryMin doubling to kConnectRetryMax) until it gets in or fails
// otherwise. Bound it with keel::timeout. A missing path fails at once: "connect
// /run/app.sock: No such file or directory"; a path without a listener: "Connection refused".
//
// accept() has TcpListener's policy (net/detail/accept.h): aborted connections are retried,
// EMFILE/ENFILE back off without spinning, only a broken listener is an error.
//
// Errors while connected: a peer that closes with data we sent still unread makes our next
// read fail with "read <name>: Connection reset by peer" (ECONNRESET: the Unix
// analogue of TCP's reset; SO_LINGER does not apply to Unix sockets). A peer that closes after
// reading everything gives end of stream (read returns 0), and a write then fails with EPIPE
// (never SIGPIPE). <name> is the path for a stream that connected or was accepted on a
// listener, "unix pair" for pair().
//
// Cancellation: a read, write or accept destroyed mid-wait transferred or accepted nothing.
// Destroying connect() mid-back-off drops the socket unconnected.
// Thread-safety: as TcpStream and TcpListener: one reader and one writer per stream at once;
// any number of tasks may accept on one listener.
#ifndef KEEL_NET_UNIX_STREAM_H_
#define KEEL_NET_UNIX_STREAM_H_

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/detail/size_op.h"
#include "net/unix_addr.h"
#include "runtime/io/async_fd.h"
#include "runtime/io/ready.h"
#include "runtime/task/task.h"

namespace keel::net {

// The listen backlog of UnixListener::bind: as TcpListener's, generous (the kernel clamps it
// to net.core.somaxconn), since a full Unix backlog makes clients poll (see connect()).
inline constexpr int kUnixDefaultBacklog = 4096;

// The credentials of the process at the other end, as the kernel recorded them when the
// connection was made (SO_PEERCRED): for a pair(), the process that created it.
struct UnixCred {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};

class UnixStream {
 public:
  // Connects to "path" or "@abstract" (see above for a full backlog).
  static Task<absl::StatusOr<UnixStream>> connect(std::string addr);
  static Task<absl::StatusOr<UnixStream>> connect(UnixAddr addr);
  // Two connected, unnamed streams (socketpair(2)).
  static absl::StatusOr<std::pair<UnixStream, UnixStream>> pair();
  // Adopts a connected, non-blocking Unix stream socket (closed on failure).
  static absl::StatusOr<UnixStream> from_fd(int fd);

  UnixStream(UnixStream&&) noexcept = default;
  UnixStream& operator=(UnixStream&&) noexcept = default;

  // AsyncRead: up to buf.size() bytes, 0 at end of stream.
  auto read(std::span<char> buf) {
    return detail::SizeOp(
        fd_, Interest::kReadable, "UnixStream::read", "read", &name_,
        [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), 0); },
        detail::ShorterThan{buf.size()});
  }
  // Like read, but leaves the bytes in the socket for the next read.
  auto peek(std::span<char> buf) {
    return detail::SizeOp(
        fd_, Interest::kReadable, "UnixStream::peek", "peek", &name_,
        [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), MSG_PEEK); });
  }
  // AsyncWrite: accepts up to buf.size() bytes (a short write when the send buffer fills).
  auto write(std::span<const char> buf) {
    return detail::SizeOp(
        fd_, Interest::kWritable, "UnixStream::write", "write", &name_,
        [fd = fd_.fd(), buf] { return ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL); },
        detail::ShorterThan{buf.size()});
  }
  // Nothing is buffered in user space: complete at once.
  io::Ready<absl::Status> flush() { return io::Ready<absl::Status>(absl::OkStatus()); }
  // Closes the writing direction (the peer reads end of stream); reading continues.
  io::Ready<absl::Status> shutdown() { return io::Ready<absl::Status>(shutdown_now(SHUT_WR)); }
  // shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR, at once.
  absl::Status shutdown_now(int how);

  // Our address (unnamed for a client that did not bind, the listener's for an accepted one).
  absl::StatusOr<UnixAddr> local_addr() const;
  // The peer's address (the listener's path for a client; usually unnamed for a server).
  absl::StatusOr<UnixAddr> peer_addr() const;
  absl::StatusOr<UnixCred> peer_cred() const;

  int fd() const { return fd_.fd(); }
  // The stream as printed in error messages.
  const std::string& name() const { return name_; }

  // Borrowing halves for use within one scope (the stream must outlive them).
  class ReadRef {
   public:
    explicit ReadRef(UnixStream* s) : s_(s) {}
    auto read(std::span<char> buf) { return s_->read(buf); }
    auto peek(std::span<char> buf) { return s_->peek(buf); }

   private:
    UnixStream* s_;
  };
  class WriteRef {
   public:
    explicit WriteRef(UnixStream* s) : s_(s) {}
    auto write(std::span<const char> buf) { return s_->write(buf); }
    auto flush() { return s_->flush(); }
    auto shutdown() { return s_->shutdown(); }

   private:
    UnixStream* s_;
  };
  std::pair<ReadRef, WriteRef> split() { return {ReadRef(this), WriteRef(this)}; }

 private:
  UnixStream(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  friend class UnixListener;

  AsyncFd fd_;
  std::string name_;
};

class UnixListener {
 public:
  // Binds "path" or "@abstract" and listens (see above for an existing path).
  static absl::StatusOr<UnixListener> bind(std::string_view addr,
                                           int backlog = kUnixDefaultBacklog);
  static absl::StatusOr<UnixListener> bind(const UnixAddr& addr, int backlog = kUnixDefaultBacklog);
  // Adopts a listening, non-blocking Unix stream socket (closed on failure).
  static absl::StatusOr<UnixListener> from_fd(int fd);

  UnixListener(UnixListener&&) noexcept = default;
  UnixListener& operator=(UnixListener&&) noexcept = default;

  // The next connection and its peer's address (usually unnamed). The listener must outlive
  // the await.
  Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> accept();

  absl::StatusOr<UnixAddr> local_addr() const;
  int fd() const { return fd_.fd(); }
  // The listener as printed in error messages: its path or "@name".
  const std::string& name() const { return name_; }

 private:
  UnixListener(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

  AsyncFd fd_;
  std::string name_;
};

}  // namespace keel::net

#endif  // KEEL_NET_UNIX_STREAM_H_
