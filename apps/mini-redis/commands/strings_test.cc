// String commands: replies and errors as Redis 7, and the records they log.
#include <string>

#include "apps/mini-redis/commands/test_util.h"
#include "gtest/gtest.h"

namespace mini_redis {
namespace {

using namespace testing;  // NOLINT

TEST(Strings, GetSetBasics) {
  Harness h;
  EXPECT_EQ(h.run({"GET", "k"}), kNull);
  EXPECT_EQ(h.run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(h.run({"get", "k"}), bulk("v"));
  EXPECT_EQ(h.run({"SET", "k", ""}), kOk);
  EXPECT_EQ(h.run({"GET", "k"}), bulk(""));
  EXPECT_EQ(h.run({"SET", "k", "longer value"}), kOk);
  EXPECT_EQ(h.run({"GET", "k"}), bulk("longer value"));
  EXPECT_EQ(h.run({"SET", "k", "same size va"}), kOk);  // overwritten in place
  EXPECT_EQ(h.run({"GET", "k"}), bulk("same size va"));
  EXPECT_EQ(h.run({"GET"}), err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(h.run({"SET", "k"}), err("ERR wrong number of arguments for 'set' command"));
  EXPECT_EQ(h.log.texts(), (std::vector<std::string>{"SET k v", "SET k ", "SET k longer value",
                                                     "SET k same size va"}));
  const DbStats s = h.db.stats();
  EXPECT_EQ(s.keyspace_misses, 1u);
  EXPECT_EQ(s.keyspace_hits, 4u);
}

TEST(Strings, BinaryKeysAndValues) {
  Harness h;
  const std::string key("a\0b", 3), value("\r\n\0x", 4);
  const std::string_view args[3] = {"SET", key, value};
  EXPECT_EQ(run_command(h.db, nullptr, args), kOk);
  const std::string_view get[2] = {"GET", key};
  EXPECT_EQ(run_command(h.db, nullptr, get), bulk(value));
}

TEST(Strings, SetOptions) {
  Harness h;
  EXPECT_EQ(h.run({"SET", "k", "v", "NX"}), kOk);
  EXPECT_EQ(h.run({"SET", "k", "w", "NX"}), kNull);
  EXPECT_EQ(h.run({"SET", "k", "w", "xx"}), kOk);
  EXPECT_EQ(h.run({"SET", "m", "w", "XX"}), kNull);
  EXPECT_EQ(h.run({"GET", "m"}), kNull);
  EXPECT_EQ(h.run({"SET", "k", "x", "GET"}), bulk("w"));
  EXPECT_EQ(h.run({"SET", "new", "x", "GET"}), kNull);
  EXPECT_EQ(h.run({"GET", "new"}), bulk("x"));
  EXPECT_EQ(h.run({"SET", "k", "y", "NX", "GET"}), bulk("x"));  // 7.0: NX and GET together
  EXPECT_EQ(h.run({"GET", "k"}), bulk("x"));
  EXPECT_EQ(h.run({"SET", "k", "z", "EX", "10", "EX", "20"}), kOk);  // repeat: last wins
  EXPECT_EQ(h.run({"TTL", "k"}), integer(20));
}

TEST(Strings, SetOptionConflictsAreSyntaxErrors) {
  Harness h;
  const std::string syntax = err("ERR syntax error");
  EXPECT_EQ(h.run({"SET", "k", "v", "NX", "XX"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "XX", "NX"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "10", "PX", "100"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "PXAT", "10", "EXAT", "100"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "KEEPTTL", "EX", "1"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "1", "KEEPTTL"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "EX"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "FOO"}), syntax);
  EXPECT_EQ(h.run({"SET", "k", "v", "PERSIST"}), syntax);
  EXPECT_EQ(h.run({"GET", "k"}), kNull);
  EXPECT_EQ(h.log.size(), 0u);
}

TEST(Strings, SetExpireErrors) {
  Harness h;
  const std::string invalid = err("ERR invalid expire time in 'set' command");
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "0"}), invalid);
  EXPECT_EQ(h.run({"SET", "k", "v", "PX", "-1"}), invalid);
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "9223372036854775807"}), invalid);
  EXPECT_EQ(h.run({"SET", "k", "v", "PX", "9223372036854775807"}), invalid);
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "abc"}),
            err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"SET", "k", "v", "EX", "1.5"}),
            err("ERR value is not an integer or out of range"));
}

