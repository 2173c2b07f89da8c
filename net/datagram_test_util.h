// Test helpers for datagram sockets (UdpSocket, UnixDatagram): one datagram in or out as a
// std::string, so that tests compare strings.
//
//   absl::StatusOr<std::string> got = co_await keel::net::datagram_test::recv_string(&socket);
//   auto [text, from] = *co_await keel::net::datagram_test::recv_from_string(&socket);
//
// Each helper borrows the socket (and `data`): await at once. Thread-safety: as the socket's.
#ifndef KEEL_NET_DATAGRAM_TEST_UTIL_H_
#define KEEL_NET_DATAGRAM_TEST_UTIL_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/task/task.h"

namespace keel::net::datagram_test {

// Larger than any datagram the tests send.
inline constexpr std::size_t kTestDatagramMax = 1500;

inline std::span<const char> bytes(std::string_view s) {
  return std::span<const char>(s.data(), s.size());
}

// The socket type's address type (SocketAddr, UnixAddr).
template <class Socket>
using AddrOf = typename decltype(std::declval<const Socket&>().local_addr())::value_type;

template <class Socket>
Task<absl::StatusOr<std::string>> recv_string(Socket* s) {
  std::string buf(kTestDatagramMax, '\0');
  absl::StatusOr<std::size_t> n = co_await s->recv(std::span<char>(buf));
  if (!n.ok()) co_return n.status();
  buf.resize(*n);
  co_return buf;
}

// One datagram and its sender; with `peek`, the datagram stays queued.
template <class Socket>
Task<absl::StatusOr<std::pair<std::string, AddrOf<Socket>>>> recv_from_string(Socket* s,
                                                                              bool peek = false) {
  std::string buf(kTestDatagramMax, '\0');
  absl::StatusOr<std::pair<std::size_t, AddrOf<Socket>>> r;
  if (peek) {
    r = co_await s->peek_from(std::span<char>(buf));
  } else {
    r = co_await s->recv_from(std::span<char>(buf));
  }
  if (!r.ok()) co_return r.status();
  buf.resize(r->first);
  co_return std::pair<std::string, AddrOf<Socket>>(std::move(buf), r->second);
}

// Sends `data` as one datagram to `to`; an error if it went out short.
template <class Socket>
Task<absl::Status> send_string_to(Socket* s, std::string_view data, AddrOf<Socket> to) {
  absl::StatusOr<std::size_t> n = co_await s->send_to(bytes(data), to);
  if (!n.ok()) co_return n.status();
  if (*n != data.size()) co_return absl::InternalError("short datagram");
  co_return absl::OkStatus();
}

}  // namespace keel::net::datagram_test

#endif  // KEEL_NET_DATAGRAM_TEST_UTIL_H_
