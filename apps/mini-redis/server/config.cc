#include "apps/mini-redis/server/config.h"

#include <charconv>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace mini_redis {

const char kServerUsage[] =
    "usage: mini-redis-server [--port N] [--bind ADDR] [--unixsocket PATH] [--threads N]\n"
    "                         [--maxclients N] [--timeout SECONDS] [--requirepass PASS]\n"
    "                         [--appendonly yes|no] [--appendfsync always|everysec|no]\n"
    "                         [--dir PATH] [--shutdown-timeout SECONDS]\n"
    "                         [--pubsub-output-limit BYTES] [--busy-poll MICROSECONDS]\n"
    "\n"
    "  --port N                  TCP port (default 6379; 0 = no TCP listener)\n"
    "  --bind ADDR               address to listen on (default 127.0.0.1)\n"
    "  --unixsocket PATH         also listen on this unix socket\n"
    "  --threads N               runtime worker threads (default: the number of CPUs)\n"
    "  --maxclients N            clients served at once (default 10000); more are refused\n"
    "  --timeout SECONDS         close clients idle this long (default 0 = never)\n"
    "  --requirepass PASS        clients must AUTH with PASS first\n"
    "  --appendonly yes|no       log every write to DIR/appendonly.aof (default no)\n"
    "  --appendfsync MODE        always, everysec (default) or no\n"
    "  --dir PATH                directory of the append-only file (default .)\n"
    "  --shutdown-timeout SECONDS  on SIGINT/SIGTERM/SHUTDOWN, how long clients may take to\n"
    "                            finish before they are closed (default 10)\n"
    "  --pubsub-output-limit BYTES  disconnect a subscriber this far behind (default 32mb;\n"
    "                            suffixes k, kb, m, mb, g, gb)\n"
    "  --busy-poll MICROSECONDS  how long an idle worker keeps polling for I/O before it\n"
    "                            sleeps, while such polls catch the next request\n"
    "                            (default 50; 0 = sleep at once)\n"
    "  --save ARG                accepted for compatibility and ignored (no RDB snapshots)\n"
    "  --help                    print this help\n";

std::string_view fsync_policy_name(FsyncPolicy p) {
  if (p == FsyncPolicy::kAlways) return "always";
  if (p == FsyncPolicy::kNo) return "no";
  return "everysec";
}

namespace {

absl::Status bad_value(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(flag), " ", std::string(value), ": ", std::string(why)));
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

absl::StatusOr<std::uint64_t> parse_number(std::string_view flag, std::string_view v,
                                           std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  if (!parse_u64(v, n) || n < min || n > max) {
    return bad_value(flag, v, absl::StrCat("expected a number from ", min, " to ", max));
  }
  return n;
}

absl::StatusOr<bool> parse_yes_no(std::string_view flag, std::string_view v) {
  std::string lower = absl::AsciiStrToLower(std::string(v));
  if (lower == "yes") return true;
  if (lower == "no") return false;
  return bad_value(flag, v, "expected yes or no");
}

// Flags that take a value; anything else (but --help) is unknown.
constexpr std::string_view kValueFlags[] = {
    "--port",        "--bind",       "--unixsocket",       "--threads",
    "--maxclients",  "--timeout",    "--requirepass",      "--appendonly",
    "--appendfsync", "--dir",        "--shutdown-timeout", "--pubsub-output-limit",
    "--save",        "--busy-poll",
};

// A day: longer idle or shutdown timeouts are surely typos.
constexpr std::uint64_t kMaxSeconds = 365ULL * 24 * 3600;
// Far more workers than any machine this runs on has cores.
constexpr std::uint64_t kMaxThreads = 1024;
// A millisecond of spinning is already far past any client's think time.
constexpr std::uint64_t kMaxBusyPollMicros = 1000;
// Redis's own ceiling on maxclients is the descriptor limit; this only rejects nonsense.
constexpr std::uint64_t kMaxClientsCeiling = 10'000'000;