// A record that is the request itself goes to the log with the request's bytes (the AOF copies
// them); one the command rewrote does not. RecordingLog checks the bytes encode the record.
TEST(Strings, RecordsThatAreTheRequestComeWithItsBytes) {
  Harness h;
  auto verbatim = [&h] { return h.log.records().back().verbatim; };
  EXPECT_EQ(h.run({"set", "k", "v"}), kOk);
  EXPECT_EQ(h.log.last(), "set k v");  // the client's case, as Redis's AOF keeps it
  EXPECT_TRUE(verbatim());
  EXPECT_EQ(h.run({"RPUSH", "l", "a", "b"}), integer(2));
  EXPECT_EQ(h.log.last(), "RPUSH l a b");
  EXPECT_TRUE(verbatim());
  EXPECT_EQ(h.run({"SET", "n", "v", "NX"}), kOk);  // the option is not part of the record
  EXPECT_EQ(h.log.last(), "SET n v");
  EXPECT_FALSE(verbatim());
  EXPECT_EQ(h.run({"SET", "e", "v", "EX", "10"}), kOk);
  EXPECT_EQ(h.log.last(), "SET e v PXAT " + std::to_string(Harness::kStart + 10000));
  EXPECT_FALSE(verbatim());
  EXPECT_EQ(h.run({"GETDEL", "k"}), bulk("v"));
  EXPECT_EQ(h.log.last(), "DEL k");
  EXPECT_FALSE(verbatim());
  EXPECT_EQ(h.run({"MSET", "a", "1"}), kOk);
  EXPECT_EQ(h.log.last(), "MSET a 1");
  EXPECT_FALSE(verbatim());
}

TEST(Strings, SetExpiryIsLoggedAbsolute) {
  Harness h;
  const std::string at = std::to_string(Harness::kStart + 100);
  EXPECT_EQ(h.run({"SET", "a", "v", "PX", "100"}), kOk);
  EXPECT_EQ(h.log.last(), "SET a v PXAT " + at);
  EXPECT_EQ(h.run({"SET", "b", "v", "EX", "1"}), kOk);
  EXPECT_EQ(h.log.last(), "SET b v PXAT " + std::to_string(Harness::kStart + 1000));
  EXPECT_EQ(h.run({"SET", "c", "v", "EXAT", "1704067300"}), kOk);
  EXPECT_EQ(h.log.last(), "SET c v PXAT 1704067300000");
  EXPECT_EQ(h.run({"SET", "d", "v", "PXAT", "1704067300001"}), kOk);
  EXPECT_EQ(h.log.last(), "SET d v PXAT 1704067300001");
  EXPECT_EQ(h.run({"SET", "a", "w", "KEEPTTL"}), kOk);
  EXPECT_EQ(h.log.last(), "SET a w PXAT " + at);
  EXPECT_EQ(h.run({"PTTL", "a"}), integer(100));
  EXPECT_EQ(h.run({"SET", "a", "x"}), kOk);  // a plain SET clears the TTL
  EXPECT_EQ(h.run({"PTTL", "a"}), integer(-1));
  EXPECT_EQ(h.log.last(), "SET a x");
}

TEST(Strings, ExpiredKeyIsGoneAndLoggedAsDel) {
  Harness h;
  EXPECT_EQ(h.run({"SET", "k", "v", "PX", "100"}), kOk);
  h.advance(99);
  EXPECT_EQ(h.run({"GET", "k"}), bulk("v"));
  h.advance(1);
  h.log.clear();
  EXPECT_EQ(h.run({"GET", "k"}), kNull);
  EXPECT_EQ(h.log.texts(), std::vector<std::string>{"DEL k"});
  EXPECT_EQ(h.db.size(), 0u);
  EXPECT_EQ(h.db.expires_size(), 0u);
  EXPECT_EQ(h.db.stats().expired_keys, 1u);
  // NX sees the expired key as absent.
  EXPECT_EQ(h.run({"SET", "j", "v", "PX", "5"}), kOk);
  h.advance(5);
  EXPECT_EQ(h.run({"SET", "j", "w", "NX"}), kOk);
}

TEST(Strings, WrongType) {
  Harness h;
  EXPECT_EQ(h.run({"RPUSH", "l", "a"}), integer(1));
  EXPECT_EQ(h.run({"GET", "l"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"SET", "l", "v", "GET"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"LLEN", "l"}), integer(1));  // not overwritten
  EXPECT_EQ(h.run({"INCR", "l"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"APPEND", "l", "x"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"STRLEN", "l"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"GETDEL", "l"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"SET", "l", "v"}), kOk);  // plain SET replaces any type
  EXPECT_EQ(h.run({"GET", "l"}), bulk("v"));
}

TEST(Strings, GetDel) {
  Harness h;
  EXPECT_EQ(h.run({"GETDEL", "k"}), kNull);
  EXPECT_EQ(h.run({"SET", "k", "v"}), kOk);
  EXPECT_EQ(h.run({"GETDEL", "k"}), bulk("v"));
  EXPECT_EQ(h.run({"GET", "k"}), kNull);
  EXPECT_EQ(h.log.last(), "DEL k");
}

