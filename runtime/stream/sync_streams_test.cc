// Streams over the real keel::sync channels: from_receiver with mpsc (bounded and unbounded),
// from_broadcast and from_watch; values, end, lag, and cancellation of the consumer's next().

#include "runtime/stream/sync_streams.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/stream/adapters.h"
#include "runtime/stream/test_sources.h"
#include "runtime/sync/mpsc.h"
#include "runtime/test/keel_test.h"

namespace keel::stream {
namespace {

using std::chrono::milliseconds;
using testing::drain_impatiently;

static_assert(Receiver<sync::mpsc::Receiver<int>>);
static_assert(Receiver<sync::mpsc::UnboundedReceiver<int>>);

template <class... I>
std::vector<int> ints(I... xs) {
  std::vector<int> out;
  (out.push_back(xs), ...);
  return out;
}

Task<void> send_spaced(sync::mpsc::Sender<int> tx, int n, Duration gap) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(gap);
    absl::Status s = co_await tx.send(i);
    EXPECT_TRUE(s.ok()) << s;
  }
}

KEEL_TEST(SyncStreams, MpscFromReceiverCancellationSafe) {
  time::pause();
  auto [tx, rx] = sync::mpsc::channel<int>(2);
  auto producer = spawn(send_spaced(std::move(tx), 5, milliseconds(10)));
  auto s = map(from_receiver(std::move(rx)), [](int x) { return x * 10; });
  int gave_up = 0;
  std::vector<int> got = co_await drain_impatiently(s, milliseconds(3), &gave_up);
  EXPECT_EQ(got, ints(0, 10, 20, 30, 40));
  EXPECT_GT(gave_up, 0);
  co_await producer;
  time::resume();
}

Task<void> send_unbounded(sync::mpsc::UnboundedSender<int> tx, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    (void)tx.send(i);
    if (i % 9 == 0) co_await yield_now();
  }
}
Task<void> yield_once() { co_await yield_now(); }

// Unbounded mpsc channels from several tasks merged into one stream; the consumer's next()
// loses a select to yield_now() often: every value arrives once, each source in order.
KEEL_TEST(SyncStreams, MergedUnboundedChannelsStress) {
  constexpr int kSources = 3;
  constexpr int kPer = 2000;
  std::vector<Stream<int>> sources;
  std::vector<JoinHandle<void>> producers;
  for (int p = 0; p < kSources; ++p) {
    auto [tx, rx] = sync::mpsc::unbounded_channel<int>();
    sources.push_back(from_receiver(std::move(rx)));
    producers.push_back(spawn(send_unbounded(std::move(tx), p * kPer, kPer)));
  }
  auto m = merge(std::move(sources));
  std::vector<int> last(kSources, -1);
  int received = 0;
  int out_of_order = 0;
  for (;;) {
    Task<std::optional<int>> next = next_task(m);
    Task<void> yield = yield_once();
    auto r = co_await select(std::move(next), std::move(yield));
    if (r.index() == 1) continue;
    std::optional<int> v = std::get<0>(std::move(r));
    if (!v.has_value()) break;  // every sender gone and every value received
    int p = *v / kPer;
    int expected = last[p] == -1 ? p * kPer : last[p] + 1;
    if (*v != expected) ++out_of_order;
    last[p] = *v;
    ++received;
  }
  for (auto& h : producers) co_await h;
  EXPECT_EQ(received, kSources * kPer);
  EXPECT_EQ(out_of_order, 0);
}

KEEL_TEST(SyncStreams, BroadcastYieldsValuesLagAndEnd) {
  auto [tx, rx] = sync::broadcast::channel<int>(2);
  auto s = from_broadcast(std::move(rx));
  for (int i = 0; i < 5; ++i) (void)tx.send(i);  // the receiver keeps only the last 2
  {
    auto dropped = std::move(tx);
  }
  std::vector<int> values;
  int lagged = 0;
  while (auto r = co_await s.next()) {
    if (r->ok()) {
      values.push_back(**r);
    } else {
      EXPECT_TRUE(absl::IsDataLoss(r->status())) << r->status();
      ++lagged;
    }
  }
  EXPECT_EQ(lagged, 1);
  EXPECT_EQ(values, ints(3, 4));
}

Task<void> broadcast_spaced(sync::broadcast::Sender<int> tx, int n, Duration gap) {
  for (int i = 0; i < n; ++i) {
    co_await sleep(gap);
    (void)tx.send(i);
  }
}

KEEL_TEST(SyncStreams, BroadcastCancellationSafe) {
  time::pause();
  auto [tx, rx] = sync::broadcast::channel<int>(16);
  auto producer = spawn(broadcast_spaced(std::move(tx), 5, milliseconds(10)));
  auto s = map(from_broadcast(std::move(rx)), [](absl::StatusOr<int> r) { return r.value_or(-1); });
  int gave_up = 0;
  std::vector<int> got = co_await drain_impatiently(s, milliseconds(3), &gave_up);
  EXPECT_EQ(got, ints(0, 1, 2, 3, 4));
  EXPECT_GT(gave_up, 0);
  co_await producer;
  time::resume();
}

Task<void> watch_spaced(sync::watch::Sender<int> tx, int n, Duration gap) {
  for (int i = 1; i <= n; ++i) {
    co_await sleep(gap);
    (void)tx.send(i);
  }
}

KEEL_TEST(SyncStreams, WatchYieldsCurrentThenChangesCancellationSafe) {
  time::pause();
  auto [tx, rx] = sync::watch::channel<int>(0);
  auto producer = spawn(watch_spaced(std::move(tx), 4, milliseconds(10)));
  auto s = from_watch(std::move(rx));
  int gave_up = 0;
  // Sends 10 ms apart, each awaited by the consumer: no change coalesces.
  std::vector<int> got = co_await drain_impatiently(s, milliseconds(3), &gave_up);
  EXPECT_EQ(got, ints(0, 1, 2, 3, 4));
  EXPECT_GT(gave_up, 0);
  co_await producer;
  time::resume();
}

}  // namespace
}  // namespace keel::stream
