// Flag parsing: defaults per protocol, both flag spellings, durations, and every kind of bad
// input failing with a message naming the flag.
#include "benchmarks/loadgen/config.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace keel::loadgen {
namespace {

absl::StatusOr<Config> parse(std::vector<std::string_view> args) { return parse_args(args); }

TEST(Duration, Units) {
  EXPECT_EQ(*parse_duration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(*parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(*parse_duration("250us"), std::chrono::microseconds(250));
  EXPECT_EQ(*parse_duration("7ns"), std::chrono::nanoseconds(7));
  EXPECT_EQ(*parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*parse_duration("0"), Nanos(0));
  EXPECT_EQ(*parse_duration("0s"), Nanos(0));
  for (const char* bad : {"", "10", "s", "10x", "-1s", "1.2.3s", "10 s", "ms10", "1e3s"}) {
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_duration("1000000h").ok());
}

TEST(Flags, Defaults) {
  absl::StatusOr<Config> echo = parse({"echo"});
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->connect, "127.0.0.1:7000");
  EXPECT_EQ(echo->transport, Transport::kTcp);
  EXPECT_EQ(echo->connections, 50);
  EXPECT_EQ(echo->pipeline, 1);
  EXPECT_EQ(echo->duration, std::chrono::seconds(10));
  EXPECT_EQ(echo->requests, 0u);
  EXPECT_EQ(echo->threads, 2);
  EXPECT_EQ(echo->timeout, std::chrono::seconds(5));
  EXPECT_EQ(echo->size, 64u);
  absl::StatusOr<Config> redis = parse({"redis"});
  ASSERT_TRUE(redis.ok());
  EXPECT_EQ(redis->connect, "127.0.0.1:6379");
  EXPECT_EQ(redis->command, "PING");
  EXPECT_EQ(redis->keyspace, 1000000u);
  EXPECT_EQ(redis->data_size, 3u);
}

TEST(Flags, EverySetting) {
  absl::StatusOr<Config> c =
      parse({"redis", "--connect", "10.0.0.1:7", "--connections=7", "--pipeline", "16",
             "--requests", "1000", "--warmup", "1s", "--rate", "2500.5", "--threads", "3",
             "--timeout=250ms", "--command", "SET k __data__", "--keyspace", "10",
             "--data-size", "100", "--json", "-"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->connect, "10.0.0.1:7");
  EXPECT_EQ(c->connections, 7);
  EXPECT_EQ(c->pipeline, 16);
  EXPECT_EQ(c->requests, 1000u);
  EXPECT_EQ(c->warmup, std::chrono::seconds(1));
  EXPECT_DOUBLE_EQ(c->rate, 2500.5);
  EXPECT_EQ(c->threads, 3);
  EXPECT_EQ(c->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c->command, "SET k __data__");
  EXPECT_EQ(c->keyspace, 10u);
  EXPECT_EQ(c->data_size, 100u);
  EXPECT_EQ(c->json, "-");
  absl::StatusOr<Config> u = parse({"--transport", "udp", "echo", "--size", "1400"});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->transport, Transport::kUdp);
  EXPECT_EQ(u->size, 1400u);
  absl::StatusOr<Config> x = parse({"echo", "--transport", "unix", "--connect", "/tmp/e.sock"});
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->connect, "/tmp/e.sock");
  EXPECT_TRUE(parse({"--help"})->help);
}

TEST(Flags, BadInputNamesTheProblem) {
  struct Case {
    std::vector<std::string_view> args;
    const char* want;
  };
  const std::vector<Case> cases = {
      {{}, "missing PROTOCOL"},
      {{"http9"}, "unknown protocol"},
      {{"echo", "redis"}, "unexpected argument"},
      {{"echo", "--bogus", "1"}, "unknown flag --bogus"},
      {{"echo", "--connections"}, "--connections needs a value"},
      {{"echo", "--connections", "0"}, "--connections"},
      {{"echo", "--connections", "-3"}, "--connections"},
      {{"echo", "--connections", "12abc"}, "--connections"},
      {{"echo", "--pipeline", "100000000"}, "--pipeline"},
      {{"echo", "--duration", "10"}, "--duration"},
      {{"echo", "--duration", "0s"}, "--duration"},
      {{"echo", "--duration", "1s", "--requests", "5"}, "not both"},
      {{"echo", "--rate", "0"}, "--rate"},
      {{"echo", "--rate", "fast"}, "--rate"},
      {{"echo", "--timeout", "0"}, "--timeout"},
      {{"echo", "--transport", "sctp"}, "--transport"},
      {{"echo", "--transport", "udp", "--size", "70000"}, "UDP datagram"},
      {{"echo", "--transport", "unix"}, "needs --connect"},
      {{"echo", "--command", "PING"}, "redis flag"},
      {{"redis", "--size", "10"}, "echo flag"},
      {{"redis", "--transport", "udp"}, "tcp or unix"},
      {{"redis", "--keyspace", "0"}, "--keyspace"},
      {{"redis", "--command", ""}, "--command"},
      {{"echo", "--json="}, "--json"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Config> r = parse(c.args);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.want))
        << r.status().message() << " (wanted " << c.want << ")";
  }
}

}  // namespace
}  // namespace keel::loadgen
