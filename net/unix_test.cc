// Tests of the Unix-domain sockets on every scheduler flavour: UnixAddr parsing and printing;
// UnixListener/UnixStream over a filesystem path and an abstract name (traffic both ways,
// half-close, a peer reset mid-read, peer credentials, connect errors, a stale path, a full
// backlog), pair(); UnixDatagram bound, unbound, connected and paired; and cancellation of
// every awaiter (read, accept, recv, recv_from, connect): an op destroyed by keel::timeout on
// the paused clock loses nothing.
//
// Socket files live in a fresh directory under $TEST_TMPDIR (or /tmp when that path is too
// long for sun_path's 108 bytes), one name per test run.

#include "net/unix.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "net/datagram_test_util.h"
#include "net/error.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::net {
namespace {

using testing::parked_on;
using datagram_test::bytes;
using datagram_test::recv_from_string;
using datagram_test::recv_string;
using datagram_test::send_string_to;

using std::chrono::seconds;


// Paths longer than this would leave too little of sun_path for the socket names.
constexpr std::size_t kMaxTempDirLength = 80;

// A directory for this process's sockets, made once.
const std::string& temp_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string b = base != nullptr && std::strlen(base) <= kMaxTempDirLength ? base : "/tmp";
    std::string templ = b + "/ku.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
      std::abort();
    }
    return templ;
  }();
  return dir;
}

// A fresh socket path (no file yet).
std::string fresh_path(std::string_view stem) {
  static std::atomic<int> n{0};
  // ORDERING: relaxed; only uniqueness matters.
  return temp_dir() + "/" + std::string(stem) +
         std::to_string(n.fetch_add(1, std::memory_order_relaxed));
}

// A fresh abstract name ("@keel-<temp dir's random suffix>-<stem><n>"). Abstract names are
// shared by every process in the network namespace, and test sandboxes may share it while
// each has pid 12: the mkdtemp suffix keeps concurrent test processes apart.
std::string fresh_abstract(std::string_view stem) {
  static std::atomic<int> n{0};
  const std::string& dir = temp_dir();
  // ORDERING: relaxed; only uniqueness matters.
  return "@keel-" + dir.substr(dir.rfind('.') + 1) + "-" + std::string(stem) +
         std::to_string(n.fetch_add(1, std::memory_order_relaxed));
}


// One read as a string ("" at end of stream).
Task<absl::StatusOr<std::string>> read_some(UnixStream* s) {
  std::string buf(4096, '\0');
  absl::StatusOr<std::size_t> n = co_await s->read(std::span<char>(buf));
  if (!n.ok()) co_return n.status();
  buf.resize(*n);
  co_return buf;
}

// Reads exactly `n` bytes.
Task<absl::StatusOr<std::string>> read_n(UnixStream* s, std::size_t n) {
  std::string buf(n, '\0');
  absl::Status st = co_await io::read_exact(*s, std::span<char>(buf));
  if (!st.ok()) co_return st;
  co_return buf;
}

// `data` must outlive the await (the callers pass literals).
Task<absl::Status> write_str(UnixStream* s, std::string_view data) {
  co_return co_await io::write_all(*s, bytes(data));
}

Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> accept_one(UnixListener* l) {
  co_return co_await l->accept();
}

Task<absl::StatusOr<UnixStream>> connect_to(std::string addr) {
  co_return co_await UnixStream::connect(std::move(addr));
}




// A connected listener/client/server triple on `addr`.
struct Conn {
  UnixListener listener;
  UnixStream client;
  UnixStream server;
  UnixAddr server_peer;
};

// Not a coroutine: GCC 12 mishandles braced initializers inside coroutine bodies.
absl::StatusOr<Conn> make_conn(UnixListener l, UnixStream c, std::pair<UnixStream, UnixAddr> s) {
  return Conn{std::move(l), std::move(c), std::move(s.first), std::move(s.second)};
}

Task<absl::StatusOr<Conn>> connect_pair(std::string addr) {
  absl::StatusOr<UnixListener> l = UnixListener::bind(addr);
  if (!l.ok()) co_return l.status();
  Task<absl::StatusOr<UnixStream>> connecting = UnixStream::connect(addr);
  absl::StatusOr<UnixStream> c = co_await std::move(connecting);
  if (!c.ok()) co_return c.status();
  Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> accepting = l->accept();
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> s = co_await std::move(accepting);
  if (!s.ok()) co_return s.status();
  co_return make_conn(std::move(*l), std::move(*c), std::move(*s));
}

