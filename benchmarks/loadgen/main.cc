// loadgen: Keel's bundled load client. See config.h for the flags (or run with --help) and
// connection.h for how a connection drives its socket.
//
//   bazel run -c opt //benchmarks/loadgen -- echo --connect 127.0.0.1:7000 --size 64
//   bazel run -c opt //benchmarks/loadgen -- redis --pipeline 16
//       --command "SET key:__rand_int__ __data__" --json -      (one command line)
//
// Exit status: 0 after a run (errors are reported, not fatal), 2 for bad flags, 1 when the
// run cannot start (runtime, protocol template, unwritable --json file).
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "benchmarks/loadgen/config.h"
#include "benchmarks/loadgen/connection.h"
#include "benchmarks/loadgen/echo.h"
#include "benchmarks/loadgen/redis.h"
#include "benchmarks/loadgen/report.h"
#include "benchmarks/loadgen/run_state.h"
#include "net/net.h"
#include "runtime/keel.h"
#include "runtime/runtime.h"

namespace keel::loadgen {
namespace {

// The progress line's period.
constexpr Duration kProgressPeriod = std::chrono::seconds(1);

struct TcpDialer {
  using Stream = net::TcpStream;
  std::string addr;
  Task<absl::StatusOr<Stream>> dial() const { return dial_tcp(addr); }

  static Task<absl::StatusOr<Stream>> dial_tcp(std::string addr) {
    absl::StatusOr<Stream> s = co_await Stream::connect(std::move(addr));
    if (s.ok()) {
      // Requests are small and latency-bound: never hold one back for Nagle.
      absl::Status nd = s->set_nodelay(true);
      if (!nd.ok()) co_return nd;
    }
    co_return s;
  }
};

// A connected UDP socket as a datagram "stream" for run_connection.
class UdpStream {
 public:
  static constexpr bool kDatagram = true;
  explicit UdpStream(net::UdpSocket s) : s_(std::move(s)) {}
  auto read(std::span<char> buf) { return s_.recv(buf); }
  auto write(std::span<const char> buf) { return s_.send(buf); }

 private:
  net::UdpSocket s_;
};

struct UdpDialer {
  using Stream = UdpStream;
  net::SocketAddr peer;
  Task<absl::StatusOr<Stream>> dial() const { return dial_udp(peer); }

