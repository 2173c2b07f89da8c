// Tests of keel::signal on every flavour: fan-out to several listeners, coalescing of bursts,
// ctrl_c, the stream form, cancellation of a pending recv(), forbidden signals, and the
// forwarding handler of a thread that does not block the signal.
//
// Signals are sent to the process with kill(getpid(), ...), never to a thread. Each test uses
// its own signal so that a delivery cannot leak from one test into another.

#include "runtime/signal/signal.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using testing::eventually;
using testing::settle;

// Blocked before main, so every thread of the test (runtimes, blocking pools) inherits it.
const bool kBlocked =
    signal::block_for_listening({SIGUSR1, SIGUSR2, SIGINT, SIGHUP, SIGWINCH, SIGALRM, SIGURG}).ok();

Task<std::optional<int>> recv_task(signal::Signal* s) { co_return co_await s->recv(); }
Task<int> ready_now() { co_return 7; }

void send(int signo) { ASSERT_EQ(kill(getpid(), signo), 0); }

// Whether `signo` is still pending in the kernel (not yet read by the signalfd).
bool kernel_pending(int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigpending(&set);
  return sigismember(&set, signo);
}

TEST(SignalSetup, BlockedBeforeMain) { EXPECT_TRUE(kBlocked); }

KEEL_TEST(Signal, EveryListenerGetsEveryDelivery) {
  absl::StatusOr<signal::Signal> a = signal::signal(SIGUSR1);
  absl::StatusOr<signal::Signal> b = signal::signal(SIGUSR1);
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  EXPECT_EQ(a->signo(), SIGUSR1);
  for (int round = 0; round < 3; ++round) {
    send(SIGUSR1);
    std::optional<int> ra = co_await a->recv();
    std::optional<int> rb = co_await b->recv();
    EXPECT_EQ(ra, SIGUSR1);
    EXPECT_EQ(rb, SIGUSR1);
  }
  co_return;
}

KEEL_TEST(Signal, ListenersInOtherTasksWake) {
  absl::StatusOr<signal::Signal> a = signal::signal(SIGUSR2);
  absl::StatusOr<signal::Signal> b = signal::signal(SIGUSR2);
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  auto ha = spawn(recv_task(&*a));
  auto hb = spawn(recv_task(&*b));
  co_await settle(20);
  EXPECT_FALSE(ha.is_finished());
  send(SIGUSR2);
  absl::StatusOr<std::optional<int>> ra = co_await ha;
  absl::StatusOr<std::optional<int>> rb = co_await hb;
  KEEL_ASSERT_OK(ra);
  KEEL_ASSERT_OK(rb);
  EXPECT_EQ(*ra, SIGUSR2);
  EXPECT_EQ(*rb, SIGUSR2);
}

KEEL_TEST(Signal, BurstsCoalescePerListener) {
  absl::StatusOr<signal::Signal> s = signal::signal(SIGHUP);
  KEEL_ASSERT_OK(s);
  for (int i = 0; i < 3; ++i) send(SIGHUP);
  // Wait until the pump has read every delivery out of the kernel.
  KEEL_ASSERT_TRUE(co_await eventually([] { return !kernel_pending(SIGHUP); }));
  co_await settle(10);
  EXPECT_EQ(co_await s->recv(), SIGHUP);
  // All three were consumed by that one recv().
  auto second = recv_task(&*s);
  auto r = co_await select(std::move(second), testing::settle(50));
  EXPECT_EQ(r.index(), 1u);
  // And the listener still works.
  send(SIGHUP);
  EXPECT_EQ(co_await s->recv(), SIGHUP);
}

KEEL_TEST(Signal, CtrlC) {
  std::size_t before = signal::detail::listener_count(SIGINT);
  auto h = spawn(signal::ctrl_c());
  KEEL_ASSERT_TRUE(co_await eventually(
      [before] { return signal::detail::listener_count(SIGINT) == before + 1; }));
  EXPECT_FALSE(h.is_finished());
  send(SIGINT);
  absl::StatusOr<absl::Status> r = co_await h;
  KEEL_ASSERT_OK(r);
  EXPECT_TRUE(r->ok()) << *r;
  EXPECT_EQ(signal::detail::listener_count(SIGINT), before);
}