// Traffic both ways over a connected pair, then the client closes.
Task<void> exchange(Conn* c) {
  KEEL_ASSERT_OK(co_await write_str(&c->client, "ping"));
  absl::StatusOr<std::string> got = co_await read_n(&c->server, 4);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "ping");
  KEEL_ASSERT_OK(co_await write_str(&c->server, "pong!"));
  absl::StatusOr<std::string> back = co_await read_n(&c->client, 5);
  KEEL_ASSERT_OK(back);
  EXPECT_EQ(*back, "pong!");
  // A large transfer, to cross the socket buffers in both directions.
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  Task<absl::Status> writing = io::write_all(c->client, std::span<const char>(big));
  Task<absl::StatusOr<std::string>> reading = read_n(&c->server, big.size());
  auto [w, r] = co_await join(std::move(writing), std::move(reading));
  KEEL_ASSERT_OK(w);
  KEEL_ASSERT_OK(r);
  EXPECT_TRUE(*r == big);
}

TEST(UnixAddr, ParsesPathsAndAbstractNames) {
  absl::StatusOr<UnixAddr> p = UnixAddr::parse("/run/app.sock");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->is_pathname());
  EXPECT_EQ(p->path(), "/run/app.sock");
  EXPECT_EQ(p->to_string(), "/run/app.sock");

  absl::StatusOr<UnixAddr> a = UnixAddr::parse("@app");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_abstract());
  EXPECT_EQ(a->abstract_name(), "app");
  EXPECT_EQ(a->to_string(), "@app");
  EXPECT_EQ(a->sockaddr_len(), offsetof(sockaddr_un, sun_path) + 4);  // not padded

  absl::StatusOr<UnixAddr> file = UnixAddr::from_path("@literally");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->is_pathname());
  EXPECT_FALSE(*file == *UnixAddr::parse("@literally"));

  EXPECT_TRUE(UnixAddr().is_unnamed());
  EXPECT_EQ(UnixAddr().to_string(), "(unnamed)");
  sockaddr_un empty{};
  empty.sun_family = AF_UNIX;
  absl::StatusOr<UnixAddr> unnamed =
      UnixAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&empty), sizeof(sa_family_t));
  ASSERT_TRUE(unnamed.ok());
  EXPECT_TRUE(unnamed->is_unnamed());
  EXPECT_TRUE(*unnamed == UnixAddr());

  absl::StatusOr<UnixAddr> round = UnixAddr::from_sockaddr(p->as_sockaddr(), p->sockaddr_len());
  ASSERT_TRUE(round.ok());
  EXPECT_TRUE(*round == *p);
}

TEST(UnixAddr, RejectsBadAddresses) {
  absl::StatusOr<UnixAddr> empty = UnixAddr::parse("");
  EXPECT_TRUE(absl::IsInvalidArgument(empty.status())) << empty.status();
  std::string longest(kMaxUnixPathLength, 'p');
  longest[0] = '/';
  EXPECT_TRUE(UnixAddr::parse(longest).ok());
  absl::StatusOr<UnixAddr> too_long = UnixAddr::parse(longest + "p");
  EXPECT_TRUE(absl::IsInvalidArgument(too_long.status()));
  EXPECT_TRUE(absl::StrContains(too_long.status().message(), "108 bytes, at most 107"))
      << too_long.status();
  EXPECT_TRUE(UnixAddr::parse("@" + std::string(kMaxUnixPathLength, 'a')).ok());
  EXPECT_FALSE(UnixAddr::parse("@" + std::string(kMaxUnixPathLength + 1, 'a')).ok());
  absl::StatusOr<UnixAddr> nul = UnixAddr::parse(std::string("/a\0b", 4));
  EXPECT_TRUE(absl::IsInvalidArgument(nul.status())) << nul.status();
}

