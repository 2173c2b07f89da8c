// SocketAddr: an IPv4 or IPv6 address with a port, and lookup_host() for names.
//
//   absl::StatusOr<keel::net::SocketAddr> a = keel::net::SocketAddr::parse("127.0.0.1:6379");
//   absl::StatusOr<keel::net::SocketAddr> b = keel::net::SocketAddr::parse("[::1]:80");
//   a->to_string();                                   // "127.0.0.1:6379"
//   std::vector<SocketAddr> all = *co_await keel::net::lookup_host("localhost:80");
//
// parse() accepts literal addresses only ("a.b.c.d:port", "[v6]:port", and "[v6%scope]:port"
// for link-local addresses); a bad string is an INVALID_ARGUMENT error that quotes it.
// lookup_host() also takes names: it runs getaddrinfo on the blocking pool (the resolver may
// block for seconds), so it never stalls a worker. A literal address skips the resolver.
//
// Thread-safety: SocketAddr is a value type.
#ifndef KEEL_NET_SOCKET_ADDR_H_
#define KEEL_NET_SOCKET_ADDR_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/task/task.h"

namespace keel::net {

class SocketAddr {
 public:
  // 0.0.0.0:0.
  SocketAddr();

  static absl::StatusOr<SocketAddr> parse(std::string_view text);
  // From a kernel address (AF_INET or AF_INET6); INVALID_ARGUMENT for other families.
  static absl::StatusOr<SocketAddr> from_sockaddr(const sockaddr* sa, socklen_t len);
  static SocketAddr v4(std::uint32_t host_order_ip, std::uint16_t port);
  static SocketAddr loopback_v4(std::uint16_t port) { return v4(0x7f000001, port); }
  static SocketAddr any_v4(std::uint16_t port) { return v4(0, port); }

  bool is_ipv4() const { return storage_.ss_family == AF_INET; }
  bool is_ipv6() const { return storage_.ss_family == AF_INET6; }
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  void set_port(std::uint16_t port);
  // The address without the port ("127.0.0.1", "::1").
  std::string ip_string() const;
  // "127.0.0.1:80" or "[::1]:80".
  std::string to_string() const;

  const sockaddr* as_sockaddr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockaddr_len() const {
    return is_ipv6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }

  friend bool operator==(const SocketAddr& a, const SocketAddr& b);
  friend std::ostream& operator<<(std::ostream& os, const SocketAddr& a) {
    return os << a.to_string();
  }

 private:
  sockaddr_storage storage_;
};

// Resolves "host:port" (or "[v6]:port") to every address the resolver gives, in its order.
// Errors: INVALID_ARGUMENT for a string without a port, NOT_FOUND when the name does not
// resolve ("lookup_host nosuch.invalid:80: Name or service not known").
Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host_port);

}  // namespace keel::net

#endif  // KEEL_NET_SOCKET_ADDR_H_
