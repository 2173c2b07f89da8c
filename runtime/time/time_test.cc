// Tests of sleep, sleep_until, interval, timeout and the paused test clock, on every flavour.
//
// Every test that looks at instants pauses the clock first: the runtime then moves time only
// through time::advance() or by auto-advancing to the next timer when every task is idle, so
// the instants a test sees are exact. Waiting for other tasks is done by yielding (a task that
// yields is never idle, so the paused clock stays put meanwhile), with a bound on the number
// of yields so that a broken runtime fails the test instead of hanging it.

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

using Counter = std::shared_ptr<std::atomic<int>>;
Counter make_counter() { return std::make_shared<std::atomic<int>>(0); }

using testing::eventually;
using testing::settle;

std::uint64_t timers_active() { return Handle::current().metrics().timers_active; }

// Sets its flag when destroyed: shows that a cancelled task's frame was torn down.
struct DropFlag {
  std::shared_ptr<std::atomic<bool>> flag;
  ~DropFlag() {
    if (flag) flag->store(true);
  }
};

Task<void> sleep_then_count(Duration d, Counter fired) {
  co_await sleep(d);
  fired->fetch_add(1);
}

Task<void> sleep_until_then_count(Instant deadline, Counter fired) {
  co_await sleep_until(deadline);
  fired->fetch_add(1);
}

KEEL_TEST(Time, PausedHourLongSleepCompletesAtOnce) {
  time::pause();
  EXPECT_TRUE(time::is_paused());
  Instant start = Instant::now();
  co_await sleep(hours(1));
  EXPECT_EQ(Instant::now() - start, hours(1));
  EXPECT_EQ(timers_active(), 0u);
  // And again from there: the clock keeps counting from where it stopped.
  co_await sleep(milliseconds(1));
  EXPECT_EQ(Instant::now() - start, hours(1) + milliseconds(1));
}

KEEL_TEST(Time, PausedClockStandsStillWhileTasksRun) {
  time::pause();
  Instant start = Instant::now();
  for (int i = 0; i < 100; ++i) co_await yield_now();
  EXPECT_EQ(Instant::now(), start);
  time::resume();
  EXPECT_FALSE(time::is_paused());
  EXPECT_GE(Instant::now(), start);
}

// Resuming after the paused clock moved on: time does not go back, and new timers fire by
// the real clock again (they used to wait for the real time to catch up with the advance).
KEEL_TEST(Time, ResumeAfterAdvanceContinuesFromThePausedInstant) {
  time::pause();
  co_await sleep(hours(1));
  Instant paused_at = Instant::now();
  time::resume();
  EXPECT_GE(Instant::now(), paused_at);
  co_await sleep(milliseconds(1));
  EXPECT_GE(Instant::now(), paused_at + milliseconds(1));
  Instant deadline = Instant::now() + milliseconds(2);
  co_await sleep_until(deadline);
  EXPECT_GE(Instant::now(), deadline);
  // Pausing again starts from there.
  time::pause();
  Instant repaused = Instant::now();
  EXPECT_GE(repaused, deadline);
  co_await sleep(seconds(5));
  EXPECT_EQ(Instant::now() - repaused, seconds(5));
  EXPECT_EQ(timers_active(), 0u);
}

