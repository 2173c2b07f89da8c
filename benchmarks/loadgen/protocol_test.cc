// The protocols without sockets: echo's encode/validate, the RESP2 decoder (every reply type,
// nested arrays, input split at every byte boundary, malformed input), and command templates.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "benchmarks/loadgen/echo.h"
#include "benchmarks/loadgen/redis.h"
#include "gtest/gtest.h"

namespace keel::loadgen {
namespace {

TEST(Echo, RoundTripsAndCarriesTheId) {
  EchoProtocol echo(64);
  auto s = echo.new_session(1);
  std::string out;
  s->encode(7, out);
  s->encode(8, out);
  ASSERT_EQ(out.size(), 128u);
  EXPECT_EQ(s->decode(std::string_view(out).substr(0, 63), 7).status, DecodeStatus::kNeedMore);
  Decoded d = s->decode(out, 7);
  EXPECT_EQ(d.status, DecodeStatus::kResponse);
  EXPECT_EQ(d.consumed, 64u);
  EXPECT_EQ(d.id, 7u);
  d = s->decode(std::string_view(out).substr(64), 7);
  EXPECT_EQ(d.id, 8u);  // the id travels in the message, whatever the driver expected
}

TEST(Echo, DetectsCorruption) {
  EchoProtocol echo(32);
  auto s = echo.new_session(1);
  std::string out;
  s->encode(3, out);
  out[20] ^= 1;
  Decoded d = s->decode(out, 3);
  EXPECT_EQ(d.status, DecodeStatus::kError);
  EXPECT_NE(d.error.find("byte 20 of request 3"), std::string::npos) << d.error;
}

TEST(Echo, SmallMessagesUseTheExpectedId) {
  EchoProtocol echo(4);
  auto s = echo.new_session(1);
  std::string a, b;
  s->encode(1, a);
  s->encode(2, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(s->decode(a, 1).status, DecodeStatus::kResponse);
  EXPECT_EQ(s->decode(b, 1).status, DecodeStatus::kError);  // answer to the wrong request
}

// Every well-formed reply decodes whole, and every strict prefix needs more input.
void expect_reply(const std::string& reply, DecodeStatus want = DecodeStatus::kResponse) {
  Decoded d = parse_reply(reply);
  EXPECT_EQ(d.status, want) << reply << " " << d.error;
  EXPECT_EQ(d.consumed, reply.size()) << reply;
  for (std::size_t cut = 0; cut < reply.size(); ++cut) {
    Decoded p = parse_reply(std::string_view(reply).substr(0, cut));
    EXPECT_EQ(p.status, DecodeStatus::kNeedMore) << "cut " << cut << " of " << reply;
    EXPECT_EQ(p.consumed, 0u);
  }
  // With a second reply behind it, only the first is consumed.
  std::string two = reply + "+OK\r\n";
  EXPECT_EQ(parse_reply(two).consumed, reply.size());
}

TEST(Resp, EveryReplyType) {
  expect_reply("+OK\r\n");
  expect_reply("+\r\n");
  expect_reply(":0\r\n");
  expect_reply(":-42\r\n");
  expect_reply(":9223372036854775807\r\n");
  expect_reply("$3\r\nxxx\r\n");
  expect_reply("$0\r\n\r\n");
  expect_reply("$-1\r\n");
  expect_reply("$4\r\na\r\nb\r\n");  // CRLF inside a bulk string is data
  expect_reply("*0\r\n");
  expect_reply("*-1\r\n");
  expect_reply("*2\r\n$3\r\nfoo\r\n:1\r\n");
  expect_reply("*3\r\n*2\r\n+a\r\n*1\r\n$-1\r\n*0\r\n-ERR inner\r\n");
  expect_reply("-ERR unknown command\r\n", DecodeStatus::kServerError);
}

TEST(Resp, ServerErrorKeepsTheMessage) {
  Decoded d = parse_reply("-WRONGTYPE Operation against a key\r\n");
  EXPECT_EQ(d.status, DecodeStatus::kServerError);
  EXPECT_EQ(d.error, "WRONGTYPE Operation against a key");
}

TEST(Resp, DeepAndWideArrays) {
  std::string deep;
  for (std::size_t i = 0; i < kMaxNesting; ++i) deep += "*1\r\n";
  expect_reply(deep + ":1\r\n");
  EXPECT_EQ(parse_reply("*1\r\n" + deep + ":1\r\n").status, DecodeStatus::kError);
  std::string wide = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) wide += "*1\r\n:5\r\n";  // many siblings: not "deep"
  Decoded d = parse_reply(wide);
  EXPECT_EQ(d.status, DecodeStatus::kResponse) << d.error;
  EXPECT_EQ(d.consumed, wide.size());
}

TEST(Resp, SplitAtEveryByteOfAPipelinedStream) {
  // Decoding a stream fed in two pieces, at every cut, yields the same replies.
  const std::string stream =
      "+OK\r\n:12\r\n$5\r\nhello\r\n*2\r\n$1\r\na\r\n*1\r\n:-1\r\n$-1\r\n-ERR x\r\n*0\r\n";
  const std::vector<std::size_t> sizes = {5, 5, 11, 20, 5, 8, 4};
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string buf = stream.substr(0, cut);
    std::size_t fed = cut;
    std::vector<std::size_t> got;
    for (;;) {
      Decoded d = parse_reply(buf);
      if (d.status == DecodeStatus::kNeedMore) {
        if (fed == stream.size()) break;
        buf += stream.substr(fed);
        fed = stream.size();
        continue;
      }
      ASSERT_NE(d.status, DecodeStatus::kError) << d.error;
      got.push_back(d.consumed);
      buf.erase(0, d.consumed);
    }
    EXPECT_EQ(got, sizes) << "cut " << cut;
    EXPECT_TRUE(buf.empty());
  }
}

TEST(Resp, RejectsMalformedInput) {
  for (std::string bad : {"?x\r\n", "+OK\n", "+OK\r\r\n", ":12a\r\n", ":\r\n", "$-2\r\n",
                          "$abc\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "*x\r\n", "%1\r\n",
                          "$99999999999\r\n", ":1234567890123456789012345\r\n",
                          "*2\r\n:1\r\n!\r\n", "\r\n"}) {
    Decoded d = parse_reply(bad);
    EXPECT_EQ(d.status, DecodeStatus::kError) << bad;
    EXPECT_FALSE(d.error.empty());
  }
  // A length line that never ends is caught before the buffer grows without bound.
  EXPECT_EQ(parse_reply("$11111111111111111111111111111").status, DecodeStatus::kError);
  EXPECT_EQ(parse_reply(std::string_view("\0", 1)).status, DecodeStatus::kError);
}

TEST(Template, ExpandsLikeRedisBenchmark) {
  absl::StatusOr<CommandTemplate> t =
      CommandTemplate::parse("SET key:__rand_int__ __data__", 1000000, 3);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->args().size(), 3u);
  EXPECT_EQ(t->args()[1], "key:000000000000");
  EXPECT_EQ(t->args()[2], "xxx");
  std::uint64_t rng = 1;
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    std::string out;
    t->expand(rng, out);
    ASSERT_EQ(out.substr(0, 22), "*3\r\n$3\r\nSET\r\n$16\r\nkey:");
    std::string digits = out.substr(22, 12);
    EXPECT_EQ(out.substr(34), "\r\n$3\r\nxxx\r\n");
    EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);
    EXPECT_LT(std::stoull(digits), 1000000u);
    keys.insert(digits);
  }
  EXPECT_GT(keys.size(), 90u);  // random, not constant
}

