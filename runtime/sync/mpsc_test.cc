// Tests of keel::sync::mpsc (bounded and unbounded) on every scheduler flavour: FIFO order,
// try_send/try_recv states, close detection on both ends, sender copies, permits, FIFO service
// of waiting senders, cancellation of send/reserve/recv mid-wait (including a permit granted
// to a send that is then cancelled), and multi-producer stress with exact accounting.

#include "runtime/sync/mpsc.h"

#include <atomic>
#include <memory>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/sync/oneshot.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::eventually;
using testing::settle;

Task<void> produce(mpsc::Sender<int> tx, int from, int n) {
  for (int i = 0; i < n; ++i) EXPECT_TRUE((co_await tx.send(from + i)).ok());
}
Task<absl::Status> send_one(mpsc::Sender<int> tx, int v) { co_return co_await tx.send(v); }
// For timeout(): StatusOr<absl::Status> would hold the deadline error as a value.
Task<bool> send_ok(mpsc::Sender<int> tx, int v) { co_return (co_await tx.send(v)).ok(); }
Task<std::optional<int>> recv_one(mpsc::Receiver<int>* rx) { co_return co_await rx->recv(); }
Task<std::optional<int>> urecv_one(mpsc::UnboundedReceiver<int>* rx) {
  co_return co_await rx->recv();
}
Task<bool> reserve_and_hold(mpsc::Sender<int> tx) {
  auto p = co_await tx.reserve();
  co_return p.ok();
}
Task<void> wait_closed(mpsc::Sender<int> tx) { co_await tx.closed(); }
Task<void> wait_oneshot(oneshot::Receiver<int>* rx) { (void)co_await rx->recv(); }
Task<void> yield_once() { co_await yield_now(); }

KEEL_TEST(Mpsc, DeliversInFifoOrderThroughASmallBuffer) {
  auto [tx, rx] = mpsc::channel<int>(4);
  auto h = spawn(produce(tx, 0, 1000));
  tx = mpsc::Sender<int>();  // only the producer's copy is left
  for (int i = 0; i < 1000; ++i) {
    std::optional<int> v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.has_value());
    KEEL_ASSERT_TRUE(*v == i);
  }
  EXPECT_FALSE((co_await rx.recv()).has_value());  // last sender gone, drained
  KEEL_ASSERT_OK(co_await h);
}

KEEL_TEST(Mpsc, TrySendDistinguishesFullAndClosed) {
  auto [tx, rx] = mpsc::channel<std::unique_ptr<int>>(2);
  EXPECT_TRUE(tx.try_send(std::make_unique<int>(1)).ok());
  EXPECT_TRUE(tx.try_send(std::make_unique<int>(2)).ok());
  EXPECT_EQ(rx.len(), 2u);
  auto full = tx.try_send(std::make_unique<int>(3));
  EXPECT_TRUE(full.is_full());
  EXPECT_TRUE(absl::IsUnavailable(full.status()));
  EXPECT_EQ(*full.take_value(), 3);
  rx.close();
  EXPECT_TRUE(tx.is_closed());
  auto closed = tx.try_send(std::make_unique<int>(4));
  EXPECT_TRUE(closed.is_closed());
  EXPECT_EQ(*closed.take_value(), 4);
  // Buffered values survive close().
  auto a = co_await rx.recv();
  auto b = co_await rx.recv();
  KEEL_ASSERT_TRUE(a && b);
  EXPECT_EQ(**a, 1);
  EXPECT_EQ(**b, 2);
  EXPECT_FALSE((co_await rx.recv()).has_value());
  EXPECT_TRUE(rx.try_recv().is_closed());
}

KEEL_TEST(Mpsc, TryRecvDistinguishesEmptyAndDisconnected) {
  auto [tx, rx] = mpsc::channel<int>(8);
  EXPECT_TRUE(rx.try_recv().is_empty());
  EXPECT_TRUE(tx.try_send(5).ok());
  auto r = rx.try_recv();
  KEEL_ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 5);
  EXPECT_TRUE(tx.try_send(6).ok());
  { auto gone = std::move(tx); }
  auto last = rx.try_recv();
  KEEL_ASSERT_TRUE(last.ok());
  EXPECT_EQ(last.value(), 6);
  EXPECT_TRUE(rx.try_recv().is_closed());
}

