// Tests of detail::Wheel, the hierarchical timing wheel: plain GoogleTest (no runtime).
//
// The wheel's contract (wheel.h): insert/remove in O(1); advance(now) fires every entry whose
// deadline <= now, in deadline order, each exactly when the wheel reaches its deadline (never
// early, never late), cascading entries down from higher levels on the way; deadlines beyond
// the span of the six levels are clamped into the top level and still fire at their true
// deadline.

#include "runtime/time/wheel.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"

namespace keel::detail {
namespace {

constexpr std::uint64_t kLevelSpan[Wheel::kLevels + 1] = {
    1,
    std::uint64_t{1} << 6,
    std::uint64_t{1} << 12,
    std::uint64_t{1} << 18,
    std::uint64_t{1} << 24,
    std::uint64_t{1} << 30,
    std::uint64_t{1} << 36,
};

// Advances `w` to `now` and returns the deadlines fired, checking on the way that every entry
// fires exactly at its deadline (the wheel's elapsed() equals it) and is out of the wheel.
std::vector<std::uint64_t> advance(Wheel& w, std::uint64_t now,
                                   std::vector<TimerEntry*>* fired_entries = nullptr) {
  std::vector<std::uint64_t> fired;
  w.advance(now, [&](TimerEntry* e) {
    EXPECT_FALSE(e->in_wheel);
    EXPECT_EQ(e->deadline, w.elapsed()) << "fired early or late";
    EXPECT_LE(e->deadline, now);
    fired.push_back(e->deadline);
    if (fired_entries) fired_entries->push_back(e);
  });
  EXPECT_EQ(w.elapsed(), std::max(now, w.elapsed()));
  return fired;
}

TimerEntry make_entry(std::uint64_t deadline) {
  TimerEntry e;
  e.deadline = deadline;
  return e;
}

TEST(Wheel, EmptyWheel) {
  Wheel w;
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.elapsed(), 0u);
  EXPECT_FALSE(w.next_expiration().has_value());
  EXPECT_TRUE(advance(w, 1000).empty());
  EXPECT_EQ(w.elapsed(), 1000u);
  EXPECT_FALSE(w.next_expiration().has_value());
}

TEST(Wheel, InsertRejectsDeadlinesNotAfterElapsed) {
  Wheel w(100);
  TimerEntry past = make_entry(50);
  TimerEntry now = make_entry(100);
  EXPECT_FALSE(w.insert(&past));
  EXPECT_FALSE(w.insert(&now));
  EXPECT_FALSE(past.in_wheel);
  EXPECT_FALSE(now.in_wheel);
  EXPECT_EQ(w.size(), 0u);
  TimerEntry next = make_entry(101);
  EXPECT_TRUE(w.insert(&next));
  EXPECT_TRUE(next.in_wheel);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_expiration(), 101u);
}

TEST(Wheel, InsertAndRemove) {
  Wheel w;
  TimerEntry a = make_entry(10), b = make_entry(10), c = make_entry(10), d = make_entry(5000);
  EXPECT_TRUE(w.insert(&a));
  EXPECT_TRUE(w.insert(&b));
  EXPECT_TRUE(w.insert(&c));
  EXPECT_TRUE(w.insert(&d));
  EXPECT_EQ(w.size(), 4u);
  // b sits in the middle of its slot's list.
  w.remove(&b);
  EXPECT_FALSE(b.in_wheel);
  EXPECT_EQ(w.size(), 3u);
  w.remove(&b);  // removing twice is a no-op
  EXPECT_EQ(w.size(), 3u);
  w.remove(&d);
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.next_expiration(), 10u);
  std::vector<TimerEntry*> fired;
  EXPECT_EQ(advance(w, 100000, &fired), (std::vector<std::uint64_t>{10, 10}));
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_TRUE(std::find(fired.begin(), fired.end(), &b) == fired.end());
  EXPECT_EQ(w.size(), 0u);
  // Removing an entry that already fired is a no-op too.
  w.remove(&a);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.next_expiration().has_value());
}

TEST(Wheel, RemovingTheOnlyEntryOfASlotFreesIt) {
  Wheel w;
  TimerEntry a = make_entry(7);
  TimerEntry b = make_entry(9);
  ASSERT_TRUE(w.insert(&a));
  ASSERT_TRUE(w.insert(&b));
  EXPECT_EQ(w.next_expiration(), 7u);
  w.remove(&a);
  EXPECT_EQ(w.next_expiration(), 9u);
  w.remove(&b);
  EXPECT_FALSE(w.next_expiration().has_value());
}

