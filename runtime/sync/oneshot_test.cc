// Tests of keel::sync::oneshot on every scheduler flavour: delivery, errors when either side
// goes away, close(), try_recv, cancellation of recv() and closed() mid-wait, and a
// cross-thread ping-pong / fan-in stress.

#include "runtime/sync/oneshot.h"

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
using testing::eventually;
using testing::settle;

Task<absl::StatusOr<int>> recv_int(oneshot::Receiver<int>* rx) { co_return co_await rx->recv(); }
Task<void> wait_closed(oneshot::Sender<int>* tx) { co_await tx->closed(); }

Task<void> send_after_yields(oneshot::Sender<int> tx, int v) {
  co_await settle(10);
  EXPECT_TRUE(tx.send(v).ok());
}

KEEL_TEST(Oneshot, SendThenRecv) {
  auto [tx, rx] = oneshot::channel<int>();
  EXPECT_FALSE(tx.is_closed());
  EXPECT_TRUE(tx.send(7).ok());
  EXPECT_FALSE(tx.valid());
  absl::StatusOr<int> v = co_await rx.recv();
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 7);
  // A second recv reports that the value is gone.
  absl::StatusOr<int> again = co_await rx.recv();
  EXPECT_FALSE(again.ok());
}

KEEL_TEST(Oneshot, RecvWaitsForSenderOnAnotherTask) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = spawn(send_after_yields(std::move(tx), 42));
  absl::StatusOr<int> v = co_await rx.recv();
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 42);
  KEEL_ASSERT_OK(co_await h);
}

Task<void> drop_after_yields(oneshot::Sender<int> tx) {
  co_await settle(10);
  (void)tx;
}

KEEL_TEST(Oneshot, SenderDroppedWithoutSendingIsAnError) {
  auto [tx, rx] = oneshot::channel<int>();
  auto h = spawn(drop_after_yields(std::move(tx)));
  absl::StatusOr<int> v = co_await rx.recv();
  EXPECT_TRUE(absl::IsFailedPrecondition(v.status())) << v.status();
  EXPECT_NE(std::string(v.status().message()).find("dropped without sending"), std::string::npos);
  KEEL_ASSERT_OK(co_await h);
  EXPECT_TRUE(rx.try_recv().is_closed());
}

KEEL_TEST(Oneshot, SendToDroppedReceiverGivesTheValueBack) {
  auto [tx, rx] = oneshot::channel<std::unique_ptr<int>>();
  { auto gone = std::move(rx); }
  EXPECT_TRUE(tx.is_closed());
  co_await tx.closed();  // completes at once
  oneshot::SendResult<std::unique_ptr<int>> r = tx.send(std::make_unique<int>(5));
  EXPECT_TRUE(r.is_closed());
  EXPECT_FALSE(r.status().ok());
  KEEL_ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r.take_value(), 5);
}

KEEL_TEST(Oneshot, CloseRefusesLaterSendsButKeepsAnEarlierValue) {
  {
    auto [tx, rx] = oneshot::channel<int>();
    auto closed = spawn(wait_closed(&tx));
    co_await settle(5);
    rx.close();
    KEEL_ASSERT_OK(co_await closed);
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send(1);
    EXPECT_TRUE(r.is_closed());
    EXPECT_EQ(r.value(), 1);
    absl::StatusOr<int> v = co_await rx.recv();
    EXPECT_FALSE(v.ok());
  }
  {
    auto [tx, rx] = oneshot::channel<int>();
    EXPECT_TRUE(tx.send(3).ok());
    rx.close();
    absl::StatusOr<int> v = co_await rx.recv();
    KEEL_ASSERT_OK(v);
    EXPECT_EQ(*v, 3);
  }
}

KEEL_TEST(Oneshot, TryRecvStates) {
  auto [tx, rx] = oneshot::channel<std::string>();
  EXPECT_TRUE(rx.try_recv().is_empty());
  EXPECT_TRUE(tx.send("hi").ok());
  auto r = rx.try_recv();
  KEEL_ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "hi");
  EXPECT_TRUE(rx.try_recv().is_closed());
}

// A recv destroyed mid-wait (timeout on the paused clock) leaves the channel usable and the
// value for the next receive.
KEEL_TEST(Oneshot, CancelledRecvLosesNothing) {
  time::pause();
  auto [tx, rx] = oneshot::channel<int>();
  auto t = recv_int(&rx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  EXPECT_FALSE(tx.is_closed());
  EXPECT_TRUE(tx.send(9).ok());
  auto again = co_await rx.recv();
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(*again, 9);
}

KEEL_TEST(Oneshot, CancelledRecvThenSenderDropWakesTheNextRecv) {
  time::pause();
  auto [tx, rx] = oneshot::channel<int>();
  auto t = recv_int(&rx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status()));
  auto h = spawn(drop_after_yields(std::move(tx)));
  auto v = co_await rx.recv();
  EXPECT_FALSE(v.ok());
  KEEL_ASSERT_OK(co_await h);
}

KEEL_TEST(Oneshot, CancelledClosedWaitThenCloseStillSeen) {
  time::pause();
  auto [tx, rx] = oneshot::channel<int>();
  auto t = wait_closed(&tx);
  auto r = co_await timeout(milliseconds(5), std::move(t));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r));
  auto h = spawn(wait_closed(&tx));
  co_await settle(5);
  { auto gone = std::move(rx); }
  KEEL_ASSERT_OK(co_await h);
  EXPECT_TRUE(tx.is_closed());
}

Task<int> answer_one(oneshot::Receiver<int> rx) {
  auto v = co_await rx.recv();
  co_return v.ok() ? *v : -1;
}

Task<void> echo_task(oneshot::Receiver<std::pair<int, oneshot::Sender<int>>> rx) {
  auto req = co_await rx.recv();
  if (!req.ok()) co_return;
  EXPECT_TRUE(req->second.send(req->first * 2).ok());
}

// Many round trips, each with two fresh oneshots, the responder on another task (another
// worker on multi_thread).
KEEL_TEST(Oneshot, PingPongStress) {
  using Req = std::pair<int, oneshot::Sender<int>>;
  constexpr int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    auto [req_tx, req_rx] = oneshot::channel<Req>();
    auto h = spawn(echo_task(std::move(req_rx)));
    auto [rep_tx, rep_rx] = oneshot::channel<int>();
    EXPECT_TRUE(req_tx.send(Req{i, std::move(rep_tx)}).ok());
    auto v = co_await rep_rx.recv();
    KEEL_ASSERT_OK(v);
    KEEL_ASSERT_TRUE(*v == 2 * i);
    KEEL_ASSERT_OK(co_await h);
  }
}

// Many concurrent receivers, each woken by a sender on another task.
KEEL_TEST(Oneshot, FanInStress) {
  constexpr int kN = 500;
  std::vector<JoinHandle<int>> handles;
  std::vector<oneshot::Sender<int>> senders;
  for (int i = 0; i < kN; ++i) {
    auto [tx, rx] = oneshot::channel<int>();
    handles.push_back(spawn(answer_one(std::move(rx))));
    senders.push_back(std::move(tx));
  }
  for (int i = 0; i < kN; ++i) {
    if (i % 3 == 0) {
      oneshot::Sender<int> gone = std::move(senders[i]);  // dropped unsent
    } else {
      EXPECT_TRUE(senders[i].send(i).ok());
    }
  }
  for (int i = 0; i < kN; ++i) {
    auto v = co_await handles[i];
    KEEL_ASSERT_OK(v);
    EXPECT_EQ(*v, i % 3 == 0 ? -1 : i);
  }
}

}  // namespace
}  // namespace keel::sync
