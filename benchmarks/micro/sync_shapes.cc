// The sync and channel shapes of Keel's micro benchmarks; each does the same work as the Tokio
// peer's shape of the same name (benchmarks/peers/tokio_micro/src/sync_shapes.rs). Every shape
// runs on the 2-worker multi_thread runtime, timed inside the driver task (see micro.cc).
//
//   mpsc_bounded      one value through mpsc::channel(1024), 1 producer task -> the driver,
//                     10,000,000 u64
//   mpsc_contended    the same with 4 producer tasks x 2,500,000
//   oneshot_pingpong  one round trip between two tasks, each hop a fresh oneshot, 1,000,000
//   mutex             one lock/increment/unlock of a Mutex<uint64_t>, 4 tasks x 1,000,000
//   notify_pingpong   one round trip between two tasks over two Notify, 1,000,000
//   broadcast_fanout  one value sent to 8 receiver tasks, 1,000,000 values (the ring is larger
//                     than the run, so nobody lags: this measures fan-out, not the lag path)
//   semaphore         one acquire/release of a 2-permit Semaphore, 4 tasks x 1,000,000
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "benchmarks/micro/harness.h"
#include "runtime/keel.h"
#include "runtime/sync/broadcast.h"
#include "runtime/sync/mpsc.h"
#include "runtime/sync/mutex.h"
#include "runtime/sync/notify.h"
#include "runtime/sync/oneshot.h"
#include "runtime/sync/semaphore.h"

namespace keel_micro {
namespace {

namespace sync = keel::sync;

constexpr std::size_t kMpscCapacity = 1024;
constexpr std::uint64_t kMpscMessages = 10'000'000;
constexpr std::uint64_t kContendedProducers = 4;
constexpr std::uint64_t kContendedPerProducer = 2'500'000;
constexpr std::uint64_t kPingPongRoundTrips = 1'000'000;
constexpr std::uint64_t kMutexTasks = 4;
constexpr std::uint64_t kMutexLocksPerTask = 1'000'000;
constexpr std::size_t kBroadcastReceivers = 8;
constexpr std::uint64_t kBroadcastMessages = 1'000'000;
// Larger than the message count: no receiver ever lags (the peer's value).
constexpr std::size_t kBroadcastCapacity = std::size_t{1} << 20;
constexpr std::uint64_t kSemaphoreTasks = 4;
constexpr std::uint64_t kSemaphoreAcquiresPerTask = 1'000'000;
// Fewer permits than tasks, so that acquirers sometimes wait.
constexpr std::size_t kSemaphorePermits = 2;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "micro: %s\n", what);
  std::abort();
}

// ---- mpsc_bounded, mpsc_contended ------------------------------------------------------------

keel::Task<void> produce(sync::mpsc::Sender<std::uint64_t> tx, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) check(co_await tx.send(i), "mpsc send");
}

keel::Task<keel::Duration> mpsc_bounded() {
  auto [tx, rx] = sync::mpsc::channel<std::uint64_t>(kMpscCapacity);
  const Clock::time_point start = Clock::now();
  (void)keel::spawn(produce(std::move(tx), kMpscMessages));
  std::uint64_t sum = 0;
  while (std::optional<std::uint64_t> v = co_await rx.recv()) sum += *v;
  const Clock::time_point end = Clock::now();
  if (sum != kMpscMessages * (kMpscMessages - 1) / 2) fail("mpsc_bounded: wrong sum");
  co_return end - start;
}

keel::Task<keel::Duration> mpsc_contended() {
  auto [tx, rx] = sync::mpsc::channel<std::uint64_t>(kMpscCapacity);
  const Clock::time_point start = Clock::now();
  for (std::uint64_t p = 0; p < kContendedProducers; ++p) {
    (void)keel::spawn(produce(tx, kContendedPerProducer));
  }
  { auto last = std::move(tx); }  // the channel closes when the producers finish
  std::uint64_t count = 0;
  while ((co_await rx.recv()).has_value()) ++count;
  const Clock::time_point end = Clock::now();
  if (count != kContendedProducers * kContendedPerProducer) fail("mpsc_contended: lost values");
  co_return end - start;
}