TEST(Strings, MgetMset) {
  Harness h;
  EXPECT_EQ(h.run({"MSET", "a", "1", "b", "2", "c", "3", "a", "4"}), kOk);
  EXPECT_EQ(h.run({"RPUSH", "l", "x"}), integer(1));
  EXPECT_EQ(h.run({"MGET", "a", "b", "nope", "l", "c"}),
            "*5\r\n" + bulk("4") + bulk("2") + std::string(kNull) + std::string(kNull) + bulk("3"));
  EXPECT_EQ(h.run({"MSET", "a"}), err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(h.run({"MSET", "a", "b", "c"}), err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(h.run({"MGET"}), err("ERR wrong number of arguments for 'mget' command"));
}

TEST(Strings, MsetLogsOneRecordPerShard) {
  Harness h(16);
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("key" + std::to_string(i));
  std::vector<std::string_view> args = {"MSET"};
  for (const std::string& k : keys) {
    args.push_back(k);
    args.push_back(k);
  }
  EXPECT_EQ(run_command(h.db, &h.log, args), kOk);
  std::size_t pairs = 0;
  std::vector<int> shards;
  for (const RecordingLog::Record& r : h.log.records()) {
    ASSERT_EQ(r.args[0], "MSET");
    ASSERT_EQ(r.args.size() % 2, 1u);
    for (std::size_t i = 1; i < r.args.size(); i += 2) {
      EXPECT_EQ(static_cast<int>(h.db.shard_of(r.args[i])), r.shard) << r.args[i];
      ++pairs;
    }
    shards.push_back(r.shard);
  }
  EXPECT_EQ(pairs, keys.size());
  EXPECT_TRUE(std::is_sorted(shards.begin(), shards.end()));
  EXPECT_EQ(std::adjacent_find(shards.begin(), shards.end()), shards.end());
  EXPECT_GT(shards.size(), 1u);
}

TEST(Strings, IncrDecr) {
  Harness h;
  EXPECT_EQ(h.run({"INCR", "n"}), integer(1));
  EXPECT_EQ(h.run({"INCRBY", "n", "10"}), integer(11));
  EXPECT_EQ(h.run({"DECR", "n"}), integer(10));
  EXPECT_EQ(h.run({"DECRBY", "n", "-5"}), integer(15));
  EXPECT_EQ(h.run({"GET", "n"}), bulk("15"));
  EXPECT_EQ(h.log.last(), "SET n 15 KEEPTTL");
  EXPECT_EQ(h.run({"INCRBY", "n", "abc"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"INCRBY", "n", "+1"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"SET", "s", " 1"}), kOk);
  EXPECT_EQ(h.run({"INCR", "s"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"SET", "s", "01"}), kOk);
  EXPECT_EQ(h.run({"INCR", "s"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"SET", "m", "9223372036854775807"}), kOk);
  EXPECT_EQ(h.run({"INCR", "m"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(h.run({"SET", "m", "-9223372036854775808"}), kOk);
  EXPECT_EQ(h.run({"DECR", "m"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(h.run({"INCRBY", "m", "9223372036854775807"}), integer(-1));
  EXPECT_EQ(h.run({"DECRBY", "m", "-9223372036854775808"}), err("ERR decrement would overflow"));
  EXPECT_EQ(h.run({"INCR"}), err("ERR wrong number of arguments for 'incr' command"));
  // INCR keeps the TTL.
  EXPECT_EQ(h.run({"SET", "t", "1", "PX", "500"}), kOk);
  EXPECT_EQ(h.run({"INCR", "t"}), integer(2));
  EXPECT_EQ(h.run({"PTTL", "t"}), integer(500));
}

TEST(Strings, AppendStrlen) {
  Harness h;
  EXPECT_EQ(h.run({"STRLEN", "k"}), integer(0));
  EXPECT_EQ(h.run({"APPEND", "k", "Hello"}), integer(5));
  EXPECT_EQ(h.run({"APPEND", "k", " World"}), integer(11));
  EXPECT_EQ(h.run({"GET", "k"}), bulk("Hello World"));
  EXPECT_EQ(h.run({"STRLEN", "k"}), integer(11));
  EXPECT_EQ(h.log.last(), "APPEND k  World");
  EXPECT_EQ(h.run({"SET", "t", "a", "PX", "50"}), kOk);
  EXPECT_EQ(h.run({"APPEND", "t", "b"}), integer(2));
  EXPECT_EQ(h.run({"PTTL", "t"}), integer(50));
}

}  // namespace
}  // namespace mini_redis
