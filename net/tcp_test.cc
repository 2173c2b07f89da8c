// Tests of TcpListener, TcpSocket and TcpStream over real loopback connections, on every
// scheduler flavour: traffic both ways (also across owned halves in two tasks, and over
// IPv6), half-close, a peer reset in the middle of a read, connect refused, a connect timed
// out through keel::timeout, options, cancellation of a pending read, write and accept (each
// transfers nothing), accept surviving EMFILE, and 10,000 concurrent connections.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/net.h"
#include "runtime/io/copy.h"
#include "runtime/io/split.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/sync/notify.h"
#include "runtime/test/keel_test.h"

namespace keel::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A JoinHandle's result with one level of StatusOr removed.
template <class T>
T flatten(absl::StatusOr<T> r) {
  if (!r.ok()) return T(r.status());
  return std::move(*r);
}

// Echoes one connection until the peer closes its side, then closes ours.
Task<absl::Status> echo(TcpStream s) {
  absl::StatusOr<std::uint64_t> n = co_await io::copy(s, s);
  if (!n.ok()) co_return n.status();
  co_return s.shutdown_now(SHUT_WR);
}

// Accepts `n` connections and echoes each in its own task.
Task<absl::Status> serve_echo(TcpListener listener, int n) {
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::pair<TcpStream, SocketAddr>> c = co_await listener.accept();
    if (!c.ok()) co_return c.status();
    JoinHandle<absl::Status> detached = spawn(echo(std::move(c->first)));  // dropped: detached
  }
  co_return absl::OkStatus();
}

// A listener on an ephemeral loopback port, and its address.
std::pair<TcpListener, SocketAddr> listen_local() {
  absl::StatusOr<TcpListener> l = TcpListener::bind("127.0.0.1:0");
  if (!l.ok()) {
    ADD_FAILURE() << l.status();
    std::abort();
  }
  SocketAddr addr = *l->local_addr();
  return {std::move(*l), addr};
}

// A client connected to `listener` and the server's end of that connection.
struct Connected {
  TcpStream client;
  TcpStream server;
  SocketAddr client_addr;
};

Task<absl::StatusOr<Connected>> connect_pair(TcpListener& listener, SocketAddr addr) {
  absl::StatusOr<TcpStream> client = co_await TcpStream::connect(addr);
  if (!client.ok()) co_return client.status();
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> server = co_await listener.accept();
  if (!server.ok()) co_return server.status();
  co_return Connected{std::move(*client), std::move(server->first), server->second};
}

std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

Task<absl::Status> write_then_shutdown(io::WriteHalf<TcpStream> w, std::string data) {
  absl::Status st = co_await io::write_all(w, data);
  if (!st.ok()) co_return st;
  co_return co_await io::shutdown(w);
}

KEEL_TEST(Tcp, TransfersBothWaysAcrossOwnedHalves) {
  auto [listener, addr] = listen_local();
  EXPECT_EQ(listener.name(), addr.to_string());
  auto server = spawn(serve_echo(std::move(listener), 1));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(s->name(), addr.to_string());
  // More than the socket buffers hold: the writer and the reader must run concurrently.
  const std::string data = pattern(4 << 20, 1);
  auto [rd, wr] = io::split(std::move(*s));
  auto writer = spawn(write_then_shutdown(std::move(wr), data));
  std::string got;
  absl::StatusOr<std::size_t> n = co_await io::read_to_end(rd, got);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(got == data) << "the echoed bytes differ";
  KEEL_ASSERT_OK(flatten(co_await writer));
  KEEL_ASSERT_OK(flatten(co_await server));
}

KEEL_TEST(Tcp, ConnectByNameTriesEveryAddress) {
  // "localhost" may resolve to ::1 first; the listener is on 127.0.0.1 only, so connect must
  // go on to the next address after a refusal.
  auto [listener, addr] = listen_local();
  auto server = spawn(serve_echo(std::move(listener), 1));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(absl::StrCat("localhost:", addr.port()));
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_OK(co_await io::write_all(*s, "ping"));
  char buf[4];
  KEEL_ASSERT_OK(co_await io::read_exact(*s, std::span<char>(buf)));
  EXPECT_EQ(std::string(buf, 4), "ping");
  KEEL_ASSERT_OK(flatten(co_await server));
}

