// Expiry commands on a fake clock: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX|XX|GT|LT), TTL,
// PTTL, PERSIST, and their records (always absolute: PEXPIREAT, or DEL when already past).
#include <string>

#include "apps/mini-redis/commands/test_util.h"
#include "gtest/gtest.h"

namespace mini_redis {
namespace {

using namespace testing;  // NOLINT

TEST(Expiry, ExpireTtlPttl) {
  Harness h;
  EXPECT_EQ(h.run({"EXPIRE", "k", "10"}), integer(0));
  EXPECT_EQ(h.run({"TTL", "k"}), integer(-2));
  EXPECT_EQ(h.run({"PTTL", "k"}), integer(-2));
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(h.run({"EXPIRE", "k", "10"}), integer(1));
  EXPECT_EQ(h.log.last(), "PEXPIREAT k " + std::to_string(Harness::kStart + 10000));
  EXPECT_EQ(h.run({"TTL", "k"}), integer(10));
  h.advance(1499);
  EXPECT_EQ(h.run({"TTL", "k"}), integer(9));  // 8501 ms rounds to 9
  EXPECT_EQ(h.run({"PTTL", "k"}), integer(8501));
  h.advance(8501);
  EXPECT_EQ(h.run({"TTL", "k"}), integer(-2));
  EXPECT_EQ(h.log.last(), "DEL k");
}

TEST(Expiry, AbsoluteForms) {
  Harness h;
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"PEXPIREAT", "k", std::to_string(Harness::kStart + 1234)}), integer(1));
  EXPECT_EQ(h.run({"PTTL", "k"}), integer(1234));
  EXPECT_EQ(h.log.last(), "PEXPIREAT k " + std::to_string(Harness::kStart + 1234));
  EXPECT_EQ(h.run({"EXPIREAT", "k", std::to_string(Harness::kStart / 1000 + 7)}), integer(1));
  EXPECT_EQ(h.run({"PTTL", "k"}), integer(7000));
  EXPECT_EQ(h.log.last(), "PEXPIREAT k " + std::to_string(Harness::kStart + 7000));
  EXPECT_EQ(h.run({"PEXPIRE", "k", "5"}), integer(1));
  EXPECT_EQ(h.run({"PTTL", "k"}), integer(5));
}

TEST(Expiry, PastTimeDeletesAndLogsDel) {
  Harness h;
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"PEXPIREAT", "k", "-5"}), integer(1));
  EXPECT_EQ(h.log.last(), "DEL k");
  EXPECT_EQ(h.run({"EXISTS", "k"}), integer(0));
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "k", "0"}), integer(1));
  EXPECT_EQ(h.run({"EXISTS", "k"}), integer(0));
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "k", "-10"}), integer(1));
  EXPECT_EQ(h.run({"EXISTS", "k"}), integer(0));
}

TEST(Expiry, Errors) {
  Harness h;
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "k", "abc"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"EXPIRE", "k", "9223372036854775807"}),
            err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(h.run({"PEXPIRE", "k", "9223372036854775807"}),
            err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(h.run({"EXPIREAT", "k", "-9223372036854775808"}),
            err("ERR invalid expire time in 'expireat' command"));
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "foo"}), err("ERR Unsupported option foo"));
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "nx", "xx"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "NX", "GT"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(h.run({"EXPIRE", "k", "10", "gt", "lt"}),
            err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(h.run({"EXPIRE", "k"}), err("ERR wrong number of arguments for 'expire' command"));
  EXPECT_EQ(h.run({"TTL"}), err("ERR wrong number of arguments for 'ttl' command"));
  EXPECT_EQ(h.run({"TTL", "k"}), integer(-1));
}

TEST(Expiry, NxXxGtLt) {
  Harness h;
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "XX"}), integer(0));  // no TTL yet
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "GT"}), integer(0));  // no TTL = infinite
  EXPECT_EQ(h.run({"EXPIRE", "k", "100", "NX"}), integer(1));
  EXPECT_EQ(h.run({"EXPIRE", "k", "50", "NX"}), integer(0));
  EXPECT_EQ(h.run({"EXPIRE", "k", "50", "GT"}), integer(0));
  EXPECT_EQ(h.run({"EXPIRE", "k", "200", "GT"}), integer(1));
  EXPECT_EQ(h.run({"EXPIRE", "k", "300", "LT"}), integer(0));
  EXPECT_EQ(h.run({"EXPIRE", "k", "150", "LT", "XX"}), integer(1));
  EXPECT_EQ(h.run({"TTL", "k"}), integer(150));
  h.run({"SET", "p", "v"});
  EXPECT_EQ(h.run({"EXPIRE", "p", "10", "LT"}), integer(1));  // no TTL: LT passes
}

TEST(Expiry, Persist) {
  Harness h;
  EXPECT_EQ(h.run({"PERSIST", "k"}), integer(0));
  h.run({"SET", "k", "v", "EX", "10"});
  EXPECT_EQ(h.db.expires_size(), 1u);
  EXPECT_EQ(h.run({"PERSIST", "k"}), integer(1));
  EXPECT_EQ(h.log.last(), "PERSIST k");
  EXPECT_EQ(h.run({"PERSIST", "k"}), integer(0));
  EXPECT_EQ(h.run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(h.run({"GET", "k"}), bulk("v"));
  EXPECT_EQ(h.db.expires_size(), 0u);
}

TEST(Expiry, TtlOnListsAndHashesSurvivesWrites) {
  Harness h;
  h.run({"RPUSH", "l", "a", "b"});
  EXPECT_EQ(h.run({"EXPIRE", "l", "10"}), integer(1));
  h.run({"RPUSH", "l", "c"});
  EXPECT_EQ(h.run({"TTL", "l"}), integer(10));
  EXPECT_EQ(h.run({"LRANGE", "l", "0", "-1"}), "*3\r\n" + bulk("a") + bulk("b") + bulk("c"));
  h.run({"HSET", "h", "f", "v"});
  EXPECT_EQ(h.run({"PEXPIRE", "h", "10"}), integer(1));
  EXPECT_EQ(h.run({"HGET", "h", "f"}), bulk("v"));
  h.advance(10);
  EXPECT_EQ(h.run({"HGET", "h", "f"}), kNull);
  EXPECT_EQ(h.run({"LLEN", "l"}), integer(3));
  h.advance(10000);
  EXPECT_EQ(h.run({"LLEN", "l"}), integer(0));
  EXPECT_EQ(h.db.size(), 0u);
}

}  // namespace
}  // namespace mini_redis