// ---- oneshot_pingpong -------------------------------------------------------------------------

// The ball: the sender on which the other side answers.
struct Ball {
  sync::oneshot::Sender<Ball> reply;
};

keel::Task<void> ponger(sync::oneshot::Receiver<Ball> rx, std::uint64_t round_trips) {
  for (std::uint64_t i = 0; i < round_trips; ++i) {
    absl::StatusOr<Ball> ball = co_await rx.recv();
    check(ball.status(), "oneshot recv (ponger)");
    auto [tx, next_rx] = sync::oneshot::channel<Ball>();
    rx = std::move(next_rx);
    if (!ball->reply.send(Ball{std::move(tx)}).ok()) fail("the pinger stopped listening");
  }
}

keel::Task<keel::Duration> oneshot_pingpong() {
  auto [to_ponger, ponger_rx] = sync::oneshot::channel<Ball>();
  auto pong = keel::spawn(ponger(std::move(ponger_rx), kPingPongRoundTrips));
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < kPingPongRoundTrips; ++i) {
    auto [tx, rx] = sync::oneshot::channel<Ball>();
    if (!to_ponger.send(Ball{std::move(tx)}).ok()) fail("the ponger stopped listening");
    absl::StatusOr<Ball> ball = co_await rx.recv();
    check(ball.status(), "oneshot recv (pinger)");
    to_ponger = std::move(ball->reply);
  }
  const Clock::time_point end = Clock::now();
  check(co_await pong, "the ponger failed");
  co_return end - start;
}

// ---- mutex ------------------------------------------------------------------------------------

keel::Task<void> lock_loop(std::shared_ptr<sync::Mutex<std::uint64_t>> counter, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    sync::MutexGuard<std::uint64_t> guard = co_await counter->lock();
    ++*guard;
  }
}

keel::Task<keel::Duration> mutex() {
  auto counter = std::make_shared<sync::Mutex<std::uint64_t>>(0);
  std::vector<keel::JoinHandle<void>> handles;
  handles.reserve(kMutexTasks);
  const Clock::time_point start = Clock::now();
  for (std::uint64_t t = 0; t < kMutexTasks; ++t) {
    handles.push_back(keel::spawn(lock_loop(counter, kMutexLocksPerTask)));
  }
  for (keel::JoinHandle<void>& h : handles) check(co_await h, "a mutex task failed");
  const Clock::time_point end = Clock::now();
  if (counter->get_mut() != kMutexTasks * kMutexLocksPerTask) fail("mutex: lost increments");
  co_return end - start;
}

// ---- notify_pingpong --------------------------------------------------------------------------

keel::Task<void> notify_ponger(std::shared_ptr<sync::Notify> ping,
                               std::shared_ptr<sync::Notify> pong, std::uint64_t round_trips) {
  for (std::uint64_t i = 0; i < round_trips; ++i) {
    co_await ping->notified();
    pong->notify_one();
  }
}

keel::Task<keel::Duration> notify_pingpong() {
  auto ping = std::make_shared<sync::Notify>();
  auto pong = std::make_shared<sync::Notify>();
  auto ponger_task = keel::spawn(notify_ponger(ping, pong, kPingPongRoundTrips));
  const Clock::time_point start = Clock::now();
  for (std::uint64_t i = 0; i < kPingPongRoundTrips; ++i) {
    ping->notify_one();
    co_await pong->notified();
  }
  const Clock::time_point end = Clock::now();
  check(co_await ponger_task, "the ponger failed");
  co_return end - start;
}

// ---- broadcast_fanout -------------------------------------------------------------------------

keel::Task<std::uint64_t> broadcast_receiver(sync::broadcast::Receiver<std::uint64_t> rx) {
  std::uint64_t count = 0;
  for (;;) {
    auto r = co_await rx.recv();
    if (r.ok()) {
      ++count;
      continue;
    }
    if (r.error() == sync::broadcast::RecvError::kClosed) co_return count;
    fail("broadcast_fanout: a receiver lagged");
  }
}

