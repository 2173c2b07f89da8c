// The connection loop over in-memory duplex pipes, on every scheduler flavour: closed loop with
// pipelining (echo and redis), open loop, server errors, protocol errors with reconnects,
// refused connects, timeouts (paused clock), lost datagrams, and a duration-bounded run.
#include "benchmarks/loadgen/connection.h"

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/loadgen/echo.h"
#include "benchmarks/loadgen/redis.h"
#include "benchmarks/loadgen/run_state.h"
#include "gtest/gtest.h"
#include "net/error.h"
#include "runtime/io/duplex.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::loadgen {
namespace {

enum class Fake {
  kEcho,         // echoes every byte
  kCorrupt,      // echoes with one byte flipped
  kSilent,       // reads, never answers
  kRedisOk,      // "+OK" per RESP command
  kRedisErr,     // "-ERR" per RESP command
  kDropEveryThird,  // echoes whole messages of `size` bytes, drops every third (datagrams)
  kRefuse,       // the connect fails
};

Task<void> serve(io::DuplexStream s, Fake fake, std::size_t size) {
  std::string buf(64 * 1024, '\0');
  std::string pending;
  std::uint64_t seen = 0;
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await s.read(std::span<char>(buf));
    if (!n.ok() || *n == 0) co_return;
    std::string reply;
    if (fake == Fake::kEcho || fake == Fake::kCorrupt) {
      reply = buf.substr(0, *n);
      if (fake == Fake::kCorrupt) reply[reply.size() - 1] ^= 1;
    } else if (fake == Fake::kRedisOk || fake == Fake::kRedisErr) {
      pending.append(buf, 0, *n);
      for (;;) {
        Decoded d = parse_reply(pending);  // a command is a RESP array
        if (d.status != DecodeStatus::kResponse) break;
        pending.erase(0, d.consumed);
        reply += fake == Fake::kRedisOk ? "+OK\r\n" : "-ERR nope\r\n";
      }
    } else if (fake == Fake::kDropEveryThird) {
      pending.append(buf, 0, *n);
      while (pending.size() >= size) {
        if (++seen % 3 != 0) reply += pending.substr(0, size);
        pending.erase(0, size);
      }
    }
    if (!reply.empty()) {
      absl::Status w = co_await io::write_all(s, reply);
      if (!w.ok()) co_return;
    }
  }
}

struct Counters {
  std::atomic<int> dials{0};
};

struct DuplexDialer {
  using Stream = io::DuplexStream;
  Fake fake;
  std::size_t size;
  std::shared_ptr<Counters> counters;
  Task<absl::StatusOr<Stream>> dial() const { return dial_fake(fake, size, counters); }

  static Task<absl::StatusOr<Stream>> dial_fake(Fake fake, std::size_t size,
                                                std::shared_ptr<Counters> counters) {
    // ORDERING: a test-only counter read after every connection task was joined.
    counters->dials.fetch_add(1, std::memory_order_relaxed);
    if (fake == Fake::kRefuse) co_return net::io_error(ECONNREFUSED, "connect", "fake");
    auto [client, server] = io::duplex(256 * 1024);
    JoinHandle<void> detached = spawn(serve(std::move(server), fake, size));  // dropped: detached
    co_return std::move(client);
  }
};

// The same pipe, seen as a datagram socket (pipeline 1 keeps message boundaries intact).
class DatagramPipe {
 public:
  static constexpr bool kDatagram = true;
  explicit DatagramPipe(io::DuplexStream s) : s_(std::move(s)) {}
  auto read(std::span<char> buf) { return s_.read(buf); }
  auto write(std::span<const char> buf) { return s_.write(buf); }

 private:
  io::DuplexStream s_;
};

struct DatagramDialer {
  using Stream = DatagramPipe;
  DuplexDialer inner;
  Task<absl::StatusOr<Stream>> dial() const { return dial_datagram(inner); }
  static Task<absl::StatusOr<Stream>> dial_datagram(DuplexDialer inner) {
    Task<absl::StatusOr<io::DuplexStream>> t = inner.dial();
    absl::StatusOr<io::DuplexStream> s = co_await std::move(t);
    if (!s.ok()) co_return s.status();
    co_return DatagramPipe(*std::move(s));
  }
};

// Runs every connection of `config` to completion and returns the results.
template <class Dialer>
Task<Results> run_all(Config config, const Protocol* protocol, Dialer dialer) {
  RunState run(config, *protocol, Instant::now());
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < config.connections; ++i) {
    std::uint64_t quota = 0;
    if (config.requests > 0) {
      auto n = static_cast<std::uint64_t>(config.connections);
      quota = config.requests / n + (static_cast<std::uint64_t>(i) < config.requests % n ? 1 : 0);
    }
    handles.push_back(spawn(run_connection(&run, dialer, i, quota)));
  }
  for (JoinHandle<void>& h : handles) {
    absl::Status s = co_await h;
    EXPECT_TRUE(s.ok()) << s;
  }
  co_return run.results();
}

Config base(std::string protocol, int connections, int pipeline, std::uint64_t requests) {
  Config c;
  c.protocol = std::move(protocol);
  c.connections = connections;
  c.pipeline = pipeline;
  c.requests = requests;
  return c;
}

DuplexDialer dialer(Fake fake, std::size_t size = 0) {
  return DuplexDialer{fake, size, std::make_shared<Counters>()};
}