TEST(Template, KeyspaceAndQuotesAndSeveralPlaceholders) {
  absl::StatusOr<CommandTemplate> t =
      CommandTemplate::parse("MSET \"a b __rand_int__\" __rand_int____data__", 3, 2);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->args()[1], "a b 000000000000");
  EXPECT_EQ(t->args()[2], "000000000000xx");
  EXPECT_EQ(t->rand_offsets().size(), 2u);
  std::uint64_t rng = 9;
  for (int i = 0; i < 50; ++i) {
    std::string out;
    t->expand(rng, out);
    Decoded d = parse_reply(out);  // a command is a valid RESP array of bulk strings
    EXPECT_EQ(d.status, DecodeStatus::kResponse);
    std::size_t at = out.find("a b ");
    EXPECT_LT(std::stoull(out.substr(at + 4, 12)), 3u);
  }
  std::uint64_t rng2 = 0;
  absl::StatusOr<CommandTemplate> ping = CommandTemplate::parse("PING", 10, 3);
  std::string out;
  ping->expand(rng2, out);
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n");
}

TEST(Template, RejectsBadTemplates) {
  EXPECT_FALSE(CommandTemplate::parse("", 10, 3).ok());
  EXPECT_FALSE(CommandTemplate::parse("   ", 10, 3).ok());
  EXPECT_FALSE(CommandTemplate::parse("SET \"unterminated", 10, 3).ok());
  EXPECT_FALSE(CommandTemplate::parse("PING", 0, 3).ok());
}

TEST(Redis, SessionsDifferBySeed) {
  absl::StatusOr<CommandTemplate> t = CommandTemplate::parse("GET __rand_int__", 1000000000, 0);
  RedisProtocol redis(*std::move(t));
  auto a = redis.new_session(1);
  auto b = redis.new_session(2);
  std::string x, y;
  a->encode(0, x);
  b->encode(0, y);
  EXPECT_NE(x, y);
  EXPECT_EQ(a->decode("+PONG\r\n", 0).status, DecodeStatus::kResponse);
}

}  // namespace
}  // namespace keel::loadgen