KEEL_TEST(Time, AdvanceFiresExactlyTheTimersDue) {
  time::pause();
  Counter fired = make_counter();
  std::vector<JoinHandle<void>> hs;
  for (int ms : {10, 20, 30, 40, 50}) hs.push_back(spawn(sleep_then_count(milliseconds(ms), fired)));
  // Every sleeper registers its timer (its deadline is taken from the clock when it starts).
  KEEL_ASSERT_TRUE(co_await eventually([] { return timers_active() == 5u; }));
  Instant start = Instant::now();

  co_await time::advance(milliseconds(25));
  EXPECT_EQ(Instant::now() - start, milliseconds(25));
  if (!testing::flavor().multi_thread) {
    // On current_thread, advance() lets the woken tasks run before it returns.
    EXPECT_EQ(fired->load(), 2);
  }
  EXPECT_TRUE(co_await eventually([&] { return fired->load() == 2; }));
  co_await settle();
  EXPECT_EQ(fired->load(), 2);
  EXPECT_EQ(timers_active(), 3u);

  co_await time::advance(milliseconds(4));  // 29 ms: nothing due
  co_await settle();
  EXPECT_EQ(fired->load(), 2);

  co_await time::advance(milliseconds(1));  // 30 ms: exactly the third one
  EXPECT_TRUE(co_await eventually([&] { return fired->load() == 3; }));
  co_await settle();
  EXPECT_EQ(fired->load(), 3);

  co_await time::advance(seconds(1));
  EXPECT_TRUE(co_await eventually([&] { return fired->load() == 5; }));
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
  EXPECT_EQ(timers_active(), 0u);
  EXPECT_EQ(Instant::now() - start, milliseconds(30) + seconds(1));
}

// More timers due at one tick than the driver wakes in one batch (32): all of them fire, at
// that tick.
KEEL_TEST(Time, AdvanceFiresEveryTimerDueAtTheSameTick) {
  time::pause();
  constexpr int kSleepers = 100;
  Counter fired = make_counter();
  Instant deadline = Instant::now() + milliseconds(10);
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < kSleepers; ++i) hs.push_back(spawn(sleep_until_then_count(deadline, fired)));
  KEEL_ASSERT_TRUE(co_await eventually([] { return timers_active() == kSleepers; }));
  co_await time::advance(milliseconds(10));
  EXPECT_TRUE(co_await eventually([&] { return fired->load() == kSleepers; }))
      << fired->load() << " of " << kSleepers << " fired";
  EXPECT_EQ(timers_active(), 0u);
  EXPECT_EQ(Instant::now(), deadline);
  for (auto& h : hs) h.abort();
}

Task<Duration> sleep_and_measure(Instant start, Duration d) {
  co_await sleep_until(start + d);
  co_return Instant::now() - start;
}

// The same through auto-advance: every one of many sleepers with one deadline wakes with the
// clock exactly at that deadline.
KEEL_TEST(Time, ManySleepersWithOneDeadlineWakeAtIt) {
  time::pause();
  Instant start = Instant::now();
  std::vector<JoinHandle<Duration>> hs;
  for (int i = 0; i < 100; ++i) hs.push_back(spawn(sleep_and_measure(start, seconds(1))));
  for (auto& h : hs) {
    absl::StatusOr<Duration> d = co_await h;
    KEEL_ASSERT_OK(d);
    EXPECT_EQ(*d, seconds(1));
  }
  EXPECT_EQ(Instant::now() - start, seconds(1));
}

struct WakeLog {
  std::mutex mu;
  std::vector<Duration> order;
};

Task<void> sleep_and_log(Instant start, Duration d, std::shared_ptr<WakeLog> log) {
  co_await sleep_until(start + d);
  Duration at = Instant::now() - start;
  EXPECT_EQ(at, d);
  std::lock_guard lock(log->mu);
  log->order.push_back(d);
}

KEEL_TEST(Time, ManySleepersWakeInDeadlineOrder) {
  time::pause();
  Instant start = Instant::now();
  auto log = std::make_shared<WakeLog>();
  std::vector<Duration> deadlines;
  // Deadlines on several wheel levels, some equal, spawned out of order.
  for (int i = 0; i < 200; ++i) {
    deadlines.push_back(milliseconds((i * 7919) % 101 + 1) * (i % 3 == 0 ? 1 : i % 3 == 1 ? 64 : 4099));
  }
  std::vector<JoinHandle<void>> hs;
  for (Duration d : deadlines) hs.push_back(spawn(sleep_and_log(start, d, log)));
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
  std::vector<Duration> sorted = deadlines;
  std::sort(sorted.begin(), sorted.end());
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->order, sorted);
  EXPECT_EQ(Instant::now() - start, sorted.back());
}

