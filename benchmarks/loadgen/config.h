// Config: loadgen's command line, parsed and checked before anything starts.
//
//   absl::StatusOr<Config> c = parse_args({"redis", "--pipeline", "16", "--duration", "5s"});
//   if (!c.ok()) { fprintf(stderr, "%s\n%s", c.status().message(), kUsage); exit(2); }
//
// Flags are `--name value` or `--name=value`. A bad flag or value is INVALID_ARGUMENT naming
// the flag; for `--help` (or -h) parse_args returns a Config with help = true.
// Durations: a number with a unit, ns, us, ms, s, m or h ("10s", "500ms", "1.5s", "2m"); "0"
// alone is allowed.
//
// Thread-safety: values.
#ifndef KEEL_BENCHMARKS_LOADGEN_CONFIG_H_
#define KEEL_BENCHMARKS_LOADGEN_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::loadgen {

using Nanos = std::chrono::nanoseconds;

enum class Transport { kTcp, kUdp, kUnix };
std::string_view transport_name(Transport t);

struct Config {
  bool help = false;
  std::string protocol;  // "echo" or "redis"
  std::string connect;   // host:port, or a path for unix
  Transport transport = Transport::kTcp;
  int connections = 50;
  int pipeline = 1;
  Nanos duration = std::chrono::seconds(10);
  std::uint64_t requests = 0;  // > 0: run until this many requests instead of for `duration`
  Nanos warmup{0};
  double rate = 0;  // > 0: open loop, requests per second over all connections
  int threads = 2;
  Nanos timeout = std::chrono::seconds(5);
  std::size_t size = 64;                 // echo
  std::string command = "PING";          // redis
  std::uint64_t keyspace = 1000000;      // redis
  std::size_t data_size = 3;             // redis
  std::string json;                      // "" = none, "-" = stdout
};

// Limits on values, to catch typos (a pipeline of 1e9) before they exhaust memory.
inline constexpr int kMaxConnections = 1000000;
inline constexpr int kMaxPipeline = 65536;
inline constexpr int kMaxThreads = 1024;
inline constexpr std::size_t kMaxMessageSize = 64 * 1024 * 1024;
// The largest UDP payload over IPv4.
inline constexpr std::size_t kMaxDatagram = 65507;

extern const char kUsage[];

absl::StatusOr<Nanos> parse_duration(std::string_view text);
// args excludes argv[0].
absl::StatusOr<Config> parse_args(const std::vector<std::string_view>& args);

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_CONFIG_H_