KEEL_TEST(Mpsc, ChannelStaysOpenUntilTheLastSenderCopyIsGone) {
  auto [tx, rx] = mpsc::channel<int>(8);
  mpsc::Sender<int> copy = tx;
  EXPECT_TRUE(copy.same_channel(tx));
  { auto gone = std::move(tx); }
  EXPECT_TRUE(rx.try_recv().is_empty());
  KEEL_ASSERT_OK(co_await copy.send(1));
  mpsc::Sender<int> third = copy;
  { auto gone = std::move(copy); }
  EXPECT_EQ(*(co_await rx.recv()), 1);
  EXPECT_TRUE(rx.try_recv().is_empty());
  { auto gone = std::move(third); }
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

KEEL_TEST(Mpsc, SendFailsOnceTheReceiverIsGoneAndClosedCompletes) {
  auto [tx, rx] = mpsc::channel<int>(1);
  KEEL_ASSERT_OK(co_await tx.send(1));
  auto blocked = spawn(send_one(tx, 2));   // waits: full
  auto closed = spawn(wait_closed(tx));
  EXPECT_TRUE(co_await eventually([&tx] { return tx.waiting_senders() == 1; }));
  { auto gone = std::move(rx); }
  auto s = co_await blocked;
  KEEL_ASSERT_OK(s);
  EXPECT_TRUE(absl::IsFailedPrecondition(*s)) << *s;
  KEEL_ASSERT_OK(co_await closed);
  EXPECT_TRUE(tx.is_closed());
  EXPECT_FALSE((co_await tx.send(3)).ok());
  EXPECT_FALSE(tx.try_reserve().ok());
}

KEEL_TEST(Mpsc, PermitSendsWithoutWaitingAndUnusedPermitReturnsItsSlot) {
  auto [tx, rx] = mpsc::channel<int>(2);
  {
    auto p = co_await tx.reserve();
    KEEL_ASSERT_OK(p);
    EXPECT_EQ(tx.available(), 1u);
  }
  EXPECT_EQ(tx.available(), 2u);
  auto p1 = co_await tx.reserve();
  auto p2 = tx.try_reserve();
  KEEL_ASSERT_OK(p1);
  KEEL_ASSERT_OK(p2);
  EXPECT_TRUE(tx.try_send(9).is_full());
  p2->send(2);
  p1->send(1);
  EXPECT_EQ(*(co_await rx.recv()), 2);
  EXPECT_EQ(*(co_await rx.recv()), 1);
  // A permit keeps the channel open for the receiver after the senders are gone.
  auto p3 = tx.try_reserve();
  KEEL_ASSERT_OK(p3);
  { auto gone = std::move(tx); }
  EXPECT_TRUE(rx.try_recv().is_empty());
  p3->send(3);
  EXPECT_EQ(*(co_await rx.recv()), 3);
  EXPECT_FALSE((co_await rx.recv()).has_value());
}

KEEL_TEST(Mpsc, WaitingSendersAreServedInFifoOrder) {
  auto [tx, rx] = mpsc::channel<int>(1);
  KEEL_ASSERT_OK(co_await tx.send(0));
  std::vector<JoinHandle<absl::Status>> senders;
  for (int i = 1; i <= 5; ++i) {
    senders.push_back(spawn(send_one(tx, i)));
    std::size_t want = static_cast<std::size_t>(i);
    EXPECT_TRUE(co_await eventually([&tx, want] { return tx.waiting_senders() == want; }));
  }
  for (int i = 0; i <= 5; ++i) {
    std::optional<int> v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, i);
  }
  for (auto& h : senders) KEEL_ASSERT_OK(co_await h);
}

// A send waiting for capacity that is cancelled never enqueues its value.
KEEL_TEST(Mpsc, CancelledQueuedSendNeverEnqueues) {
  time::pause();
  auto [tx, rx] = mpsc::channel<int>(1);
  KEEL_ASSERT_OK(co_await tx.send(1));
  auto t = send_ok(tx, 2);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(tx.waiting_senders(), 0u);
  auto later = spawn(send_one(tx, 3));
  EXPECT_EQ(*(co_await rx.recv()), 1);
  EXPECT_EQ(*(co_await rx.recv()), 3);
  EXPECT_TRUE(rx.try_recv().is_empty());
  KEEL_ASSERT_OK(co_await later);
}

Task<void> complete_then_free_slot(oneshot::Sender<int> done, mpsc::Receiver<int>* rx,
                                   std::shared_ptr<std::atomic<int>> first) {
  EXPECT_TRUE(done.send(1).ok());  // wakes branch 0 first
  std::optional<int> v = co_await rx->recv();  // grants the permit to branch 1
  first->store(v ? *v : -1);
}

Task<std::size_t> select_index(oneshot::Receiver<int>* done, mpsc::Sender<int> tx) {
  auto b0 = wait_oneshot(done);
  auto b1 = send_one(tx, 100);
  auto r = co_await select(std::move(b0), std::move(b1));
  if (r.index() == 1) {
    EXPECT_TRUE(std::get<1>(r).ok());
  }
  co_return r.index();
}