KEEL_TEST(UnixStream, PathBothWays) {
  std::string path = fresh_path("s");
  absl::StatusOr<Conn> c = co_await connect_pair(path);
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->listener.name(), path);
  EXPECT_EQ(c->listener.local_addr().value_or(UnixAddr()).path(), path);
  EXPECT_TRUE(c->server_peer.is_unnamed());  // the client did not bind
  EXPECT_EQ(c->client.peer_addr().value_or(UnixAddr()).path(), path);
  EXPECT_TRUE(c->client.local_addr().value_or(*UnixAddr::parse("@x")).is_unnamed());
  EXPECT_EQ(c->client.name(), path);
  EXPECT_EQ(c->server.name(), path);
  co_await exchange(&*c);
  EXPECT_EQ(::unlink(path.c_str()), 0);
}

KEEL_TEST(UnixStream, AbstractBothWays) {
  std::string name = fresh_abstract("s");
  absl::StatusOr<Conn> c = co_await connect_pair(name);
  KEEL_ASSERT_OK(c);
  absl::StatusOr<UnixAddr> local = c->listener.local_addr();
  KEEL_ASSERT_OK(local);
  EXPECT_TRUE(local->is_abstract());
  EXPECT_EQ(local->to_string(), name);
  EXPECT_EQ(c->client.peer_addr().value_or(UnixAddr()).to_string(), name);
  co_await exchange(&*c);
}

KEEL_TEST(UnixStream, PairBothWays) {
  absl::StatusOr<std::pair<UnixStream, UnixStream>> p = UnixStream::pair();
  KEEL_ASSERT_OK(p);
  KEEL_ASSERT_OK(co_await write_str(&p->first, "left"));
  absl::StatusOr<std::string> got = co_await read_n(&p->second, 4);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "left");
  KEEL_ASSERT_OK(co_await write_str(&p->second, "right"));
  absl::StatusOr<std::string> back = co_await read_n(&p->first, 5);
  KEEL_ASSERT_OK(back);
  EXPECT_EQ(*back, "right");
  EXPECT_EQ(p->first.name(), "unix pair");
  EXPECT_TRUE(p->first.peer_addr().value_or(*UnixAddr::parse("@x")).is_unnamed());
}

// shutdown() closes our writing side only: the peer reads end of stream and can still answer.
KEEL_TEST(UnixStream, HalfClose) {
  absl::StatusOr<Conn> c = co_await connect_pair(fresh_abstract("h"));
  KEEL_ASSERT_OK(c);
  KEEL_ASSERT_OK(co_await write_str(&c->client, "last words"));
  KEEL_ASSERT_OK(co_await c->client.shutdown());
  absl::StatusOr<std::string> got = co_await read_n(&c->server, 10);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "last words");
  absl::StatusOr<std::string> eof = co_await read_some(&c->server);
  KEEL_ASSERT_OK(eof);
  EXPECT_EQ(*eof, "");
  KEEL_ASSERT_OK(co_await write_str(&c->server, "reply"));
  absl::StatusOr<std::string> reply = co_await read_n(&c->client, 5);
  KEEL_ASSERT_OK(reply);
  EXPECT_EQ(*reply, "reply");
  // Writing after our own shutdown is EPIPE, never SIGPIPE.
  absl::StatusOr<std::size_t> after = co_await c->client.write(bytes("more"));
  EXPECT_EQ(errno_of(after.status()), EPIPE) << after.status();
  // The server closes: the client reads end of stream.
  { UnixStream gone = std::move(c->server); }
  absl::StatusOr<std::string> end = co_await read_some(&c->client);
  KEEL_ASSERT_OK(end);
  EXPECT_EQ(*end, "");
}

// A Unix peer that closes with data it never read resets the connection: the read waiting on
// the other side fails with ECONNRESET (SO_LINGER plays no part for Unix sockets).
KEEL_TEST(UnixStream, PeerResetMidRead) {
  std::string path = fresh_path("r");
  absl::StatusOr<Conn> c = co_await connect_pair(path);
  KEEL_ASSERT_OK(c);
  KEEL_ASSERT_OK(co_await write_str(&c->client, "never read"));
  JoinHandle<absl::StatusOr<std::string>> reader = spawn(read_some(&c->client));
  KEEL_ASSERT_TRUE(co_await parked_on(reader, "UnixStream::read"));
  { UnixStream gone = std::move(c->server); }  // closes with "never read" queued
  absl::StatusOr<absl::StatusOr<std::string>> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(errno_of(got->status()), ECONNRESET) << got->status();
  EXPECT_EQ(got->status().message(), "read " + path + ": Connection reset by peer");
  EXPECT_TRUE(absl::IsUnavailable(got->status()));
  EXPECT_EQ(::unlink(path.c_str()), 0);
}

