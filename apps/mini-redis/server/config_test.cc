#include "apps/mini-redis/server/config.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mini_redis {
namespace {

absl::StatusOr<ServerConfig> parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"mini-redis-server"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, Defaults) {
  absl::StatusOr<ServerConfig> c = parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 6379);
  EXPECT_EQ(c->bind, "127.0.0.1");
  EXPECT_TRUE(c->unixsocket.empty());
  EXPECT_GE(c->threads, 1u);
  EXPECT_EQ(c->maxclients, 10000u);
  EXPECT_EQ(c->timeout.count(), 0);
  EXPECT_FALSE(c->appendonly);
  EXPECT_EQ(c->appendfsync, FsyncPolicy::kEverySec);
  EXPECT_EQ(c->dir, ".");
  EXPECT_EQ(c->shutdown_timeout.count(), 10);
  EXPECT_EQ(c->pubsub_output_limit, 32u * 1024 * 1024);
  EXPECT_EQ(c->busy_poll.count(), 50);
  EXPECT_FALSE(c->help);
}

TEST(Config, BothSpellings) {
  absl::StatusOr<ServerConfig> c =
      parse({"--port", "6380", "--bind=0.0.0.0", "--threads=3", "--maxclients", "5",
             "--timeout=2", "--requirepass", "s3cret", "--appendonly", "YES",
             "--appendfsync=always", "--dir", "/tmp/x", "--shutdown-timeout=1",
             "--pubsub-output-limit", "1kb", "--unixsocket=/tmp/r.sock", "--save", "",
             "--busy-poll=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 6380);
  EXPECT_EQ(c->bind, "0.0.0.0");
  EXPECT_EQ(c->threads, 3u);
  EXPECT_EQ(c->maxclients, 5u);
  EXPECT_EQ(c->timeout.count(), 2);
  EXPECT_EQ(c->requirepass, "s3cret");
  EXPECT_TRUE(c->appendonly);
  EXPECT_EQ(c->appendfsync, FsyncPolicy::kAlways);
  EXPECT_EQ(c->dir, "/tmp/x");
  EXPECT_EQ(c->shutdown_timeout.count(), 1);
  EXPECT_EQ(c->pubsub_output_limit, 1024u);
  EXPECT_EQ(c->unixsocket, "/tmp/r.sock");
  EXPECT_EQ(c->busy_poll.count(), 0);
}

TEST(Config, Help) {
  absl::StatusOr<ServerConfig> c = parse({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->help);
}

TEST(Config, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  std::vector<Case> cases = {
      {{"--port", "70000"}, "--port 70000: expected a port from 0 to 65535"},
      {{"--port=abc"}, "--port abc"},
      {{"--port"}, "--port needs a value"},
      {{"--bogus"}, "unknown flag --bogus"},
      {{"--appendonly", "maybe"}, "--appendonly maybe: expected yes or no"},
      {{"--appendfsync", "sometimes"}, "expected always, everysec or no"},
      {{"--threads", "0"}, "--threads 0: expected a number from 1"},
      {{"--maxclients", "-1"}, "--maxclients -1"},
      {{"--timeout", "1.5"}, "--timeout 1.5"},
      {{"--busy-poll", "5000"}, "--busy-poll 5000: expected a number from 0 to 1000"},
      {{"--pubsub-output-limit", "lots"}, "expected a size"},
      {{"--port", "0"}, "nothing to listen on"},
  };
  for (const Case& k : cases) {
    absl::StatusOr<ServerConfig> c = parse(k.args);
    ASSERT_FALSE(c.ok()) << k.args[0];
    EXPECT_NE(std::string(c.status().message()).find(k.want), std::string::npos)
        << c.status().message() << " lacks " << k.want;
  }
}

TEST(Config, PortZeroWithUnixSocket) {
  absl::StatusOr<ServerConfig> c = parse({"--port", "0", "--unixsocket", "/tmp/s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 0);
}

TEST(Config, ParseMemory) {
  EXPECT_EQ(*parse_memory("5"), 5u);
  EXPECT_EQ(*parse_memory("1k"), 1000u);
  EXPECT_EQ(*parse_memory("1kb"), 1024u);
  EXPECT_EQ(*parse_memory("2MB"), 2u * 1024 * 1024);
  EXPECT_EQ(*parse_memory("3m"), 3000000u);
  EXPECT_EQ(*parse_memory("1gb"), 1024u * 1024 * 1024);
  EXPECT_EQ(*parse_memory("1g"), 1000000000u);
  EXPECT_FALSE(parse_memory("").ok());
  EXPECT_FALSE(parse_memory("kb").ok());
  EXPECT_FALSE(parse_memory("-1").ok());
  EXPECT_FALSE(parse_memory("99999999999999999999gb").ok());
}

}  // namespace
}  // namespace mini_redis
