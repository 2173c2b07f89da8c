// Tests of sync::RwLock on every scheduler flavour: shared reads, exclusive writes, try_*,
// writer preference, readers behind a writer admitted together, downgrade, cancellation
// (queued writer holding a partial assignment, and after a hand-off) and a stress test that
// checks the reader/writer invariant.

#include "runtime/sync/rwlock.h"

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

using IntLock = RwLock<int>;

KEEL_TEST(RwLock, ReadsShareWritesExclude) {
  IntLock l(1);
  {
    RwLockReadGuard<int> a = co_await l.read();
    RwLockReadGuard<int> b = co_await l.read();
    EXPECT_EQ(*a + *b, 2);
    EXPECT_TRUE(l.try_read().has_value());
    EXPECT_FALSE(l.try_write().has_value());
  }
  {
    RwLockWriteGuard<int> w = co_await l.write();
    *w = 7;
    EXPECT_FALSE(l.try_read().has_value());
    EXPECT_FALSE(l.try_write().has_value());
  }
  std::optional<RwLockWriteGuard<int>> w = l.try_write();
  KEEL_ASSERT_TRUE(w.has_value());
  EXPECT_EQ(**w, 7);
  w->unlock();
  EXPECT_TRUE(l.try_read().has_value());
  EXPECT_EQ(l.get_mut(), 7);
}

Task<void> read_record(IntLock* l, std::vector<std::string>* log, std::string id) {
  RwLockReadGuard<int> g = co_await l->read();
  log->push_back(id + "+");
  co_await yield_now();
  log->push_back(id + "-");
}

Task<void> write_record(IntLock* l, std::vector<std::string>* log, std::string id) {
  RwLockWriteGuard<int> g = co_await l->write();
  log->push_back(id + "+");
  ++*g;
  co_await yield_now();
  log->push_back(id + "-");
}

// Checks that a reader arriving after a queued writer cannot get in, then releases.
Task<void> check_then_release_read(IntLock* l, RwLockReadGuard<int> held, bool* reader_blocked) {
  *reader_blocked = !l->try_read().has_value();
  co_await yield_now();
  held.unlock();
}

KEEL_TEST(RwLock, QueuedWriterStopsNewReaders) {
  IntLock l(0);
  std::vector<std::string> log;
  bool reader_blocked = false;
  RwLockReadGuard<int> r = co_await l.read();
  auto all = join(write_record(&l, &log, "W"), read_record(&l, &log, "R"),
                  check_then_release_read(&l, std::move(r), &reader_blocked));
  co_await all;
  EXPECT_TRUE(reader_blocked);
  EXPECT_EQ(log, (std::vector<std::string>{"W+", "W-", "R+", "R-"}));
}

Task<void> release_write_later(RwLockWriteGuard<int> g) {
  co_await yield_now();
  g.unlock();
}

KEEL_TEST(RwLock, ReadersBehindAWriterGetInTogether) {
  IntLock l(0);
  std::vector<std::string> log;
  RwLockWriteGuard<int> w = co_await l.write();
  auto all = join(read_record(&l, &log, "R1"), read_record(&l, &log, "R2"),
                  write_record(&l, &log, "W2"), read_record(&l, &log, "R3"),
                  release_write_later(std::move(w)));
  co_await all;
  // R1 and R2 hold the lock at the same time; W2 waits for both; R3 comes after W2.
  EXPECT_EQ(log, (std::vector<std::string>{"R1+", "R2+", "R1-", "R2-", "W2+", "W2-", "R3+",
                                           "R3-"}));
}

KEEL_TEST(RwLock, DowngradeKeepsWritersOut) {
  IntLock l(0);
  std::vector<std::string> log;
  RwLockWriteGuard<int> w = co_await l.write();
  *w = 3;
  RwLockReadGuard<int> r = std::move(w).downgrade();
  EXPECT_EQ(*r, 3);
  EXPECT_TRUE(l.try_read().has_value());
  EXPECT_FALSE(l.try_write().has_value());
  r.unlock();
  EXPECT_TRUE(l.try_write().has_value());
  co_return;
}

Task<int> write_forever(IntLock* l) {
  RwLockWriteGuard<int> g = co_await l->write();
  co_return 1;
}

KEEL_TEST(RwLock, CancelledQueuedWriterGivesBackItsPartialShare) {
  time::pause();
  IntLock l(0);
  std::optional<RwLockReadGuard<int>> r1 = l.try_read();
  std::optional<RwLockReadGuard<int>> r2 = l.try_read();
  KEEL_ASSERT_TRUE(r1.has_value() && r2.has_value());
  // The writer takes every free read slot and waits for the two held ones; then it is cancelled.
  auto t = timeout(milliseconds(5), write_forever(&l));
  absl::StatusOr<int> res = co_await std::move(t);
  EXPECT_TRUE(absl::IsDeadlineExceeded(res.status()));
  EXPECT_TRUE(l.try_read().has_value());  // no ghost writer blocks readers
  r1.reset();
  r2.reset();
  EXPECT_TRUE(l.try_write().has_value());  // and every slot came back
}

