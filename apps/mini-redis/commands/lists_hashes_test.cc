// List and hash commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN; HSET, HGET, HDEL, HGETALL,
// HLEN, HEXISTS.
#include <string>

#include "apps/mini-redis/commands/test_util.h"
#include "gtest/gtest.h"

namespace mini_redis {
namespace {

using namespace testing;  // NOLINT

TEST(Lists, PushPopRange) {
  Harness h;
  EXPECT_EQ(h.run({"RPUSH", "l", "a", "b", "c"}), integer(3));
  EXPECT_EQ(h.run({"LPUSH", "l", "x", "y"}), integer(5));
  EXPECT_EQ(h.log.last(), "LPUSH l x y");
  EXPECT_EQ(h.run({"LRANGE", "l", "0", "-1"}),
            "*5\r\n" + bulk("y") + bulk("x") + bulk("a") + bulk("b") + bulk("c"));
  EXPECT_EQ(h.run({"LRANGE", "l", "-2", "100"}), "*2\r\n" + bulk("b") + bulk("c"));
  EXPECT_EQ(h.run({"LRANGE", "l", "-100", "0"}), "*1\r\n" + bulk("y"));
  EXPECT_EQ(h.run({"LRANGE", "l", "3", "1"}), "*0\r\n");
  EXPECT_EQ(h.run({"LRANGE", "l", "5", "10"}), "*0\r\n");
  EXPECT_EQ(h.run({"LRANGE", "l", "a", "1"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(h.run({"LRANGE", "nope", "0", "-1"}), "*0\r\n");
  EXPECT_EQ(h.run({"LLEN", "l"}), integer(5));
  EXPECT_EQ(h.run({"LPOP", "l"}), bulk("y"));
  EXPECT_EQ(h.run({"RPOP", "l"}), bulk("c"));
  EXPECT_EQ(h.run({"LPOP", "l", "2"}), "*2\r\n" + bulk("x") + bulk("a"));
  EXPECT_EQ(h.log.last(), "LPOP l 2");
  EXPECT_EQ(h.run({"RPOP", "l", "0"}), "*0\r\n");
  EXPECT_EQ(h.run({"RPOP", "l", "10"}), "*1\r\n" + bulk("b"));
  // Empty: deleted.
  EXPECT_EQ(h.run({"EXISTS", "l"}), integer(0));
  EXPECT_EQ(h.run({"LPOP", "l"}), kNull);
  EXPECT_EQ(h.run({"LPOP", "l", "2"}), "*-1\r\n");
  EXPECT_EQ(h.run({"LLEN", "l"}), integer(0));
}

TEST(Lists, Errors) {
  Harness h;
  h.run({"SET", "s", "v"});
  EXPECT_EQ(h.run({"LPUSH", "s", "a"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"RPOP", "s"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"LRANGE", "s", "0", "1"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"LLEN", "s"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"LPUSH", "l"}), err("ERR wrong number of arguments for 'lpush' command"));
  EXPECT_EQ(h.run({"LPOP", "l", "1", "2"}), err("ERR wrong number of arguments for 'lpop' command"));
  EXPECT_EQ(h.run({"LPOP", "l", "abc"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(h.run({"RPOP", "l", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(h.run({"LRANGE", "l", "0"}), err("ERR wrong number of arguments for 'lrange' command"));
}

TEST(Hashes, SetGetDel) {
  Harness h;
  EXPECT_EQ(h.run({"HSET", "h", "a", "1", "b", "2", "c", "3"}), integer(3));
  EXPECT_EQ(h.run({"HSET", "h", "a", "9", "d", "4"}), integer(1));
  EXPECT_EQ(h.log.last(), "HSET h a 9 d 4");
  EXPECT_EQ(h.run({"HGET", "h", "a"}), bulk("9"));
  EXPECT_EQ(h.run({"HGET", "h", "zz"}), kNull);
  EXPECT_EQ(h.run({"HGET", "nope", "a"}), kNull);
  EXPECT_EQ(h.run({"HLEN", "h"}), integer(4));
  EXPECT_EQ(h.run({"HEXISTS", "h", "b"}), integer(1));
  EXPECT_EQ(h.run({"HEXISTS", "h", "zz"}), integer(0));
  EXPECT_EQ(h.run({"HDEL", "h", "b", "zz", "b"}), integer(1));
  EXPECT_EQ(h.log.last(), "HDEL h b zz b");
  EXPECT_EQ(h.run({"HSET", "h", "b", "5"}), integer(1));
  // Insertion order, as Redis's small hashes.
  EXPECT_EQ(h.run({"HGETALL", "h"}), "*8\r\n" + bulk("a") + bulk("9") + bulk("c") + bulk("3") +
                                         bulk("d") + bulk("4") + bulk("b") + bulk("5"));
  EXPECT_EQ(h.run({"HGETALL", "nope"}), "*0\r\n");
  h.log.clear();
  EXPECT_EQ(h.run({"HDEL", "h", "zz"}), integer(0));
  EXPECT_EQ(h.log.size(), 0u);
  EXPECT_EQ(h.run({"HDEL", "h", "a", "b", "c", "d"}), integer(4));
  EXPECT_EQ(h.run({"EXISTS", "h"}), integer(0));
}

TEST(Hashes, Errors) {
  Harness h;
  h.run({"SET", "s", "v"});
  EXPECT_EQ(h.run({"HSET", "s", "a", "1"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HGET", "s", "a"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HGETALL", "s"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HDEL", "s", "a"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HLEN", "s"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HEXISTS", "s", "a"}), kWrongTypeReply);
  EXPECT_EQ(h.run({"HSET", "h", "a"}), err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(h.run({"HSET", "h", "a", "b", "c"}),
            err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(h.run({"HGET", "h"}), err("ERR wrong number of arguments for 'hget' command"));
}

TEST(Hashes, LargeHashUsesIndexAndStaysConsistent) {
  Harness h;
  constexpr int kFields = 1000;
  for (int i = 0; i < kFields; ++i) {
    const std::string f = "f" + std::to_string(i);
    ASSERT_EQ(h.run({"HSET", "h", f, "v" + std::to_string(i)}), integer(1));
  }
  for (int i = 0; i < kFields; i += 3) {
    ASSERT_EQ(h.run({"HDEL", "h", "f" + std::to_string(i)}), integer(1));
  }
  for (int i = 0; i < kFields; ++i) {
    const std::string f = "f" + std::to_string(i);
    ASSERT_EQ(h.run({"HGET", "h", f}), i % 3 == 0 ? std::string(kNull) : bulk("v" + std::to_string(i)))
        << f;
  }
  EXPECT_EQ(h.run({"HLEN", "h"}), integer(kFields - (kFields + 2) / 3));
}

}  // namespace
}  // namespace mini_redis