void expect_our_cred(const UnixStream& s) {
  absl::StatusOr<UnixCred> cred = s.peer_cred();
  ASSERT_TRUE(cred.ok()) << cred.status();
  EXPECT_EQ(cred->pid, ::getpid());
  EXPECT_EQ(cred->uid, ::getuid());
  EXPECT_EQ(cred->gid, ::getgid());
}

KEEL_TEST(UnixStream, PeerCredentials) {
  absl::StatusOr<Conn> c = co_await connect_pair(fresh_abstract("c"));
  KEEL_ASSERT_OK(c);
  expect_our_cred(c->client);
  expect_our_cred(c->server);
  absl::StatusOr<std::pair<UnixStream, UnixStream>> p = UnixStream::pair();
  KEEL_ASSERT_OK(p);
  absl::StatusOr<UnixCred> cred = p->first.peer_cred();
  KEEL_ASSERT_OK(cred);
  EXPECT_EQ(cred->pid, ::getpid());
}

KEEL_TEST(UnixStream, ConnectErrorsNameThePath) {
  std::string missing = fresh_path("missing");
  absl::StatusOr<UnixStream> none = co_await connect_to(missing);
  EXPECT_EQ(errno_of(none.status()), ENOENT) << none.status();
  EXPECT_EQ(none.status().message(), "connect " + missing + ": No such file or directory");

  // A stale socket file: the listener is gone, its file stays.
  std::string stale = fresh_path("stale");
  {
    absl::StatusOr<UnixListener> l = UnixListener::bind(stale);
    KEEL_ASSERT_OK(l);
  }
  absl::StatusOr<UnixStream> refused = co_await connect_to(stale);
  EXPECT_EQ(errno_of(refused.status()), ECONNREFUSED) << refused.status();
  EXPECT_EQ(refused.status().message(), "connect " + stale + ": Connection refused");

  std::string abstract = fresh_abstract("nobody");
  absl::StatusOr<UnixStream> nobody = co_await connect_to(abstract);
  EXPECT_EQ(errno_of(nobody.status()), ECONNREFUSED) << nobody.status();
  EXPECT_EQ(nobody.status().message(), "connect " + abstract + ": Connection refused");

  absl::StatusOr<UnixStream> bad = co_await connect_to("");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_EQ(::unlink(stale.c_str()), 0);
}

// bind() removes nothing: a leftover file is a clear error, and binding works once it is gone.
KEEL_TEST(UnixListener, StalePathIsAClearError) {
  std::string path = fresh_path("b");
  {
    absl::StatusOr<UnixListener> first = UnixListener::bind(path);
    KEEL_ASSERT_OK(first);
    absl::StatusOr<UnixListener> live = UnixListener::bind(path);
    EXPECT_EQ(errno_of(live.status()), EADDRINUSE) << live.status();
  }
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);  // the listener's drop left the file
  absl::StatusOr<UnixListener> again = UnixListener::bind(path);
  EXPECT_EQ(errno_of(again.status()), EADDRINUSE);
  EXPECT_EQ(again.status().message(),
            "bind " + path +
                ": Address already in use (the path exists: remove a stale socket file before "
                "binding)");
  EXPECT_EQ(::unlink(path.c_str()), 0);
  absl::StatusOr<UnixListener> fresh = UnixListener::bind(path);
  KEEL_ASSERT_OK(fresh);

  std::string name = fresh_abstract("b");
  absl::StatusOr<UnixListener> a = UnixListener::bind(name);
  KEEL_ASSERT_OK(a);
  absl::StatusOr<UnixListener> a2 = UnixListener::bind(name);
  EXPECT_EQ(errno_of(a2.status()), EADDRINUSE) << a2.status();
  EXPECT_TRUE(absl::StartsWith(a2.status().message(), "bind " + name + ": Address already in use"));
  EXPECT_EQ(::unlink(path.c_str()), 0);
}

