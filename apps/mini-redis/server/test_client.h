// A raw RESP test client for the server's in-process tests: sends bytes or commands, reads
// whole replies (as raw RESP text, so tests compare exact bytes), and detects a closed peer.
//
//   absl::StatusOr<TestClient> c = co_await TestClient::connect(addr);
//   std::string r = co_await c->call("SET k v");   // "+OK\r\n"; an "!error" string on failure
//
// Thread-safety: one task at a time.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_TEST_CLIENT_H_
#define KEEL_APPS_MINI_REDIS_SERVER_TEST_CLIENT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/protocol/reply.h"
#include "net/net.h"
#include "runtime/keel.h"

namespace mini_redis::testing {

// The end of the complete RESP value starting at `pos`, or npos when more bytes are needed.
inline std::size_t resp_end(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return std::string_view::npos;
  std::size_t eol = s.find("\r\n", pos);
  if (eol == std::string_view::npos) return std::string_view::npos;
  char type = s[pos];
  std::string_view line = s.substr(pos + 1, eol - pos - 1);
  std::size_t next = eol + 2;
  if (type == '+' || type == '-' || type == ':') return next;
  long long n = std::stoll(std::string(line));
  if (type == '$') {
    if (n < 0) return next;
    std::size_t end = next + static_cast<std::size_t>(n) + 2;
    return end <= s.size() ? end : std::string_view::npos;
  }
  // '*'
  for (long long i = 0; i < n; ++i) {
    next = resp_end(s, next);
    if (next == std::string_view::npos) return next;
  }
  return next;
}

// "SET k v" -> "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" (words split on single spaces).
inline std::string encode_command(std::string_view words) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t space = words.find(' ', start);
    parts.push_back(words.substr(start, space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  std::string out;
  resp::Reply(out).command(parts);
  return out;
}

class TestClient {
 public:
  static keel::Task<absl::StatusOr<TestClient>> connect(std::string addr) {
    absl::StatusOr<keel::net::TcpStream> s = co_await keel::net::TcpStream::connect(addr);
    if (!s.ok()) co_return s.status();
    co_return TestClient(std::move(*s));
  }
  // With a small receive buffer: a client that stops reading fills it fast.
  static keel::Task<absl::StatusOr<TestClient>> connect_small(std::string addr, int rcvbuf) {
    absl::StatusOr<keel::net::SocketAddr> a = keel::net::SocketAddr::parse(addr);
    if (!a.ok()) co_return a.status();
    absl::StatusOr<keel::net::TcpSocket> sock = keel::net::TcpSocket::new_for(*a);
    if (!sock.ok()) co_return sock.status();
    (void)sock->set_recv_buffer_size(rcvbuf);
    keel::Task<absl::StatusOr<keel::net::TcpStream>> connecting = std::move(*sock).connect(*a);
    absl::StatusOr<keel::net::TcpStream> s = co_await std::move(connecting);
    if (!s.ok()) co_return s.status();
    co_return TestClient(std::move(*s));
  }

  TestClient(TestClient&&) = default;
  TestClient& operator=(TestClient&&) = default;

  keel::Task<absl::Status> send(std::string bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      absl::StatusOr<std::size_t> n = co_await stream_.write(
          std::span<const char>(bytes.data() + done, bytes.size() - done));
      if (!n.ok()) co_return n.status();
      done += *n;
    }
    co_return absl::OkStatus();
  }

  // The next whole reply, raw; "!closed" at end of stream, "!<error>" on a read error.
  keel::Task<std::string> reply() {
    for (;;) {
      std::size_t end = resp_end(buf_, 0);
      if (end != std::string_view::npos) {
        std::string r = buf_.substr(0, end);
        buf_.erase(0, end);
        co_return r;
      }
      char tmp[16384];
      absl::StatusOr<std::size_t> n = co_await stream_.read(std::span<char>(tmp, sizeof(tmp)));
      if (!n.ok()) co_return absl::StrCat("!", n.status().message());
      if (*n == 0) co_return "!closed";
      buf_.append(tmp, *n);
    }
  }

  // Sends `words` as a RESP command and returns its reply.
  keel::Task<std::string> call(std::string words) {
    absl::Status st = co_await send(encode_command(words));
    if (!st.ok()) co_return absl::StrCat("!", st.message());
    co_return co_await reply();
  }

  // True once the server closed the connection (reads end of stream or fail), discarding any
  // bytes still in flight.
  keel::Task<bool> closed_by_peer() {
    char tmp[65536];
    for (;;) {
      absl::StatusOr<std::size_t> n = co_await stream_.read(std::span<char>(tmp, sizeof(tmp)));
      if (!n.ok() || *n == 0) co_return true;
    }
  }

  keel::net::TcpStream& stream() { return stream_; }

 private:
  explicit TestClient(keel::net::TcpStream s) : stream_(std::move(s)) {}
  keel::net::TcpStream stream_;
  std::string buf_;
};

}  // namespace mini_redis::testing

#endif  // KEEL_APPS_MINI_REDIS_SERVER_TEST_CLIENT_H_
