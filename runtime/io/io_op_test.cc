// Tests of IoOp (AsyncFd::io_op), the allocation-free syscall awaiter, on every flavour, over
// non-blocking Unix socket pairs: a ready op completes without suspending; a pending op
// completes when data arrives; two readers racing for one message (the loser's wake-up is
// stale: it re-parks and gets the next message); a cancelled op consumes nothing; dropping
// the AsyncFd under a pending op completes it with ECANCELED; errors come back with their
// errno; the coop budget makes a loop of ready ops yield.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::milliseconds;

struct Pair {
  AsyncFd a;  // registered
  int b;      // the peer, written to directly
};

Pair socket_pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << std::strerror(errno);
    std::abort();
  }
  absl::StatusOr<AsyncFd> a = AsyncFd::create(sv[0]);
  if (!a.ok()) std::abort();
  return Pair{std::move(*a), sv[1]};
}

// One recv of up to `max` bytes through an IoOp.
Task<std::string> recv_op(AsyncFd& fd, std::size_t max) {
  std::string buf(max, '\0');
  auto op = fd.io_op(Interest::kReadable, "test recv",
                     [f = fd.fd(), &buf] { return ::recv(f, buf.data(), buf.size(), 0); });
  detail::IoResult r = co_await op;
  if (!r.ok()) co_return std::string("errno ") + std::strerror(r.error);
  buf.resize(static_cast<std::size_t>(r.value));
  co_return buf;
}

bool send_str(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

KEEL_TEST(IoOp, CompletesWhenDataArrives) {
  Pair p = socket_pair();
  auto reader = spawn(recv_op(p.a, 100));
  co_await testing::settle();
  EXPECT_FALSE(reader.is_finished());  // nothing was written: it cannot have finished
  KEEL_ASSERT_TRUE(send_str(p.b, "hello"));
  absl::StatusOr<std::string> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "hello");
  // Data already there: the op completes in await_ready.
  KEEL_ASSERT_TRUE(send_str(p.b, "again"));
  co_await testing::settle();  // let the driver report the readiness
  EXPECT_EQ(co_await recv_op(p.a, 100), "again");
  ::close(p.b);
}

KEEL_TEST(IoOp, RacingReadersEachGetOneMessage) {
  // Two readers wait on one fd; one message wakes both (readiness is per fd), one of them
  // takes it, and the other must see EAGAIN, re-park, and take the second message.
  Pair p = socket_pair();
  auto r1 = spawn(recv_op(p.a, 1));
  auto r2 = spawn(recv_op(p.a, 1));
  co_await testing::settle();
  KEEL_ASSERT_TRUE(send_str(p.b, "x"));
  bool one = co_await testing::eventually([&] { return r1.is_finished() || r2.is_finished(); });
  KEEL_ASSERT_TRUE(one);
  co_await testing::settle();
  EXPECT_FALSE(r1.is_finished() && r2.is_finished()) << "one byte cannot satisfy two reads";
  KEEL_ASSERT_TRUE(send_str(p.b, "y"));
  absl::StatusOr<std::string> a = co_await r1;
  absl::StatusOr<std::string> b = co_await r2;
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  EXPECT_EQ(*a + *b == "xy" || *a + *b == "yx", true) << *a << *b;
  ::close(p.b);
}

KEEL_TEST(IoOp, CancelledOpConsumesNothing) {
  time::pause();
  Pair p = socket_pair();
  absl::StatusOr<std::string> r = co_await timeout(milliseconds(10), recv_op(p.a, 100));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  KEEL_ASSERT_TRUE(send_str(p.b, "kept"));
  EXPECT_EQ(co_await recv_op(p.a, 100), "kept");
  ::close(p.b);
}

Task<std::string> recv_then_report(std::shared_ptr<Pair> p) { co_return co_await recv_op(p->a, 10); }

KEEL_TEST(IoOp, DroppedFdCancelsAPendingOp) {
  auto p = std::make_shared<Pair>(socket_pair());
  auto reader = spawn(recv_then_report(p));
  // Parked on the op, not merely not finished: a reader not yet polled would build its op
  // from the moved-from AsyncFd below.
  KEEL_ASSERT_TRUE(co_await testing::parked_on(reader, "test recv"));
  { AsyncFd gone = std::move(p->a); }  // deregisters and closes under the waiting op
  absl::StatusOr<std::string> got = co_await reader;
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, std::string("errno ") + std::strerror(ECANCELED));
  ::close(p->b);
}

KEEL_TEST(IoOp, ErrorsKeepTheirErrno) {
  Pair p = socket_pair();
  ::close(p.b);
  co_await testing::settle();
  auto op = p.a.io_op(Interest::kWritable, "test send", [f = p.a.fd()] {
    return ::send(f, "x", 1, MSG_NOSIGNAL);
  });
  detail::IoResult r = co_await op;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, EPIPE);
}

Task<int> count_ready_ops(AsyncFd& fd, int n) {
  int done = 0;
  for (int i = 0; i < n; ++i) {
    auto op = fd.io_op(Interest::kWritable, "test send", [f = fd.fd()] { return ::send(f, "", 0, MSG_NOSIGNAL); });
    detail::IoResult r = co_await op;
    if (r.ok()) ++done;
  }
  co_return done;
}

Task<void> set_flag(std::shared_ptr<bool> flag) {
  *flag = true;
  co_return;
}

KEEL_TEST(IoOp, ReadyOpsSpendTheCoopBudget) {
  // Always-ready ops in a loop: the budget makes the task yield, so a sibling task spawned on
  // this worker runs before the loop ends (on current_thread this is the only way it can).
  Pair p = socket_pair();
  co_await testing::settle();  // writable readiness reported
  auto flag = std::make_shared<bool>(false);
  auto sibling = spawn(set_flag(flag));
  int n = co_await count_ready_ops(p.a, 10 * detail::kCoopBudget);
  EXPECT_EQ(n, 10 * detail::kCoopBudget);
  if (!testing::flavor().multi_thread) {
    EXPECT_TRUE(*flag);
  }
  KEEL_ASSERT_OK(co_await sibling);
  ::close(p.b);
}

}  // namespace
}  // namespace keel
