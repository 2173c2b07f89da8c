// Tests of keel::sync::watch on every scheduler flavour: borrow/changed, coalescing, send with
// no receiver, send_replace/send_modify, receiver copies with their own versions, close
// detection on both ends, cancellation of changed() and closed() mid-wait, and a stress test.

#include <cstdio>
#include "runtime/sync/watch.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::eventually;
using testing::settle;

Task<bool> changed_ok(watch::Receiver<int>* rx) { co_return (co_await rx->changed()).ok(); }
Task<void> wait_closed(watch::Sender<int>* tx) { co_await tx->closed(); }

KEEL_TEST(Watch, BorrowChangedAndCoalescing) {
  auto [tx, rx] = watch::channel<int>(1);
  EXPECT_EQ(*rx.borrow(), 1);
  EXPECT_FALSE(*rx.has_changed());
  EXPECT_TRUE(tx.send(2).ok());
  EXPECT_TRUE(tx.send(3).ok());
  EXPECT_TRUE(*rx.has_changed());
  {
    auto r = rx.borrow();
    EXPECT_TRUE(r.has_changed());
    EXPECT_EQ(*r, 3);
  }
  KEEL_ASSERT_OK(co_await rx.changed());  // one change for two sends: coalesced
  EXPECT_EQ(*rx.borrow(), 3);
  EXPECT_FALSE(*rx.has_changed());
  tx.send_modify([](int& v) { v += 10; });
  {
    auto r = rx.borrow_and_update();
    EXPECT_TRUE(r.has_changed());
    EXPECT_EQ(*r, 13);
  }
  EXPECT_FALSE(*rx.has_changed());
  EXPECT_EQ(tx.send_replace(20), 13);
  EXPECT_FALSE(tx.send_if_modified([](int&) { return false; }));
  EXPECT_TRUE(*rx.has_changed());
  KEEL_ASSERT_OK(co_await rx.changed());
  EXPECT_EQ(*rx.borrow(), 20);
}

KEEL_TEST(Watch, ReceiverCopiesTrackTheirOwnVersion) {
  auto [tx, rx] = watch::channel<std::string>("a");
  EXPECT_TRUE(tx.send("b").ok());
  watch::Receiver<std::string> copy = rx;
  EXPECT_EQ(tx.receiver_count(), 2u);
  KEEL_ASSERT_OK(co_await rx.changed());
  EXPECT_FALSE(*rx.has_changed());
  EXPECT_TRUE(*copy.has_changed());  // the copy has not seen "b" yet
  auto sub = tx.subscribe();
  EXPECT_FALSE(*sub.has_changed());  // a subscriber has seen the current value
  EXPECT_EQ(tx.receiver_count(), 3u);
  co_return;
}

KEEL_TEST(Watch, SendWithoutReceiversFailsAndStoresNothing) {
  auto [tx, rx] = watch::channel<int>(1);
  { auto gone = std::move(rx); }
  EXPECT_TRUE(tx.is_closed());
  co_await tx.closed();
  auto r = tx.send(5);
  EXPECT_TRUE(r.is_closed());
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(*tx.borrow(), 1);
  EXPECT_EQ(tx.send_replace(6), 1);  // send_replace stores regardless
  EXPECT_EQ(*tx.borrow(), 6);
}

Task<void> send_later(watch::Sender<int>* tx, int v) {
  co_await settle(10);
  EXPECT_TRUE(tx->send(v).ok());
}

KEEL_TEST(Watch, ChangedWaitsAndSenderDropEndsIt) {
  auto [tx, rx] = watch::channel<int>(0);
  auto h = spawn(send_later(&tx, 1));
  KEEL_ASSERT_OK(co_await rx.changed());
  EXPECT_EQ(*rx.borrow(), 1);
  KEEL_ASSERT_OK(co_await h);
  // An unseen value is reported before the close.
  EXPECT_TRUE(tx.send(2).ok());
  { auto gone = std::move(tx); }
  EXPECT_FALSE(rx.has_changed().ok());
  KEEL_ASSERT_OK(co_await rx.changed());
  EXPECT_EQ(*rx.borrow(), 2);
  absl::Status s = co_await rx.changed();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
}

KEEL_TEST(Watch, CancelledChangedLosesNothing) {
  time::pause();
  auto [tx, rx] = watch::channel<int>(0);
  auto t = changed_ok(&rx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_TRUE(tx.send(1).ok());
  EXPECT_TRUE(*rx.has_changed());
  KEEL_ASSERT_OK(co_await rx.changed());
  EXPECT_EQ(*rx.borrow(), 1);
}

KEEL_TEST(Watch, CancelledClosedWaitThenReceiversGone) {
  time::pause();
  auto [tx, rx] = watch::channel<int>(0);
  auto t = wait_closed(&tx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r));
  auto h = spawn(wait_closed(&tx));
  watch::Receiver<int> copy = rx;
  { auto gone = std::move(rx); }
  co_await settle(5);
  EXPECT_FALSE(h.is_finished());
  { auto gone = std::move(copy); }
  KEEL_ASSERT_OK(co_await h);
}

constexpr int kUpdates = 10000;

// Watches until the sender is gone; values must never go backwards and the last one seen must
// be the final value.
Task<bool> watch_until_closed(watch::Receiver<int> rx) {
  int last = *rx.borrow_and_update();
  for (;;) {
    absl::Status s = co_await rx.changed();
    if (!s.ok()) break;
    int v = *rx.borrow_and_update();
    if (v < last) co_return false;
    last = v;
  }
  co_return last == kUpdates;
}

// Also the regression test of a lost wake-up: a sender's notify_rx() unlinks every parked
// watcher, including one that parked after the bump being announced; that watcher, polled with
// nothing new, must park again rather than assume it is still linked.
KEEL_TEST(Watch, StressManyWatchersSeeTheFinalValue) {
  auto [tx, rx] = watch::channel<int>(0);
  std::vector<JoinHandle<bool>> hs;
  for (int i = 0; i < 8; ++i) hs.push_back(spawn(watch_until_closed(rx)));
  for (int i = 1; i <= kUpdates; ++i) {
    if (i % 2) {
      EXPECT_TRUE(tx.send(i).ok());
    } else {
      tx.send_modify([](int& v) { ++v; });
    }
    if (i % 16 == 0) co_await yield_now();
  }
  { auto gone = std::move(tx); }
  for (auto& h : hs) {
    bool done = co_await eventually([&h] { return h.is_finished(); }, std::chrono::seconds(20));
    // On failure, show where every watcher waits.
    if (!done) std::fprintf(stderr, "%s\n", Handle::current().dump().c_str());
    KEEL_ASSERT_TRUE(done);
    auto ok = co_await h;
    KEEL_ASSERT_OK(ok);
    EXPECT_TRUE(*ok);
  }
}

}  // namespace
}  // namespace keel::sync
