// Tests of AsyncFd and the I/O driver's readiness protocol, on every flavour, over non-blocking
// Unix socket pairs: waiting for readability and writability, clearing consumed readiness,
// async_io(), peer close, cancellation of a parked waiter, dropping an AsyncFd under a
// waiter, registration metrics, the coop budget, and busy polling.
//
// Tasks wait for one another by yielding, with a bound on the number of yields, so that a
// broken runtime fails a test instead of hanging it. "Not yet" is checked only where it is
// certain (no data was written, so a reader cannot have finished).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using testing::eventually;
using testing::parked_on;
using testing::settle;


// An owned plain fd (the peer end a test writes to directly).
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(std::exchange(fd, -1));
  }
};

struct Pair {
  int a = -1;  // to be owned by an AsyncFd
  Fd b{-1};    // the peer
};

Pair socket_pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << std::strerror(errno);
    std::abort();
  }
  return Pair{sv[0], Fd(sv[1])};
}

bool write_str(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

// Reads everything available from a non-blocking fd (until EAGAIN or EOF).
std::size_t drain(int fd) {
  std::size_t total = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += static_cast<std::size_t>(n);
  }
}

// Writes until the socket is full; returns the bytes written.
std::size_t fill(int fd) {
  std::size_t total = 0;
  static const std::string chunk(65536, 'x');
  for (;;) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0) return total;
    total += static_cast<std::size_t>(n);
  }
}

std::uint64_t registered_fds() { return Handle::current().metrics().registered_fds; }

struct DropFlag {
  std::shared_ptr<std::atomic<bool>> flag;
  ~DropFlag() {
    if (flag) flag->store(true);
  }
};

// Waits for readability and reads what is there. Touches `fd` only while it is registered
// (a shutdown guard means the AsyncFd is gone).
Task<std::string> read_some(AsyncFd* fd, std::shared_ptr<std::atomic<bool>> destroyed = nullptr) {
  DropFlag flag{std::move(destroyed)};
  for (;;) {
    ReadyGuard g = co_await fd->readable();
    if (g.is_shutdown()) co_return "<shutdown>";
    char buf[256];
    ssize_t n = ::read(fd->fd(), buf, sizeof buf);
    if (n >= 0) co_return std::string(buf, static_cast<std::size_t>(n));
    if (errno != EAGAIN) co_return std::string("<error ") + std::strerror(errno) + ">";
    g.clear_ready();
  }
}

// One await of readability; reports whether it saw shutdown. Does not touch `fd` afterwards.
Task<bool> await_readable_once(AsyncFd* fd) {
  ReadyGuard g = co_await fd->readable();
  // Harmless on a shutdown guard, even once the driver's record of the fd is gone (as it is
  // here when the test forced a driver turn: the awaiter held the last reference).
  if (g.is_shutdown()) g.clear_ready();
  co_return g.is_shutdown();
}

KEEL_TEST(AsyncFd, ReadableWaitsUntilThePeerWrites) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  JoinHandle<std::string> reader = spawn(read_some(&fd));
  KEEL_ASSERT_TRUE(co_await parked_on(reader, "AsyncFd::readable"));
  co_await settle();
  EXPECT_FALSE(reader.is_finished());  // nothing was written: it must still wait
  EXPECT_TRUE(write_str(p.b.fd, "hello"));
  absl::StatusOr<std::string> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "hello");
}

Task<void> write_later(int fd, std::string s) {
  for (int i = 0; i < 10; ++i) co_await yield_now();
  EXPECT_TRUE(write_str(fd, s));
}

KEEL_TEST(AsyncFd, ReadableWithTheWriterInAnotherTask) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  JoinHandle<void> writer = spawn(write_later(p.b.fd, "ping"));
  EXPECT_EQ(co_await read_some(&fd), "ping");
  EXPECT_TRUE((co_await writer).ok());
}

