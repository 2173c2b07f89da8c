// cli: a small command-line client, as Tokio's mini-redis-cli.
//
//   cli [--host H] [--port P] ping [MSG]
//   cli [--host H] [--port P] get KEY                      -> "bar" or (nil)
//   cli [--host H] [--port P] set KEY VALUE [--expires MS] -> OK
//   cli [--host H] [--port P] publish CHANNEL MESSAGE      -> Publish OK
//   cli [--host H] [--port P] subscribe CHANNEL...         -> one line per message, until closed
//
// Also `--unixsocket PATH` instead of --host/--port. Exit status: 0 on success, 1 when the
// server cannot be reached or replies with an error (printed as "(error) ..."), 2 on bad usage.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/client/client.h"
#include "runtime/runtime.h"

namespace {

constexpr char kUsage[] =
    "usage: cli [--host HOST] [--port PORT] [--unixsocket PATH] COMMAND\n"
    "commands:\n"
    "  ping [MESSAGE]\n"
    "  get KEY\n"
    "  set KEY VALUE [--expires MILLISECONDS]\n"
    "  publish CHANNEL MESSAGE\n"
    "  subscribe CHANNEL...\n";

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;
  std::vector<std::string> command;  // the command and its arguments
  std::optional<long long> expires_ms;
};

int usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "cli: %s\n", problem.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

// Parses argv; on error prints why and the usage, and returns the exit status.
std::optional<int> parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      std::size_t eq = a.find('=');
      if (eq != std::string::npos) {
        out = a.substr(eq + 1);
        a = a.substr(0, eq);
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string v;
      if (!value(v)) return usage(a + " needs a value");
      if (a == "--host") {
        o.host = v;
      } else if (a == "--port") {
        if (!absl::SimpleAtoi(v, &o.port) || o.port <= 0 || o.port > 65535) {
          return usage("bad --port: " + v);
        }
      } else if (a == "--unixsocket") {
        o.unix_socket = v;
      } else if (a == "--expires") {
        long long ms = 0;
        if (!absl::SimpleAtoi(v, &ms) || ms <= 0) return usage("bad --expires: " + v);
        o.expires_ms = ms;
      } else {
        return usage("unknown flag " + a);
      }
      continue;
    }
    o.command.push_back(a);
  }
  if (o.command.empty()) return usage("no command");
  const std::string& cmd = o.command[0];
  std::size_t n = o.command.size() - 1;
  bool ok = (cmd == "ping" && n <= 1) || (cmd == "get" && n == 1) || (cmd == "set" && n == 2) ||
            (cmd == "publish" && n == 2) || (cmd == "subscribe" && n >= 1);
  if (!ok) return usage("bad arguments for '" + cmd + "'");
  if (o.expires_ms.has_value() && cmd != "set") return usage("--expires applies to set only");
  return std::nullopt;
}

// A failed call: "(error) <server text>" for a server error (as redis-cli), the error itself
// otherwise.
int report(const absl::Status& st) {
  if (mini_redis::is_server_error(st)) {
    std::printf("(error) %s\n", std::string(st.message()).c_str());
  } else {
    std::fprintf(stderr, "cli: %s\n", std::string(st.message()).c_str());
  }
  return 1;
}

keel::Task<int> run(Options o) {
  std::string addr = o.unix_socket.empty() ? absl::StrCat(o.host, ":", o.port) : o.unix_socket;
  keel::Task<absl::StatusOr<mini_redis::Client>> connecting = mini_redis::Client::connect(addr);
  absl::StatusOr<mini_redis::Client> c = co_await std::move(connecting);
  if (!c.ok()) co_return report(c.status());
  const std::string cmd = o.command[0];
  if (cmd == "ping") {
    std::optional<std::string> msg;
    if (o.command.size() > 1) msg = o.command[1];
    keel::Task<absl::StatusOr<std::string>> t = c->ping(std::move(msg));
    absl::StatusOr<std::string> r = co_await std::move(t);
    if (!r.ok()) co_return report(r.status());
    std::printf("%s\n", mini_redis::resp::quote(*r).c_str());
  } else if (cmd == "get") {
    keel::Task<absl::StatusOr<std::optional<std::string>>> t = c->get(o.command[1]);
    absl::StatusOr<std::optional<std::string>> r = co_await std::move(t);
    if (!r.ok()) co_return report(r.status());
    std::printf("%s\n", r->has_value() ? mini_redis::resp::quote(**r).c_str() : "(nil)");
  } else if (cmd == "set") {
    absl::Status st;
    if (o.expires_ms.has_value()) {
      keel::Task<absl::Status> t = c->set_expires(o.command[1], o.command[2],
                                                  std::chrono::milliseconds(*o.expires_ms));
      st = co_await std::move(t);
    } else {
      keel::Task<absl::Status> t = c->set(o.command[1], o.command[2]);
      st = co_await std::move(t);
    }
    if (!st.ok()) co_return report(st);
    std::printf("OK\n");
  } else if (cmd == "publish") {
    keel::Task<absl::StatusOr<std::int64_t>> t = c->publish(o.command[1], o.command[2]);
    absl::StatusOr<std::int64_t> r = co_await std::move(t);
    if (!r.ok()) co_return report(r.status());
    std::printf("Publish OK\n");
  } else {
    std::vector<std::string> channels(o.command.begin() + 1, o.command.end());
    keel::Task<absl::StatusOr<mini_redis::Subscriber>> t =
        std::move(*c).subscribe(std::move(channels));
    absl::StatusOr<mini_redis::Subscriber> sub = co_await std::move(t);
    if (!sub.ok()) co_return report(sub.status());
    std::fflush(stdout);
    while (true) {
      keel::Task<absl::StatusOr<std::optional<mini_redis::Message>>> next = sub->next_message();
      absl::StatusOr<std::optional<mini_redis::Message>> m = co_await std::move(next);
      if (!m.ok()) co_return report(m.status());
      if (!m->has_value()) break;
      std::printf("got message from the channel: %s; message = %s\n", (*m)->channel.c_str(),
                  mini_redis::resp::quote((*m)->content).c_str());
      std::fflush(stdout);
    }
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (std::optional<int> exit_code = parse(argc, argv, o)) return *exit_code;
  absl::StatusOr<keel::Runtime> rt = keel::Runtime::new_current_thread().enable_all().build();
  if (!rt.ok()) {
    std::fprintf(stderr, "cli: cannot start the runtime: %s\n",
                 std::string(rt.status().message()).c_str());
    return 1;
  }
  return rt->block_on(run(std::move(o)));
}
