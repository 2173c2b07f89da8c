// Tests of keel::sync::broadcast on every scheduler flavour: every receiver sees every value,
// subscription point, send with no receiver, lagging (exact count), close detection, sender
// copies, cancellation of recv mid-wait, and a multi-receiver stress with exact accounting.

#include "runtime/sync/broadcast.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::sync {
namespace {

using std::chrono::milliseconds;
using testing::settle;

Task<broadcast::RecvResult<int>> recv_one(broadcast::Receiver<int>* rx) {
  co_return co_await rx->recv();
}

KEEL_TEST(Broadcast, EveryReceiverSeesEveryValue) {
  auto [tx, rx1] = broadcast::channel<std::string>(8);
  auto rx2 = tx.subscribe();
  EXPECT_EQ(tx.receiver_count(), 2u);
  auto s = tx.send("a");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.receivers(), 2u);
  EXPECT_TRUE(tx.send("b").ok());
  for (auto* rx : {&rx1, &rx2}) {
    auto a = co_await rx->recv();
    auto b = co_await rx->recv();
    KEEL_ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.value(), "a");
    EXPECT_EQ(b.value(), "b");
    EXPECT_TRUE(rx->try_recv().is_empty());
  }
  // A late subscriber only sees later values.
  auto rx3 = tx.subscribe();
  EXPECT_TRUE(rx3.try_recv().is_empty());
  EXPECT_TRUE(tx.send("c").ok());
  auto c = rx3.try_recv();
  KEEL_ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value(), "c");
  co_return;
}

KEEL_TEST(Broadcast, SendWithoutReceiversGivesTheValueBack) {
  auto [tx, rx] = broadcast::channel<int>(4);
  { auto gone = std::move(rx); }
  EXPECT_EQ(tx.receiver_count(), 0u);
  auto r = tx.send(5);
  EXPECT_TRUE(r.is_closed());
  EXPECT_EQ(r.take_value(), 5);
  // Subscribing again revives it; the refused value was not stored.
  auto rx2 = tx.subscribe();
  EXPECT_TRUE(rx2.try_recv().is_empty());
  co_return;
}

KEEL_TEST(Broadcast, LaggingReceiverGetsTheExactSkipCount) {
  auto [tx, rx] = broadcast::channel<int>(4);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(tx.send(i).ok());
  auto r = co_await rx.recv();
  EXPECT_TRUE(r.is_lagged());
  EXPECT_EQ(r.lagged(), 6u);  // 0..5 overwritten; 6..9 kept
  EXPECT_TRUE(absl::IsDataLoss(r.status()));
  for (int i = 6; i < 10; ++i) {
    auto v = co_await rx.recv();
    KEEL_ASSERT_TRUE(v.ok());
    EXPECT_EQ(v.value(), i);
  }
  EXPECT_TRUE(rx.try_recv().is_empty());
  // Lagging again, through try_recv, after partially reading.
  for (int i = 10; i < 15; ++i) EXPECT_TRUE(tx.send(i).ok());
  auto t = rx.try_recv();
  EXPECT_TRUE(t.is_lagged());
  EXPECT_EQ(t.lagged(), 1u);
  auto v = rx.try_recv();
  KEEL_ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 11);
}

KEEL_TEST(Broadcast, ClosedAfterTheLastSenderOnceDrained) {
  auto [tx, rx] = broadcast::channel<int>(4);
  broadcast::Sender<int> copy = tx;
  EXPECT_TRUE(tx.send(1).ok());
  { auto gone = std::move(tx); }
  EXPECT_TRUE(copy.send(2).ok());
  { auto gone = std::move(copy); }
  EXPECT_EQ((co_await rx.recv()).value(), 1);
  EXPECT_EQ((co_await rx.recv()).value(), 2);
  auto c = co_await rx.recv();
  EXPECT_TRUE(c.is_closed());
  EXPECT_TRUE(rx.try_recv().is_closed());
}

Task<void> send_later(broadcast::Sender<int> tx, int v) {
  co_await settle(10);
  EXPECT_TRUE(tx.send(v).ok());
}
Task<void> drop_later(broadcast::Sender<int> tx) {
  co_await settle(10);
  (void)tx;
}

KEEL_TEST(Broadcast, RecvWaitsForSendAndForClose) {
  auto [tx, rx] = broadcast::channel<int>(4);
  auto h = spawn(send_later(tx, 3));
  auto v = co_await rx.recv();
  KEEL_ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 3);
  KEEL_ASSERT_OK(co_await h);
  auto d = spawn(drop_later(std::move(tx)));
  EXPECT_TRUE((co_await rx.recv()).is_closed());
  KEEL_ASSERT_OK(co_await d);
}