// Built outside the coroutine bodies: GCC 12 mishandles braced temporaries inside them.
DatagramDialer datagram(DuplexDialer inner) { return DatagramDialer{std::move(inner)}; }

KEEL_TEST(Connection, EchoClosedLoopPipelined) {
  EchoProtocol echo(100);
  Config c = base("echo", 3, 4, 301);
  Task<Results> run = run_all(c, &echo, dialer(Fake::kEcho));
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 301u);
  EXPECT_EQ(r.errors.total(), 0u) << r.first_error;
  EXPECT_EQ(r.latency.count(), 301u);
}

KEEL_TEST(Connection, RedisPipelinedSet) {
  absl::StatusOr<CommandTemplate> t = CommandTemplate::parse("SET key:__rand_int__ __data__", 1000, 3);
  KEEL_ASSERT_OK(t);
  RedisProtocol redis(*std::move(t));
  Config c = base("redis", 2, 16, 1000);
  Task<Results> run = run_all(c, &redis, dialer(Fake::kRedisOk));
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 1000u);
  EXPECT_EQ(r.errors.total(), 0u) << r.first_error;
}

KEEL_TEST(Connection, ServerErrorsAreCountedNotFatal) {
  absl::StatusOr<CommandTemplate> t = CommandTemplate::parse("PING", 10, 3);
  KEEL_ASSERT_OK(t);
  RedisProtocol redis(*std::move(t));
  DuplexDialer d = dialer(Fake::kRedisErr);
  Task<Results> run = run_all(base("redis", 1, 4, 40), &redis, d);
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.errors.server_error, 40u);
  EXPECT_EQ(r.errors.total(), 40u);
  EXPECT_EQ(d.counters->dials.load(), 1);  // an error reply keeps the connection
  EXPECT_EQ(r.first_error, "ERR nope");
}

KEEL_TEST(Connection, CorruptEchoIsAProtocolErrorAndReconnects) {
  EchoProtocol echo(16);
  DuplexDialer d = dialer(Fake::kCorrupt);
  Task<Results> run = run_all(base("echo", 1, 1, 5), &echo, d);
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.errors.protocol, 5u);
  EXPECT_EQ(d.counters->dials.load(), 5);
  EXPECT_NE(r.first_error.find("differs"), std::string::npos) << r.first_error;
}

KEEL_TEST(Connection, RefusedConnectsAreCountedWithBackoff) {
  time::pause();
  EchoProtocol echo(16);
  DuplexDialer d = dialer(Fake::kRefuse);
  Task<Results> run = run_all(base("echo", 2, 1, 6), &echo, d);
  Results r = co_await std::move(run);
  EXPECT_EQ(r.errors.refused, 6u);
  EXPECT_EQ(r.errors.total(), 6u);
  EXPECT_EQ(d.counters->dials.load(), 6);
  time::resume();
}

KEEL_TEST(Connection, SilentServerTimesOut) {
  time::pause();
  EchoProtocol echo(16);
  Config c = base("echo", 1, 2, 4);
  c.timeout = std::chrono::seconds(1);
  DuplexDialer d = dialer(Fake::kSilent);
  Task<Results> run = run_all(c, &echo, d);
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.errors.timeout, 4u);  // two windows of two, each lost whole
  EXPECT_EQ(d.counters->dials.load(), 2);
  time::resume();
}

KEEL_TEST(Connection, LostDatagramsTimeOutAndTheSocketStays) {
  time::pause();
  EchoProtocol echo(16);
  Config c = base("echo", 1, 1, 9);
  c.timeout = std::chrono::milliseconds(100);
  DuplexDialer inner = dialer(Fake::kDropEveryThird, 16);
  Task<Results> run = run_all(c, &echo, datagram(inner));
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 6u);
  EXPECT_EQ(r.errors.timeout, 3u);
  EXPECT_EQ(inner.counters->dials.load(), 1);
  time::resume();
}

KEEL_TEST(Connection, OpenLoopSendsOnSchedule) {
  time::pause();
  EchoProtocol echo(32);
  Config c = base("echo", 2, 4, 20);
  c.rate = 100;  // 50/s per connection: 20 requests take ~200 ms of (paused) time
  Instant start = Instant::now();
  Task<Results> run = run_all(c, &echo, dialer(Fake::kEcho));
  Results r = co_await std::move(run);
  EXPECT_EQ(r.requests, 20u);
  EXPECT_EQ(r.errors.total(), 0u) << r.first_error;
  // The schedule, not the (instant) server, set the pace: the last of each connection's 10
  // requests was due 9 intervals of 20 ms after its first.
  EXPECT_GE(Instant::now() - start, std::chrono::milliseconds(180));
  time::resume();
}

KEEL_TEST(Connection, DurationBoundedRunWithWarmup) {
  EchoProtocol echo(64);
  Config c = base("echo", 2, 2, 0);
  c.duration = std::chrono::milliseconds(50);
  c.warmup = std::chrono::milliseconds(20);
  Task<Results> run = run_all(c, &echo, dialer(Fake::kEcho));
  Results r = co_await std::move(run);
  EXPECT_GT(r.requests, 0u);
  EXPECT_EQ(r.errors.total(), 0u) << r.first_error;
  EXPECT_DOUBLE_EQ(r.duration_s, 0.05);
}

}  // namespace
}  // namespace keel::loadgen