KEEL_TEST(AsyncFd, ReadinessIsKeptUntilCleared) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  EXPECT_TRUE(write_str(p.b.fd, "x"));
  ReadyGuard g = co_await fd.readable();
  EXPECT_TRUE(g.is_readable());
  EXPECT_FALSE(g.is_shutdown());
  EXPECT_EQ(drain(fd.fd()), 1u);
  // Not cleared: the recorded readiness still satisfies readable() at once (a spurious
  // readiness that the next syscall's EAGAIN reveals).
  ReadyGuard again = co_await fd.readable();
  EXPECT_TRUE(again.is_readable());
  char c;
  EXPECT_EQ(::read(fd.fd(), &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
}

KEEL_TEST(AsyncFd, ClearReadyAfterEagainWaitsForANewEdge) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  for (int round = 0; round < 20; ++round) {
    EXPECT_TRUE(write_str(p.b.fd, "y"));
    ReadyGuard g = co_await fd.readable();
    char c;
    EXPECT_EQ(::read(fd.fd(), &c, 1), 1);
    EXPECT_EQ(::read(fd.fd(), &c, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    g.clear_ready();
    JoinHandle<std::string> reader = spawn(read_some(&fd));
    KEEL_ASSERT_TRUE(co_await parked_on(reader, "AsyncFd::readable"));
    co_await settle();
    EXPECT_FALSE(reader.is_finished());  // no data since the clear: no readiness
    EXPECT_TRUE(write_str(p.b.fd, "z"));
    absl::StatusOr<std::string> got = co_await reader;
    KEEL_ASSERT_OK(got);
    EXPECT_EQ(*got, "z");
  }
}

// A guard taken before newer readiness arrived must not clear that newer readiness.
KEEL_TEST(AsyncFd, StaleClearReadyKeepsNewerReadiness) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  EXPECT_TRUE(write_str(p.b.fd, "a"));
  ReadyGuard old_guard = co_await fd.readable();
  EXPECT_EQ(drain(fd.fd()), 1u);
  old_guard.clear_ready();
  // A new edge: awaiting it proves the driver recorded it (with a newer tick).
  EXPECT_TRUE(write_str(p.b.fd, "b"));
  ReadyGuard new_guard = co_await fd.readable();
  EXPECT_TRUE(new_guard.is_readable());
  // The stale guard's clear is ignored: the data of the new edge is still announced.
  old_guard.clear_ready();
  JoinHandle<std::string> reader = spawn(read_some(&fd));
  bool finished = co_await eventually([&] { return reader.is_finished(); });
  EXPECT_TRUE(finished) << "the stale clear_ready() dropped newer readiness";
  if (!finished) {
    EXPECT_TRUE(write_str(p.b.fd, "c"));  // unblock the reader
  }
  absl::StatusOr<std::string> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->substr(0, 1), "b");
}

Task<bool> await_writable(AsyncFd* fd) {
  ReadyGuard g = co_await fd->writable();
  co_return g.is_writable() && !g.is_shutdown();
}

KEEL_TEST(AsyncFd, WritableOnAFullSocketWaitsUntilTheReaderDrains) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  ReadyGuard g = co_await fd.writable();
  EXPECT_TRUE(g.is_writable());
  std::size_t written = fill(fd.fd());
  EXPECT_GT(written, 0u);
  EXPECT_EQ(errno, EAGAIN);
  g.clear_ready();
  JoinHandle<bool> writer = spawn(await_writable(&fd));
  KEEL_ASSERT_TRUE(co_await parked_on(writer, "AsyncFd::writable"));
  co_await settle();
  EXPECT_FALSE(writer.is_finished());  // still full: it must wait
  EXPECT_EQ(drain(p.b.fd), written);
  absl::StatusOr<bool> ok = co_await writer;
  KEEL_ASSERT_OK(ok);
  EXPECT_TRUE(*ok);
  // And there is room again.
  EXPECT_EQ(::send(fd.fd(), "q", 1, MSG_NOSIGNAL), 1);
}

KEEL_TEST(AsyncFd, ReadyWithBothInterests) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  ReadyGuard g = co_await fd.ready(Interest::kBoth);
  EXPECT_TRUE(g.is_writable());
  EXPECT_FALSE(g.is_readable());
  EXPECT_TRUE(write_str(p.b.fd, "r"));
  ReadyGuard rg = co_await fd.readable();
  EXPECT_TRUE(rg.is_readable());
  EXPECT_FALSE(rg.is_writable());  // masked to the interest
}

