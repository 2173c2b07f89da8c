// UnixDatagram: a Unix-domain datagram socket (SOCK_DGRAM): reliable, ordered, message
// boundaries kept, addressed by path or abstract name (unix_addr.h).
//
//   using keel::net::UnixAddr, keel::net::UnixDatagram;
//   absl::StatusOr<UnixDatagram> server = UnixDatagram::bind("/tmp/d.sock");
//   absl::StatusOr<UnixDatagram> client = UnixDatagram::bind("@client");
//   co_await client->send_to(std::span<const char>("ping", 4), *UnixAddr::parse("/tmp/d.sock"));
//   char buf[256];
//   auto r = co_await server->recv_from(std::span<char>(buf));   // {4, "@client"}
//   co_await server->send_to(std::span<const char>(buf, r->first), r->second);
//
// A sender that did not bind is unnamed: it can send, but nobody can answer it (recv_from
// gives an unnamed address, and send_to an unnamed address fails). unbound() makes such a
// socket; pair() two connected, unnamed ones.
//
// Truncation: as UDP's (udp.h): a datagram longer than the buffer is cut to it and the rest
// discarded; peek_size() gives the next datagram's full length.
//
// Files: as UnixListener's (unix_stream.h): bind() creates the socket file and nothing
// removes it; binding over an existing path fails with "bind <path>: Address already in use
// (the path exists: ...)".
//
// Back-pressure: a send to a receiver whose queue is full waits. For a connected socket the
// kernel wakes us when the receiver drains; for send_to an unconnected destination it wakes
// us only when one of our own queued datagrams is consumed (a Linux limitation: a queue full
// of other senders' datagrams gives no event), so bound such sends with keel::timeout.
// Errors: "send_to /tmp/d.sock: Connection refused" (nobody bound there any more), "No such
// file or directory" (no such path), "send unix datagram pair: Connection refused" (the
// connected peer is gone); each carries its errno (error.h). SIGPIPE is never raised.
//
// Cancellation: a send or receive destroyed mid-wait transferred nothing.
// Thread-safety: as UdpSocket: any number of senders and receivers at once; connect() must not
// run while an operation is pending.
#ifndef KEEL_NET_UNIX_DATAGRAM_H_
#define KEEL_NET_UNIX_DATAGRAM_H_

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/detail/datagram_op.h"
#include "net/detail/size_op.h"
#include "net/unix_addr.h"
#include "runtime/io/async_fd.h"

namespace keel::net {

class UnixDatagram {
 public:
  // A socket bound to "path" or "@abstract".
  static absl::StatusOr<UnixDatagram> bind(std::string_view addr);
  static absl::StatusOr<UnixDatagram> bind(const UnixAddr& addr);
  // An unnamed socket: it can send_to, or connect() and send; nobody can address it.
  static absl::StatusOr<UnixDatagram> unbound();
  // Two connected, unnamed sockets (socketpair(2)).
  static absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> pair();
  // Adopts a non-blocking Unix datagram socket (closed on failure).
  static absl::StatusOr<UnixDatagram> from_fd(int fd);

  UnixDatagram(UnixDatagram&&) noexcept = default;
  UnixDatagram& operator=(UnixDatagram&&) noexcept = default;

  // Sets the default destination of send() and accepts datagrams from it only. At once.
  absl::Status connect(std::string_view addr);
  absl::Status connect(const UnixAddr& addr);

  // To the connected peer: the bytes sent (the whole datagram).
  auto send(std::span<const char> buf) {
    return detail::SizeOp(
        fd_, Interest::kWritable, "UnixDatagram::send", "send", &name_,
        [fd = fd_.fd(), buf] { return ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL); });
  }
  // One datagram, truncated to buf.
  auto recv(std::span<char> buf) {
    return detail::SizeOp(fd_, Interest::kReadable, "UnixDatagram::recv", "recv", &name_,
                          [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), 0); });
  }
  // Like recv, but leaves the datagram queued.
  auto peek(std::span<char> buf) {
    return detail::SizeOp(
        fd_, Interest::kReadable, "UnixDatagram::peek", "peek", &name_,
        [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), MSG_PEEK); });
  }
  // The full length of the next datagram, which stays queued (waits for one).
  auto peek_size() {
    return detail::SizeOp(fd_, Interest::kReadable, "UnixDatagram::peek_size", "peek_size", &name_,
                          [fd = fd_.fd()] { return ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC); });
  }
  // One datagram to `to`.
  detail::SendToOp<UnixAddr> send_to(std::span<const char> buf, const UnixAddr& to) {
    return detail::SendToOp<UnixAddr>(fd_, "UnixDatagram::send_to", buf, to);
  }
  // One datagram and its sender's address (unnamed when the sender did not bind).
  detail::RecvFromOp<UnixAddr> recv_from(std::span<char> buf) {
    return detail::RecvFromOp<UnixAddr>(fd_, "UnixDatagram::recv_from", "recv_from", &name_, buf,
                                        0);
  }
  // Like recv_from, but leaves the datagram queued.
  detail::RecvFromOp<UnixAddr> peek_from(std::span<char> buf) {
    return detail::RecvFromOp<UnixAddr>(fd_, "UnixDatagram::peek_from", "peek_from", &name_, buf,
                                        MSG_PEEK);
  }

  absl::StatusOr<UnixAddr> local_addr() const;
  // The connected peer; ENOTCONN when not connected.
  absl::StatusOr<UnixAddr> peer_addr() const;
  // shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR.
  absl::Status shutdown_now(int how);

  int fd() const { return fd_.fd(); }
  // The socket as printed in error messages: its address, its peer's once connected, or
  // "unix datagram pair" / "unix datagram (unnamed)".
  const std::string& name() const { return name_; }

 private:
  UnixDatagram(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

  AsyncFd fd_;
  std::string name_;
};

}  // namespace keel::net

#endif  // KEEL_NET_UNIX_DATAGRAM_H_
