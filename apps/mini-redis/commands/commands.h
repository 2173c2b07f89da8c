// The data commands: keys, strings, expiry, lists, hashes and keyspace commands, executed on a Db.
// The server runs them for clients, the append-only file replays its records through them.
// Connection commands (PING, ECHO, QUIT, SELECT, AUTH, COMMAND, CONFIG, INFO, pub/sub, SHUTDOWN,
// BGREWRITEAOF) are the server's (server/connection.cc).
//
//   mini_redis::ExecContext ctx{db, log};
//   std::string out;
//   mini_redis::resp::Reply reply(out);
//   const mini_redis::CommandSpec* cmd = mini_redis::find_command(args[0]);
//   if (cmd != nullptr) mini_redis::execute(*cmd, ctx, args, reply);   // exactly one reply
//
// Replies and error texts are Redis 7's: "-WRONGTYPE Operation against a key holding the wrong
// kind of value", "-ERR wrong number of arguments for 'get' command", "-ERR value is not an
// integer or out of range", "-ERR syntax error", ...
//
// Thread-safety: execute() may run on any number of threads at once over one Db.
#ifndef KEEL_APPS_MINI_REDIS_COMMANDS_COMMANDS_H_
#define KEEL_APPS_MINI_REDIS_COMMANDS_COMMANDS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "apps/mini-redis/db/db.h"
#include "apps/mini-redis/db/write_log.h"
#include "apps/mini-redis/protocol/reply.h"

namespace mini_redis {

struct ExecContext {
  Db& db;
  WriteLog* log = nullptr;          // null: writes are not logged (AOF replay, appendonly no)
  std::uint64_t last_write_seq = 0;  // the highest sequence number `log` returned so far
  // The request being executed, when the caller has its RESP bytes (the server does while it
  // executes a RESP array; empty otherwise): `request_args` are the arguments it passes to
  // execute(), `request_resp` the bytes they were parsed from. A command that logs exactly
  // `request_args` hands the log these bytes to copy (db/write_log.h). Both must be cleared
  // before the bytes go away.
  std::span<const std::string_view> request_args = {};
  std::string_view request_resp = {};
};

enum CommandFlags : std::uint32_t {
  kCmdWrite = 1 << 0,     // may change the keyspace
  kCmdReadonly = 1 << 1,
  kCmdFast = 1 << 2,      // O(1) or O(log n), as Redis's "fast" flag
};

using CommandHandler = void (*)(ExecContext& ctx, std::span<const std::string_view> args,
                                resp::Reply& reply);

struct CommandSpec {
  std::string_view name;  // lower case, as Redis reports it ("get")
  int arity;              // Redis's convention: n = exactly n args (with the name), -n = at least n
  std::uint32_t flags;
  int first_key, last_key, key_step;  // for COMMAND's reply (last_key -1: to the end)
  CommandHandler handler;
};

// ASCII case-insensitive equality of an argument with a lower-case keyword ("ex", "nx",
// "setname"...): the commands' and the server's option parsing.
inline bool eq_nocase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Command names are looked up in lower case; no command name is longer than this.
inline constexpr std::size_t kMaxCommandName = 32;

// The ASCII lower case of a command name, written to `buf`; empty for a name longer than
// kMaxCommandName (no command has one).
inline std::string_view lower_command_name(std::string_view name,
                                           std::span<char, kMaxCommandName> buf) {
  if (name.size() > buf.size()) return {};
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::string_view(buf.data(), name.size());
}

// Redis's arity rule (CommandSpec::arity): n > 0, exactly n arguments counting the name;
// n < 0, at least -n.
inline bool arity_ok(int arity, std::size_t argc) {
  return arity >= 0 ? argc == static_cast<std::size_t>(arity)
                    : argc >= static_cast<std::size_t>(-arity);
}

// Redis's reply to a wrong argument count.
inline void reply_arity(resp::Reply& reply, std::string_view name) {
  std::string& out = reply.out();
  out.append("-ERR wrong number of arguments for '");
  out.append(name);
  out.append("' command\r\n");
}

// The data command named `name`, in any case, or nullptr.
const CommandSpec* find_command(std::string_view name);
// The same for a name already in lower case (lower_command_name), for a caller that also
// looks it up elsewhere.
const CommandSpec* find_lower_command(std::string_view lower);

// Every data command, for COMMAND / COMMAND COUNT.
std::span<const CommandSpec> all_commands();

// Checks arity (replying "-ERR wrong number of arguments for '<name>' command"), then runs the
// handler. Appends exactly one reply.
void execute(const CommandSpec& cmd, ExecContext& ctx, std::span<const std::string_view> args,
             resp::Reply& reply);

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_COMMANDS_COMMANDS_H_
