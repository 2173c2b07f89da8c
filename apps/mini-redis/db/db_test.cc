// Db: the entry layout, lazy and active expiry on a fake clock, dump_shard (its output replayed
// through the commands rebuilds the same state), and commands from 4 threads at once.
#include "apps/mini-redis/db/db.h"

#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "apps/mini-redis/commands/test_util.h"
#include "apps/mini-redis/db/glob.h"
#include "gtest/gtest.h"

namespace mini_redis {
namespace {

using testing::Harness;
using testing::RecordingLog;
using testing::run_command;

TEST(Entry, StringLayout) {
  Entry* e = Entry::make_string("key", "value", kNoExpire);
  EXPECT_EQ(e->key(), "key");
  EXPECT_EQ(e->str(), "value");
  EXPECT_EQ(e->type(), ValueType::kString);
  EXPECT_FALSE(e->has_expire());
  EXPECT_EQ(e->expire_at(), kNoExpire);
  Entry* t = Entry::with_expire(e, 12345);
  Entry::free_shell(e);
  EXPECT_TRUE(t->has_expire());
  EXPECT_EQ(t->expire_at(), 12345);
  EXPECT_EQ(t->key(), "key");
  EXPECT_EQ(t->str(), "value");
  Entry::destroy(t);
}

TEST(Entry, ListMovesBetweenShells) {
  auto* list = new List{"a", "b"};
  Entry* e = Entry::make_list("l", list, kNoExpire);
  Entry* t = Entry::with_expire(e, 5);
  Entry::free_shell(e);
  EXPECT_EQ(t->list(), list);
  EXPECT_EQ(t->list()->size(), 2u);
  Entry::destroy(t);  // frees the list (checked by asan)
}

TEST(Glob, RedisCases) {
  EXPECT_FALSE(glob_match("*", ""));  // as Redis's stringmatchlen (KEYS special-cases "*")
  EXPECT_TRUE(glob_match("*", "x"));
  EXPECT_TRUE(glob_match("a*", "abc"));
  EXPECT_FALSE(glob_match("a*", "bac"));
  EXPECT_TRUE(glob_match("*c", "abc"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("[abc]", "b"));
  EXPECT_FALSE(glob_match("[^abc]", "b"));
  EXPECT_TRUE(glob_match("[^abc]", "d"));
  EXPECT_TRUE(glob_match("[a-c]x", "bx"));
  EXPECT_TRUE(glob_match("[c-a]x", "bx"));  // reversed ranges work, as in Redis
  EXPECT_TRUE(glob_match("a\\*", "a*"));
  EXPECT_FALSE(glob_match("a\\*", "ab"));
  EXPECT_TRUE(glob_match("[\\]]", "]"));
  EXPECT_TRUE(glob_match("H*LLO", "hello", /*nocase=*/true));
  EXPECT_FALSE(glob_match("H*LLO", "hello"));
  EXPECT_TRUE(glob_match("[abc", "a"));  // unterminated set: as Redis
  // Pathological pattern finishes quickly (no exponential backtracking).
  EXPECT_FALSE(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(60, 'a')));
}

TEST(Db, DefaultsAndClock) {
  Db db;
  EXPECT_EQ(db.shard_count(), 32u);
  EXPECT_EQ(db.size(), 0u);
  const std::int64_t now = wall_clock_ms();
  EXPECT_LE(std::abs(db.now_ms() - now), 60000);
  Db one(DbOptions{1, nullptr});
  EXPECT_EQ(one.shard_count(), 1u);
  EXPECT_EQ(one.shard_of("anything"), 0u);
}

TEST(Db, ShardsSpreadKeys) {
  Db db;
  std::vector<int> counts(db.shard_count());
  const int per_shard = 1000;
  for (int i = 0; i < per_shard * static_cast<int>(db.shard_count()); ++i) {
    ++counts[db.shard_of("key:" + std::to_string(i))];
  }
  for (int c : counts) {
    EXPECT_GT(c, 500);
    EXPECT_LT(c, 1500);
  }
}

TEST(Db, ActiveExpiryRemovesExpiredAndLogsDel) {
  Harness h(4);
  for (int i = 0; i < 200; ++i) {
    const std::string k = "t" + std::to_string(i);
    h.run({"SET", k, "v", "PX", i < 150 ? "100" : "100000"});
  }
  for (int i = 0; i < 50; ++i) h.run({"SET", "p" + std::to_string(i), "v"});
  EXPECT_EQ(h.db.expires_size(), 200u);
  h.log.clear();
  EXPECT_EQ(h.db.active_expire_cycle(&h.log, 20), 0u);  // nothing due yet
  h.advance(100);
  std::size_t removed = 0;
  for (int cycle = 0; cycle < 100 && h.db.expires_size() > 50; ++cycle) {
    removed += h.db.active_expire_cycle(&h.log, 20);
  }
  EXPECT_EQ(removed, 150u);
  EXPECT_EQ(h.db.size(), 100u);
  EXPECT_EQ(h.db.expires_size(), 50u);
  EXPECT_EQ(h.db.stats().expired_keys, 150u);
  const auto records = h.log.records();
  ASSERT_EQ(records.size(), 150u);
  for (const RecordingLog::Record& r : records) {
    ASSERT_EQ(r.args.size(), 2u);
    EXPECT_EQ(r.args[0], "DEL");
    EXPECT_EQ(r.shard, static_cast<int>(h.db.shard_of(r.args[1])));
    const int i = std::stoi(r.args[1].substr(1));
    EXPECT_LT(i, 150);
  }
  EXPECT_EQ(h.db.active_expire_cycle(nullptr, 0), 0u);
}

TEST(Db, ActiveExpiryRepeatsAShardThatIsMostlyExpired) {
  Harness h(1);
  for (int i = 0; i < 1000; ++i) h.run({"SET", "k" + std::to_string(i), "v", "PX", "1"});
  h.advance(1);
  // One cycle samples 20 at a time but keeps going while >25% expired, up to the round bound.
  const std::size_t removed = h.db.active_expire_cycle(nullptr, 20);
  EXPECT_EQ(removed, 20u * Db::kActiveExpireMaxRounds);
}

// The state of a db: key → (type, value as text, expiry).
using State = std::map<std::string, std::tuple<int, std::string, std::int64_t>>;

State snapshot(Db& db) {
  State state;
  const std::int64_t now = db.now_ms();
  for (std::size_t i = 0; i < db.shard_count(); ++i) {
    Db::Shard& s = db.shard(i);
    std::lock_guard lock(s.mutex());
    s.for_each([&](const Entry* e) {
      if (e->has_expire() && e->expire_at() <= now) return;
      std::string value;
      switch (e->type()) {
        case ValueType::kString:
          value = std::string(e->str());
          break;
        case ValueType::kList:
          for (const std::string& x : *e->list()) value += x + "|";
          break;
        case ValueType::kHash:
          for (const auto& [f, v] : e->hash()->fields()) value += f + "=" + v + "|";
          break;
      }
      state[std::string(e->key())] = {static_cast<int>(e->type()), value, e->expire_at()};
    });
  }
  return state;
}

TEST(Db, DumpShardReplaysToTheSameState) {
  Harness h(8);
  for (int i = 0; i < 100; ++i) h.run({"SET", "s" + std::to_string(i), "value" + std::to_string(i)});
  h.run({"SET", "binary", std::string("a\0\r\nb", 5)});
  h.run({"SET", "ttl", "v", "PX", "5000"});
  h.run({"SET", "gone", "v", "PX", "10"});
  for (int i = 0; i < 200; ++i) h.run({"RPUSH", "biglist", "e" + std::to_string(i)});
  h.run({"LPUSH", "small", "x", "y"});
  h.run({"EXPIRE", "small", "100"});
  for (int i = 0; i < 150; ++i) {
    h.run({"HSET", "bighash", "f" + std::to_string(i), "v" + std::to_string(i)});
  }
  h.run({"HSET", "h", "a", "1", "b", "2"});
  h.advance(10);  // "gone" has expired but is still stored

  Harness copy(3);  // a different shard count: records must not depend on it
  copy.now = h.now.load();
  std::vector<std::size_t> under_lock_calls;
  std::size_t max_items = 0;
  for (std::size_t i = 0; i < h.db.shard_count(); ++i) {
    h.db.dump_shard(
        i,
        [&](std::span<const std::string_view> args) {
          max_items = std::max(max_items, args.size());
          const std::string out = run_command(copy.db, nullptr, args);
          ASSERT_NE(out[0], '-') << out;
        },
        [&] { under_lock_calls.push_back(i); });
  }
  EXPECT_EQ(under_lock_calls.size(), h.db.shard_count());
  EXPECT_LE(max_items, 2 + 2 * Db::kDumpItemsPerCommand);
  const State original = snapshot(h.db);
  EXPECT_EQ(original.count("gone"), 0u);
  EXPECT_EQ(snapshot(copy.db), original);
  EXPECT_EQ(copy.db.size(), original.size());
}

TEST(Db, ConcurrentCommandsFromFourThreads) {
  Harness h(16);
  constexpr int kThreads = 4;
  constexpr int kOps = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kOps; ++i) {
        const std::string own = "own" + std::to_string(t) + ":" + std::to_string(i % 100);
        const std::string_view set[3] = {"SET", own, "v"};
        run_command(h.db, &h.log, set);
        const std::string_view incr[2] = {"INCR", "counter"};
        run_command(h.db, &h.log, incr);
        const std::string_view push[3] = {"RPUSH", "list", own};
        run_command(h.db, &h.log, push);
        const std::string_view mset[5] = {"MSET", own, "w", "shared", own};
        run_command(h.db, &h.log, mset);
        const std::string_view del[3] = {"DEL", own, "other"};
        run_command(h.db, &h.log, del);
        const std::string_view pexpire[3] = {"PEXPIRE", "shared", "100000"};
        run_command(h.db, &h.log, pexpire);
        if (i % 50 == 0) h.db.active_expire_cycle(&h.log, 5);
        if (i % 500 == 0) {
          const std::string_view keys[2] = {"KEYS", "own*"};
          run_command(h.db, nullptr, keys);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.run({"GET", "counter"}), testing::bulk(std::to_string(kThreads * kOps)));
  EXPECT_EQ(h.run({"LLEN", "list"}), testing::integer(kThreads * kOps));
  EXPECT_EQ(h.db.expires_size(), 1u);
  // Sequence numbers are unique and the log replays to the same state.
  Harness replay(5);
  replay.now = h.now.load();
  for (const RecordingLog::Record& r : h.log.records()) {
    std::vector<std::string_view> args(r.args.begin(), r.args.end());
    run_command(replay.db, nullptr, args);
  }
  EXPECT_EQ(snapshot(replay.db), snapshot(h.db));
}

}  // namespace
}  // namespace mini_redis
