// BusyPollGovernor on its own: which outcomes start and stop spinning.
#include "runtime/io/busy_poll.h"

#include "gtest/gtest.h"

namespace keel::detail {
namespace {

// Feeds `count` outcomes in which every `period`-th one missed the budget (period 0: all hit).
void feed(BusyPollGovernor& g, int count, int period) {
  for (int i = 1; i <= count; ++i) g.record(period == 0 || i % period != 0);
}

TEST(BusyPollGovernor, SpinsFromTheStart) {
  BusyPollGovernor g;
  EXPECT_TRUE(g.should_spin());
}

TEST(BusyPollGovernor, KeepsSpinningWhileSpinsMostlyCatchTheNextEvent) {
  BusyPollGovernor g;
  // 97 in 100 caught, as mini-redis's spins under redis-benchmark on an idle machine.
  feed(g, 10000, 33);
  EXPECT_TRUE(g.should_spin());
}

TEST(BusyPollGovernor, StopsWithinAFewDozenParksWhenHalfTheSpinsRunOut) {
  BusyPollGovernor g;
  // Every other spin runs out, as with a CPU-bound process beside server and client.
  int parks = 0;
  while (g.should_spin() && parks < 1000) {
    g.record(parks % 2 == 0);
    ++parks;
  }
  EXPECT_FALSE(g.should_spin());
  EXPECT_LE(parks, 40);
  // And stays stopped while that goes on.
  feed(g, 10000, 2);
  EXPECT_FALSE(g.should_spin());
}

TEST(BusyPollGovernor, OneStrayMissDoesNotStopIt) {
  BusyPollGovernor g;
  g.record(false);
  g.record(false);
  EXPECT_TRUE(g.should_spin());
}

TEST(BusyPollGovernor, ResumesWhenSleepsEndWithinTheBudgetAgain) {
  BusyPollGovernor g;
  feed(g, 200, 1);  // all missed
  ASSERT_FALSE(g.should_spin());
  feed(g, 200, 0);  // all within the budget
  EXPECT_TRUE(g.should_spin());
}

TEST(BusyPollGovernor, AShareBetweenTheThresholdsKeepsTheCurrentDecision) {
  // 85 in 100 caught: below the share that starts spinning, above the one that stops it.
  BusyPollGovernor spinning;
  feed(spinning, 10000, 7);  // 6 in 7 caught, about 0.86
  EXPECT_TRUE(spinning.should_spin());

  BusyPollGovernor stopped;
  feed(stopped, 200, 1);
  ASSERT_FALSE(stopped.should_spin());
  feed(stopped, 10000, 7);
  EXPECT_FALSE(stopped.should_spin());
}

}  // namespace
}  // namespace keel::detail