// The hand-off case: a permit granted to a waiting send whose task then drops the send (the
// other select branch won) goes to the next waiting sender; the cancelled value never shows up.
// On current_thread the order is deterministic; elsewhere the send may also win, so the check
// is the accounting: a value arrives exactly when its send reported OK.
KEEL_TEST(Mpsc, PermitGrantedToCancelledSendGoesToTheNextSender) {
  auto [tx, rx] = mpsc::channel<int>(1);
  KEEL_ASSERT_OK(co_await tx.send(0));
  auto [done_tx, done_rx] = oneshot::channel<int>();
  auto first = std::make_shared<std::atomic<int>>(-2);
  // Our select: branch 0 waits on the oneshot, branch 1 sends 100 (queued: full).
  auto sel = select_index(&done_rx, tx);
  // A second sender queued behind ours, and a helper that completes branch 0 then frees a slot.
  auto next = spawn(send_one(tx, 200));
  mpsc::Receiver<int>* rxp = &rx;
  // The helper must start after both sends are queued: spawn it from inside a branch-free task
  // once the select has parked. We poll the select first by awaiting it in a join with a
  // starter task.
  auto starter = [](mpsc::Sender<int> tx2, oneshot::Sender<int> done2, mpsc::Receiver<int>* rx2,
                    std::shared_ptr<std::atomic<int>> first2) -> Task<void> {
    co_await eventually([&tx2] { return tx2.waiting_senders() == 2; });
    auto h = spawn(complete_then_free_slot(std::move(done2), rx2, first2));
    (void)co_await h;
  };
  auto st = starter(tx, std::move(done_tx), rxp, first);
  auto [sel_result, unused] = co_await join(std::move(sel), std::move(st));
  (void)unused;
  bool ours_sent = sel_result == 1;
  EXPECT_EQ(first->load(), 0);
  if (!testing::flavor().multi_thread) {
    EXPECT_FALSE(ours_sent);
  }
  // Drain: exactly 200, plus 100 (before it) iff our send went through.
  std::vector<int> got;
  for (;;) {
    std::optional<int> v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.has_value());
    got.push_back(*v);
    if (*v == 200) break;
  }
  KEEL_ASSERT_OK(co_await next);
  EXPECT_TRUE(rx.try_recv().is_empty());
  std::vector<int> want = ours_sent ? std::vector<int>{100, 200} : std::vector<int>{200};
  EXPECT_EQ(got, want);
  EXPECT_EQ(tx.available(), 1u);
  EXPECT_EQ(tx.waiting_senders(), 0u);
}

// reserve() cancelled while queued, and a Permit dropped unused: the slot comes back.
KEEL_TEST(Mpsc, CancelledReserveReturnsItsSlot) {
  time::pause();
  auto [tx, rx] = mpsc::channel<int>(1);
  {
    auto p = co_await tx.reserve();
    KEEL_ASSERT_OK(p);
    auto t = reserve_and_hold(tx);
    auto r = co_await timeout(milliseconds(5), std::move(t));
    EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
    EXPECT_EQ(tx.waiting_senders(), 0u);
    auto waiter = spawn(reserve_and_hold(tx));
    EXPECT_TRUE(co_await eventually([&tx] { return tx.waiting_senders() == 1; }));
    // Dropping `p` unused grants its slot to the waiter, which drops it too.
    { mpsc::Permit<int> dropped = std::move(*p); }
    auto got = co_await waiter;
    KEEL_ASSERT_OK(got);
    EXPECT_TRUE(*got);
  }
  EXPECT_EQ(tx.available(), 1u);
  EXPECT_TRUE(rx.try_recv().is_empty());
}