// A Unix connect to a full backlog gets EAGAIN; connect() retries until the listener accepts.
KEEL_TEST(UnixStream, ConnectToAFullBacklogWaitsForRoom) {
  std::string name = fresh_abstract("full");
  absl::StatusOr<UnixListener> l = UnixListener::bind(name, /*backlog=*/0);
  KEEL_ASSERT_OK(l);
  absl::StatusOr<UnixStream> first = co_await connect_to(name);  // fills the backlog
  KEEL_ASSERT_OK(first);
  JoinHandle<absl::StatusOr<UnixStream>> second = spawn(connect_to(name));
  co_await testing::settle(50);
  EXPECT_FALSE(second.is_finished());  // nobody accepted yet: there is no room
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> a1 = co_await accept_one(&*l);
  KEEL_ASSERT_OK(a1);
  absl::StatusOr<absl::StatusOr<UnixStream>> s2 = co_await second;
  KEEL_ASSERT_OK(s2);
  KEEL_ASSERT_OK(*s2);
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> a2 = co_await accept_one(&*l);
  KEEL_ASSERT_OK(a2);
  KEEL_ASSERT_OK(co_await write_str(&**s2, "in"));
  absl::StatusOr<std::string> got = co_await read_n(&a2->first, 2);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "in");
}

// Cancellation: a read, an accept and a connect (backing off) destroyed by keel::timeout on the
// paused clock take nothing; what arrives afterwards goes to the next op.
KEEL_TEST(UnixStream, CancelledReadAcceptConnectLoseNothing) {
  std::string name = fresh_abstract("x");
  absl::StatusOr<UnixListener> l = UnixListener::bind(name, /*backlog=*/0);
  KEEL_ASSERT_OK(l);
  time::pause();
  Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> accepting = accept_one(&*l);
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> t1 =
      co_await timeout(seconds(5), std::move(accepting));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t1.status())) << t1.status();

  absl::StatusOr<UnixStream> client = co_await connect_to(name);  // fills the backlog
  KEEL_ASSERT_OK(client);
  Task<absl::StatusOr<UnixStream>> blocked = connect_to(name);
  absl::StatusOr<UnixStream> t2 = co_await timeout(seconds(5), std::move(blocked));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2.status())) << t2.status();
  time::resume();

  absl::StatusOr<std::pair<UnixStream, UnixAddr>> server = co_await accept_one(&*l);
  KEEL_ASSERT_OK(server);
  // The abandoned connect left nothing queued: a poll-free accept finds no second connection.
  time::pause();
  Task<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> none = accept_one(&*l);
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> t3 =
      co_await timeout(seconds(5), std::move(none));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t3.status())) << t3.status();

  Task<absl::StatusOr<std::string>> reading = read_some(&server->first);
  absl::StatusOr<std::string> t4 = co_await timeout(seconds(5), std::move(reading));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t4.status())) << t4.status();
  time::resume();
  KEEL_ASSERT_OK(co_await write_str(&*client, "kept"));
  absl::StatusOr<std::string> got = co_await read_n(&server->first, 4);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "kept");
}

// An accept parked on the listener and then aborted: the next connection goes to the next
// accept.
KEEL_TEST(UnixListener, AbortedParkedAcceptLosesNothing) {
  std::string path = fresh_path("a");
  absl::StatusOr<UnixListener> l = UnixListener::bind(path);
  KEEL_ASSERT_OK(l);
  JoinHandle<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> h = spawn(accept_one(&*l));
  KEEL_ASSERT_TRUE(co_await parked_on(h, "UnixListener::accept"));
  h.abort();
  auto aborted = co_await h;
  EXPECT_FALSE(aborted.ok());
  absl::StatusOr<UnixStream> c = co_await connect_to(path);
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::pair<UnixStream, UnixAddr>> s = co_await accept_one(&*l);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(::unlink(path.c_str()), 0);
}

// Uses up every file descriptor the process may open (under a lowered RLIMIT_NOFILE), until
// destroyed: then closes them and restores the limit.
class FdExhaustion {
 public:
  // Headroom above the lowest free descriptor: the fds this test fills.
  static constexpr rlim_t kHeadroom = 16;

  FdExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int lowest = ::dup(0);
    ::close(lowest);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest) + kHeadroom;
    ok_ = lowest >= 0 && low.rlim_cur <= saved_.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &low) == 0;
    if (!ok_) return;
    for (;;) {
      int fd = ::dup(0);
      if (fd < 0) break;
      fds_.push_back(fd);
    }
    ok_ = errno == EMFILE && !fds_.empty();
  }
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;
  ~FdExhaustion() {
    for (int fd : fds_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

  bool ok() const { return ok_; }
  void release_one() {
    ::close(fds_.back());
    fds_.pop_back();
  }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
  bool ok_ = false;
};

// accept() out of descriptors backs off (no spinning, no error) and accepts the waiting
// connection once one is free (the shared policy of net/detail/accept.h).
KEEL_TEST(UnixListener, AcceptSurvivesEmfile) {
  std::string name = fresh_abstract("emfile");
  absl::StatusOr<UnixListener> l = UnixListener::bind(name);
  KEEL_ASSERT_OK(l);
  absl::StatusOr<UnixStream> client = co_await connect_to(name);  // queued before exhaustion
  KEEL_ASSERT_OK(client);
  time::pause();
  {
    FdExhaustion exhausted;
    KEEL_ASSERT_TRUE(exhausted.ok());
    JoinHandle<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> h = spawn(accept_one(&*l));
    // It met EMFILE and sleeps before retrying (backing off, not failing).
    KEEL_ASSERT_TRUE(co_await parked_on(h, "sleep"));
    exhausted.release_one();
    absl::StatusOr<absl::StatusOr<std::pair<UnixStream, UnixAddr>>> got = co_await h;
    KEEL_ASSERT_OK(got);
    KEEL_ASSERT_OK(*got);
  }
  time::resume();
}

KEEL_TEST(UnixDatagram, BoundBothWays) {
  std::string server_path = fresh_path("d");
  std::string client_name = fresh_abstract("d");
  absl::StatusOr<UnixDatagram> server = UnixDatagram::bind(server_path);
  absl::StatusOr<UnixDatagram> client = UnixDatagram::bind(client_name);
  KEEL_ASSERT_OK(server);
  KEEL_ASSERT_OK(client);
  UnixAddr server_addr = *UnixAddr::parse(server_path);
  EXPECT_TRUE(server->local_addr().value_or(UnixAddr()) == server_addr);

  KEEL_ASSERT_OK(co_await send_string_to(&*client, "hello", server_addr));
  absl::StatusOr<std::pair<std::string, UnixAddr>> got = co_await recv_from_string(&*server);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "hello");
  EXPECT_EQ(got->second.to_string(), client_name);

  KEEL_ASSERT_OK(co_await send_string_to(&*server, "world", got->second));
  absl::StatusOr<std::pair<std::string, UnixAddr>> back = co_await recv_from_string(&*client);
  KEEL_ASSERT_OK(back);
  EXPECT_EQ(back->first, "world");
  EXPECT_EQ(back->second.path(), server_path);

  // Truncation and peek_size, as for UDP.
  KEEL_ASSERT_OK(co_await send_string_to(&*client, "0123456789", server_addr));
  absl::StatusOr<std::size_t> size = co_await server->peek_size();
  KEEL_ASSERT_OK(size);
  EXPECT_EQ(*size, 10u);
  char small[3];
  absl::StatusOr<std::size_t> n = co_await server->recv(std::span<char>(small));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(std::string_view(small, *n), "012");
  EXPECT_EQ(::unlink(server_path.c_str()), 0);
}