Task<void> tick_forever(Interval iv, Counter ticks) {
  for (;;) {
    co_await iv.tick();
    ticks->fetch_add(1);
  }
}

KEEL_TEST(Time, IntervalTicksExactlyAcrossAnAdvance) {
  time::pause();
  Counter ticks = make_counter();
  Instant start = Instant::now();
  JoinHandle<void> h = spawn(tick_forever(interval_at(start, milliseconds(10)), ticks));
  // The first tick is immediate; then the ticker waits for start + 10 ms.
  KEEL_ASSERT_TRUE(co_await eventually([&] { return ticks->load() == 1 && timers_active() == 1u; }));
  co_await time::advance(seconds(1));
  // Ticks at 10, 20, ..., 1000 ms were due (missed ticks burst by default).
  EXPECT_TRUE(co_await eventually([&] { return ticks->load() == 101; })) << ticks->load();
  co_await settle();
  EXPECT_EQ(ticks->load(), 101);
  EXPECT_EQ(timers_active(), 1u);
  h.abort();
  EXPECT_TRUE(absl::IsCancelled(co_await h));
  EXPECT_EQ(timers_active(), 0u);
}

KEEL_TEST(Time, IntervalTicksOnTheAutoAdvancedClock) {
  time::pause();
  Instant start = Instant::now();
  Interval iv = interval(milliseconds(250));
  EXPECT_EQ(iv.period(), milliseconds(250));
  EXPECT_EQ(iv.missed_tick_behavior(), MissedTickBehavior::kBurst);
  for (int i = 0; i < 8; ++i) {
    Instant at = co_await iv.tick();
    EXPECT_EQ(at - start, milliseconds(250) * i);
    EXPECT_EQ(Instant::now(), at);
  }
  // reset(): the next tick is one period from now.
  co_await sleep(milliseconds(100));
  iv.reset();
  Instant at = co_await iv.tick();
  EXPECT_EQ(at - start, milliseconds(1750) + milliseconds(100) + milliseconds(250));
}

struct TickRecord {
  Duration scheduled;  // what tick() returned, from the start
  Duration now;        // the clock when it returned
  bool operator==(const TickRecord&) const = default;
};

std::ostream& operator<<(std::ostream& os, const TickRecord& r) {
  return os << "{tick " << r.scheduled.count() / 1'000'000 << "ms at "
            << r.now.count() / 1'000'000 << "ms}";
}

// Ticks every 10 ms; the task is 35 ms late after the first tick; then four more ticks.
Task<std::vector<TickRecord>> late_ticks(MissedTickBehavior behavior) {
  time::pause();
  Instant start = Instant::now();
  Interval iv = interval_at(start, milliseconds(10));
  iv.set_missed_tick_behavior(behavior);
  std::vector<TickRecord> out;
  Instant first = co_await iv.tick();
  out.push_back({first - start, Instant::now() - start});
  co_await time::advance(milliseconds(35));  // busy past three ticks
  for (int i = 0; i < 4; ++i) {
    Instant at = co_await iv.tick();
    out.push_back({at - start, Instant::now() - start});
  }
  co_return out;
}

TickRecord rec(int scheduled_ms, int now_ms) {
  return {milliseconds(scheduled_ms), milliseconds(now_ms)};
}

KEEL_TEST(Time, MissedTicksBurst) {
  // The missed ticks (10, 20, 30) fire back to back, then the schedule continues at 40.
  std::vector<TickRecord> got = co_await late_ticks(MissedTickBehavior::kBurst);
  EXPECT_EQ(got, (std::vector<TickRecord>{rec(0, 0), rec(10, 35), rec(20, 35), rec(30, 35),
                                          rec(40, 40)}));
}

KEEL_TEST(Time, MissedTicksDelay) {
  // The late tick fires at once; the next is one period after it (45), and so on.
  std::vector<TickRecord> got = co_await late_ticks(MissedTickBehavior::kDelay);
  EXPECT_EQ(got, (std::vector<TickRecord>{rec(0, 0), rec(10, 35), rec(45, 45), rec(55, 55),
                                          rec(65, 65)}));
}

