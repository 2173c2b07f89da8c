// The echo client: a quick manual check of an echo server.
//
//   bazel run //apps/echo:client -- --connect 127.0.0.1:7000 --message hello [--count 3]
//
// Sends the message, reads the echo back, prints it; exits 0 when every echo matched, 1 on
// an error or a mismatch (naming what failed), 2 on bad flags.

#include <cstdio>
#include <string>

#include "apps/echo/config.h"
#include "net/net.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/main.h"

namespace {

using keel::Task;

// One exchange on a stream: write the message, read exactly as many bytes back.
template <class Stream>
Task<absl::StatusOr<std::string>> exchange(Stream& s, std::string message) {
  absl::Status st = co_await keel::io::write_all(s, message);
  if (!st.ok()) co_return st;
  std::string back(message.size(), '\0');
  st = co_await keel::io::read_exact(s, std::span<char>(back));
  if (!st.ok()) co_return st;
  co_return back;
}

template <class Stream>
Task<int> run_stream(absl::StatusOr<Stream> s, echo::ClientConfig config) {
  if (!s.ok()) {
    std::fprintf(stderr, "echo client: %s\n", std::string(s.status().message()).c_str());
    co_return 1;
  }
  for (int i = 0; i < config.count; ++i) {
    absl::StatusOr<std::string> back = co_await exchange(*s, config.message);
    if (!back.ok()) {
      std::fprintf(stderr, "echo client: %s\n", std::string(back.status().message()).c_str());
      co_return 1;
    }
    std::printf("%s\n", back->c_str());
    if (*back != config.message) {
      std::fprintf(stderr, "echo client: the echo differs from the message\n");
      co_return 1;
    }
  }
  co_return 0;
}

Task<absl::StatusOr<std::size_t>> recv_into(keel::net::UdpSocket& s, std::string& buf) {
  co_return co_await s.recv(std::span<char>(buf));
}

// UDP: one datagram each way, with a timeout (a datagram may be lost).
Task<int> run_udp(echo::ClientConfig config) {
  absl::StatusOr<std::vector<keel::net::SocketAddr>> to = co_await keel::net::lookup_host(config.connect);
  if (!to.ok()) {
    std::fprintf(stderr, "echo client: %s\n", std::string(to.status().message()).c_str());
    co_return 1;
  }
  absl::StatusOr<keel::net::UdpSocket> s = keel::net::UdpSocket::bind(
      to->front().is_ipv6() ? "[::]:0" : "0.0.0.0:0");
  if (!s.ok() || !(s->connect(to->front())).ok()) {
    std::fprintf(stderr, "echo client: udp socket for %s failed\n", config.connect.c_str());
    co_return 1;
  }
  std::string back(65536, '\0');
  for (int i = 0; i < config.count; ++i) {
    absl::StatusOr<std::size_t> sent = co_await s->send(std::span<const char>(config.message));
    if (!sent.ok()) {
      std::fprintf(stderr, "echo client: %s\n", std::string(sent.status().message()).c_str());
      co_return 1;
    }
    absl::StatusOr<std::size_t> n = co_await keel::timeout(std::chrono::seconds(2), recv_into(*s, back));
    if (!n.ok()) {
      std::fprintf(stderr, "echo client: no echo from %s: %s\n", config.connect.c_str(),
                   std::string(n.status().message()).c_str());
      co_return 1;
    }
    std::printf("%s\n", back.substr(0, *n).c_str());
    if (back.compare(0, *n, config.message) != 0 || *n != config.message.size()) co_return 1;
  }
  co_return 0;
}

Task<int> async_main(int argc, char** argv) {
  absl::StatusOr<echo::ClientConfig> config = echo::parse_client_flags(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "echo client: %s\n\n%s", std::string(config.status().message()).c_str(),
                 echo::kClientUsage);
    co_return 2;
  }
  switch (config->proto) {
    case echo::Proto::kTcp: {
      absl::StatusOr<keel::net::TcpStream> s = co_await keel::net::TcpStream::connect(config->connect);
      co_return co_await run_stream(std::move(s), *config);
    }
    case echo::Proto::kUnix: {
      absl::StatusOr<keel::net::UnixStream> s = co_await keel::net::UnixStream::connect(config->connect);
      co_return co_await run_stream(std::move(s), *config);
    }
    case echo::Proto::kUdp:
      co_return co_await run_udp(*config);
  }
  co_return 2;
}

}  // namespace

KEEL_MAIN(async_main)