KEEL_TEST(UnixDatagram, UnboundAndConnected) {
  std::string path = fresh_path("u");
  absl::StatusOr<UnixDatagram> server = UnixDatagram::bind(path);
  absl::StatusOr<UnixDatagram> anon = UnixDatagram::unbound();
  KEEL_ASSERT_OK(server);
  KEEL_ASSERT_OK(anon);
  UnixAddr server_addr = *UnixAddr::parse(path);
  KEEL_ASSERT_OK(co_await send_string_to(&*anon, "anonymous", server_addr));
  absl::StatusOr<std::pair<std::string, UnixAddr>> got = co_await recv_from_string(&*server);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "anonymous");
  EXPECT_TRUE(got->second.is_unnamed());

  KEEL_ASSERT_OK(anon->connect(path));
  EXPECT_EQ(anon->name(), path);
  EXPECT_EQ(anon->peer_addr().value_or(UnixAddr()).path(), path);
  absl::StatusOr<std::size_t> n = co_await anon->send(bytes("connected"));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 9u);
  absl::StatusOr<std::string> got2 = co_await recv_string(&*server);
  KEEL_ASSERT_OK(got2);
  EXPECT_EQ(*got2, "connected");

  // Errors name the destination.
  std::string missing = fresh_path("nobody");
  absl::Status none = co_await send_string_to(&*server, "x", *UnixAddr::parse(missing));
  EXPECT_EQ(errno_of(none), ENOENT) << none;
  EXPECT_EQ(none.message(), "send_to " + missing + ": No such file or directory");
  absl::Status bad = anon->connect(missing);
  EXPECT_EQ(bad.message(), "connect " + missing + ": No such file or directory");
  absl::StatusOr<UnixDatagram> taken = UnixDatagram::bind(path);
  EXPECT_EQ(errno_of(taken.status()), EADDRINUSE) << taken.status();
  EXPECT_EQ(::unlink(path.c_str()), 0);
}

KEEL_TEST(UnixDatagram, PairBothWays) {
  absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> p = UnixDatagram::pair();
  KEEL_ASSERT_OK(p);
  absl::StatusOr<std::size_t> n = co_await p->first.send(bytes("one"));
  KEEL_ASSERT_OK(n);
  n = co_await p->first.send(bytes("two"));
  KEEL_ASSERT_OK(n);
  absl::StatusOr<std::string> a = co_await recv_string(&p->second);
  absl::StatusOr<std::string> b = co_await recv_string(&p->second);
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  EXPECT_EQ(*a, "one");  // boundaries kept
  EXPECT_EQ(*b, "two");
  n = co_await p->second.send(bytes("back"));
  KEEL_ASSERT_OK(n);
  absl::StatusOr<std::pair<std::string, UnixAddr>> c = co_await recv_from_string(&p->first);
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->first, "back");
  EXPECT_TRUE(c->second.is_unnamed());
  // The peer is gone: sending fails and names the socket.
  { UnixDatagram gone = std::move(p->second); }
  absl::StatusOr<std::size_t> lost = co_await p->first.send(bytes("lost"));
  EXPECT_FALSE(lost.ok());
  EXPECT_EQ(errno_of(lost.status()), ECONNREFUSED) << lost.status();
  EXPECT_EQ(lost.status().message(), "send unix datagram pair: Connection refused");
}

// Cancellation: a recv and a recv_from destroyed mid-wait take no datagram.
KEEL_TEST(UnixDatagram, CancelledReceivesLoseNothing) {
  absl::StatusOr<std::pair<UnixDatagram, UnixDatagram>> p = UnixDatagram::pair();
  KEEL_ASSERT_OK(p);
  time::pause();
  Task<absl::StatusOr<std::string>> r1 = recv_string(&p->second);
  absl::StatusOr<std::string> t1 = co_await timeout(seconds(5), std::move(r1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t1.status())) << t1.status();
  Task<absl::StatusOr<std::pair<std::string, UnixAddr>>> r2 = recv_from_string(&p->second);
  absl::StatusOr<std::pair<std::string, UnixAddr>> t2 = co_await timeout(seconds(5), std::move(r2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2.status())) << t2.status();
  time::resume();
  absl::StatusOr<std::size_t> n = co_await p->first.send(bytes("first"));
  KEEL_ASSERT_OK(n);
  n = co_await p->first.send(bytes("second"));
  KEEL_ASSERT_OK(n);
  absl::StatusOr<std::pair<std::string, UnixAddr>> a = co_await recv_from_string(&p->second);
  KEEL_ASSERT_OK(a);
  EXPECT_EQ(a->first, "first");
  absl::StatusOr<std::string> b = co_await recv_string(&p->second);
  KEEL_ASSERT_OK(b);
  EXPECT_EQ(*b, "second");
}

}  // namespace
}  // namespace keel::net