KEEL_TEST(Tcp, Ipv6Loopback) {
  absl::StatusOr<TcpListener> l = TcpListener::bind("[::1]:0");
  if (!l.ok()) {
    // A machine without IPv6 on loopback: the error must say what failed.
    EXPECT_TRUE(absl::StrContains(l.status().message(), "[::1]:0")) << l.status();
    co_return;
  }
  SocketAddr addr = *l->local_addr();
  EXPECT_TRUE(addr.is_ipv6());
  auto server = spawn(serve_echo(std::move(*l), 1));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(s->peer_addr()->to_string(), addr.to_string());
  KEEL_ASSERT_OK(co_await io::write_all(*s, "six"));
  char buf[3];
  KEEL_ASSERT_OK(co_await io::read_exact(*s, std::span<char>(buf)));
  EXPECT_EQ(std::string(buf, 3), "six");
  KEEL_ASSERT_OK(flatten(co_await server));
}

// Reads everything the client sends until its half-close, then answers and closes.
Task<absl::Status> answer_after_eof(TcpListener listener) {
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> c = co_await listener.accept();
  if (!c.ok()) co_return c.status();
  absl::StatusOr<std::string> got = co_await io::read_to_string(c->first);
  if (!got.ok()) co_return got.status();
  co_return co_await io::write_all(c->first, absl::StrCat("got ", *got));
}

KEEL_TEST(Tcp, HalfCloseLetsThePeerAnswer) {
  auto [listener, addr] = listen_local();
  auto server = spawn(answer_after_eof(std::move(listener)));
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_OK(co_await io::write_all(*s, "hello"));
  KEEL_ASSERT_OK(co_await s->shutdown());
  // Writing after shutdown fails and names the peer.
  absl::StatusOr<std::size_t> w = co_await s->write(std::span<const char>("x", 1));
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(errno_of(w.status()), EPIPE) << w.status();
  EXPECT_TRUE(absl::StrContains(w.status().message(), "write " + addr.to_string())) << w.status();
  absl::StatusOr<std::string> reply = co_await io::read_to_string(*s);
  KEEL_ASSERT_OK(reply);
  EXPECT_EQ(*reply, "got hello");
  KEEL_ASSERT_OK(flatten(co_await server));
}

Task<absl::StatusOr<std::size_t>> read_some(TcpStream& s) {
  char buf[16];
  co_return co_await s.read(std::span<char>(buf));
}

KEEL_TEST(Tcp, PeerResetMidRead) {
  auto [listener, addr] = listen_local();
  absl::StatusOr<TcpStream> client = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(client);
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> server = co_await listener.accept();
  KEEL_ASSERT_OK(server);
  auto reader = spawn(read_some(*client));
  co_await testing::settle();
  EXPECT_FALSE(reader.is_finished());
  // Linger 0: close sends a reset instead of a FIN.
  KEEL_ASSERT_OK(server->first.set_linger(seconds(0)));
  { TcpStream drop = std::move(server->first); }
  absl::StatusOr<std::size_t> n = flatten(co_await reader);
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(errno_of(n.status()), ECONNRESET) << n.status();
  EXPECT_EQ(n.status().message(), absl::StrCat("read ", addr.to_string(), ": Connection reset by peer"));
}

KEEL_TEST(Tcp, ConnectRefused) {
  SocketAddr addr;
  {
    auto [listener, a] = listen_local();
    addr = a;
  }  // closed: nothing listens on the port now
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(errno_of(s.status()), ECONNREFUSED);
  EXPECT_EQ(s.status().message(), absl::StrCat("connect ", addr.to_string(), ": Connection refused"));
  EXPECT_TRUE(absl::IsUnavailable(s.status()));
}

