#include "apps/mini-redis/protocol/reply.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace mini_redis::resp {
namespace {

TEST(Reply, EveryKind) {
  std::string out;
  Reply r(out);
  r.ok();
  r.simple("PONG");
  r.error("ERR no such key");
  r.integer(0);
  r.integer(-42);
  r.bulk("bar");
  r.bulk("");
  r.null();
  r.null_array();
  r.array(2);
  r.integer(1);
  r.bulk(std::string("a\r\nb", 4));
  r.raw(":7\r\n");
  EXPECT_EQ(out,
            "+OK\r\n+PONG\r\n-ERR no such key\r\n:0\r\n:-42\r\n$3\r\nbar\r\n$0\r\n\r\n$-1\r\n"
            "*-1\r\n*2\r\n:1\r\n$4\r\na\r\nb\r\n:7\r\n");
  EXPECT_EQ(&r.out(), &out);
}

TEST(Reply, IntegerExtremes) {
  std::string out;
  Reply r(out);
  r.integer(std::numeric_limits<std::int64_t>::min());
  r.integer(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(out, ":-9223372036854775808\r\n:9223372036854775807\r\n");
}

TEST(Reply, NewlinesInSimpleAndErrorBecomeSpaces) {
  std::string out;
  Reply r(out);
  r.error("ERR a\r\nb");
  r.simple("x\ny");
  EXPECT_EQ(out, "-ERR a  b\r\n+x y\r\n");
}

TEST(Reply, AppendsToExistingOutput) {
  std::string out = "prefix";
  Reply r(out);
  r.array(0);
  r.bulk(std::string(1000, 'x'));
  EXPECT_EQ(out, "prefix*0\r\n$1000\r\n" + std::string(1000, 'x') + "\r\n");
}

}  // namespace
}  // namespace mini_redis::resp