Task<std::size_t> race_writer_against_release(IntLock* l, RwLockWriteGuard<int> g) {
  auto race = select(write_forever(l), release_write_later(std::move(g)));
  auto r = co_await race;
  co_return r.index();
}

Task<void> read_flag(IntLock* l, bool* got) {
  RwLockReadGuard<int> g = co_await l->read();
  *got = true;
}

Task<std::size_t> hand_off_then_reader(IntLock* l, RwLockWriteGuard<int> w, bool* got) {
  auto both = join(race_writer_against_release(l, std::move(w)), read_flag(l, got));
  auto [winner, unused] = co_await both;
  co_return winner;
}

KEEL_TEST(RwLock, WriterCancelledAfterHandOffPassesTheLockOn) {
  time::pause();  // a lost hand-off leaves everything idle: the timeout then fails the test
  IntLock l(0);
  bool reader_got = false;
  RwLockWriteGuard<int> w = co_await l.write();
  auto t = timeout(std::chrono::hours(1), hand_off_then_reader(&l, std::move(w), &reader_got));
  absl::StatusOr<std::size_t> winner = co_await std::move(t);
  KEEL_ASSERT_OK(winner);
  EXPECT_EQ(*winner, 1u);
  EXPECT_TRUE(reader_got);
  EXPECT_TRUE(l.try_write().has_value());
}

Task<int> read_forever_owned(std::shared_ptr<IntLock> l) {
  RwLockReadGuard<int> g = co_await l->read();
  co_return 1;
}

KEEL_TEST(RwLock, AbortedReaderLeavesNoTrace) {
  auto l = std::make_shared<IntLock>(0);
  std::optional<RwLockWriteGuard<int>> w = l->try_write();
  KEEL_ASSERT_TRUE(w.has_value());
  JoinHandle<int> h = spawn(read_forever_owned(l));
  co_await settle(20);
  h.abort();
  absl::StatusOr<int> r = co_await std::move(h);
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
  w.reset();
  EXPECT_TRUE(l->try_write().has_value());
}

struct Pair {
  int a = 0;
  int b = 0;
};

struct Counters {
  std::atomic<int> readers{0};
  std::atomic<int> writers{0};
  std::atomic<int> max_readers{0};
  std::atomic<int> violations{0};
};

Task<void> stress_writer(std::shared_ptr<RwLock<Pair>> l, std::shared_ptr<Counters> c, int n) {
  for (int i = 0; i < n; ++i) {
    RwLockWriteGuard<Pair> g = co_await l->write();
    if (c->writers.fetch_add(1) != 0 || c->readers.load() != 0) c->violations.fetch_add(1);
    ++g->a;
    if (i % 8 == 0) co_await yield_now();  // a reader seeing a != b would be a torn read
    ++g->b;
    c->writers.fetch_sub(1);
  }
}

Task<void> stress_reader(std::shared_ptr<RwLock<Pair>> l, std::shared_ptr<Counters> c, int n) {
  for (int i = 0; i < n; ++i) {
    RwLockReadGuard<Pair> g = co_await l->read();
    int now = c->readers.fetch_add(1) + 1;
    if (c->writers.load() != 0 || g->a != g->b) c->violations.fetch_add(1);
    int prev = c->max_readers.load();
    while (now > prev && !c->max_readers.compare_exchange_weak(prev, now)) {
    }
    if (i % 4 == 0) co_await yield_now();
    c->readers.fetch_sub(1);
  }
}

KEEL_TEST(RwLock, StressInvariantHolds) {
  auto l = std::make_shared<RwLock<Pair>>();
  auto c = std::make_shared<Counters>();
  constexpr int kWriters = 3;
  constexpr int kReaders = 5;
  constexpr int kWrites = 1500;
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < kWriters; ++i) hs.push_back(spawn(stress_writer(l, c, kWrites)));
  for (int i = 0; i < kReaders; ++i) hs.push_back(spawn(stress_reader(l, c, 3000)));
  for (auto& h : hs) KEEL_ASSERT_OK(co_await std::move(h));
  EXPECT_EQ(c->violations.load(), 0);
  EXPECT_EQ(l->get_mut().a, kWriters * kWrites);
  EXPECT_EQ(l->get_mut().b, kWriters * kWrites);
  EXPECT_TRUE(l->try_write().has_value());
}

}  // namespace
}  // namespace keel::sync
