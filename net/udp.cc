#include "net/udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "net/detail/socket.h"
#include "net/error.h"

namespace keel::net {
namespace {

absl::StatusOr<in_addr> parse_v4(std::string_view text, std::string_view what) {
  in_addr a{};
  std::string s(text);
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": not an IPv4 address: \"", s, "\""));
  }
  return a;
}

absl::StatusOr<in6_addr> parse_v6(std::string_view text, std::string_view what) {
  in6_addr a{};
  std::string s(text);
  if (::inet_pton(AF_INET6, s.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": not an IPv6 address: \"", s, "\""));
  }
  return a;
}

}  // namespace

absl::StatusOr<UdpSocket> UdpSocket::bind(const SocketAddr& addr) {
  absl::StatusOr<int> fd =
      detail::new_socket(addr.family(), SOCK_DGRAM, addr.is_ipv6() ? "udp6" : "udp");
  if (!fd.ok()) return fd.status();
  if (::bind(*fd, addr.as_sockaddr(), addr.sockaddr_len()) != 0) {
    int err = errno;
    ::close(*fd);
    return io_error(err, "bind", addr.to_string());
  }
  return from_fd(*fd);
}

absl::StatusOr<UdpSocket> UdpSocket::bind(std::string_view addr) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse(addr);
  if (!a.ok()) return a.status();
  return bind(*a);
}

absl::StatusOr<UdpSocket> UdpSocket::from_fd(int fd) {
  absl::StatusOr<SocketAddr> local = detail::local_addr(fd, "udp");
  std::string name = local.ok() ? local->to_string() : absl::StrCat("udp fd ", fd);
  bool v6 = local.ok() && local->is_ipv6();
  absl::StatusOr<AsyncFd> afd = AsyncFd::create(fd);
  if (!afd.ok()) return afd.status();
  return UdpSocket(std::move(*afd), std::move(name), v6);
}

absl::Status UdpSocket::connect(const SocketAddr& addr) {
  // A datagram connect completes at once; EINTR cannot leave it half done.
  if (::connect(fd_.fd(), addr.as_sockaddr(), addr.sockaddr_len()) != 0) {
    return io_error(errno, "connect", addr.to_string());
  }
  name_ = addr.to_string();
  return absl::OkStatus();
}

absl::StatusOr<SocketAddr> UdpSocket::local_addr() const {
  return detail::local_addr(fd_.fd(), name_);
}
absl::StatusOr<SocketAddr> UdpSocket::peer_addr() const {
  return detail::peer_addr(fd_.fd(), name_);
}

absl::Status UdpSocket::set_broadcast(bool on) {
  return detail::set_int_option(fd_.fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "SO_BROADCAST",
                                name_);
}

absl::StatusOr<bool> UdpSocket::broadcast() const {
  absl::StatusOr<int> v =
      detail::get_int_option(fd_.fd(), SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", name_);
  if (!v.ok()) return v.status();
  return *v != 0;
}

absl::Status UdpSocket::set_ttl(int ttl) {
  return v6_ ? detail::set_int_option(fd_.fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl,
                                      "IPV6_UNICAST_HOPS", name_)
             : detail::set_int_option(fd_.fd(), IPPROTO_IP, IP_TTL, ttl, "IP_TTL", name_);
}

absl::StatusOr<int> UdpSocket::ttl() const {
  return v6_ ? detail::get_int_option(fd_.fd(), IPPROTO_IPV6, IPV6_UNICAST_HOPS,
                                      "IPV6_UNICAST_HOPS", name_)
             : detail::get_int_option(fd_.fd(), IPPROTO_IP, IP_TTL, "IP_TTL", name_);
}

absl::Status UdpSocket::multicast_v4(int option, const char* op, std::string_view group,
                                     std::string_view iface) {
  absl::StatusOr<in_addr> g = parse_v4(group, op);
  if (!g.ok()) return g.status();
  absl::StatusOr<in_addr> i = parse_v4(iface, op);
  if (!i.ok()) return i.status();
  ip_mreq req{};
  req.imr_multiaddr = *g;
  req.imr_interface = *i;
  if (::setsockopt(fd_.fd(), IPPROTO_IP, option, &req, sizeof req) != 0) {
    return io_error(errno, op, absl::StrCat(std::string(group), " on ", std::string(iface)));
  }
  return absl::OkStatus();
}

absl::Status UdpSocket::join_multicast_v4(std::string_view group, std::string_view iface) {
  return multicast_v4(IP_ADD_MEMBERSHIP, "join_multicast_v4", group, iface);
}

absl::Status UdpSocket::leave_multicast_v4(std::string_view group, std::string_view iface) {
  return multicast_v4(IP_DROP_MEMBERSHIP, "leave_multicast_v4", group, iface);
}

absl::Status UdpSocket::set_multicast_if_v4(std::string_view iface) {
  absl::StatusOr<in_addr> i = parse_v4(iface, "set_multicast_if_v4");
  if (!i.ok()) return i.status();
  if (::setsockopt(fd_.fd(), IPPROTO_IP, IP_MULTICAST_IF, &*i, sizeof *i) != 0) {
    return io_error(errno, "setsockopt IP_MULTICAST_IF",
                    absl::StrCat(name_, " to ", std::string(iface)));
  }
  return absl::OkStatus();
}

absl::Status UdpSocket::set_multicast_loop_v4(bool on) {
  return detail::set_int_option(fd_.fd(), IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0,
                                "IP_MULTICAST_LOOP", name_);
}

absl::StatusOr<bool> UdpSocket::multicast_loop_v4() const {
  absl::StatusOr<int> v =
      detail::get_int_option(fd_.fd(), IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", name_);
  if (!v.ok()) return v.status();
  return *v != 0;
}

absl::Status UdpSocket::set_multicast_ttl_v4(int ttl) {
  return detail::set_int_option(fd_.fd(), IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL",
                                name_);
}

absl::StatusOr<int> UdpSocket::multicast_ttl_v4() const {
  return detail::get_int_option(fd_.fd(), IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", name_);
}

absl::Status UdpSocket::multicast_v6(int option, const char* op, std::string_view group,
                                     unsigned iface_index) {
  absl::StatusOr<in6_addr> g = parse_v6(group, op);
  if (!g.ok()) return g.status();
  ipv6_mreq req{};
  req.ipv6mr_multiaddr = *g;
  req.ipv6mr_interface = iface_index;
  if (::setsockopt(fd_.fd(), IPPROTO_IPV6, option, &req, sizeof req) != 0) {
    return io_error(errno, op, absl::StrCat(std::string(group), " on interface ", iface_index));
  }
  return absl::OkStatus();
}

absl::Status UdpSocket::join_multicast_v6(std::string_view group, unsigned iface_index) {
  return multicast_v6(IPV6_ADD_MEMBERSHIP, "join_multicast_v6", group, iface_index);
}

absl::Status UdpSocket::leave_multicast_v6(std::string_view group, unsigned iface_index) {
  return multicast_v6(IPV6_DROP_MEMBERSHIP, "leave_multicast_v6", group, iface_index);
}

absl::Status UdpSocket::set_multicast_loop_v6(bool on) {
  return detail::set_int_option(fd_.fd(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0,
                                "IPV6_MULTICAST_LOOP", name_);
}

}  // namespace keel::net
