#include "benchmarks/loadgen/config.h"

#include <cmath>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/loadgen/absl_compat.h"

namespace keel::loadgen {

const char kUsage[] =
    "usage: loadgen PROTOCOL [flags]        PROTOCOL: echo | redis\n"
    "  --connect ADDR        host:port (tcp, udp) or a path (unix); default 127.0.0.1:7000\n"
    "                        (echo), 127.0.0.1:6379 (redis)\n"
    "  --transport T         tcp | udp | unix (echo); tcp | unix (redis); default tcp\n"
    "  --connections N       concurrent connections (50)\n"
    "  --pipeline N          requests in flight per connection (1)\n"
    "  --duration D          measured run time (10s); or\n"
    "  --requests N          stop after N measured requests in total\n"
    "  --warmup D            run first for D and discard the results (0s)\n"
    "  --rate R              open loop: R requests/s in total, latency from the intended send\n"
    "                        time (coordinated omission corrected)\n"
    "  --threads N           runtime worker threads (2)\n"
    "  --timeout D           per-request timeout, counted as error \"timeout\" (5s)\n"
    "  --size N              echo: message bytes (64)\n"
    "  --command TEMPLATE    redis: command (\"PING\"), e.g. \"SET key:__rand_int__ __data__\"\n"
    "  --keyspace N          redis: __rand_int__ is in [0, N) (1000000)\n"
    "  --data-size N         redis: __data__ is N bytes of 'x' (3)\n"
    "  --json FILE           also write the report as JSON (\"-\" = stdout)\n"
    "Durations: 10s, 500ms, 2m, 1.5s, 250us, 1h.\n";

std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::kTcp:
      return "tcp";
    case Transport::kUdp:
      return "udp";
    case Transport::kUnix:
      return "unix";
  }
  return "?";
}

absl::StatusOr<Nanos> parse_duration(std::string_view text) {
  if (text == "0") return Nanos(0);
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  std::string_view number = text.substr(0, unit_at);
  std::string_view unit = text.substr(unit_at);
  double value = 0;
  if (number.empty() || !absl::SimpleAtod(av(number), &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration \"", av(text), "\": expected a number with a unit, e.g. 10s"));
  }
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad duration \"", av(text), "\": the unit must be ns, us, ms, s, m or h, e.g. 10s"));
  }
  double ns = value * scale;
  // A year is beyond any load test and keeps the arithmetic far from overflow.
  constexpr double kMaxNanos = 365.0 * 24 * 3600e9;
  if (ns > kMaxNanos) return absl::InvalidArgumentError(absl::StrCat("duration \"", av(text), "\" is too long"));
  return Nanos(static_cast<std::int64_t>(std::llround(ns)));
}

namespace {

absl::Status bad_value(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(av(flag), " \"", av(value), "\": ", av(why)));
}

absl::StatusOr<std::uint64_t> parse_count(std::string_view flag, std::string_view value,
                                          std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  if (!absl::SimpleAtoi(av(value), &v) || value.empty() || value[0] == '-' || value[0] == '+') {
    return bad_value(flag, value, "expected a whole number");
  }
  if (v < min || v > max) {
    return bad_value(flag, value, absl::StrCat("must be between ", min, " and ", max));
  }
  return v;
}

}  // namespace