KEEL_TEST(AsyncFd, AsyncIoRetriesUntilTheSyscallSucceeds) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  JoinHandle<void> writer = spawn(write_later(p.b.fd, "abc"));
  char buf[16];
  int calls = 0;
  ssize_t n = co_await fd.async_io(Interest::kReadable, [&] {
    ++calls;
    return ::read(fd.fd(), buf, sizeof buf);
  });
  EXPECT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  EXPECT_GE(calls, 1);
  EXPECT_TRUE((co_await writer).ok());
  // Writes through it too.
  ssize_t w = co_await fd.async_io(Interest::kWritable,
                                   [&] { return ::send(fd.fd(), "de", 2, MSG_NOSIGNAL); });
  EXPECT_EQ(w, 2);
  char back[2];
  EXPECT_EQ(::read(p.b.fd, back, 2), 2);
  // A failure other than EAGAIN is returned as is.
  ssize_t e = co_await fd.async_io(Interest::kWritable, [] {
    errno = EINVAL;
    return -1;
  });
  EXPECT_EQ(e, -1);
  EXPECT_EQ(errno, EINVAL);
}

Task<std::size_t> send_all(AsyncFd* fd, std::size_t total) {
  std::string chunk(8192, 's');
  std::size_t sent = 0;
  while (sent < total) {
    std::size_t len = std::min(chunk.size(), total - sent);
    ssize_t n = co_await fd->async_io(
        Interest::kWritable, [&] { return ::send(fd->fd(), chunk.data(), len, MSG_NOSIGNAL); });
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  co_return sent;
}

Task<std::size_t> recv_all(AsyncFd* fd, std::size_t total) {
  std::vector<char> buf(16384);
  std::size_t got = 0;
  while (got < total) {
    ssize_t n = co_await fd->async_io(Interest::kReadable,
                                      [&] { return ::read(fd->fd(), buf.data(), buf.size()); });
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  co_return got;
}

// Both ends registered, a reader and a writer task on each: data flows both ways at once.
KEEL_TEST(AsyncFd, StreamsBothWaysConcurrently) {
  int sv[2];
  KEEL_ASSERT_TRUE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  absl::StatusOr<AsyncFd> ra = AsyncFd::create(sv[0]);
  absl::StatusOr<AsyncFd> rb = AsyncFd::create(sv[1]);
  KEEL_ASSERT_OK(ra);
  KEEL_ASSERT_OK(rb);
  AsyncFd a = std::move(*ra);
  AsyncFd b = std::move(*rb);
  constexpr std::size_t kBytes = 4 << 20;
  JoinHandle<std::size_t> ab_send = spawn(send_all(&a, kBytes));
  JoinHandle<std::size_t> ab_recv = spawn(recv_all(&b, kBytes));
  JoinHandle<std::size_t> ba_send = spawn(send_all(&b, kBytes));
  JoinHandle<std::size_t> ba_recv = spawn(recv_all(&a, kBytes));
  for (JoinHandle<std::size_t>* h : {&ab_send, &ab_recv, &ba_send, &ba_recv}) {
    absl::StatusOr<std::size_t> n = co_await *h;
    KEEL_ASSERT_OK(n);
    EXPECT_EQ(*n, kBytes);
  }
}

KEEL_TEST(AsyncFd, PeerCloseGivesReadClosed) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  JoinHandle<std::string> reader = spawn(read_some(&fd));
  KEEL_ASSERT_TRUE(co_await parked_on(reader, "AsyncFd::readable"));
  p.b.reset();
  absl::StatusOr<std::string> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "");  // read() returned 0: end of stream
  ReadyGuard g = co_await fd.readable();
  EXPECT_TRUE(g.is_read_closed());
  EXPECT_TRUE(g.is_readable());
  char c;
  EXPECT_EQ(::read(fd.fd(), &c, 1), 0);
  // Both directions are closed: a writer learns it too.
  ReadyGuard w = co_await fd.writable();
  EXPECT_TRUE(w.is_write_closed());
  EXPECT_EQ(::send(fd.fd(), "x", 1, MSG_NOSIGNAL), -1);
  EXPECT_EQ(errno, EPIPE);
  // Closed states survive clear_ready().
  g.clear_ready();
  ReadyGuard g2 = co_await fd.readable();
  EXPECT_TRUE(g2.is_read_closed());
}