KEEL_TEST(Signal, CancelledRecvLosesNothing) {
  absl::StatusOr<signal::Signal> s = signal::signal(SIGWINCH);
  KEEL_ASSERT_OK(s);
  // A recv() that loses a select while waiting is destroyed mid-wait.
  auto waiting = recv_task(&*s);
  auto r = co_await select(std::move(waiting), ready_now());
  EXPECT_EQ(r.index(), 1u);
  // A recv() that times out on the paused clock.
  time::pause();
  auto timed = recv_task(&*s);
  auto t = co_await timeout(std::chrono::seconds(5), std::move(timed));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t.status()));
  time::resume();
  // The next delivery still arrives.
  send(SIGWINCH);
  EXPECT_EQ(co_await s->recv(), SIGWINCH);

  // A delivery racing with the abort of the task waiting for it is received exactly once:
  // either by that task or by the next recv().
  auto h = spawn(recv_task(&*s));
  co_await settle(10);
  send(SIGWINCH);
  KEEL_ASSERT_TRUE(co_await eventually([] { return !kernel_pending(SIGWINCH); }));
  h.abort();
  absl::StatusOr<std::optional<int>> got = co_await h;
  bool in_task = got.ok();
  if (in_task) {
    EXPECT_EQ(*got, SIGWINCH);
  }
  auto next = recv_task(&*s);
  auto r2 = co_await select(std::move(next), testing::settle(50));
  EXPECT_EQ(r2.index() == 0, !in_task) << "delivered to the task: " << in_task;
}

KEEL_TEST(Signal, IntoStream) {
  absl::StatusOr<signal::Signal> s = signal::signal(SIGALRM);
  KEEL_ASSERT_OK(s);
  Stream<int> st = std::move(*s).into_stream();
  // A next() that loses a select leaves the stream usable.
  auto lost = next_task(st);
  auto r = co_await select(std::move(lost), ready_now());
  EXPECT_EQ(r.index(), 1u);
  send(SIGALRM);
  EXPECT_EQ(co_await st.next(), SIGALRM);
  send(SIGALRM);
  EXPECT_EQ(co_await st.next(), SIGALRM);
}

KEEL_TEST(Signal, DroppedListenerStopsReceiving) {
  std::size_t before = signal::detail::listener_count(SIGURG);
  {
    absl::StatusOr<signal::Signal> s = signal::signal(SIGURG);
    KEEL_ASSERT_OK(s);
    EXPECT_EQ(signal::detail::listener_count(SIGURG), before + 1);
    signal::Signal moved = std::move(*s);
    EXPECT_EQ(s->signo(), 0);
    EXPECT_EQ(co_await s->recv(), std::nullopt);  // a moved-from Signal
    EXPECT_EQ(signal::detail::listener_count(SIGURG), before + 1);
  }
  EXPECT_EQ(signal::detail::listener_count(SIGURG), before);
  // Deliveries with no listener are read and dropped (the signal stays blocked).
  send(SIGURG);
  KEEL_ASSERT_TRUE(co_await eventually([] { return !kernel_pending(SIGURG); }));
}

KEEL_TEST(Signal, ForbiddenSignals) {
  for (int bad : {0, -1, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, 32, NSIG}) {
    absl::StatusOr<signal::Signal> s = signal::signal(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << bad << ": " << s.status();
  }
  EXPECT_TRUE(absl::IsInvalidArgument(signal::block_for_listening({SIGINT, SIGKILL})));
  co_return;
}

// A thread that does not block the signal catches it in the forwarding handler, which blocks
// it there and re-sends it to the process: the listener still receives it.
KEEL_TEST(Signal, ThreadThatDoesNotBlockForwards) {
  const int sig = SIGRTMIN + 3;  // not blocked by kBlocked
  absl::StatusOr<signal::Signal> s = signal::signal(sig);
  KEEL_ASSERT_OK(s);
  // The thread parks in pthread_cond_wait (through std::condition_variable): a blocking
  // call that ThreadSanitizer intercepts, so that it runs the handler at once.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool unblocked = false;
    bool stop = false;
  } shared;
  std::thread th([&shared] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN + 3);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::unique_lock<std::mutex> lock(shared.mu);
    shared.unblocked = true;
    shared.cv.notify_all();
    shared.cv.wait(lock, [&shared] { return shared.stop; });
  });
  {
    std::unique_lock<std::mutex> lock(shared.mu);
    shared.cv.wait(lock, [&shared] { return shared.unblocked; });
  }
  // Thread-directed, at a thread that does not block it: its handler forwards it.
  EXPECT_EQ(pthread_kill(th.native_handle(), sig), 0);
  std::optional<int> got = co_await s->recv();
  EXPECT_EQ(got, sig);
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.stop = true;
  }
  shared.cv.notify_all();
  th.join();
}

}  // namespace
}  // namespace keel
