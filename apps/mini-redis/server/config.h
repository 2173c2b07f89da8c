// ServerConfig: the mini-redis server's settings, parsed from Redis-style command-line flags.
//
//   absl::StatusOr<mini_redis::ServerConfig> c = mini_redis::parse_args(argc, argv);
//   if (!c.ok()) { fprintf(stderr, "mini-redis: %s\n%s", msg, mini_redis::kServerUsage); exit(2); }
//   if (c->help) { print kServerUsage to stdout; exit(0); }
//
// Flags use Redis's names and take their value either as the next argument ("--port 6380") or
// after '=' ("--port=6380"). Sizes accept Redis's suffixes (k, kb, m, mb, g, gb; "kb" is 1024,
// "k" is 1000), booleans yes/no.
//
// Thread-safety: values.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_CONFIG_H_
#define KEEL_APPS_MINI_REDIS_SERVER_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mini_redis {

// The default TCP port, as Redis's.
inline constexpr int kDefaultPort = 6379;
// Redis's default maxclients.
inline constexpr std::size_t kDefaultMaxClients = 10000;
// How long a graceful shutdown waits for connections to finish before it closes them.
inline constexpr std::chrono::seconds kDefaultShutdownTimeout{10};
// Redis's "client-output-buffer-limit pubsub 32mb": a subscriber that falls this far behind is
// disconnected rather than left to grow the server's memory.
inline constexpr std::uint64_t kDefaultPubsubOutputLimit = 32ULL * 1024 * 1024;

// ServerConfig::port for in-process tests: bind any free port (reported through OnListening).
// Not accepted from the command line.
inline constexpr int kEphemeralPort = -1;

// 50 µs: several times a loopback client's turn-around (send a reply, get the next command:
// ~10-20 µs here), the value Linux documents for its own net.core.busy_poll, and at most 5% of
// a core for a server woken 1,000 times a second.
inline constexpr std::chrono::microseconds kDefaultBusyPoll{50};

enum class FsyncPolicy { kAlways, kEverySec, kNo };

std::string_view fsync_policy_name(FsyncPolicy p);  // "always", "everysec", "no"

struct ServerConfig {
  int port = kDefaultPort;                      // 0: no TCP listener; kEphemeralPort: any
  std::string bind = "127.0.0.1";
  std::string unixsocket;                       // empty: no unix listener
  std::size_t threads = 0;                      // 0 at parse time is replaced by the CPU count
  std::size_t maxclients = kDefaultMaxClients;
  std::chrono::seconds timeout{0};              // idle clients; 0 = never closed
  std::string requirepass;                      // empty: no AUTH needed
  bool appendonly = false;
  FsyncPolicy appendfsync = FsyncPolicy::kEverySec;
  std::string dir = ".";
  std::chrono::seconds shutdown_timeout = kDefaultShutdownTimeout;
  std::uint64_t pubsub_output_limit = kDefaultPubsubOutputLimit;
  // Runtime::Builder::busy_poll. Clients of a Redis server send their next command within
  // microseconds of a reply; a worker still polling then spares the client's send() a
  // wake-up. On loopback with redis-benchmark -P 1 that is 10-20% more requests per second.
  // The runtime stops spinning by itself while spins mostly run out (BusyPollGovernor).
  std::chrono::microseconds busy_poll = kDefaultBusyPoll;
  bool help = false;                            // --help was given: print kServerUsage, exit 0
};

extern const char kServerUsage[];

// Parses argv[1..argc). Errors say what is wrong ("--port 70000: expected a port from 0 to
// 65535"); the caller prefixes "mini-redis: " and prints the usage.
absl::StatusOr<ServerConfig> parse_args(int argc, const char* const* argv);

// Redis's memtoll: "32mb" -> 33554432, "1k" -> 1000, "5" -> 5. Case-insensitive.
absl::StatusOr<std::uint64_t> parse_memory(std::string_view text);

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_SERVER_CONFIG_H_