KEEL_TEST(AsyncFd, PeerHalfCloseGivesReadClosedOnly) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  EXPECT_TRUE(write_str(p.b.fd, "last"));
  EXPECT_EQ(::shutdown(p.b.fd, SHUT_WR), 0);
  EXPECT_EQ(co_await read_some(&fd), "last");
  EXPECT_EQ(co_await read_some(&fd), "");
  // The data and the half-close may reach the driver as two edges, and read() saw the end of
  // the stream before the driver recorded the second: wait for it.
  ReadyGuard g = co_await fd.readable();
  for (int i = 0; i < 100 && !g.is_read_closed(); ++i) {
    g.clear_ready();
    g = co_await fd.readable();
  }
  EXPECT_TRUE(g.is_read_closed());
  ReadyGuard w = co_await fd.writable();
  EXPECT_FALSE(w.is_write_closed());
  EXPECT_TRUE(write_str(fd.fd(), "still open"));
  char buf[32];
  EXPECT_EQ(::read(p.b.fd, buf, sizeof buf), 10);
}

KEEL_TEST(AsyncFd, AbortWhileParkedUnlinksTheWaiter) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  for (int round = 0; round < 20; ++round) {
    auto destroyed = std::make_shared<std::atomic<bool>>(false);
    JoinHandle<std::string> victim = spawn(read_some(&fd, destroyed));
    KEEL_ASSERT_TRUE(co_await parked_on(victim, "AsyncFd::readable"));
    victim.abort();
    absl::StatusOr<std::string> got = co_await victim;
    EXPECT_TRUE(absl::IsCancelled(got.status())) << got.status();
    EXPECT_TRUE(destroyed->load());
    // The fd's event now finds only the next reader (a freed waiter still linked would be a
    // use-after-free that ASan reports here).
    JoinHandle<std::string> next = spawn(read_some(&fd));
    KEEL_ASSERT_TRUE(co_await parked_on(next, "AsyncFd::readable"));
    EXPECT_TRUE(write_str(p.b.fd, "n"));
    absl::StatusOr<std::string> n = co_await next;
    KEEL_ASSERT_OK(n);
    EXPECT_EQ(*n, "n");
  }
  // An abort racing with the event: the waiter is woken and destroyed in either order.
  for (int round = 0; round < 20; ++round) {
    auto destroyed = std::make_shared<std::atomic<bool>>(false);
    JoinHandle<std::string> victim = spawn(read_some(&fd, destroyed));
    KEEL_ASSERT_TRUE(co_await parked_on(victim, "AsyncFd::readable"));
    EXPECT_TRUE(write_str(p.b.fd, "r"));
    victim.abort();
    absl::StatusOr<std::string> got = co_await victim;
    EXPECT_TRUE(got.ok() || absl::IsCancelled(got.status())) << got.status();
    EXPECT_TRUE(destroyed->load());
    drain(fd.fd());
  }
}

// Drops the AsyncFd while another task waits on it: the waiter wakes with a shutdown guard.
// `force_driver_turn` turns the driver before the waiter runs, which releases the driver's
// record of the fd: the waiter must still be able to finish its await.
Task<void> drop_under_a_waiter(bool force_driver_turn) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  auto fd = std::make_unique<AsyncFd>(std::move(*r));
  std::uint64_t before = registered_fds();
  JoinHandle<bool> waiter = spawn(await_readable_once(fd.get()));
  KEEL_ASSERT_TRUE(co_await parked_on(waiter, "AsyncFd::readable"));
  fd.reset();
  EXPECT_EQ(registered_fds(), before - 1);
  if (force_driver_turn) {
    // On current_thread (and whenever no parked worker holds the driver) turn it here; else
    // wake the worker that holds it, which releases the record as it parks again.
    detail::Driver& driver = Handle::current().core()->driver();
    if (driver.try_lock()) {
      driver.park(Duration::zero(), false);
      driver.unlock();
    } else {
      driver.unpark();
    }
  }
  absl::StatusOr<bool> shutdown = co_await waiter;
  KEEL_ASSERT_OK(shutdown);
  EXPECT_TRUE(*shutdown);
}

