#include "apps/mini-redis/protocol/frame.h"

#include <string>

#include "gtest/gtest.h"

namespace mini_redis::resp {
namespace {

std::string wire(const Frame& f) {
  std::string out;
  encode(f, out);
  return out;
}

TEST(Frame, Encode) {
  EXPECT_EQ(wire(Frame::simple("OK")), "+OK\r\n");
  EXPECT_EQ(wire(Frame::error("ERR x")), "-ERR x\r\n");
  EXPECT_EQ(wire(Frame::integer(-3)), ":-3\r\n");
  EXPECT_EQ(wire(Frame::bulk("a\r\nb")), "$4\r\na\r\nb\r\n");
  EXPECT_EQ(wire(Frame::null()), "$-1\r\n");
  EXPECT_EQ(wire(Frame::null_array()), "*-1\r\n");
  EXPECT_EQ(wire(Frame::array_of({})), "*0\r\n");
  EXPECT_EQ(wire(Frame::command({"GET", "k"})), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(wire(Frame::array_of({Frame::integer(1), Frame::array_of({Frame::null()})})),
            "*2\r\n:1\r\n*1\r\n$-1\r\n");
}

TEST(Frame, ToStringAsRedisCli) {
  EXPECT_EQ(Frame::simple("OK").to_string(), "OK");
  EXPECT_EQ(Frame::error("ERR x").to_string(), "(error) ERR x");
  EXPECT_EQ(Frame::integer(5).to_string(), "(integer) 5");
  EXPECT_EQ(Frame::bulk("bar").to_string(), "\"bar\"");
  EXPECT_EQ(Frame::bulk("a\"b\\c\n\x01\xff").to_string(), "\"a\\\"b\\\\c\\n\\x01\\xff\"");
  EXPECT_EQ(Frame::null().to_string(), "(nil)");
  EXPECT_EQ(Frame::null_array().to_string(), "(nil)");
  EXPECT_EQ(Frame::array_of({}).to_string(), "(empty array)");
  EXPECT_EQ(Frame::command({"a", "b"}).to_string(), "1) \"a\"\n2) \"b\"");
  Frame nested = Frame::array_of(
      {Frame::integer(1), Frame::command({"x", "y"}), Frame::null()});
  EXPECT_EQ(nested.to_string(), "1) (integer) 1\n2) 1) \"x\"\n   2) \"y\"\n3) (nil)");
}

TEST(Frame, Equality) {
  EXPECT_EQ(Frame::bulk("a"), Frame::bulk("a"));
  EXPECT_NE(Frame::bulk("a"), Frame::simple("a"));
  EXPECT_NE(Frame::null(), Frame::null_array());
  EXPECT_TRUE(Frame::null().is_null());
  EXPECT_TRUE(Frame::error("E").is_error());
}

}  // namespace
}  // namespace mini_redis::resp
