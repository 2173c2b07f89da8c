#include "net/socket_addr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/blocking/run_blocking.h"
#include "runtime/runtime.h"

namespace keel::net {
namespace {

absl::Status bad_address(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid socket address \"", std::string(text), "\": ", std::string(why)));
}

// "host:port" split into its host (brackets removed) and port; the host may be a name.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  bool bracketed = false;
};

absl::StatusOr<HostPort> split_host_port(std::string_view text) {
  HostPort out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad_address(text, "missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    out.bracketed = true;
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return bad_address(text, "expected ':port' after ']'");
    }
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address(text, "missing ':port'");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return bad_address(text, "an IPv6 address needs brackets: [addr]:port");
    }
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad_address(text, "empty host");
  std::uint32_t p = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(std::string(port), &p) || p > 65535) {
    return bad_address(text, "the port must be a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(p);
  return out;
}

// A literal address for `host`, or nullopt-like failure when it is not one.
bool parse_literal(const HostPort& hp, SocketAddr* out) {
  if (!hp.bracketed) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(hp.port);
    if (inet_pton(AF_INET, hp.host.c_str(), &sin.sin_addr) != 1) return false;
    *out = *SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    return true;
  }
  std::string addr = hp.host;
  std::uint32_t scope = 0;
  if (std::size_t pct = addr.find('%'); pct != std::string::npos) {
    std::string name = addr.substr(pct + 1);
    addr.resize(pct);
    if (!absl::SimpleAtoi(name, &scope)) {
      scope = if_nametoindex(name.c_str());
      if (scope == 0) return false;
    }
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(hp.port);
  sin6.sin6_scope_id = scope;
  if (inet_pton(AF_INET6, addr.c_str(), &sin6.sin6_addr) != 1) return false;
  *out = *SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
  return true;
}

absl::StatusOr<std::vector<SocketAddr>> resolve_blocking(std::string host_port, HostPort hp) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
  addrinfo* res = nullptr;
  std::string port = std::to_string(hp.port);
  int rc = getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
    std::string msg = absl::StrCat("lookup_host ", host_port, ": ", why);
    if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL) return absl::NotFoundError(msg);
    return absl::UnavailableError(msg);
  }
  std::vector<SocketAddr> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    absl::StatusOr<SocketAddr> a = SocketAddr::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (a.ok() && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  freeaddrinfo(res);
  if (out.empty()) return absl::NotFoundError(absl::StrCat("lookup_host ", host_port, ": no address"));
  return out;
}

}  // namespace

SocketAddr::SocketAddr() {
  std::memset(&storage_, 0, sizeof storage_);
  storage_.ss_family = AF_INET;
}

SocketAddr SocketAddr::v4(std::uint32_t host_order_ip, std::uint16_t port) {
  SocketAddr a;
  auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage_);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(host_order_ip);
  sin->sin_port = htons(port);
  return a;
}

absl::StatusOr<SocketAddr> SocketAddr::parse(std::string_view text) {
  absl::StatusOr<HostPort> hp = split_host_port(text);
  if (!hp.ok()) return hp.status();
  SocketAddr out;
  if (!parse_literal(*hp, &out)) {
    return bad_address(text, hp->bracketed ? "not an IPv6 address"
                                           : "not an IPv4 address (names need lookup_host)");
  }
  return out;
}

absl::StatusOr<SocketAddr> SocketAddr::from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddr out;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in));
    return out;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in6));
    return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not an IP socket address (family ", sa->sa_family, ")"));
}

std::uint16_t SocketAddr::port() const {
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

void SocketAddr::set_port(std::uint16_t port) {
  if (is_ipv6()) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  }
}

std::string SocketAddr::ip_string() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (is_ipv6()) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    std::string s = buf;
    if (sin6->sin6_scope_id != 0) absl::StrAppend(&s, "%", sin6->sin6_scope_id);
    return s;
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  return buf;
}

std::string SocketAddr::to_string() const {
  if (is_ipv6()) return absl::StrCat("[", ip_string(), "]:", port());
  return absl::StrCat(ip_string(), ":", port());
}

bool operator==(const SocketAddr& a, const SocketAddr& b) {
  if (a.family() != b.family()) return false;
  if (a.is_ipv6()) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  const auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
  const auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

Task<absl::StatusOr<std::vector<SocketAddr>>> lookup_host(std::string host_port) {
  absl::StatusOr<HostPort> hp = split_host_port(host_port);
  if (!hp.ok()) co_return hp.status();
  SocketAddr literal;
  if (parse_literal(*hp, &literal)) {
    std::vector<SocketAddr> one;
    one.push_back(literal);
    co_return one;
  }
  Task<absl::StatusOr<std::vector<SocketAddr>>> resolving = keel::run_blocking(
      [host_port, host = *hp] { return resolve_blocking(host_port, host); });
  co_return co_await std::move(resolving);
}

}  // namespace keel::net
