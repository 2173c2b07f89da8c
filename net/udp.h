// UdpSocket: a UDP socket on the I/O driver: datagrams to and from any peer, or to one
// connected peer, with broadcast, multicast and TTL options.
//
//   absl::StatusOr<keel::net::UdpSocket> s = keel::net::UdpSocket::bind("127.0.0.1:0");
//   char buf[keel::net::kMaxUdpPayload];
//   auto r = co_await s->recv_from(std::span<char>(buf));   // StatusOr<pair<size_t, SocketAddr>>
//   if (r.ok()) {
//     auto [n, peer] = *r;
//     co_await s->send_to(std::span<const char>(buf, n), peer);  // an echo server
//   }
//
//   // One peer: connect() filters what recv() receives and fixes where send() sends.
//   KEEL_ASSERT_OK(s->connect(*keel::net::SocketAddr::parse("127.0.0.1:5353")));
//   co_await s->send(std::span<const char>("ping", 4));
//
// Every operation sends or receives one whole datagram in one syscall (an IoOp, no
// allocation; a ready socket completes without suspending).
//
// Truncation: a datagram longer than the buffer given to recv/recv_from/peek/peek_from is
// cut to the buffer: the call returns the bytes that fit (buf.size()) and the rest of that
// datagram is discarded, as recv(2) does without MSG_TRUNC; nothing reports the cut. Size
// buffers for the largest datagram you expect (kMaxUdpPayload fits any), or ask peek_size()
// for the full length of the next datagram first.
//
// Errors name the operation and the socket (its local address, or its peer once connected):
// "recv 127.0.0.1:5353: Connection refused" (a connected socket learns from ICMP that the
// peer's port is closed, and reports it on a later send or recv), and send_to names the
// destination. Each carries its errno (errno_of, error.h). SIGPIPE is never raised.
//
// Multicast: join_multicast_v4("239.1.2.3", "127.0.0.1") joins a group on the interface with
// that address; "0.0.0.0" lets the kernel pick one by route (which fails with "No such device"
// on a host without a route to the group). To send to a group, pick the outgoing interface
// with set_multicast_if_v4 on such hosts.
//
// Cancellation: a send or receive destroyed mid-wait transferred nothing: the datagram it
// would have received stays queued for the next receive.
// Thread-safety: any number of tasks may send and receive at once (each datagram goes to one
// receiver); options may be set from any of them, but connect() must not run while an
// operation is pending (it renames the socket that pending errors refer to).
#ifndef KEEL_NET_UDP_H_
#define KEEL_NET_UDP_H_

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
#include "net/socket_addr.h"
#include "runtime/io/async_fd.h"

namespace keel::net {

// The largest UDP payload over IPv4 (65,535 minus the 8-byte UDP and 20-byte IP headers): a
// receive buffer this large never truncates.
inline constexpr std::size_t kMaxUdpPayload = 65507;

class UdpSocket {
 public:
  // A socket bound to `addr` (port 0 picks a free port; see local_addr()).
  static absl::StatusOr<UdpSocket> bind(const SocketAddr& addr);
  // The same for a literal address ("127.0.0.1:0", "[::1]:5353").
  static absl::StatusOr<UdpSocket> bind(std::string_view addr);
  // Adopts a non-blocking UDP socket (closed on failure).
  static absl::StatusOr<UdpSocket> from_fd(int fd);

  UdpSocket(UdpSocket&&) noexcept = default;
  UdpSocket& operator=(UdpSocket&&) noexcept = default;

  // Sets the default destination of send() and accepts datagrams from `addr` only. Runs at
  // once (UDP has no handshake); may be called again to change peers.
  absl::Status connect(const SocketAddr& addr);

