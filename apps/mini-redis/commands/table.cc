// The command table, find_command and execute.
#include <array>

#include "absl/container/flat_hash_map.h"
#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/commands/internal.h"

namespace mini_redis {
namespace {

using namespace cmd;  // NOLINT: the handlers

constexpr std::uint32_t kW = kCmdWrite;
constexpr std::uint32_t kR = kCmdReadonly;
constexpr std::uint32_t kF = kCmdFast;

// Redis 7's arity, flags and key positions for each command (COMMAND INFO <name>).
constexpr std::array kCommands = {
    CommandSpec{"get", 2, kR | kF, 1, 1, 1, cmd_get},
    CommandSpec{"set", -3, kW, 1, 1, 1, cmd_set},
    CommandSpec{"getdel", 2, kW | kF, 1, 1, 1, cmd_getdel},
    CommandSpec{"mget", -2, kR | kF, 1, -1, 1, cmd_mget},
    CommandSpec{"mset", -3, kW, 1, -1, 2, cmd_mset},
    CommandSpec{"incr", 2, kW | kF, 1, 1, 1, cmd_incr},
    CommandSpec{"decr", 2, kW | kF, 1, 1, 1, cmd_decr},
    CommandSpec{"incrby", 3, kW | kF, 1, 1, 1, cmd_incrby},
    CommandSpec{"decrby", 3, kW | kF, 1, 1, 1, cmd_decrby},
    CommandSpec{"append", 3, kW | kF, 1, 1, 1, cmd_append},
    CommandSpec{"strlen", 2, kR | kF, 1, 1, 1, cmd_strlen},
    CommandSpec{"exists", -2, kR | kF, 1, -1, 1, cmd_exists},
    CommandSpec{"del", -2, kW, 1, -1, 1, cmd_del},
    CommandSpec{"unlink", -2, kW | kF, 1, -1, 1, cmd_del},
    CommandSpec{"type", 2, kR | kF, 1, 1, 1, cmd_type},
    CommandSpec{"keys", 2, kR, 0, 0, 0, cmd_keys},
    CommandSpec{"dbsize", 1, kR | kF, 0, 0, 0, cmd_dbsize},
    CommandSpec{"flushdb", -1, kW, 0, 0, 0, cmd_flushdb},
    CommandSpec{"flushall", -1, kW, 0, 0, 0, cmd_flushdb},
    CommandSpec{"expire", -3, kW | kF, 1, 1, 1, cmd_expire},
    CommandSpec{"pexpire", -3, kW | kF, 1, 1, 1, cmd_pexpire},
    CommandSpec{"expireat", -3, kW | kF, 1, 1, 1, cmd_expireat},
    CommandSpec{"pexpireat", -3, kW | kF, 1, 1, 1, cmd_pexpireat},
    CommandSpec{"ttl", 2, kR | kF, 1, 1, 1, cmd_ttl},
    CommandSpec{"pttl", 2, kR | kF, 1, 1, 1, cmd_pttl},
    CommandSpec{"persist", 2, kW | kF, 1, 1, 1, cmd_persist},
    CommandSpec{"lpush", -3, kW | kF, 1, 1, 1, cmd_lpush},
    CommandSpec{"rpush", -3, kW | kF, 1, 1, 1, cmd_rpush},
    CommandSpec{"lpop", -2, kW | kF, 1, 1, 1, cmd_lpop},
    CommandSpec{"rpop", -2, kW | kF, 1, 1, 1, cmd_rpop},
    CommandSpec{"lrange", 4, kR, 1, 1, 1, cmd_lrange},
    CommandSpec{"llen", 2, kR | kF, 1, 1, 1, cmd_llen},
    CommandSpec{"hset", -4, kW | kF, 1, 1, 1, cmd_hset},
    CommandSpec{"hget", 3, kR | kF, 1, 1, 1, cmd_hget},
    CommandSpec{"hdel", -3, kW | kF, 1, 1, 1, cmd_hdel},
    CommandSpec{"hgetall", 2, kR, 1, 1, 1, cmd_hgetall},
    CommandSpec{"hlen", 2, kR | kF, 1, 1, 1, cmd_hlen},
    CommandSpec{"hexists", 3, kR | kF, 1, 1, 1, cmd_hexists},
};

// Every data command by its lower-case name.
const absl::flat_hash_map<absl::string_view, const CommandSpec*>& command_map() {
  static const auto* map = [] {
    auto* m = new absl::flat_hash_map<absl::string_view, const CommandSpec*>();
    for (const CommandSpec& c : kCommands) {
      m->emplace(absl::string_view(c.name.data(), c.name.size()), &c);
    }
    return m;
  }();
  return *map;
}

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  char buf[kMaxCommandName];
  return find_lower_command(lower_command_name(name, buf));
}

const CommandSpec* find_lower_command(std::string_view lower) {
  if (lower.empty()) return nullptr;  // also a name longer than any command's
  const auto& map = command_map();
  auto it = map.find(absl::string_view(lower.data(), lower.size()));
  return it == map.end() ? nullptr : it->second;
}

std::span<const CommandSpec> all_commands() { return kCommands; }

void execute(const CommandSpec& cmd, ExecContext& ctx, std::span<const std::string_view> args,
             resp::Reply& reply) {
  if (!arity_ok(cmd.arity, args.size())) return reply_arity(reply, cmd.name);
  cmd.handler(ctx, args, reply);
}

}  // namespace mini_redis
