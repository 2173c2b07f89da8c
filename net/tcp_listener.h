// TcpListener: a listening TCP socket; TcpSocket: the builder for listeners and streams that
// need options set before bind or connect.
//
//   absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind("127.0.0.1:0");
//   for (;;) {
//     auto [stream, peer] = *co_await l->accept();
//     keel::spawn(serve(std::move(stream)));
//   }
//
//   // SO_REUSEPORT and a backlog of its own: one listener per worker, the kernel spreading
//   // connections between them.
//   absl::StatusOr<TcpSocket> s = TcpSocket::new_for(addr);
//   s->set_reuseport(true);
//   s->bind(addr);
//   absl::StatusOr<TcpListener> l = std::move(*s).listen(4096);
//
// bind() sets SO_REUSEADDR (a restarted server rebinds a port with connections in
// TIME_WAIT) and listens with kDefaultBacklog.
//
// accept() keeps a server alive through the errors a busy server meets:
//   - ECONNABORTED, EPROTO, ENETDOWN and the like (a client gave up before we accepted it,
//     a transient network fault) are retried at once and never returned;
//   - EMFILE, ENFILE, ENOBUFS and ENOMEM (out of file descriptors or memory) back off, from
//     kAcceptBackoffMin doubling to kAcceptBackoffMax, with one line on stderr per episode,
//     then retry: the pending connection waits in the backlog, the open connections keep
//     being served, and nothing spins. It returns once a connection is accepted.
// Only errors that mean the listener itself is broken (EBADF, EINVAL) are returned.
//
// Cancellation: destroying a pending accept() accepts nothing (the connection stays queued).
// Thread-safety: accept() may be awaited by several tasks at once (each connection goes to
// one of them).
#ifndef KEEL_NET_TCP_LISTENER_H_
#define KEEL_NET_TCP_LISTENER_H_

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/detail/accept.h"
#include "net/socket_addr.h"
#include "net/tcp_stream.h"
#include "runtime/io/async_fd.h"
#include "runtime/task/task.h"

namespace keel::net {

// The listen backlog of bind(): the kernel clamps it to net.core.somaxconn (4096 on current
// kernels); a burst of connections larger than the backlog gets SYN retries, so be generous.
inline constexpr int kDefaultBacklog = 4096;
// Back-off after EMFILE/ENFILE (see net/detail/accept.h, which every listener shares).
inline constexpr std::chrono::milliseconds kAcceptBackoffMin = detail::kAcceptBackoffMin;
inline constexpr std::chrono::milliseconds kAcceptBackoffMax = detail::kAcceptBackoffMax;

class TcpListener {
 public:
  // Binds with SO_REUSEADDR and listens with kDefaultBacklog.
  static absl::StatusOr<TcpListener> bind(const SocketAddr& addr);
  // The same for a literal address ("127.0.0.1:0", "[::]:80").
  static absl::StatusOr<TcpListener> bind(std::string_view addr);
  // Adopts a listening, non-blocking socket (closed on failure).
  static absl::StatusOr<TcpListener> from_fd(int fd);

  TcpListener(TcpListener&&) noexcept = default;
  TcpListener& operator=(TcpListener&&) noexcept = default;

  // The next connection and its peer's address. The listener must outlive the await.
  Task<absl::StatusOr<std::pair<TcpStream, SocketAddr>>> accept();

  absl::StatusOr<SocketAddr> local_addr() const;
  int fd() const { return fd_.fd(); }
  // The listener as printed in error messages ("127.0.0.1:7000").
  const std::string& name() const { return name_; }

 private:
  TcpListener(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  friend class TcpSocket;

  AsyncFd fd_;
  std::string name_;
};

// A TCP socket not yet bound or connected.
class TcpSocket {
 public:
  static absl::StatusOr<TcpSocket> new_v4();
  static absl::StatusOr<TcpSocket> new_v6();
  // A socket of `addr`'s family.
  static absl::StatusOr<TcpSocket> new_for(const SocketAddr& addr);

  TcpSocket(TcpSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TcpSocket& operator=(TcpSocket&& other) noexcept;
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;
  ~TcpSocket();

  absl::Status set_reuseaddr(bool on);
  absl::Status set_reuseport(bool on);
  absl::Status set_nodelay(bool on);
  absl::Status set_send_buffer_size(int bytes);
  absl::Status set_recv_buffer_size(int bytes);
  // Only IPv6 (for an IPv6 socket bound to [::], refuse IPv4-mapped peers).
  absl::Status set_only_v6(bool on);
  absl::Status bind(const SocketAddr& addr);

  // Starts listening; the socket becomes the listener.
  absl::StatusOr<TcpListener> listen(int backlog = kDefaultBacklog) &&;
  // Connects; the socket becomes the stream.
  Task<absl::StatusOr<TcpStream>> connect(SocketAddr addr) &&;

  int fd() const { return fd_; }

 private:
  explicit TcpSocket(int fd) : fd_(fd) {}
  static Task<absl::StatusOr<TcpStream>> connect_owned(TcpSocket socket, SocketAddr addr);

  int fd_ = -1;
};

}  // namespace keel::net

#endif  // KEEL_NET_TCP_LISTENER_H_