absl::StatusOr<Config> parse_args(const std::vector<std::string_view>& args) {
  Config c;
  bool duration_set = false;
  bool connect_set = false;
  std::optional<Transport> transport;
  bool size_set = false;
  bool redis_flag_set = false;
  std::string_view redis_flag;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      return c;
    }
    if (arg.size() < 2 || arg.substr(0, 2) != "--") {
      if (!c.protocol.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", av(arg), "\""));
      }
      if (arg != "echo" && arg != "redis") {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown protocol \"", av(arg), "\" (expected echo or redis)"));
      }
      c.protocol = std::string(arg);
      continue;
    }
    std::string_view flag = arg;
    std::string_view value;
    bool has_value = false;
    if (std::size_t eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    static constexpr std::string_view kKnown[] = {
        "--connect", "--transport", "--connections", "--pipeline", "--duration",
        "--requests", "--warmup", "--rate", "--threads", "--timeout",
        "--size", "--command", "--keyspace", "--data-size", "--json"};
    bool known = false;
    for (std::string_view k : kKnown) known = known || k == flag;
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", av(flag)));
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(av(flag), " needs a value"));
      }
      value = args[++i];
    }
    if (flag == "--connect") {
      if (value.empty()) return bad_value(flag, value, "must not be empty");
      c.connect = std::string(value);
      connect_set = true;
    } else if (flag == "--transport") {
      if (value == "tcp") {
        transport = Transport::kTcp;
      } else if (value == "udp") {
        transport = Transport::kUdp;
      } else if (value == "unix") {
        transport = Transport::kUnix;
      } else {
        return bad_value(flag, value, "expected tcp, udp or unix");
      }
    } else if (flag == "--connections") {
      absl::StatusOr<std::uint64_t> v = parse_count(flag, value, 1, kMaxConnections);
      if (!v.ok()) return v.status();
      c.connections = static_cast<int>(*v);
    } else if (flag == "--pipeline") {
      absl::StatusOr<std::uint64_t> v = parse_count(flag, value, 1, kMaxPipeline);
      if (!v.ok()) return v.status();
      c.pipeline = static_cast<int>(*v);
    } else if (flag == "--threads") {
      absl::StatusOr<std::uint64_t> v = parse_count(flag, value, 1, kMaxThreads);
      if (!v.ok()) return v.status();
      c.threads = static_cast<int>(*v);
    } else if (flag == "--requests") {
      absl::StatusOr<std::uint64_t> v =
          parse_count(flag, value, 1, std::numeric_limits<std::uint64_t>::max());
      if (!v.ok()) return v.status();
      c.requests = *v;
    } else if (flag == "--size") {
      absl::StatusOr<std::uint64_t> v = parse_count(flag, value, 1, kMaxMessageSize);
      if (!v.ok()) return v.status();
      c.size = *v;
      size_set = true;
    } else if (flag == "--keyspace" || flag == "--data-size") {
      absl::StatusOr<std::uint64_t> v =
          parse_count(flag, value, flag == "--keyspace" ? 1 : 0,
                      flag == "--keyspace" ? std::numeric_limits<std::uint64_t>::max()
                                           : kMaxMessageSize);
      if (!v.ok()) return v.status();
      if (flag == "--keyspace") {
        c.keyspace = *v;
      } else {
        c.data_size = *v;
      }
      redis_flag_set = true;
      redis_flag = flag;
    } else if (flag == "--command") {
      if (value.empty()) return bad_value(flag, value, "must not be empty");
      c.command = std::string(value);
      redis_flag_set = true;
      redis_flag = flag;
    } else if (flag == "--rate") {
      double r = 0;
      if (!absl::SimpleAtod(av(value), &r) || !std::isfinite(r) || r <= 0) {
        return bad_value(flag, value, "expected a positive number of requests per second");
      }
      c.rate = r;
    } else if (flag == "--json") {
      if (value.empty()) return bad_value(flag, value, "expected a file name or -");
      c.json = std::string(value);
    } else {  // durations
      absl::StatusOr<Nanos> d = parse_duration(value);
      if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(av(flag), ": ", d.status().message()));
      if (flag == "--duration") {
        if (d->count() <= 0) return bad_value(flag, value, "must be positive");
        c.duration = *d;
        duration_set = true;
      } else if (flag == "--warmup") {
        c.warmup = *d;
      } else {  // --timeout
        if (d->count() <= 0) return bad_value(flag, value, "must be positive");
        c.timeout = *d;
      }
    }
  }
  if (c.protocol.empty()) {
    return absl::InvalidArgumentError("missing PROTOCOL (echo or redis)");
  }
  if (duration_set && c.requests > 0) {
    return absl::InvalidArgumentError("give --duration or --requests, not both");
  }
  c.transport = transport.value_or(Transport::kTcp);
  if (c.protocol == "echo") {
    if (redis_flag_set) {
      return absl::InvalidArgumentError(absl::StrCat(av(redis_flag), " is a redis flag"));
    }
    if (c.transport == Transport::kUdp && c.size > kMaxDatagram) {
      return absl::InvalidArgumentError(
          absl::StrCat("--size ", c.size, " does not fit in one UDP datagram (max ",
                       kMaxDatagram, ")"));
    }
    if (!connect_set) {
      if (c.transport == Transport::kUnix) {
        return absl::InvalidArgumentError("--transport unix needs --connect PATH");
      }
      c.connect = "127.0.0.1:7000";
    }
  } else {
    if (size_set) return absl::InvalidArgumentError("--size is an echo flag (use --data-size)");
    if (c.transport == Transport::kUdp) {
      return absl::InvalidArgumentError("--transport udp: redis runs over tcp or unix");
    }
    if (!connect_set) {
      if (c.transport == Transport::kUnix) {
        return absl::InvalidArgumentError("--transport unix needs --connect PATH");
      }
      c.connect = "127.0.0.1:6379";
    }
  }
  return c;
}

}  // namespace keel::loadgen