KEEL_TEST(Time, MissedTicksSkip) {
  // The late tick fires at once; the missed ones are dropped and the schedule resumes on the
  // next multiple of the period (40).
  std::vector<TickRecord> got = co_await late_ticks(MissedTickBehavior::kSkip);
  EXPECT_EQ(got, (std::vector<TickRecord>{rec(0, 0), rec(10, 35), rec(40, 40), rec(50, 50),
                                          rec(60, 60)}));
}

KEEL_TEST(Time, SleepUntilThePastCompletesImmediately) {
  time::pause();
  Instant start = Instant::now();
  co_await sleep_until(start - seconds(5));
  co_await sleep_until(start);
  co_await sleep(Duration::zero());
  co_await sleep(milliseconds(-3));
  EXPECT_EQ(Instant::now(), start);
  EXPECT_EQ(timers_active(), 0u);
  // Far more of them than the coop budget: still no time passes (the task only yields).
  for (int i = 0; i < 1000; ++i) co_await sleep_until(start);
  EXPECT_EQ(Instant::now(), start);
}

Task<void> sleep_forever(Duration d, std::shared_ptr<std::atomic<bool>> destroyed,
                         std::shared_ptr<std::atomic<bool>> woke) {
  DropFlag flag{std::move(destroyed)};
  co_await sleep(d);
  woke->store(true);
}

KEEL_TEST(Time, AbortWhileSleepingUnregistersTheTimer) {
  time::pause();
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  auto woke = std::make_shared<std::atomic<bool>>(false);
  auto other_destroyed = std::make_shared<std::atomic<bool>>(false);
  auto other_woke = std::make_shared<std::atomic<bool>>(false);
  JoinHandle<void> victim = spawn(sleep_forever(milliseconds(100), destroyed, woke));
  JoinHandle<void> other = spawn(sleep_forever(milliseconds(200), other_destroyed, other_woke));
  KEEL_ASSERT_TRUE(co_await eventually([] { return timers_active() == 2u; }));
  Instant start = Instant::now();
  victim.abort();
  absl::Status s = co_await victim;
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_TRUE(destroyed->load());
  EXPECT_FALSE(woke->load());
  EXPECT_EQ(timers_active(), 1u);
  // The other sleeper is undisturbed, and the clock skips the cancelled deadline.
  EXPECT_TRUE((co_await other).ok());
  EXPECT_TRUE(other_woke->load());
  EXPECT_EQ(Instant::now() - start, milliseconds(200));
  EXPECT_EQ(timers_active(), 0u);
}

// A timer fires and wakes its task; the task is aborted before it runs. Whichever wins, the
// frame is destroyed once and nothing is left registered.
KEEL_TEST(Time, AbortRacingWithTheTimerFiring) {
  time::pause();
  for (int round = 0; round < 50; ++round) {
    auto destroyed = std::make_shared<std::atomic<bool>>(false);
    auto woke = std::make_shared<std::atomic<bool>>(false);
    JoinHandle<void> h = spawn(sleep_forever(milliseconds(5), destroyed, woke));
    KEEL_ASSERT_TRUE(co_await eventually([] { return timers_active() == 1u; }));
    // advance() fires the timer; the task is queued (or already running elsewhere).
    Instant now = Instant::now();
    Handle::current().core()->driver().time().clock().advance(milliseconds(5));
    Handle::current().core()->driver().time().process();
    h.abort();
    absl::Status s = co_await h;
    EXPECT_TRUE(s.ok() || absl::IsCancelled(s)) << s;
    EXPECT_EQ(woke->load(), s.ok());
    EXPECT_TRUE(destroyed->load());
    EXPECT_EQ(timers_active(), 0u);
    EXPECT_EQ(Instant::now() - now, milliseconds(5));
  }
}

KEEL_TEST(Time, SelectLoserUnregistersItsTimer) {
  time::pause();
  Instant start = Instant::now();
  auto r = co_await select(sleep_task(seconds(10)), sleep_task(seconds(2)), sleep_task(hours(5)));
  EXPECT_EQ(r.index(), 1u);
  EXPECT_EQ(Instant::now() - start, seconds(2));
  EXPECT_EQ(timers_active(), 0u);
}