keel::Task<keel::Duration> broadcast_fanout() {
  auto [tx, first] = sync::broadcast::channel<std::uint64_t>(kBroadcastCapacity);
  std::vector<sync::broadcast::Receiver<std::uint64_t>> receivers;
  receivers.reserve(kBroadcastReceivers);
  receivers.push_back(std::move(first));
  while (receivers.size() < kBroadcastReceivers) receivers.push_back(tx.subscribe());
  std::vector<keel::JoinHandle<std::uint64_t>> handles;
  handles.reserve(kBroadcastReceivers);
  const Clock::time_point start = Clock::now();
  for (auto& rx : receivers) handles.push_back(keel::spawn(broadcast_receiver(std::move(rx))));
  for (std::uint64_t i = 0; i < kBroadcastMessages; ++i) {
    if (!tx.send(i).ok()) fail("broadcast_fanout: every receiver is gone");
  }
  { auto last = std::move(tx); }
  for (auto& h : handles) {
    absl::StatusOr<std::uint64_t> count = co_await h;
    check(count.status(), "a broadcast receiver failed");
    if (*count != kBroadcastMessages) fail("broadcast_fanout: a receiver missed values");
  }
  co_return Clock::now() - start;
}

// ---- semaphore --------------------------------------------------------------------------------

keel::Task<void> acquire_loop(std::shared_ptr<sync::Semaphore> semaphore, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    absl::StatusOr<sync::SemaphorePermit> permit = co_await semaphore->acquire();
    check(permit.status(), "semaphore acquire");
  }
}

keel::Task<keel::Duration> semaphore() {
  auto sem = std::make_shared<sync::Semaphore>(kSemaphorePermits);
  std::vector<keel::JoinHandle<void>> handles;
  handles.reserve(kSemaphoreTasks);
  const Clock::time_point start = Clock::now();
  for (std::uint64_t t = 0; t < kSemaphoreTasks; ++t) {
    handles.push_back(keel::spawn(acquire_loop(sem, kSemaphoreAcquiresPerTask)));
  }
  for (keel::JoinHandle<void>& h : handles) check(co_await h, "a semaphore task failed");
  co_return Clock::now() - start;
}

void bm_mpsc_bounded(benchmark::State& state) {
  run_shape(state, kMpscMessages, multi_thread_runtime, [] { return mpsc_bounded(); });
}
void bm_mpsc_contended(benchmark::State& state) {
  run_shape(state, kContendedProducers * kContendedPerProducer, multi_thread_runtime,
            [] { return mpsc_contended(); });
}
void bm_oneshot_pingpong(benchmark::State& state) {
  run_shape(state, kPingPongRoundTrips, multi_thread_runtime, [] { return oneshot_pingpong(); });
}
void bm_mutex(benchmark::State& state) {
  run_shape(state, kMutexTasks * kMutexLocksPerTask, multi_thread_runtime,
            [] { return mutex(); });
}
void bm_notify_pingpong(benchmark::State& state) {
  run_shape(state, kPingPongRoundTrips, multi_thread_runtime, [] { return notify_pingpong(); });
}
void bm_broadcast_fanout(benchmark::State& state) {
  run_shape(state, kBroadcastMessages, multi_thread_runtime, [] { return broadcast_fanout(); });
}
void bm_semaphore(benchmark::State& state) {
  run_shape(state, kSemaphoreTasks * kSemaphoreAcquiresPerTask, multi_thread_runtime,
            [] { return semaphore(); });
}

}  // namespace

std::vector<Shape> sync_shapes() {
  return {
      {"mpsc_bounded", bm_mpsc_bounded},       {"mpsc_contended", bm_mpsc_contended},
      {"oneshot_pingpong", bm_oneshot_pingpong}, {"mutex", bm_mutex},
      {"notify_pingpong", bm_notify_pingpong}, {"broadcast_fanout", bm_broadcast_fanout},
      {"semaphore", bm_semaphore},
  };
}

}  // namespace keel_micro
