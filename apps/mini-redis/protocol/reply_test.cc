#include "apps/mini-redis/protocol/reply.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

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

TEST(Reply, CommandEncodesEveryArgumentAfterExistingOutput) {
  std::string out = "prefix";
  Reply r(out);
  const std::string ten(10, 'a'), hundred(100, 'b');
  std::vector<std::string_view> args = {"SET", "", "123456789", ten, hundred, "bin\r\n\0"};
  args.back() = std::string_view("bin\r\n\0", 6);
  r.command(args);
  EXPECT_EQ(out, "prefix*6\r\n$3\r\nSET\r\n$0\r\n\r\n$9\r\n123456789\r\n$10\r\n" + ten +
                     "\r\n$100\r\n" + hundred + "\r\n$6\r\n" + std::string("bin\r\n\0", 6) +
                     "\r\n");
  // The same bytes as the general encoder's.
  std::string general;
  Reply g(general);
  g.array(args.size());
  for (std::string_view a : args) g.bulk(a);
  EXPECT_EQ(out.substr(6), general);
}

TEST(Reply, CommandWithTenArgumentsAndNone) {
  std::string out;
  Reply r(out);
  std::vector<std::string_view> args(10, "x");
  r.command(args);
  r.command({});
  std::string expected = "*10\r\n";
  for (int i = 0; i < 10; ++i) expected += "$1\r\nx\r\n";
  EXPECT_EQ(out, expected + "*0\r\n");
}

}  // namespace
}  // namespace mini_redis::resp