// Deadlines on both sides of every level boundary, from 1 ms to the wheel's full span
// (about 2.2 years), from several starting points: each fires at exactly its deadline.
TEST(Wheel, FiresAtTheExactDeadlineOnEveryLevel) {
  std::vector<std::uint64_t> offsets;
  for (int level = 0; level <= Wheel::kLevels; ++level) {
    std::uint64_t span = kLevelSpan[level];
    for (std::uint64_t d : {span - 1, span, span + 1, 2 * span + 3, 63 * span}) {
      if (d >= 1 && d <= Wheel::kMaxDuration) offsets.push_back(d);
    }
  }
  offsets.push_back(Wheel::kMaxDuration);
  for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{63},
                              std::uint64_t{12345}, kLevelSpan[5] - 1, kLevelSpan[6] - 2,
                              std::uint64_t{987654321987}}) {
    for (std::uint64_t off : offsets) {
      SCOPED_TRACE(testing::Message() << "start " << start << " offset " << off);
      Wheel w(start);
      TimerEntry e = make_entry(start + off);
      ASSERT_TRUE(w.insert(&e));
      std::optional<std::uint64_t> next = w.next_expiration();
      ASSERT_TRUE(next.has_value());
      EXPECT_GT(*next, start);
      EXPECT_LE(*next, start + off);
      EXPECT_TRUE(advance(w, start + off - 1).empty());
      EXPECT_EQ(w.size(), 1u);
      EXPECT_EQ(advance(w, start + off), std::vector<std::uint64_t>{start + off});
      EXPECT_EQ(w.size(), 0u);
    }
  }
}

// One entry per level (and one beyond the span), inserted out of order, fire in deadline
// order in one advance.
TEST(Wheel, FiresInDeadlineOrderAcrossAllLevels) {
  std::vector<std::uint64_t> deadlines = {
      1,                        // level 0: 1 ms
      50,                       // level 0
      64 + 5,                   // level 1
      3 * 4096 + 7,             // level 2: seconds
      5 * 262144 + 11,          // level 3: minutes
      7 * 16777216 + 13,        // level 4: hours
      9 * kLevelSpan[5] + 17,   // level 5: weeks to years
      Wheel::kMaxDuration,      // the end of the span
      Wheel::kMaxDuration + 5,  // beyond it (clamped)
  };
  std::vector<std::unique_ptr<TimerEntry>> entries;
  std::vector<std::uint64_t> shuffled = deadlines;
  std::mt19937_64 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  Wheel w;
  for (std::uint64_t d : shuffled) {
    entries.push_back(std::make_unique<TimerEntry>(make_entry(d)));
    ASSERT_TRUE(w.insert(entries.back().get()));
  }
  EXPECT_EQ(w.size(), deadlines.size());
  EXPECT_EQ(w.next_expiration(), 1u);
  EXPECT_EQ(advance(w, Wheel::kMaxDuration + 5), deadlines);
  EXPECT_EQ(w.size(), 0u);
}