  static Task<absl::StatusOr<Stream>> dial_udp(net::SocketAddr peer) {
    absl::StatusOr<net::SocketAddr> local =
        net::SocketAddr::parse(peer.is_ipv6() ? "[::]:0" : "0.0.0.0:0");
    if (!local.ok()) co_return local.status();
    absl::StatusOr<net::UdpSocket> s = net::UdpSocket::bind(*local);
    if (!s.ok()) co_return s.status();
    absl::Status c = s->connect(peer);
    if (!c.ok()) co_return c;
    co_return UdpStream(*std::move(s));
  }
};

struct UnixDialer {
  using Stream = net::UnixStream;
  std::string path;
  Task<absl::StatusOr<Stream>> dial() const { return Stream::connect(path); }
};

// Plain functions build the dialers: GCC 12 mishandles braced temporaries in coroutine bodies.
TcpDialer tcp_dialer(std::string addr) { return TcpDialer{std::move(addr)}; }
UdpDialer udp_dialer(net::SocketAddr peer) { return UdpDialer{peer}; }
UnixDialer unix_dialer(std::string path) { return UnixDialer{std::move(path)}; }

Task<void> progress_loop(RunState* run) {
  Instant next = run->start() + kProgressPeriod;
  std::uint64_t last = 0;
  for (;;) {
    co_await sleep_until(next);
    ProgressSnapshot s = run->snapshot();
    double elapsed = std::chrono::duration<double>(next - run->start()).count();
    bool warming = next <= run->measure_start();
    std::fprintf(stderr, "[%7.1fs] %s%10.0f req/s  errors %llu  p99 %.1f us\n", elapsed,
                 warming ? "(warmup) " : "",
                 static_cast<double>(s.requests - last) /
                     std::chrono::duration<double>(kProgressPeriod).count(),
                 static_cast<unsigned long long>(s.errors), static_cast<double>(s.p99_ns) / 1000);
    last = s.requests;
    next += kProgressPeriod;
  }
}

template <class Dialer>
std::vector<JoinHandle<void>> spawn_connections(RunState* run, const Dialer& dialer) {
  const Config& c = run->config();
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < c.connections; ++i) {
    std::uint64_t quota = 0;
    if (c.requests > 0) {
      std::uint64_t n = static_cast<std::uint64_t>(c.connections);
      quota = c.requests / n + (static_cast<std::uint64_t>(i) < c.requests % n ? 1 : 0);
      if (quota == 0) break;  // more connections than requests
    }
    handles.push_back(spawn(run_connection(run, dialer, i, quota)));
  }
  return handles;
}

absl::StatusOr<std::unique_ptr<Protocol>> make_protocol(const Config& c) {
  if (c.protocol == "echo") return std::unique_ptr<Protocol>(new EchoProtocol(c.size));
  absl::StatusOr<CommandTemplate> t = CommandTemplate::parse(c.command, c.keyspace, c.data_size);
  if (!t.ok()) return t.status();
  return std::unique_ptr<Protocol>(new RedisProtocol(*std::move(t)));
}

Task<int> run_load(Config config) {
  absl::StatusOr<std::unique_ptr<Protocol>> protocol = make_protocol(config);
  if (!protocol.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", std::string(protocol.status().message()).c_str());
    co_return 2;
  }
  std::FILE* json = nullptr;
  if (!config.json.empty() && config.json != "-") {
    json = std::fopen(config.json.c_str(), "w");
    if (json == nullptr) {
      std::perror(("loadgen: --json " + config.json).c_str());
      co_return 1;
    }
  }
  std::vector<JoinHandle<void>> handles;
  RunState run(config, **protocol, Instant::now());
  switch (config.transport) {
    case Transport::kTcp:
      handles = spawn_connections(&run, tcp_dialer(config.connect));
      break;
    case Transport::kUdp: {
      absl::StatusOr<net::SocketAddr> peer = net::SocketAddr::parse(config.connect);
      if (!peer.ok()) {
        Task<absl::StatusOr<std::vector<net::SocketAddr>>> lookup = net::lookup_host(config.connect);
        absl::StatusOr<std::vector<net::SocketAddr>> addrs = co_await std::move(lookup);
        if (!addrs.ok() || addrs->empty()) {
          std::fprintf(stderr, "loadgen: --connect %s: %s\n", config.connect.c_str(),
                       addrs.ok() ? "no address" : std::string(addrs.status().message()).c_str());
          co_return 1;
        }
        peer = addrs->front();
      }
      handles = spawn_connections(&run, udp_dialer(*peer));
      break;
    }
    case Transport::kUnix:
      handles = spawn_connections(&run, unix_dialer(config.connect));
      break;
  }
  JoinHandle<void> progress = spawn(progress_loop(&run));
  for (JoinHandle<void>& h : handles) {
    absl::Status s = co_await h;
    if (!s.ok()) std::fprintf(stderr, "loadgen: a connection failed: %s\n", std::string(s.message()).c_str());
  }
  progress.abort();
  Results r = run.results();
  std::string text = render_text(config, r);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  if (!config.json.empty()) {
    std::string j = render_json(config, r);
    std::FILE* out = json != nullptr ? json : stdout;
    std::fputs(j.c_str(), out);
    if (json != nullptr && std::fclose(json) != 0) {
      std::perror(("loadgen: --json " + config.json).c_str());
      co_return 1;
    }
  }
  co_return 0;
}

}  // namespace
}  // namespace keel::loadgen

int main(int argc, char** argv) {
  using keel::loadgen::kUsage;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  absl::StatusOr<keel::loadgen::Config> config = keel::loadgen::parse_args(args);
  if (!config.ok()) {
    std::fprintf(stderr, "loadgen: %s\n%s", std::string(config.status().message()).c_str(), kUsage);
    return 2;
  }
  if (config->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  absl::StatusOr<keel::Runtime> rt = keel::Runtime::new_multi_thread()
                                         .worker_threads(static_cast<std::size_t>(config->threads))
                                         .thread_name("loadgen")
                                         .enable_all()
                                         .build();
  if (!rt.ok()) {
    std::fprintf(stderr, "loadgen: cannot start the runtime: %s\n",
                 std::string(rt.status().message()).c_str());
    return 1;
  }
  return rt->block_on(keel::loadgen::run_load(*std::move(config)));
}