// A recv cancelled mid-wait loses no item.
KEEL_TEST(Mpsc, CancelledRecvLosesNothing) {
  time::pause();
  auto [tx, rx] = mpsc::channel<int>(4);
  auto t = recv_one(&rx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  KEEL_ASSERT_OK(co_await tx.send(11));
  EXPECT_EQ(*(co_await rx.recv()), 11);
  // And a recv that lost a select to a ready branch, with an item arriving meanwhile.
  auto [utx, urx] = mpsc::unbounded_channel<int>();
  auto t2 = urecv_one(&urx);
  auto r2 = co_await timeout(milliseconds(5), std::move(t2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r2.status()));
  EXPECT_TRUE(utx.send(12).ok());
  EXPECT_EQ(*(co_await urx.recv()), 12);
}

KEEL_TEST(MpscUnbounded, FifoCloseAndValueGivenBack) {
  auto [tx, rx] = mpsc::unbounded_channel<std::unique_ptr<int>>();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(tx.send(std::make_unique<int>(i)).ok());
  EXPECT_EQ(rx.len(), 100u);
  for (int i = 0; i < 50; ++i) {
    auto v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.has_value());
    EXPECT_EQ(**v, i);
  }
  rx.close();
  EXPECT_TRUE(tx.is_closed());
  co_await tx.closed();
  auto r = tx.send(std::make_unique<int>(-1));
  EXPECT_TRUE(r.is_closed());
  EXPECT_EQ(*r.take_value(), -1);
  for (int i = 50; i < 100; ++i) {
    auto v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.has_value());
    EXPECT_EQ(**v, i);
  }
  EXPECT_FALSE((co_await rx.recv()).has_value());
  EXPECT_TRUE(rx.try_recv().is_closed());
}

Task<void> uproduce(mpsc::UnboundedSender<int> tx, int from, int n) {
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(tx.send(from + i).ok());
    if (i % 64 == 0) co_await yield_now();
  }
}

KEEL_TEST(MpscUnbounded, SendersDroppedEndTheStream) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  EXPECT_TRUE(rx.try_recv().is_empty());
  auto h = spawn(uproduce(tx, 0, 10));
  { auto gone = std::move(tx); }
  int n = 0;
  while (auto v = co_await rx.recv()) EXPECT_EQ(*v, n++);
  EXPECT_EQ(n, 10);
  KEEL_ASSERT_OK(co_await h);
}

constexpr int kProducers = 4;
constexpr int kPerProducer = 10000;

// Checks per-producer order and that every item arrived exactly once.
template <class Rx>
Task<bool> consume_all(Rx* rx) {
  std::vector<int> next(kProducers, 0);
  int total = 0;
  while (auto v = co_await rx->recv()) {
    int p = *v / kPerProducer;
    int i = *v % kPerProducer;
    if (p < 0 || p >= kProducers || next[p] != i) {
      ADD_FAILURE() << "out of order: producer " << p << " item " << i;
      co_return false;
    }
    ++next[p];
    ++total;
  }
  co_return total == kProducers * kPerProducer;
}

KEEL_TEST(Mpsc, StressManyProducersExactAccounting) {
  auto [tx, rx] = mpsc::channel<int>(16);
  std::vector<JoinHandle<void>> hs;
  for (int p = 0; p < kProducers; ++p) hs.push_back(spawn(produce(tx, p * kPerProducer, kPerProducer)));
  { auto gone = std::move(tx); }
  EXPECT_TRUE(co_await consume_all(&rx));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await h);
}

KEEL_TEST(MpscUnbounded, StressManyProducersExactAccounting) {
  auto [tx, rx] = mpsc::unbounded_channel<int>();
  std::vector<JoinHandle<void>> hs;
  for (int p = 0; p < kProducers; ++p) {
    hs.push_back(spawn(uproduce(tx, p * kPerProducer, kPerProducer)));
  }
  { auto gone = std::move(tx); }
  EXPECT_TRUE(co_await consume_all(&rx));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await h);
}

// Producers whose sends are raced against a ready branch: every value whose send reported OK
// arrives exactly once, none of the cancelled ones do.
Task<int> racing_producer(mpsc::Sender<int> tx, int from, int n) {
  int sent = 0;
  for (int i = 0; i < n; ++i) {
    auto s = send_one(tx, from + i);
    auto y = yield_once();
    auto r = co_await select(std::move(s), std::move(y));
    if (r.index() == 0) {
      EXPECT_TRUE(std::get<0>(r).ok());
      ++sent;
    }
  }
  co_return sent;
}

KEEL_TEST(Mpsc, StressCancelledSendsAreNeverDelivered) {
  auto [tx, rx] = mpsc::channel<int>(2);
  std::vector<JoinHandle<int>> hs;
  for (int p = 0; p < kProducers; ++p) hs.push_back(spawn(racing_producer(tx, p * 1000, 1000)));
  { auto gone = std::move(tx); }
  std::vector<int> last(kProducers, -1);
  int received = 0;
  while (auto v = co_await rx.recv()) {
    int p = *v / 1000;
    EXPECT_GT(*v % 1000, last[p]);  // per-producer order, no duplicates
    last[p] = *v % 1000;
    ++received;
  }
  int sent = 0;
  for (auto& h : hs) {
    auto n = co_await h;
    KEEL_ASSERT_OK(n);
    sent += *n;
  }
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace keel::sync