// An entry far out waits on a high level and moves down level by level as the wheel
// reaches its slots; next_expiration() walks towards the deadline and never passes it.
TEST(Wheel, CascadesDownTheLevels) {
  const std::uint64_t deadline = 3 * kLevelSpan[5] + 2 * kLevelSpan[4] + 5 * kLevelSpan[3] +
                                 7 * kLevelSpan[2] + 11 * kLevelSpan[1] + 13;
  Wheel w;
  TimerEntry e = make_entry(deadline);
  ASSERT_TRUE(w.insert(&e));
  EXPECT_EQ(e.level, 5);
  std::uint64_t prev = 0;
  int steps = 0;
  std::vector<int> levels = {e.level};
  for (;;) {
    std::optional<std::uint64_t> next = w.next_expiration();
    ASSERT_TRUE(next.has_value());
    EXPECT_GT(*next, prev);
    EXPECT_LE(*next, deadline);
    prev = *next;
    std::vector<std::uint64_t> fired = advance(w, *next);
    ++steps;
    if (!fired.empty()) {
      EXPECT_EQ(fired, std::vector<std::uint64_t>{deadline});
      break;
    }
    EXPECT_TRUE(e.in_wheel);
    levels.push_back(e.level);
    ASSERT_LT(steps, 10);
  }
  // It visited every level from the top down on its way.
  EXPECT_EQ(levels, (std::vector<int>{5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(w.elapsed(), deadline);
}

TEST(Wheel, EqualDeadlinesFireTogether) {
  for (std::uint64_t deadline : {std::uint64_t{5}, std::uint64_t{500}, std::uint64_t{70000},
                                 kLevelSpan[5] + 3}) {
    SCOPED_TRACE(deadline);
    Wheel w;
    std::vector<TimerEntry> entries(100, make_entry(deadline));
    for (auto& e : entries) ASSERT_TRUE(w.insert(&e));
    TimerEntry later = make_entry(deadline + 1);
    ASSERT_TRUE(w.insert(&later));
    EXPECT_TRUE(advance(w, deadline - 1).empty());
    EXPECT_EQ(w.size(), 101u);
    EXPECT_EQ(advance(w, deadline), std::vector<std::uint64_t>(100, deadline));
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(w.next_expiration(), deadline + 1);
    EXPECT_EQ(advance(w, deadline + 1), std::vector<std::uint64_t>{deadline + 1});
  }
}

// Entries removed part-way (still on a high level, or after cascading to level 0) never fire;
// the others still do.
TEST(Wheel, RemoveMidWay) {
  Wheel w;
  TimerEntry a = make_entry(10), b = make_entry(100), c = make_entry(1000),
             d = make_entry(10000), e = make_entry(3000000);
  for (TimerEntry* x : {&a, &b, &c, &d, &e}) ASSERT_TRUE(w.insert(x));
  EXPECT_EQ(advance(w, 150), (std::vector<std::uint64_t>{10, 100}));
  // 1000 = 15 * 64 + 40: at 970 it has cascaded into level 0.
  EXPECT_TRUE(advance(w, 970).empty());
  EXPECT_EQ(c.level, 0);
  EXPECT_TRUE(c.in_wheel);
  w.remove(&c);
  EXPECT_FALSE(c.in_wheel);
  // d is still on level 2.
  EXPECT_GE(d.level, 1);
  w.remove(&d);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(advance(w, 5000000), std::vector<std::uint64_t>{3000000});
  EXPECT_EQ(w.size(), 0u);
}

// Deadlines beyond the wheel's span wait in the top level, re-cascade, and fire at their
// true deadline.
TEST(Wheel, DeadlinesBeyondTheSpanFireAtTheirTrueDeadline) {
  for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{777}, kLevelSpan[5] * 5 + 100}) {
    for (std::uint64_t off : {Wheel::kMaxDuration + 1, Wheel::kMaxDuration + 64,
                              2 * Wheel::kMaxDuration + 12345, std::uint64_t{1} << 45}) {
      SCOPED_TRACE(testing::Message() << "start " << start << " offset " << off);
      Wheel w(start);
      TimerEntry e = make_entry(start + off);
      TimerEntry near = make_entry(start + 3);
      ASSERT_TRUE(w.insert(&e));
      ASSERT_TRUE(w.insert(&near));
      EXPECT_EQ(e.level, Wheel::kLevels - 1);
      EXPECT_EQ(advance(w, start + 3), std::vector<std::uint64_t>{start + 3});
      // next_expiration() never lies past the true deadline.
      std::optional<std::uint64_t> next = w.next_expiration();
      ASSERT_TRUE(next.has_value());
      EXPECT_LE(*next, start + off);
      EXPECT_TRUE(advance(w, start + off - 1).empty());
      EXPECT_TRUE(e.in_wheel);
      EXPECT_EQ(advance(w, start + off), std::vector<std::uint64_t>{start + off});
    }
  }
}

// Stepping with next_expiration() reaches a far deadline in few steps, and every step is a
// real point the wheel must visit (strictly increasing, never past the deadline).
TEST(Wheel, SteppingThroughNextExpirationReachesAFarDeadline) {
  const std::uint64_t deadline = (std::uint64_t{1} << 42) + 99;
  Wheel w(5);
  TimerEntry e = make_entry(deadline);
  ASSERT_TRUE(w.insert(&e));
  int steps = 0;
  std::uint64_t prev = w.elapsed();
  for (;;) {
    std::optional<std::uint64_t> next = w.next_expiration();
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(*next, prev);
    ASSERT_LE(*next, deadline);
    prev = *next;
    if (!advance(w, *next).empty()) break;
    ASSERT_LT(++steps, 1000);
  }
  EXPECT_EQ(w.elapsed(), deadline);
}

// The reference model: a multimap from deadline to entry id. Random inserts (deadlines from
// 1 ms to beyond the span), removals and advances (small steps, big jumps, and exactly to
// next_expiration()) must agree with it: the same entries fire, in deadline order, each at
// its deadline.
TEST(Wheel, MatchesAReferenceModel) {
  std::mt19937_64 rng(20240611);
  auto log_uniform = [&](int max_bits) -> std::uint64_t {
    int bits = std::uniform_int_distribution<int>(0, max_bits)(rng);
    std::uint64_t hi = bits == 0 ? 1 : (std::uint64_t{1} << bits);
    return std::uniform_int_distribution<std::uint64_t>(1, hi)(rng);
  };
  const std::uint64_t start = std::uniform_int_distribution<std::uint64_t>(0, 1 << 20)(rng);
  Wheel w(start);
  std::multimap<std::uint64_t, std::size_t> model;  // deadline -> entry index
  std::vector<std::unique_ptr<TimerEntry>> entries;
  std::vector<std::size_t> live;                    // indices of entries in the wheel
  std::vector<std::size_t> where(0);                // entry index -> position in `live`
  auto unlive = [&](std::size_t idx) {
    std::size_t pos = where[idx];
    std::size_t last = live.back();
    live[pos] = last;
    where[last] = pos;
    live.pop_back();
  };
  std::unordered_map<const TimerEntry*, std::size_t> index_of;
  std::size_t total_fired = 0;
  for (int op = 0; op < 200000; ++op) {
    int kind = std::uniform_int_distribution<int>(0, 99)(rng);
    if (kind < 50) {
      // Insert: mostly near deadlines, some on every level, a few beyond the span.
      std::uint64_t off = log_uniform(kind < 2 ? 40 : 30);
      auto e = std::make_unique<TimerEntry>();
      e->deadline = w.elapsed() + off;
      std::size_t idx = entries.size();
      ASSERT_TRUE(w.insert(e.get()));
      index_of[e.get()] = idx;
      entries.push_back(std::move(e));
      model.emplace(entries[idx]->deadline, idx);
      where.push_back(live.size());
      live.push_back(idx);
    } else if (kind < 65) {
      if (live.empty()) continue;
      std::size_t pos = std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(rng);
      std::size_t idx = live[pos];
      TimerEntry* e = entries[idx].get();
      ASSERT_TRUE(e->in_wheel);
      w.remove(e);
      ASSERT_FALSE(e->in_wheel);
      auto range = model.equal_range(e->deadline);
      bool erased = false;
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == idx) {
          model.erase(it);
          erased = true;
          break;
        }
      }
      ASSERT_TRUE(erased);
      unlive(idx);
    } else {
      std::uint64_t now;
      if (kind < 80) {
        std::optional<std::uint64_t> next = w.next_expiration();
        now = next ? *next : w.elapsed() + 1;
      } else if (kind < 97) {
        now = w.elapsed() + log_uniform(14);
      } else {
        now = w.elapsed() + log_uniform(38);
      }
      std::vector<std::size_t> fired;
      std::uint64_t last = 0;
      w.advance(now, [&](TimerEntry* e) {
        EXPECT_FALSE(e->in_wheel);
        EXPECT_EQ(e->deadline, w.elapsed());
        EXPECT_GE(e->deadline, last) << "out of order";
        last = e->deadline;
        fired.push_back(index_of.at(e));
      });
      ASSERT_EQ(w.elapsed(), now);
      // The model fires exactly the entries due by `now`.
      std::vector<std::size_t> expected;
      while (!model.empty() && model.begin()->first <= now) {
        expected.push_back(model.begin()->second);
        model.erase(model.begin());
      }
      std::vector<std::size_t> fired_sorted = fired;
      std::sort(fired_sorted.begin(), fired_sorted.end());
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(fired_sorted, expected) << "op " << op << " now " << now;
      for (std::size_t idx : fired) unlive(idx);
      total_fired += fired.size();
    }
    ASSERT_EQ(w.size(), model.size());
    std::optional<std::uint64_t> next = w.next_expiration();
    if (model.empty()) {
      ASSERT_FALSE(next.has_value());
    } else {
      ASSERT_TRUE(next.has_value());
      ASSERT_GT(*next, w.elapsed());
      ASSERT_LE(*next, model.begin()->first);
    }
    // Keep memory bounded: drop the entries that fired or were removed.
    if (entries.size() > 4096 && live.size() < 64) {
      // Compact: rebuild indices over the live entries only.
      std::vector<std::unique_ptr<TimerEntry>> kept;
      std::multimap<std::uint64_t, std::size_t> remodel;
      std::vector<std::size_t> relive, rewhere;
      std::unordered_map<const TimerEntry*, std::size_t> reindex;
      for (std::size_t idx : live) {
        std::size_t n = kept.size();
        remodel.emplace(entries[idx]->deadline, n);
        reindex[entries[idx].get()] = n;
        kept.push_back(std::move(entries[idx]));
        rewhere.push_back(relive.size());
        relive.push_back(n);
      }
      entries = std::move(kept);
      model = std::move(remodel);
      live = std::move(relive);
      where = std::move(rewhere);
      index_of = std::move(reindex);
    }
  }
  EXPECT_GT(total_fired, 10000u);
  // Drain: everything left fires in order.
  std::vector<std::uint64_t> rest;
  for (const auto& [d, idx] : model) rest.push_back(d);
  EXPECT_EQ(advance(w, w.elapsed() + (std::uint64_t{1} << 41)), rest);
}

}  // namespace
}  // namespace keel::detail