KEEL_TEST(Tcp, ConnectTimesOutThroughTimeout) {
  time::pause();
  // A listener whose accept queue is full (backlog 0 holds one connection, never accepted):
  // the kernel drops further SYNs, so a second connect hangs until it is given up.
  absl::StatusOr<TcpSocket> sock = TcpSocket::new_v4();
  KEEL_ASSERT_OK(sock);
  KEEL_ASSERT_OK(sock->bind(SocketAddr::loopback_v4(0)));
  absl::StatusOr<TcpListener> listener = std::move(*sock).listen(0);
  KEEL_ASSERT_OK(listener);
  SocketAddr addr = *listener->local_addr();
  std::vector<TcpStream> held;
  // Fill the queue; the first connection that hangs is the one the test wants.
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<TcpStream> s = co_await timeout(seconds(10), TcpStream::connect(addr));
    if (!s.ok()) {
      EXPECT_TRUE(absl::IsDeadlineExceeded(s.status())) << s.status();
      EXPECT_GE(i, 1) << "the first connection fits in the queue";
      co_return;
    }
    held.push_back(std::move(*s));
  }
  ADD_FAILURE() << "no connect hung on a full accept queue";
}

KEEL_TEST(Tcp, Options) {
  auto [listener, addr] = listen_local();
  absl::StatusOr<Connected> c = co_await connect_pair(listener, addr);
  KEEL_ASSERT_OK(c);
  TcpStream* s = &c->client;
  TcpStream* peer = &c->server;
  EXPECT_EQ(*s->peer_addr(), addr);
  EXPECT_EQ(*s->local_addr(), c->client_addr);
  EXPECT_EQ(*peer->peer_addr(), c->client_addr);
  KEEL_ASSERT_OK(s->set_nodelay(true));
  EXPECT_TRUE(*s->nodelay());
  KEEL_ASSERT_OK(s->set_nodelay(false));
  EXPECT_FALSE(*s->nodelay());
  KEEL_ASSERT_OK(s->set_keepalive(seconds(30)));
  KEEL_ASSERT_OK(s->set_keepalive(std::nullopt));
  EXPECT_FALSE(s->linger()->has_value());
  KEEL_ASSERT_OK(s->set_linger(seconds(3)));
  EXPECT_EQ(**s->linger(), seconds(3));
  KEEL_ASSERT_OK(s->set_ttl(17));
  absl::Status bad = s->set_ttl(1000);
  EXPECT_TRUE(absl::StrContains(bad.message(), "setsockopt IP_TTL " + addr.to_string())) << bad;
  // peek leaves the bytes for the next read.
  KEEL_ASSERT_OK(co_await io::write_all(*peer, "abc"));
  char buf[8];
  absl::StatusOr<std::size_t> n = co_await s->peek(std::span<char>(buf));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(std::string(buf, *n), std::string("abc").substr(0, *n));
  KEEL_ASSERT_OK(co_await io::read_exact(*s, std::span<char>(buf, 3)));
  EXPECT_EQ(std::string(buf, 3), "abc");
  // Borrowed halves.
  auto [r, w] = s->split();
  KEEL_ASSERT_OK(co_await io::write_all(w, "xy"));
  KEEL_ASSERT_OK(co_await io::read_exact(*peer, std::span<char>(buf, 2)));
  EXPECT_EQ(std::string(buf, 2), "xy");
  KEEL_ASSERT_OK(co_await io::write_all(*peer, "z"));
  KEEL_ASSERT_OK(co_await io::read_exact(r, std::span<char>(buf, 1)));
  EXPECT_EQ(buf[0], 'z');
}

KEEL_TEST(Tcp, BindErrorsNameTheAddress) {
  auto [listener, addr] = listen_local();
  absl::StatusOr<TcpListener> again = TcpListener::bind(addr);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(errno_of(again.status()), EADDRINUSE);
  EXPECT_TRUE(absl::StartsWith(again.status().message(), absl::StrCat("bind ", addr.to_string(), ": ")))
      << again.status();
  EXPECT_TRUE(absl::IsInvalidArgument(TcpListener::bind("nonsense").status()));
  // SO_REUSEPORT: two listeners on one port.
  absl::StatusOr<TcpSocket> a = TcpSocket::new_v4();
  absl::StatusOr<TcpSocket> b = TcpSocket::new_v4();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  KEEL_ASSERT_OK(a->set_reuseport(true));
  KEEL_ASSERT_OK(b->set_reuseport(true));
  KEEL_ASSERT_OK(a->bind(SocketAddr::loopback_v4(0)));
  absl::StatusOr<TcpListener> la = std::move(*a).listen();
  KEEL_ASSERT_OK(la);
  KEEL_ASSERT_OK(b->bind(*la->local_addr()));
  KEEL_ASSERT_OK(std::move(*b).listen());
}