Task<int> value_after(Duration d, int v, std::shared_ptr<std::atomic<bool>> destroyed) {
  DropFlag flag{std::move(destroyed)};
  co_await sleep(d);
  co_return v;
}

KEEL_TEST(Time, TimeoutNotExpiring) {
  time::pause();
  Instant start = Instant::now();
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  absl::StatusOr<int> v = co_await timeout(milliseconds(100), value_after(milliseconds(40), 7, destroyed));
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 7);
  EXPECT_EQ(Instant::now() - start, milliseconds(40));
  // The timeout's own timer is gone with it.
  EXPECT_EQ(timers_active(), 0u);
  // The clock does not later jump to the abandoned deadline.
  co_await sleep(milliseconds(1));
  EXPECT_EQ(Instant::now() - start, milliseconds(41));
}

KEEL_TEST(Time, TimeoutExpiring) {
  time::pause();
  Instant start = Instant::now();
  auto destroyed = std::make_shared<std::atomic<bool>>(false);
  absl::StatusOr<int> v = co_await timeout(milliseconds(100), value_after(seconds(30), 7, destroyed));
  EXPECT_TRUE(absl::IsDeadlineExceeded(v.status())) << v.status();
  EXPECT_TRUE(destroyed->load());
  EXPECT_EQ(Instant::now() - start, milliseconds(100));
  EXPECT_EQ(timers_active(), 0u);
}

Task<int> ready_value() { co_return 3; }

KEEL_TEST(Time, TimeoutOfAReadyTaskSucceedsEvenWithNoTime) {
  time::pause();
  absl::StatusOr<int> v = co_await timeout(Duration::zero(), ready_value());
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, 3);
  absl::StatusOr<int> w = co_await timeout_at(Instant::now() - seconds(1), ready_value());
  KEEL_ASSERT_OK(w);
  EXPECT_EQ(timers_active(), 0u);
}

Task<void> throw_after(Duration d) {
  co_await sleep(d);
  throw std::runtime_error("late failure");
}

KEEL_TEST(Time, TimeoutPropagatesTheTasksException) {
  time::pause();
  bool caught = false;
  try {
    (void)co_await timeout(seconds(1), throw_after(milliseconds(10)));
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "late failure";
  }
  EXPECT_TRUE(caught);
  EXPECT_EQ(timers_active(), 0u);
}

KEEL_TEST(Time, FiredTimersAreCounted) {
  time::pause();
  std::uint64_t before = Handle::current().metrics().timers_fired_total;
  for (int i = 0; i < 3; ++i) co_await sleep(milliseconds(5));
  EXPECT_GE(Handle::current().metrics().timers_fired_total, before + 3);
}

// The real clock: timers fire by themselves, never early. (No duration is asserted.)
KEEL_TEST(Time, UnpausedTimersFire) {
  EXPECT_FALSE(time::is_paused());
  Instant deadline = Instant::now() + milliseconds(1);
  co_await sleep(milliseconds(1));
  EXPECT_GE(Instant::now(), deadline);
  deadline = Instant::now() + milliseconds(2);
  co_await sleep_until(deadline);
  EXPECT_GE(Instant::now(), deadline);
  Counter fired = make_counter();
  std::vector<JoinHandle<void>> hs;
  for (int i = 1; i <= 5; ++i) hs.push_back(spawn(sleep_then_count(milliseconds(i), fired)));
  for (auto& h : hs) EXPECT_TRUE((co_await h).ok());
  EXPECT_EQ(fired->load(), 5);
  Interval iv = interval(milliseconds(1));
  Instant first = co_await iv.tick();
  Instant second = co_await iv.tick();
  EXPECT_EQ(second - first, milliseconds(1));
  EXPECT_GE(Instant::now(), second);
  EXPECT_EQ(timers_active(), 0u);
}

}  // namespace
}  // namespace keel