absl::Status apply(ServerConfig& c, std::string_view flag, std::string_view v) {
  if (flag == "--port") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 0, 65535);
    if (!n.ok()) return bad_value(flag, v, "expected a port from 0 to 65535");
    c.port = static_cast<int>(*n);
  } else if (flag == "--bind") {
    if (v.empty()) return bad_value(flag, "\"\"", "expected an address");
    c.bind = std::string(v);
  } else if (flag == "--unixsocket") {
    c.unixsocket = std::string(v);
  } else if (flag == "--threads") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 1, kMaxThreads);
    if (!n.ok()) return n.status();
    c.threads = *n;
  } else if (flag == "--maxclients") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 1, kMaxClientsCeiling);
    if (!n.ok()) return n.status();
    c.maxclients = *n;
  } else if (flag == "--timeout") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 0, kMaxSeconds);
    if (!n.ok()) return n.status();
    c.timeout = std::chrono::seconds(*n);
  } else if (flag == "--requirepass") {
    c.requirepass = std::string(v);
  } else if (flag == "--appendonly") {
    absl::StatusOr<bool> b = parse_yes_no(flag, v);
    if (!b.ok()) return b.status();
    c.appendonly = *b;
  } else if (flag == "--appendfsync") {
    std::string lower = absl::AsciiStrToLower(std::string(v));
    if (lower == "always") {
      c.appendfsync = FsyncPolicy::kAlways;
    } else if (lower == "everysec") {
      c.appendfsync = FsyncPolicy::kEverySec;
    } else if (lower == "no") {
      c.appendfsync = FsyncPolicy::kNo;
    } else {
      return bad_value(flag, v, "expected always, everysec or no");
    }
  } else if (flag == "--dir") {
    if (v.empty()) return bad_value(flag, "\"\"", "expected a directory");
    c.dir = std::string(v);
  } else if (flag == "--shutdown-timeout") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 0, kMaxSeconds);
    if (!n.ok()) return n.status();
    c.shutdown_timeout = std::chrono::seconds(*n);
  } else if (flag == "--pubsub-output-limit") {
    absl::StatusOr<std::uint64_t> n = parse_memory(v);
    if (!n.ok() || *n == 0) return bad_value(flag, v, "expected a size such as 32mb");
    c.pubsub_output_limit = *n;
  } else if (flag == "--busy-poll") {
    absl::StatusOr<std::uint64_t> n = parse_number(flag, v, 0, kMaxBusyPollMicros);
    if (!n.ok()) return n.status();
    c.busy_poll = std::chrono::microseconds(*n);
  }
  // --save: accepted and ignored.
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::uint64_t> parse_memory(std::string_view text) {
  std::string s = absl::AsciiStrToLower(std::string(text));
  std::uint64_t mul = 1;
  struct Suffix {
    std::string_view s;
    std::uint64_t mul;
  };
  // Longest first, so "kb" is not read as "b".
  constexpr Suffix kSuffixes[] = {
      {"gb", 1024ULL * 1024 * 1024}, {"mb", 1024ULL * 1024}, {"kb", 1024},
      {"g", 1000ULL * 1000 * 1000},  {"m", 1000ULL * 1000},  {"k", 1000},
      {"b", 1},
  };
  std::string_view digits = s;
  for (const Suffix& suf : kSuffixes) {
    if (digits.size() > suf.s.size() && digits.ends_with(suf.s)) {
      digits.remove_suffix(suf.s.size());
      mul = suf.mul;
      break;
    }
  }
  std::uint64_t n = 0;
  if (!parse_u64(digits, n)) {
    return absl::InvalidArgumentError(absl::StrCat("not a size: ", s));
  }
  if (n > UINT64_MAX / mul) return absl::InvalidArgumentError(absl::StrCat("size too big: ", s));
  return n * mul;
}

absl::StatusOr<ServerConfig> parse_args(int argc, const char* const* argv) {
  ServerConfig c;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      c.help = true;
      continue;
    }
    std::string_view flag = arg;
    std::string_view value;
    bool has_value = false;
    if (std::size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    bool known = false;
    for (std::string_view f : kValueFlags) known = known || f == flag;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", std::string(arg)));
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(std::string(flag), " needs a value"));
      }
      value = argv[++i];
    }
    if (absl::Status st = apply(c, flag, value); !st.ok()) return st;
  }
  if (c.threads == 0) {
    unsigned n = std::thread::hardware_concurrency();
    c.threads = n == 0 ? 1 : n;
  }
  if (c.port == 0 && c.unixsocket.empty()) {
    return absl::InvalidArgumentError("--port 0 needs --unixsocket: nothing to listen on");
  }
  return c;
}

}  // namespace mini_redis