KEEL_TEST(Tcp, CancelledReadLosesNothing) {
  time::pause();
  auto [listener, addr] = listen_local();
  absl::StatusOr<Connected> c = co_await connect_pair(listener, addr);
  KEEL_ASSERT_OK(c);
  TcpStream* s = &c->client;
  TcpStream* peer = &c->server;
  absl::StatusOr<std::size_t> r = co_await timeout(milliseconds(50), read_some(*s));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  KEEL_ASSERT_OK(co_await io::write_all(*peer, "after"));
  char buf[5];
  KEEL_ASSERT_OK(co_await io::read_exact(*s, std::span<char>(buf)));
  EXPECT_EQ(std::string(buf, 5), "after");
}

KEEL_TEST(Tcp, CancelledAcceptLeavesTheConnectionQueued) {
  time::pause();
  auto [listener, addr] = listen_local();
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> c =
      co_await timeout(milliseconds(50), listener.accept());
  EXPECT_TRUE(absl::IsDeadlineExceeded(c.status())) << c.status();
  absl::StatusOr<TcpStream> s = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(s);
  c = co_await listener.accept();
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->second, *s->local_addr());
}

Task<absl::StatusOr<std::size_t>> write_chunk(TcpStream& s, const std::string& chunk) {
  co_return co_await s.write(std::span<const char>(chunk));
}

KEEL_TEST(Tcp, CancelledWriteWritesNothing) {
  time::pause();
  auto [listener, addr] = listen_local();
  absl::StatusOr<Connected> c = co_await connect_pair(listener, addr);
  KEEL_ASSERT_OK(c);
  TcpStream* s = &c->client;
  TcpStream* peer = &c->server;
  // Fill the send path (nobody reads) until a write has to wait, then cancel that write.
  const std::string chunk = pattern(64 << 10, 3);
  std::size_t accepted = 0;
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await timeout(milliseconds(50), write_chunk(*s, chunk));
    if (absl::IsDeadlineExceeded(n.status())) break;
    KEEL_ASSERT_OK(n);
    accepted += *n;
  }
  KEEL_ASSERT_OK(s->shutdown_now(SHUT_WR));
  // The peer receives exactly the bytes the completed writes reported.
  std::string got;
  absl::StatusOr<std::size_t> total = co_await io::read_to_end(*peer, got);
  KEEL_ASSERT_OK(total);
  EXPECT_EQ(*total, accepted);
}

// Raises the soft RLIMIT_NOFILE to at least `want` (as root also the hard limit); returns the
// limit in force.
rlim_t raise_fd_limit(rlim_t want) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur >= want) return lim.rlim_cur;
  rlimit raised = lim;
  raised.rlim_cur = want;
  if (raised.rlim_max < want) raised.rlim_max = want;
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return want;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

std::vector<Task<absl::StatusOr<TcpStream>>> connects(SocketAddr addr, int n) {
  std::vector<Task<absl::StatusOr<TcpStream>>> v;
  v.reserve(n);
  for (int i = 0; i < n; ++i) v.push_back(TcpStream::connect(addr));
  return v;
}

// One round trip of an 8-byte message naming the connection.
Task<absl::Status> round_trip(TcpStream& s, int id) {
  std::string msg = absl::StrCat(100000000 + id).substr(1);
  absl::Status st = co_await io::write_all(s, msg);
  if (!st.ok()) co_return st;
  std::string back(msg.size(), '\0');
  st = co_await io::read_exact(s, std::span<char>(back));
  if (!st.ok()) co_return st;
  if (back != msg) co_return absl::DataLossError(absl::StrCat("sent ", msg, ", got ", back));
  co_return absl::OkStatus();
}

