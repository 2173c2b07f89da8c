// dispatch(): the data commands (commands/) and the connection commands, with Redis 7's
// checks in Redis's order: unknown command, arity, authentication, subscriber-mode context.

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/db/glob.h"
#include "apps/mini-redis/protocol/number.h"
#include "apps/mini-redis/server/connection.h"

namespace mini_redis {
namespace {

using Args = std::span<const std::string_view>;
using ServerHandler = void (*)(Session&, Args, resp::Reply&);

// Redis caps the echoed command name and arguments of its "unknown command" error at 128.
constexpr std::size_t kUnknownEchoLimit = 128;
// The Redis version mini-redis reports (HELLO, INFO): the Redis it behaves like.
constexpr std::string_view kRedisVersion = "7.0.15";

struct ServerCommand {
  std::string_view name;  // lower case
  int arity;              // as CommandSpec::arity
  ServerHandler handler;
  bool pubsub_ok;  // allowed in subscriber mode
  bool noauth_ok;  // allowed before AUTH
};

// Compares in time independent of where the strings differ (AUTH must not leak the password
// prefix through timing); the length is compared the same way.
bool constant_time_equal(std::string_view a, std::string_view b) {
  std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// ---- connection commands ----

// With the append-only file stopped, the MISCONF error for a write (or a PING); nullopt while
// it accepts writes.
std::optional<std::string> refused_by_aof(const Session& s) {
  if (s.state.aof == nullptr || s.state.aof->accepting_writes()) [[likely]] {
    return std::nullopt;
  }
  absl::Status why = s.state.aof->write_status();
  if (why.ok()) why = absl::FailedPreconditionError("the append only file is closed");
  return aof_write_error(why);
}

void cmd_ping(Session& s, Args args, resp::Reply& reply) {
  if (args.size() > 2) return reply_arity(reply, "ping");
  // As Redis: PING fails too while writes are refused, so that health checks notice.
  if (std::optional<std::string> refused = refused_by_aof(s)) return reply.error(*refused);
  if (s.in_pubsub()) {
    reply.array(2);
    reply.bulk("pong");
    reply.bulk(args.size() == 2 ? args[1] : std::string_view());
    return;
  }
  if (args.size() == 2) {
    reply.bulk(args[1]);
  } else {
    reply.raw("+PONG\r\n");
  }
}

void cmd_echo(Session&, Args args, resp::Reply& reply) { reply.bulk(args[1]); }

void cmd_quit(Session& s, Args, resp::Reply& reply) {
  reply.ok();
  s.close_after_reply = true;
}

void cmd_select(Session&, Args args, resp::Reply& reply) {
  std::int64_t db = 0;
  if (!resp::parse_int64(args[1], db))
    return reply.error("ERR value is not an integer or out of range");
  if (db != 0) return reply.error("ERR DB index is out of range");
  reply.ok();
}

// Checks user/password against --requirepass; replies and returns true on success.
bool check_auth(Session& s, std::string_view user, std::string_view pass, resp::Reply* reply) {
  const std::string& want = s.state.config.requirepass;
  bool ok = user == "default" && (want.empty() || constant_time_equal(pass, want));
  if (!ok) {
    if (reply != nullptr) {
      reply->error("WRONGPASS invalid username-password pair or user is disabled.");
    }
    return false;
  }
  s.authenticated = true;
  return true;
}

void cmd_auth(Session& s, Args args, resp::Reply& reply) {
  if (args.size() > 3) return reply.error("ERR syntax error");
  if (args.size() == 2 && s.state.config.requirepass.empty()) {
    return reply.error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  std::string_view user = args.size() == 3 ? args[1] : std::string_view("default");
  std::string_view pass = args.back();
  if (check_auth(s, user, pass, &reply)) reply.ok();
}

void cmd_hello(Session& s, Args args, resp::Reply& reply) {
  std::size_t i = 1;
  if (args.size() >= 2) {
    std::int64_t ver = 0;
    if (!resp::parse_int64(args[1], ver)) {
      return reply.error("ERR Protocol version is not an integer or out of range");
    }
    // RESP3 is not spoken: clients fall back to RESP2, as with Redis 5.
    if (ver != 2) return reply.error("NOPROTO unsupported protocol version");
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < args.size(); ++i) {
    bool more = i + 1 < args.size();
    if (eq_nocase(args[i], "auth") && i + 2 < args.size()) {
      if (!check_auth(s, args[i + 1], args[i + 2], &reply)) return;
      i += 2;
    } else if (eq_nocase(args[i], "setname") && more) {
      setname = args[++i];
      has_setname = true;
    } else {
      return reply.error(
          absl::StrCat("ERR Syntax error in HELLO option '", std::string(args[i]), "'"));
    }
  }
  if (!s.authenticated) {
    return reply.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
  }
  if (has_setname) s.name = std::string(setname);
  reply.array(14);
  reply.bulk("server");
  reply.bulk("redis");
  reply.bulk("version");
  reply.bulk(kRedisVersion);
  reply.bulk("proto");
  reply.integer(2);
  reply.bulk("id");
  reply.integer(static_cast<std::int64_t>(s.id));
  reply.bulk("mode");
  reply.bulk("standalone");
  reply.bulk("role");
  reply.bulk("master");
  reply.bulk("modules");
  reply.array(0);
}

void cmd_client(Session& s, Args args, resp::Reply& reply) {
  std::string_view sub = args[1];
  if (eq_nocase(sub, "id") && args.size() == 2)
    return reply.integer(static_cast<std::int64_t>(s.id));
  if (eq_nocase(sub, "getname") && args.size() == 2) {
    if (s.name.empty()) return reply.null();
    return reply.bulk(s.name);
  }
  if (eq_nocase(sub, "setname") && args.size() == 3) {
    for (char c : args[2]) {
      if (c < '!' || c > '~') {
        return reply.error(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    s.name = std::string(args[2]);
    return reply.ok();
  }
  if (eq_nocase(sub, "setinfo") && args.size() == 4) return reply.ok();
  if ((eq_nocase(sub, "no-evict") || eq_nocase(sub, "no-touch")) && args.size() == 3) {
    return reply.ok();
  }
  if (eq_nocase(sub, "info") && args.size() == 2) {
    return reply.bulk(absl::StrCat("id=", s.id, " name=", s.name,
                                   " db=0 sub=", s.subscriber ? s.subscriber->channels().size() : 0,
                                   " psub=", s.subscriber ? s.subscriber->patterns().size() : 0,
                                   "\n"));
  }
  reply.error(absl::StrCat("ERR unknown subcommand or wrong number of arguments for '",
                           std::string(sub), "'. Try CLIENT HELP."));
}

// Redis 7's COMMAND reply entry: name, arity, flags, first key, last key, step, ACL
// categories, tips, key specs, subcommands.
void command_info(resp::Reply& reply, std::string_view name, int arity, std::uint32_t flags,
                  int first, int last, int step) {
  reply.array(10);
  reply.bulk(name);
  reply.integer(arity);
  std::size_t nflags = ((flags & kCmdWrite) ? 1 : 0) + ((flags & kCmdReadonly) ? 1 : 0) +
                       ((flags & kCmdFast) ? 1 : 0);
  reply.array(nflags);
  if (flags & kCmdWrite) reply.simple("write");
  if (flags & kCmdReadonly) reply.simple("readonly");
  if (flags & kCmdFast) reply.simple("fast");
  reply.integer(first);
  reply.integer(last);
  reply.integer(step);
  reply.array(0);
  reply.array(0);
  reply.array(0);
  reply.array(0);
}

const std::vector<ServerCommand>& server_commands();
const ServerCommand* find_server_command(std::string_view lower);

// Appends COMMAND INFO's entry for `name`, or a null for an unknown one.
void command_info_for(resp::Reply& reply, std::string_view name) {
  char buf[kMaxCommandName];
  const std::string_view lower = lower_command_name(name, buf);
  if (const CommandSpec* c = find_lower_command(lower); c != nullptr) {
    return command_info(reply, c->name, c->arity, c->flags, c->first_key, c->last_key, c->key_step);
  }
  if (const ServerCommand* sc = find_server_command(lower); sc != nullptr) {
    return command_info(reply, sc->name, sc->arity, 0, 0, 0, 0);
  }
  reply.null_array();
}

void all_command_infos(resp::Reply& reply) {
  std::span<const CommandSpec> data = all_commands();
  const std::vector<ServerCommand>& conn = server_commands();
  reply.array(data.size() + conn.size());
  for (const CommandSpec& c : data) {
    command_info(reply, c.name, c.arity, c.flags, c.first_key, c.last_key, c.key_step);
  }
  for (const ServerCommand& c : conn) command_info(reply, c.name, c.arity, 0, 0, 0, 0);
}

void cmd_command(Session&, Args args, resp::Reply& reply) {
  std::span<const CommandSpec> data = all_commands();
  const std::vector<ServerCommand>& conn = server_commands();
  std::size_t total = data.size() + conn.size();
  if (args.size() == 1) return all_command_infos(reply);
  std::string_view sub = args[1];
  if (eq_nocase(sub, "count") && args.size() == 2) {
    return reply.integer(static_cast<std::int64_t>(total));
  }
  if (eq_nocase(sub, "list") && args.size() == 2) {
    reply.array(total);
    for (const CommandSpec& c : data) reply.bulk(c.name);
    for (const ServerCommand& c : conn) reply.bulk(c.name);
    return;
  }
  if (eq_nocase(sub, "info")) {
    if (args.size() == 2) return all_command_infos(reply);
    reply.array(args.size() - 2);
    for (std::size_t i = 2; i < args.size(); ++i) command_info_for(reply, args[i]);
    return;
  }
  // redis-cli asks for the docs at start-up for its hints; none is a valid answer.
  if (eq_nocase(sub, "docs")) return reply.array(0);
  reply.error(absl::StrCat("ERR unknown subcommand or wrong number of arguments for '",
                           std::string(sub), "'. Try COMMAND HELP."));
}

void cmd_config(Session& s, Args args, resp::Reply& reply) {
  std::string_view sub = args[1];
  const ServerConfig& c = s.state.config;
  if (eq_nocase(sub, "get") && args.size() >= 3) {
    // Parameter names and values as Redis reports them; requirepass is not echoed back.
    const std::pair<std::string, std::string> params[] = {
        {"save", ""},
        {"appendonly", c.appendonly ? "yes" : "no"},
        {"appendfsync", std::string(fsync_policy_name(c.appendfsync))},
        {"port", absl::StrCat(s.state.tcp_port)},
        {"bind", c.bind},
        {"unixsocket", c.unixsocket},
        {"maxclients", absl::StrCat(c.maxclients)},
        {"timeout", absl::StrCat(c.timeout.count())},
        {"dir", c.dir},
        {"databases", "1"},
        {"io-threads", absl::StrCat(c.threads)},
        {"client-output-buffer-limit",
         absl::StrCat("normal 0 0 0 slave 268435456 67108864 60 pubsub ", c.pubsub_output_limit,
                      " ", c.pubsub_output_limit, " 0")},
    };
    std::vector<const std::pair<std::string, std::string>*> hits;
    for (const auto& p : params) {
      for (std::size_t i = 2; i < args.size(); ++i) {
        if (glob_match(args[i], p.first, /*nocase=*/true)) {
          hits.push_back(&p);
          break;
        }
      }
    }
    reply.array(hits.size() * 2);
    for (const auto* p : hits) {
      reply.bulk(p->first);
      reply.bulk(p->second);
    }
    return;
  }
  if (eq_nocase(sub, "set") && args.size() >= 4 && args.size() % 2 == 0) {
    // Only the no-op the benchmark tools send is accepted: mini-redis's settings are fixed at
    // start-up.
    if (args.size() == 4 && eq_nocase(args[2], "save") && args[3].empty()) return reply.ok();
    return reply.error(absl::StrCat("ERR Unknown option or number of arguments for CONFIG SET - '",
                                    std::string(args[2]), "'"));
  }
  if (eq_nocase(sub, "resetstat") && args.size() == 2) {
    s.state.stats.reset();
    return reply.ok();
  }
  if (eq_nocase(sub, "rewrite") && args.size() == 2) {
    return reply.error("ERR The server is running without a config file");
  }
  reply.error(absl::StrCat("ERR unknown subcommand or wrong number of arguments for '",
                           std::string(sub), "'. Try CONFIG HELP."));
}

void cmd_info(Session& s, Args args, resp::Reply& reply) {
  std::string_view section = args.size() >= 2 ? args[1] : std::string_view();
  reply.bulk(render_info(s.state, section));
}

void cmd_shutdown(Session& s, Args args, resp::Reply& reply) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (eq_nocase(a, "abort")) return reply.error("ERR No shutdown in progress.");
    if (!eq_nocase(a, "nosave") && !eq_nocase(a, "save") && !eq_nocase(a, "now") &&
        !eq_nocase(a, "force")) {
      return reply.error("ERR syntax error");
    }
  }
  // As Redis: no reply; the client sees the connection close.
  s.close_now = true;
  s.state.shutdown.cancel();
}

void cmd_bgrewriteaof(Session& s, Args, resp::Reply& reply) {
  if (s.state.aof == nullptr) {
    return reply.error(
        "ERR Background append only file rewriting is not possible: appendonly is off");
  }
  absl::Status st = s.state.aof->start_rewrite();
  if (!st.ok()) return reply.error(std::string(st.message()));
  reply.simple("Background append only file rewriting started");
}

void cmd_publish(Session& s, Args args, resp::Reply& reply) {
  reply.integer(static_cast<std::int64_t>(s.state.hub.publish(args[1], args[2])));
}

Subscriber& subscriber_of(Session& s) {
  if (s.subscriber == nullptr) s.subscriber = std::make_unique<Subscriber>(s.state.hub);
  return *s.subscriber;
}

void sub_reply(resp::Reply& reply, std::string_view kind, const std::string_view* name,
               std::size_t count) {
  reply.array(3);
  reply.bulk(kind);
  if (name != nullptr) {
    reply.bulk(*name);
  } else {
    reply.null();
  }
  reply.integer(static_cast<std::int64_t>(count));
}

void cmd_subscribe(Session& s, Args args, resp::Reply& reply) {
  Subscriber& sub = subscriber_of(s);
  for (std::size_t i = 1; i < args.size(); ++i) {
    sub_reply(reply, "subscribe", &args[i], sub.subscribe(args[i]));
  }
}

void cmd_psubscribe(Session& s, Args args, resp::Reply& reply) {
  Subscriber& sub = subscriber_of(s);
  for (std::size_t i = 1; i < args.size(); ++i) {
    sub_reply(reply, "psubscribe", &args[i], sub.psubscribe(args[i]));
  }
}

// UNSUBSCRIBE and PUNSUBSCRIBE: the named ones, or all; with none at all, one reply with a
// null name, as Redis.
void unsubscribe_common(Session& s, Args args, resp::Reply& reply, bool patterns) {
  std::string_view kind = patterns ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> all;
  std::vector<std::string_view> names(args.begin() + 1, args.end());
  if (names.empty() && s.subscriber != nullptr) {
    all = patterns ? s.subscriber->patterns() : s.subscriber->channels();
    names.assign(all.begin(), all.end());
  }
  if (names.empty()) {
    sub_reply(reply, kind, nullptr, s.subscriber ? s.subscriber->count() : 0);
    return;
  }
  Subscriber& sub = subscriber_of(s);
  for (const std::string_view& n : names) {
    sub_reply(reply, kind, &n, patterns ? sub.punsubscribe(n) : sub.unsubscribe(n));
  }
}

void cmd_unsubscribe(Session& s, Args args, resp::Reply& reply) {
  unsubscribe_common(s, args, reply, false);
}
void cmd_punsubscribe(Session& s, Args args, resp::Reply& reply) {
  unsubscribe_common(s, args, reply, true);
}

void cmd_reset(Session& s, Args, resp::Reply& reply) {
  s.subscriber.reset();
  s.name.clear();
  s.authenticated = s.state.config.requirepass.empty();
  reply.simple("RESET");
}

const std::vector<ServerCommand>& server_commands() {
  static const std::vector<ServerCommand> kCommands = {
      {"ping", -1, cmd_ping, true, false},
      {"echo", 2, cmd_echo, false, false},
      {"quit", -1, cmd_quit, true, true},
      {"select", 2, cmd_select, false, false},
      {"auth", -2, cmd_auth, false, true},
      {"hello", -1, cmd_hello, false, true},
      {"client", -2, cmd_client, false, false},
      {"command", -1, cmd_command, false, false},
      {"config", -2, cmd_config, false, false},
      {"info", -1, cmd_info, false, false},
      {"shutdown", -1, cmd_shutdown, false, false},
      {"bgrewriteaof", 1, cmd_bgrewriteaof, false, false},
      {"publish", 3, cmd_publish, false, false},
      {"subscribe", -2, cmd_subscribe, true, false},
      {"unsubscribe", -1, cmd_unsubscribe, true, false},
      {"psubscribe", -2, cmd_psubscribe, true, false},
      {"punsubscribe", -1, cmd_punsubscribe, true, false},
      {"reset", 1, cmd_reset, true, true},
  };
  return kCommands;
}

const ServerCommand* find_server_command(std::string_view lower) {
  static const auto* const kByName = [] {
    auto* m = new absl::flat_hash_map<std::string, const ServerCommand*>();
    for (const ServerCommand& c : server_commands()) m->emplace(std::string(c.name), &c);
    return m;
  }();
  auto it = kByName->find(absl::string_view(lower.data(), lower.size()));
  return it == kByName->end() ? nullptr : it->second;
}

void unknown_command(Args args, resp::Reply& reply) {
  std::string rest;
  for (std::size_t i = 1; i < args.size() && rest.size() < kUnknownEchoLimit; ++i) {
    std::string_view a = args[i].substr(0, kUnknownEchoLimit - rest.size());
    absl::StrAppend(&rest, "'", std::string(a), "' ");
  }
  reply.error(absl::StrCat("ERR unknown command '",
                           std::string(args[0].substr(0, kUnknownEchoLimit)),
                           "', with args beginning with: ", rest));
}

void not_in_pubsub_context(std::string_view lower_name, resp::Reply& reply) {
  reply.error(absl::StrCat("ERR Can't execute '", std::string(lower_name),
                           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                           "allowed in this context"));
}

constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";

}  // namespace

void ServerStats::reset() {
  // ORDERING: relaxed stores; statistics.
  connections_received.store(0, std::memory_order_relaxed);
  rejected_connections.store(0, std::memory_order_relaxed);
  batches.reset();
}

std::string aof_write_error(const absl::Status& why) {
  return absl::StrCat("MISCONF Errors writing to the AOF file: ", why.message());
}

void dispatch(Session& s, Args args, resp::Reply& reply) {
  ++s.commands;
  // Lower-cased once for both tables.
  char buf[kMaxCommandName];
  const std::string_view lower = lower_command_name(args[0], buf);
  // The hot path: a data command on an authenticated, unsubscribed connection.
  if (const CommandSpec* cmd = find_lower_command(lower); cmd != nullptr) {
    if (!s.authenticated) [[unlikely]] {
      return reply.error(kNoAuth);
    }
    if (s.in_pubsub()) [[unlikely]] {
      return not_in_pubsub_context(cmd->name, reply);
    }
    if (cmd->flags & kCmdWrite) {
      // Applied in memory, the write would be lost at the next restart: refuse it instead.
      if (std::optional<std::string> refused = refused_by_aof(s)) [[unlikely]] {
        return reply.error(*refused);
      }
    }
    return execute(*cmd, s.ctx, args, reply);
  }
  const ServerCommand* sc = find_server_command(lower);
  if (sc == nullptr) return unknown_command(args, reply);
  if (!arity_ok(sc->arity, args.size())) return reply_arity(reply, sc->name);
  if (!s.authenticated && !sc->noauth_ok) return reply.error(kNoAuth);
  if (s.in_pubsub() && !sc->pubsub_ok) return not_in_pubsub_context(sc->name, reply);
  sc->handler(s, args, reply);
}

}  // namespace mini_redis