KEEL_TEST(Broadcast, CancelledRecvLosesNothing) {
  time::pause();
  auto [tx, rx] = broadcast::channel<int>(4);
  auto t = recv_one(&rx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_TRUE(tx.send(8).ok());
  auto v = co_await rx.recv();
  KEEL_ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 8);
  // Waking a cancelled waiter's slot does no harm: send again after another cancellation.
  auto t2 = recv_one(&rx);
  auto r2 = co_await timeout(milliseconds(5), std::move(t2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r2.status()));
  EXPECT_TRUE(tx.send(9).ok());
  EXPECT_EQ(rx.try_recv().value(), 9);
}

constexpr int kMessages = 10000;
constexpr int kReceivers = 8;

struct Progress {
  std::atomic<int> count[8] = {};
  std::atomic<bool> failed{false};
  int min() const {
    int m = count[0].load();
    for (const auto& c : count) m = std::min(m, c.load());
    return m;
  }
};

// Receives until closed; true when it saw 0..kMessages-1 in order (the sender keeps within
// capacity of the slowest receiver, so nothing lags).
Task<bool> receive_all(broadcast::Receiver<int> rx, std::shared_ptr<Progress> progress, int id) {
  int next = 0;
  for (;;) {
    auto r = co_await rx.recv();
    if (r.is_closed()) break;
    if (!r.ok() || r.value() != next) {
      ADD_FAILURE() << "receiver " << id << " want " << next << ": "
                    << (r.ok() ? std::to_string(r.value()) : r.status().ToString());
      progress->failed.store(true);
      co_return false;
    }
    ++next;
    progress->count[id].fetch_add(1);
  }
  co_return next == kMessages;
}

KEEL_TEST(Broadcast, StressFanOutExactAccounting) {
  constexpr int kCapacity = 64;
  static_assert(kReceivers == 8);
  auto [tx, rx0] = broadcast::channel<int>(kCapacity);
  auto progress = std::make_shared<Progress>();
  std::vector<JoinHandle<bool>> hs;
  for (int i = 0; i < kReceivers; ++i) {
    hs.push_back(spawn(receive_all(tx.subscribe(), progress, i)));
  }
  { auto gone = std::move(rx0); }
  for (int i = 0; i < kMessages && !progress->failed.load(); ++i) {
    // Stay within capacity of the slowest receiver: never lag.
    while (i - progress->min() >= kCapacity && !progress->failed.load()) co_await yield_now();
    auto s = tx.send(i);
    KEEL_ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.receivers(), static_cast<std::uint64_t>(kReceivers));
  }
  { auto gone = std::move(tx); }
  for (auto& h : hs) {
    auto ok = co_await h;
    KEEL_ASSERT_OK(ok);
    EXPECT_TRUE(*ok);
  }
  EXPECT_EQ(progress->min(), kMessages);
}

// Receivers that fall behind on purpose: each sees values in increasing order, and the values
// it saw plus the lag counts it was told add up to exactly everything sent.
Task<bool> receive_with_lag(broadcast::Receiver<int> rx) {
  std::uint64_t seen = 0;
  std::uint64_t skipped = 0;
  int last = -1;
  for (int n = 0;; ++n) {
    if (n % 7 == 0) co_await yield_now();
    auto r = co_await rx.recv();
    if (r.is_closed()) break;
    if (r.is_lagged()) {
      skipped += r.lagged();
      continue;
    }
    if (r.value() <= last) co_return false;
    last = r.value();
    ++seen;
  }
  co_return seen + skipped == static_cast<std::uint64_t>(kMessages);
}

KEEL_TEST(Broadcast, StressLaggingAccounting) {
  auto [tx, rx0] = broadcast::channel<int>(4);
  std::vector<JoinHandle<bool>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(spawn(receive_with_lag(tx.subscribe())));
  { auto gone = std::move(rx0); }
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_TRUE(tx.send(i).ok());
    if (i % 5 == 0) co_await yield_now();
  }
  { auto gone = std::move(tx); }
  for (auto& h : hs) {
    auto ok = co_await h;
    KEEL_ASSERT_OK(ok);
    EXPECT_TRUE(*ok);
  }
}

}  // namespace
}  // namespace keel::sync