std::vector<Task<absl::Status>> round_trips(std::vector<TcpStream>& streams) {
  std::vector<Task<absl::Status>> v;
  v.reserve(streams.size());
  for (std::size_t i = 0; i < streams.size(); ++i) v.push_back(round_trip(streams[i], int(i)));
  return v;
}

// Batches of connects that the listen backlog always holds: a larger burst would have the
// kernel drop SYNs and the clients retransmit a second later.
constexpr int kConnectBatch = 1000;
constexpr int kManyConnections = 10000;

KEEL_TEST(Tcp, TenThousandConcurrentConnections) {
  // Two descriptors a connection (both ends live in this process), plus slack.
  rlim_t limit = raise_fd_limit(2 * kManyConnections + 512);
  int n = kManyConnections;
  if (limit < rlim_t(2 * kManyConnections + 512)) {
    n = int((limit - 512) / 2);
    std::fprintf(stderr, "RLIMIT_NOFILE is %llu and cannot be raised (not root?): %d connections\n",
                 (unsigned long long)limit, n);
  }
  auto [listener, addr] = listen_local();
  auto server = spawn(serve_echo(std::move(listener), n));
  std::vector<TcpStream> streams;
  streams.reserve(n);
  for (int done = 0; done < n; done += kConnectBatch) {
    std::vector<absl::StatusOr<TcpStream>> batch =
        co_await join_all(connects(addr, std::min(kConnectBatch, n - done)));
    for (absl::StatusOr<TcpStream>& s : batch) {
      KEEL_ASSERT_OK(s);
      streams.push_back(std::move(*s));
    }
  }
  KEEL_ASSERT_OK(flatten(co_await server));  // every connection accepted, all still open
  std::vector<absl::Status> results = co_await join_all(round_trips(streams));
  int failed = 0;
  for (const absl::Status& st : results) {
    if (!st.ok() && failed++ < 5) ADD_FAILURE() << st;
  }
  EXPECT_EQ(failed, 0);
}

// Opens descriptors until the process is out of them (under a lowered soft limit).
std::vector<int> exhaust_fds() {
  std::vector<int> fds;
  for (;;) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds.push_back(fd);
  }
  return fds;
}

// Accepts one connection, then waits for `go`, then accepts the next.
Task<absl::StatusOr<std::pair<TcpStream, SocketAddr>>> accept_twice(TcpListener& listener,
                                                                    sync::Notify& go) {
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> first = co_await listener.accept();
  if (!first.ok()) co_return first.status();
  co_await go.notified();
  co_return co_await listener.accept();
}

KEEL_TEST(Tcp, AcceptSurvivesEmfile) {
  time::pause();
  auto [listener, addr] = listen_local();
  absl::StatusOr<TcpStream> warmup = co_await TcpStream::connect(addr);
  KEEL_ASSERT_OK(warmup);
  absl::StatusOr<TcpStream> client = co_await TcpStream::connect(addr);  // queued, not accepted
  KEEL_ASSERT_OK(client);
  // The accepting task runs (and accepts once) before the descriptors run out: the
  // sanitizers' runtime needs descriptors to check a type it meets for the first time.
  sync::Notify go;
  auto accepting = spawn(accept_twice(listener, go));
  co_await testing::settle();
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = 256;  // well above what the runtime and the test hold
  KEEL_ASSERT_TRUE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> filler = exhaust_fds();
  KEEL_ASSERT_TRUE(!filler.empty());
  go.notify_one();
  // Out of descriptors: accept backs off (the paused clock runs its sleeps at once) and does
  // not return an error.
  co_await testing::settle();
  EXPECT_FALSE(accepting.is_finished());
  for (int fd : filler) ::close(fd);
  setrlimit(RLIMIT_NOFILE, &saved);
  absl::StatusOr<std::pair<TcpStream, SocketAddr>> c = flatten(co_await accepting);
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->second, *client->local_addr());
  // The accepted connection works.
  KEEL_ASSERT_OK(co_await io::write_all(*client, "ok"));
  char buf[2];
  KEEL_ASSERT_OK(co_await io::read_exact(c->first, std::span<char>(buf)));
  EXPECT_EQ(std::string(buf, 2), "ok");
}

}  // namespace
}  // namespace keel::net