  // To the connected peer: the bytes sent, all of buf (a datagram is not split).
  auto send(std::span<const char> buf) {
    return detail::SizeOp(
        fd_, Interest::kWritable, "UdpSocket::send", "send", &name_,
        [fd = fd_.fd(), buf] { return ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL); });
  }
  // One datagram from the connected peer (or any peer when not connected), truncated to buf.
  auto recv(std::span<char> buf) {
    return detail::SizeOp(fd_, Interest::kReadable, "UdpSocket::recv", "recv", &name_,
                          [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), 0); });
  }
  // Like recv, but leaves the datagram queued.
  auto peek(std::span<char> buf) {
    return detail::SizeOp(
        fd_, Interest::kReadable, "UdpSocket::peek", "peek", &name_,
        [fd = fd_.fd(), buf] { return ::recv(fd, buf.data(), buf.size(), MSG_PEEK); });
  }
  // The full length of the next datagram, which stays queued (waits for one).
  auto peek_size() {
    return detail::SizeOp(fd_, Interest::kReadable, "UdpSocket::peek_size", "peek_size", &name_,
                          [fd = fd_.fd()] { return ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC); });
  }
  // One datagram to `to`.
  detail::SendToOp<SocketAddr> send_to(std::span<const char> buf, const SocketAddr& to) {
    return detail::SendToOp<SocketAddr>(fd_, "UdpSocket::send_to", buf, to);
  }
  // One datagram and its source, truncated to buf.
  detail::RecvFromOp<SocketAddr> recv_from(std::span<char> buf) {
    return detail::RecvFromOp<SocketAddr>(fd_, "UdpSocket::recv_from", "recv_from", &name_, buf, 0);
  }
  // Like recv_from, but leaves the datagram queued.
  detail::RecvFromOp<SocketAddr> peek_from(std::span<char> buf) {
    return detail::RecvFromOp<SocketAddr>(fd_, "UdpSocket::peek_from", "peek_from", &name_, buf,
                                          MSG_PEEK);
  }

  absl::StatusOr<SocketAddr> local_addr() const;
  // The connected peer; an error (ENOTCONN) when not connected.
  absl::StatusOr<SocketAddr> peer_addr() const;

  // SO_BROADCAST: allows sending to broadcast addresses (255.255.255.255, a subnet's).
  absl::Status set_broadcast(bool on);
  absl::StatusOr<bool> broadcast() const;
  // IP_TTL (IPV6_UNICAST_HOPS on an IPv6 socket): the hop limit of unicast datagrams.
  absl::Status set_ttl(int ttl);
  absl::StatusOr<int> ttl() const;

  // IPv4 multicast. `group` and `iface` are dotted-quad addresses; `iface` is the address of
  // the local interface ("0.0.0.0": chosen by route). Errors name both: "join_multicast_v4
  // 239.1.2.3 on 127.0.0.1: No such device".
  absl::Status join_multicast_v4(std::string_view group, std::string_view iface);
  absl::Status leave_multicast_v4(std::string_view group, std::string_view iface);
  // IP_MULTICAST_IF: the interface (by address) multicast datagrams leave through.
  absl::Status set_multicast_if_v4(std::string_view iface);
  // IP_MULTICAST_LOOP: whether our own multicast datagrams are delivered to local members
  // (on by default).
  absl::Status set_multicast_loop_v4(bool on);
  absl::StatusOr<bool> multicast_loop_v4() const;
  // IP_MULTICAST_TTL: the hop limit of multicast datagrams (1 by default: the local network).
  absl::Status set_multicast_ttl_v4(int ttl);
  absl::StatusOr<int> multicast_ttl_v4() const;
  // IPv6 multicast: `group` is an IPv6 address ("ff02::1:3"), `iface_index` an interface
  // index (if_nametoindex; 0: chosen by route).
  absl::Status join_multicast_v6(std::string_view group, unsigned iface_index);
  absl::Status leave_multicast_v6(std::string_view group, unsigned iface_index);
  // IPV6_MULTICAST_LOOP.
  absl::Status set_multicast_loop_v6(bool on);

  int fd() const { return fd_.fd(); }
  // The socket as printed in error messages: its local address, or its peer once connected.
  const std::string& name() const { return name_; }

 private:
  UdpSocket(AsyncFd fd, std::string name, bool v6)
      : fd_(std::move(fd)), name_(std::move(name)), v6_(v6) {}

  absl::Status multicast_v4(int option, const char* op, std::string_view group,
                            std::string_view iface);
  absl::Status multicast_v6(int option, const char* op, std::string_view group,
                            unsigned iface_index);

  AsyncFd fd_;
  std::string name_;
  bool v6_ = false;
};

}  // namespace keel::net

#endif  // KEEL_NET_UDP_H_
