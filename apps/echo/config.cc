#include "apps/echo/config.h"

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace echo {

const char kServerUsage[] =
    "usage: server [--listen ADDR] [--proto tcp|udp|unix] [--threads N]\n"
    "              [--max-connections N] [--shutdown-timeout DURATION]\n"
    "\n"
    "  --listen ADDR              host:port for tcp/udp (default 127.0.0.1:7000), a socket\n"
    "                             path for unix (a leading @ names an abstract address)\n"
    "  --proto P                  tcp (default), udp or unix\n"
    "  --threads N                runtime worker threads (default 2)\n"
    "  --max-connections N        connections served at once (default 10000); more wait\n"
    "  --shutdown-timeout D       on SIGINT/SIGTERM, how long open connections may take to\n"
    "                             finish before they are closed (default 5s)\n";

const char kClientUsage[] =
    "usage: client [--connect ADDR] [--proto tcp|udp|unix] [--message TEXT] [--count N]\n"
    "\n"
    "  Sends TEXT to an echo server N times (default once), prints each echo, and exits 0\n"
    "  when every echo matched.\n";

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
    case Proto::kUnix:
      return "unix";
  }
  return "?";
}

namespace {

absl::Status bad_flag(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(flag), " ", std::string(value), ": ", std::string(why)));
}

absl::StatusOr<Proto> parse_proto(std::string_view v) {
  if (v == "tcp") return Proto::kTcp;
  if (v == "udp") return Proto::kUdp;
  if (v == "unix") return Proto::kUnix;
  return bad_flag("--proto", v, "expected tcp, udp or unix");
}

absl::StatusOr<std::size_t> parse_count(std::string_view flag, std::string_view v,
                                        std::size_t min, std::size_t max) {
  std::uint64_t n = 0;
  if (!absl::SimpleAtoi(std::string(v), &n) || n < min || n > max) {
    return bad_flag(flag, v, absl::StrCat("expected a number from ", min, " to ", max));
  }
  return static_cast<std::size_t>(n);
}

// Walks "--flag value" pairs; calls set(flag, value) for each.
template <class Set>
absl::Status walk_flags(int argc, const char* const* argv, Set set) {
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag.substr(0, 2) != "--") return bad_flag("argument", flag, "not a flag");
    std::string_view value;
    if (std::size_t eq = flag.find('='); eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= argc) return bad_flag(flag, "", "missing value");
      value = argv[++i];
    }
    if (absl::Status s = set(flag, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::string_view num = text;
  double scale = 1000;  // seconds by default
  if (num.size() > 2 && num.substr(num.size() - 2) == "ms") {
    scale = 1, num.remove_suffix(2);
  } else if (!num.empty() && num.back() == 's') {
    num.remove_suffix(1);
  } else if (!num.empty() && num.back() == 'm') {
    scale = 60000, num.remove_suffix(1);
  }
  double v = 0;
  if (num.empty() || !absl::SimpleAtod(std::string(num), &v) || v < 0 || v > 1e9) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad duration \"", std::string(text), "\" (examples: 10s, 500ms, 2m)"));
  }
  return std::chrono::milliseconds(static_cast<long long>(v * scale));
}

absl::StatusOr<ServerConfig> parse_server_flags(int argc, const char* const* argv) {
  ServerConfig c;
  bool listen_set = false;
  absl::Status st = walk_flags(argc, argv, [&](std::string_view f, std::string_view v) -> absl::Status {
    if (f == "--listen") {
      if (v.empty()) return bad_flag(f, v, "empty address");
      c.listen = std::string(v);
      listen_set = true;
    } else if (f == "--proto") {
      absl::StatusOr<Proto> p = parse_proto(v);
      if (!p.ok()) return p.status();
      c.proto = *p;
    } else if (f == "--threads") {
      absl::StatusOr<std::size_t> n = parse_count(f, v, 1, 1024);
      if (!n.ok()) return n.status();
      c.threads = *n;
    } else if (f == "--max-connections") {
      absl::StatusOr<std::size_t> n = parse_count(f, v, 1, 10'000'000);
      if (!n.ok()) return n.status();
      c.max_connections = *n;
    } else if (f == "--shutdown-timeout") {
      absl::StatusOr<std::chrono::milliseconds> d = parse_duration(v);
      if (!d.ok()) return bad_flag(f, v, std::string(d.status().message()));
      c.shutdown_timeout = *d;
    } else {
      return bad_flag(f, v, "unknown flag");
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (c.proto == Proto::kUnix && !listen_set) c.listen = "/tmp/keel-echo.sock";
  return c;
}

absl::StatusOr<ClientConfig> parse_client_flags(int argc, const char* const* argv) {
  ClientConfig c;
  bool connect_set = false;
  absl::Status st = walk_flags(argc, argv, [&](std::string_view f, std::string_view v) -> absl::Status {
    if (f == "--connect") {
      if (v.empty()) return bad_flag(f, v, "empty address");
      c.connect = std::string(v);
      connect_set = true;
    } else if (f == "--proto") {
      absl::StatusOr<Proto> p = parse_proto(v);
      if (!p.ok()) return p.status();
      c.proto = *p;
    } else if (f == "--message") {
      if (v.empty()) return bad_flag(f, v, "empty message");
      c.message = std::string(v);
    } else if (f == "--count") {
      absl::StatusOr<std::size_t> n = parse_count(f, v, 1, 1'000'000);
      if (!n.ok()) return n.status();
      c.count = static_cast<int>(*n);
    } else {
      return bad_flag(f, v, "unknown flag");
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (c.proto == Proto::kUnix && !connect_set) c.connect = "/tmp/keel-echo.sock";
  return c;
}

}  // namespace echo
