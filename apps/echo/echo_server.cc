// The echo server: teaching code for Keel's sockets, io utilities and sync primitives.
//
// A stream connection (TCP or Unix) is served by io::copy(conn, conn): read what arrives,
// write it back, until the peer closes its side. Around that loop sit the three things every
// real server needs:
//   - a connection limit: a permit from a Semaphore is taken *before* accept, so over the
//     limit new connections wait in the kernel's listen backlog and the server never runs out
//     of memory or descriptors;
//   - graceful shutdown: a CancellationToken stops the accept loop; the open connections get
//     the grace period to finish (we wait until every permit is back), then are closed;
//   - errors that stay with their connection: a reset peer ends that connection only.

#include "apps/echo/echo_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <unistd.h>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/net.h"
#include "runtime/io/copy.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/sync/semaphore.h"

namespace echo {
namespace {

using keel::Task;
using keel::sync::CancellationToken;
using keel::sync::OwnedSemaphorePermit;
using keel::sync::Semaphore;

// Bytes read per connection at a time: a whole 4 KiB message, or a window of pipelined small
// ones, in one read (the Tokio and Asio peers in benchmarks/ use the same).
constexpr std::size_t kEchoBufferBytes = 16 * 1024;

// The open connections' descriptors, so that the end of the grace period can close them: a
// shutdown(SHUT_RDWR) makes their pending reads return end of stream, and each connection
// task then ends as if its client had left. (Cancelling each connection's task through a
// select would cost every read a branch poll; this costs nothing until it is used.)
class OpenConnections {
 public:
  void add(int fd) {
    std::lock_guard lock(mu_);
    fds_.insert(fd);
  }
  // Called before the descriptor is closed, so close_all never touches a reused number.
  void remove(int fd) {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
  }
  std::size_t close_all() {
    std::lock_guard lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    return fds_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_set<int> fds_;
};

// One connection: echo until the client closes, then return the permit (by going out of
// scope). Takes everything by value: it runs as its own task.
template <class Stream>
Task<void> serve_connection(Stream conn, OwnedSemaphorePermit permit,
                            std::shared_ptr<OpenConnections> open) {
  int fd = conn.fd();
  open->add(fd);
  if constexpr (std::is_same_v<Stream, keel::net::TcpStream>) {
    (void)conn.set_nodelay(true);  // echo replies are small: do not wait to coalesce them
  }
  absl::StatusOr<std::uint64_t> copied = co_await keel::io::copy(conn, conn, kEchoBufferBytes);
  if (copied.ok()) (void)conn.shutdown_now(SHUT_WR);  // the client reads end of stream
  // A failed connection (reset by its client) is that client's business: nothing to report.
  open->remove(fd);
  (void)permit;
}

Task<absl::StatusOr<OwnedSemaphorePermit>> acquire_permit(std::shared_ptr<Semaphore> limit) {
  co_return co_await keel::sync::acquire_owned(std::move(limit));
}

// Waits until all `n` permits are back: every connection has finished.
Task<absl::Status> wait_all_returned(std::shared_ptr<Semaphore> limit, std::size_t n) {
  absl::StatusOr<keel::sync::SemaphorePermit> all = co_await limit->acquire_many(n);
  co_return all.status();
}

template <class Listener>
Task<absl::Status> serve_stream(Listener listener, ServerConfig config,
                                CancellationToken shutdown) {
  auto limit = std::make_shared<Semaphore>(config.max_connections);
  auto open = std::make_shared<OpenConnections>();
  for (;;) {
    // The permit first: over the limit, connections wait in the backlog, not in memory.
    auto acquiring = shutdown.run_until_cancelled(acquire_permit(limit));
    std::optional<absl::StatusOr<OwnedSemaphorePermit>> permit = co_await std::move(acquiring);
    if (!permit.has_value()) break;
    auto accepting = shutdown.run_until_cancelled(listener.accept());
    auto accepted = co_await std::move(accepting);
    if (!accepted.has_value()) break;
    if (!accepted->ok()) co_return accepted->status();  // the listener itself failed
    keel::JoinHandle<void> detached = keel::spawn(serve_connection(
        std::move((*accepted)->first), std::move(**permit), open));
  }

  // Graceful shutdown: no more accepts (the listener closes), then the grace period.
  { Listener closed = std::move(listener); }
  std::size_t busy = config.max_connections - limit->available_permits();
  std::fprintf(stderr, "echo server: stopping; waiting up to %lld ms for %zu open connection%s\n",
               static_cast<long long>(config.shutdown_timeout.count()), busy,
               busy == 1 ? "" : "s");
  Task<absl::Status> draining =
      keel::timeout(config.shutdown_timeout, wait_all_returned(limit, config.max_connections));
  absl::Status idle = co_await std::move(draining);
  if (absl::IsDeadlineExceeded(idle)) {
    std::size_t closed = open->close_all();
    std::fprintf(stderr, "echo server: grace period over; closed %zu connection%s\n", closed,
                 closed == 1 ? "" : "s");
    idle = co_await wait_all_returned(limit, config.max_connections);
  }
  co_return idle;
}

// UDP: each datagram goes straight back to its sender. One receive loop per worker thread,
// all on the same socket, so datagrams are served in parallel.
Task<absl::Status> udp_loop(std::shared_ptr<keel::net::UdpSocket> socket) {
  std::unique_ptr<char[]> buf = std::make_unique<char[]>(65536);
  for (;;) {
    auto got = co_await socket->recv_from(std::span<char>(buf.get(), 65536));
    if (!got.ok()) {
      // The socket is gone (the runtime shuts down): stop. Anything else (ECONNREFUSED from
      // an earlier reply's ICMP) belongs to one peer, not to the server.
      if (keel::net::errno_of(got.status()) == ECANCELED) co_return got.status();
      continue;
    }
    auto [n, from] = *got;
    (void)co_await socket->send_to(std::span<const char>(buf.get(), n), from);
  }
}

Task<absl::Status> serve_udp(keel::net::UdpSocket socket, ServerConfig config,
                             CancellationToken shutdown) {
  auto shared = std::make_shared<keel::net::UdpSocket>(std::move(socket));
  std::vector<keel::JoinHandle<absl::Status>> loops;
  for (std::size_t i = 0; i < config.threads; ++i) loops.push_back(keel::spawn(udp_loop(shared)));
  co_await shutdown.cancelled();
  for (auto& loop : loops) loop.abort();
  for (auto& loop : loops) (void)co_await loop;
  std::fprintf(stderr, "echo server: stopping\n");
  co_return absl::OkStatus();
}

// The three protocols' set-up: bind, report the address, serve. (Separate coroutines, and
// the callback behind a shared_ptr: GCC 12 mis-destroyed a std::function parameter of one
// coroutine that switched over the protocol with a co_return in each case.)
using Report = std::shared_ptr<const OnListening>;

Task<absl::Status> run_tcp(ServerConfig config, CancellationToken shutdown, Report report) {
  absl::StatusOr<keel::net::SocketAddr> addr = keel::net::SocketAddr::parse(config.listen);
  if (!addr.ok()) {
    absl::StatusOr<std::vector<keel::net::SocketAddr>> all =
        co_await keel::net::lookup_host(config.listen);
    if (!all.ok()) co_return all.status();
    addr = all->front();
  }
  absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind(*addr);
  if (!l.ok()) co_return l.status();
  (*report)(l->local_addr()->to_string());
  co_return co_await serve_stream(std::move(*l), config, shutdown);
}

Task<absl::Status> run_unix(ServerConfig config, CancellationToken shutdown, Report report) {
  absl::StatusOr<keel::net::UnixListener> l = keel::net::UnixListener::bind(config.listen);
  if (!l.ok()) co_return l.status();
  (*report)(config.listen);
  absl::Status st = co_await serve_stream(std::move(*l), config, shutdown);
  if (config.listen.front() != '@') ::unlink(config.listen.c_str());  // our socket file
  co_return st;
}

Task<absl::Status> run_udp(ServerConfig config, CancellationToken shutdown, Report report) {
  absl::StatusOr<keel::net::UdpSocket> s = keel::net::UdpSocket::bind(config.listen);
  if (!s.ok()) co_return s.status();
  (*report)(s->local_addr()->to_string());
  co_return co_await serve_udp(std::move(*s), config, shutdown);
}

}  // namespace

Task<absl::Status> run_server(ServerConfig config, CancellationToken shutdown,
                              OnListening on_listening) {
  auto report = std::make_shared<const OnListening>(std::move(on_listening));
  switch (config.proto) {
    case Proto::kTcp:
      return run_tcp(std::move(config), std::move(shutdown), std::move(report));
    case Proto::kUnix:
      return run_unix(std::move(config), std::move(shutdown), std::move(report));
    case Proto::kUdp:
      break;
  }
  return run_udp(std::move(config), std::move(shutdown), std::move(report));
}

}  // namespace echo