KEEL_TEST(AsyncFd, DroppingTheAsyncFdWakesAWaiterWithShutdown) {
  for (int round = 0; round < 10; ++round) co_await drop_under_a_waiter(false);
  for (int round = 0; round < 10; ++round) co_await drop_under_a_waiter(true);
}

Task<ssize_t> async_read_once(AsyncFd* fd) {
  char buf[8];
  int raw = fd->fd();
  co_return co_await fd->async_io(Interest::kReadable, [raw, &buf] {
    return ::read(raw, buf, sizeof buf);
  });
}

KEEL_TEST(AsyncFd, AsyncIoReturnsEcanceledOnShutdown) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  auto fd = std::make_unique<AsyncFd>(std::move(*r));
  JoinHandle<ssize_t> reader = spawn(async_read_once(fd.get()));
  KEEL_ASSERT_TRUE(co_await parked_on(reader, "AsyncFd::readable"));
  fd.reset();
  absl::StatusOr<ssize_t> n = co_await reader;
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, -1);
}

KEEL_TEST(AsyncFd, RegisteredFdsCountsRegistrations) {
  std::uint64_t base = registered_fds();
  Pair p1 = socket_pair(), p2 = socket_pair(), p3 = socket_pair();
  absl::StatusOr<AsyncFd> r1 = AsyncFd::create(p1.a);
  absl::StatusOr<AsyncFd> r2 = AsyncFd::create(p2.a);
  absl::StatusOr<AsyncFd> r3 = AsyncFd::create(p3.a);
  KEEL_ASSERT_OK(r1);
  KEEL_ASSERT_OK(r2);
  KEEL_ASSERT_OK(r3);
  EXPECT_EQ(registered_fds(), base + 3);
  {
    AsyncFd gone = std::move(*r1);
  }
  EXPECT_EQ(registered_fds(), base + 2);
  EXPECT_EQ(::fcntl(p1.a, F_GETFD), -1);  // dropping closed it
  // release() deregisters but hands the fd back open.
  int raw = r2->release();
  EXPECT_EQ(raw, p2.a);
  EXPECT_EQ(r2->fd(), -1);
  EXPECT_EQ(registered_fds(), base + 1);
  EXPECT_NE(::fcntl(raw, F_GETFD), -1);
  ::close(raw);
  // A moved-from AsyncFd owns nothing; the move target keeps the registration.
  AsyncFd moved = std::move(*r3);
  EXPECT_EQ(registered_fds(), base + 1);
  EXPECT_EQ(moved.fd(), p3.a);
  moved = AsyncFd(std::move(moved));
  EXPECT_EQ(registered_fds(), base + 1);
  {
    AsyncFd last = std::move(moved);
  }
  EXPECT_EQ(registered_fds(), base);
}

KEEL_TEST(AsyncFd, CreateFailsForAnFdEpollRefuses) {
  // A regular file cannot be registered with epoll.
  char path[] = "/tmp/keel_async_fd_test_XXXXXX";
  int f = ::mkstemp(path);
  KEEL_ASSERT_TRUE(f >= 0);
  ::unlink(path);
  std::uint64_t base = registered_fds();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(f);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "epoll_ctl")) << r.status();
  EXPECT_EQ(registered_fds(), base);
  ::close(f);
}

Task<void> spin_until(std::shared_ptr<std::atomic<bool>> stop,
                      std::shared_ptr<std::atomic<int>> progress) {
  while (!stop->load()) {
    progress->fetch_add(1);
    co_await yield_now();
  }
}

// A task that keeps awaiting an always-ready fd (and never consumes the data) runs out of its
// coop budget and yields, so a sibling task on the same thread keeps making progress
// (current_thread, and multi_thread with one worker).
KEEL_TEST(AsyncFd, CoopBudgetStopsAnAlwaysReadyLoopFromStarvingASibling) {
  Pair p = socket_pair();
  absl::StatusOr<AsyncFd> r = AsyncFd::create(p.a);
  KEEL_ASSERT_OK(r);
  AsyncFd fd = std::move(*r);
  EXPECT_TRUE(write_str(p.b.fd, "always readable"));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto progress = std::make_shared<std::atomic<int>>(0);
  JoinHandle<void> sibling = spawn(spin_until(stop, progress));
  KEEL_ASSERT_TRUE(co_await eventually([&] { return progress->load() > 0; }));
  int before = progress->load();
  for (int i = 0; i < 20 * detail::kCoopBudget; ++i) {
    ReadyGuard g = co_await fd.readable();
    EXPECT_TRUE(g.is_readable());
  }
  int after = progress->load();
  // Strictly checkable where both tasks share one thread (on four workers the sibling runs in
  // parallel anyway, at the OS scheduler's mercy).
  if (testing::flavor().workers == 1) {
    EXPECT_GT(after, before) << "the sibling never ran while the loop did on "
                             << testing::flavor().name;
  }
  stop->store(true);
  EXPECT_TRUE((co_await sibling).ok());
}

// Without enable_io() the runtime has no I/O driver to register with: create() says so.
TEST(AsyncFdNoIo, CreateFailsWithAClearStatus) {
  for (bool multi : {false, true}) {
    SCOPED_TRACE(multi ? "multi_thread" : "current_thread");
    Runtime::Builder b = multi ? Runtime::new_multi_thread() : Runtime::new_current_thread();
    if (multi) b.worker_threads(2);
    absl::StatusOr<Runtime> rt = b.enable_time().build();
    ASSERT_TRUE(rt.ok()) << rt.status();
    Pair p = socket_pair();
    absl::Status s = rt->block_on([](int fd) -> Task<absl::Status> {
      absl::StatusOr<AsyncFd> r = AsyncFd::create(fd);
      co_return r.status();
    }(p.a));
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "enable_io")) << s;
    EXPECT_EQ(rt->metrics().registered_fds, 0u);
    // create() owned the fd and closed it on failure.
    EXPECT_EQ(::fcntl(p.a, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
  }
}

// With busy_poll the driver thread polls epoll without blocking before it sleeps. Readiness
// that lands while it spins, timers due before the spin would end, and wake-ups from other
// threads (an eventfd event amid the spin) must all still be delivered, many times over: a
// lost eventfd reset or a spin that ignored the timer would hang one of the rounds.
Task<void> echo_one_byte(AsyncFd* fd) {
  for (;;) {
    ReadyGuard g = co_await fd->readable();
    char c;
    ssize_t n = ::read(fd->fd(), &c, 1);
    if (n == 1) {
      EXPECT_TRUE(write_str(fd->fd(), std::string(1, c)));
      co_return;
    }
    EXPECT_EQ(errno, EAGAIN) << std::strerror(errno);
    g.clear_ready();
  }
}

Task<void> ping_pong_while_busy_polling(AsyncFd* fd, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    co_await echo_one_byte(fd);
    // Shorter than the spin: the spin is cut to the timer's deadline.
    co_await sleep(std::chrono::microseconds(100));
  }
}

// The peer of the busy-poll tests: a plain thread with blocking I/O, so each byte lands while
// the runtime is parked or spinning, never from inside it. Sends a byte and waits for it to
// come back, `rounds` times.
std::thread start_ping_pong_peer(int fd, int rounds) {
  return std::thread([fd, rounds] {
    int flags = ::fcntl(fd, F_GETFL);
    ASSERT_EQ(::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), 0);
    for (int i = 0; i < rounds; ++i) {
      char c = static_cast<char>('a' + i % 26);
      ASSERT_EQ(::send(fd, &c, 1, MSG_NOSIGNAL), 1);
      char back = 0;
      ASSERT_EQ(::read(fd, &back, 1), 1);
      ASSERT_EQ(back, c);
    }
  });
}

TEST(AsyncFdBusyPoll, DeliversReadinessTimersAndRemoteWakeUps) {
  constexpr int kRounds = 200;
  for (bool multi : {false, true}) {
    SCOPED_TRACE(multi ? "multi_thread" : "current_thread");
    Runtime rt = testing::make_runtime({multi ? "multi_thread" : "current_thread", multi, 2},
                                       [](Runtime::Builder& b) {
                                         b.busy_poll(std::chrono::milliseconds(200));
                                       });
    Pair p = socket_pair();
    std::thread peer = start_ping_pong_peer(p.b.fd, kRounds);
    // Remote wake-ups: tasks spawned from a plain thread while the runtime waits.
    std::atomic<int> remote_ran{0};
    std::thread spawner([&rt, &remote_ran] {
      for (int i = 0; i < 50; ++i) {
        JoinHandle<void> h = rt.spawn([](std::atomic<int>* n) -> Task<void> {
          n->fetch_add(1);
          co_return;
        }(&remote_ran));
        (void)h;
      }
    });
    rt.block_on([](int fd, int rounds, std::atomic<int>* ran) -> Task<void> {
      absl::StatusOr<AsyncFd> r = AsyncFd::create(fd);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) co_return;
      AsyncFd afd = std::move(*r);
      co_await ping_pong_while_busy_polling(&afd, rounds);
      while (ran->load() < 50) co_await sleep(std::chrono::microseconds(100));
    }(p.a, kRounds, &remote_ran));
    peer.join();
    spawner.join();
    EXPECT_EQ(remote_ran.load(), 50);
  }
}

// The driver stops spinning when its parks outlast the budget (here: a task that sleeps on
// a timer far longer than the spin), and starts again when events come within it (a peer
// that answers at once). The counters say which parks spun.
TEST(AsyncFdBusyPoll, SpinsOnlyWhileEventsComeWithinTheBudget) {
  constexpr int kSleeps = 30;
  constexpr int kRounds = 300;
  for (bool multi : {false, true}) {
    SCOPED_TRACE(multi ? "multi_thread" : "current_thread");
    Runtime rt = testing::make_runtime({multi ? "multi_thread" : "current_thread", multi, 2},
                                       [](Runtime::Builder& b) {
                                         b.busy_poll(std::chrono::milliseconds(5));
                                       });
    rt.block_on([]() -> Task<void> {
      for (int i = 0; i < kSleeps; ++i) co_await sleep(std::chrono::milliseconds(20));
    }());
    RuntimeMetrics idle = rt.metrics();
    // Each park spun out its budget until the governor stopped it: some did, not all.
    EXPECT_GT(idle.busy_poll_missed_total, 0u);
    EXPECT_LT(idle.busy_poll_missed_total, static_cast<std::uint64_t>(kSleeps));

    Pair p = socket_pair();
    std::thread peer = start_ping_pong_peer(p.b.fd, kRounds);
    rt.block_on([](int fd) -> Task<void> {
      absl::StatusOr<AsyncFd> r = AsyncFd::create(fd);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) co_return;
      AsyncFd afd = std::move(*r);
      for (int i = 0; i < kRounds; ++i) co_await echo_one_byte(&afd);
    }(p.a));
    peer.join();
    EXPECT_GT(rt.metrics().busy_poll_caught_total, idle.busy_poll_caught_total);
  }
}

TEST(AsyncFdBusyPoll, BuilderRejectsABusyPollOutsideZeroToOneSecond) {
  for (Duration d : {Duration(-1), Duration(std::chrono::seconds(2))}) {
    absl::StatusOr<Runtime> rt = Runtime::new_current_thread().enable_all().busy_poll(d).build();
    ASSERT_FALSE(rt.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(rt.status())) << rt.status();
    EXPECT_TRUE(absl::StrContains(rt.status().message(), "busy_poll")) << rt.status();
  }
}

}  // namespace
}  // namespace keel
