// Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX|XX|GT|LT), TTL, PTTL, PERSIST.
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/commands/internal.h"

namespace mini_redis::cmd {
namespace {

enum ExpireFlag : unsigned { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

// Redis 7's expireGenericCommand. `relative`: the time is from now (EXPIRE, PEXPIRE), else
// absolute unix time (EXPIREAT, PEXPIREAT).
void expire_generic(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply,
                    std::string_view name, bool relative, bool seconds) {
  unsigned flags = 0;
  for (std::size_t j = 3; j < args.size(); ++j) {
    if (eq_nocase(args[j], "nx")) {
      flags |= kNx;
    } else if (eq_nocase(args[j], "xx")) {
      flags |= kXx;
    } else if (eq_nocase(args[j], "gt")) {
      flags |= kGt;
    } else if (eq_nocase(args[j], "lt")) {
      flags |= kLt;
    } else {
      std::string msg = "ERR Unsupported option ";
      msg.append(args[j]);
      return reply.error(msg);
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    return reply.error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kGt) && (flags & kLt)) {
    return reply.error("ERR GT and LT options at the same time are not compatible");
  }
  std::int64_t when;
  if (!resp::parse_int64(args[2], when)) return reply.error(kNotInteger);
  // Built only when needed: the text is longer than a short string, so it would allocate.
  auto expire_error = [name] {
    return absl::StrCat("ERR invalid expire time in '", std::string(name), "' command");
  };
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (seconds) {
    if (when > kMax / 1000 || when < kMin / 1000) return reply.error(expire_error());
    when *= 1000;
  }
  const std::int64_t now = ctx.db.now_ms();
  const std::int64_t base = relative ? now : 0;
  if (when > kMax - base) return reply.error(expire_error());
  when += base;

  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (e == nullptr) return reply.integer(0);
  const std::int64_t current = (*e)->expire_at();
  if ((flags & kNx) && current != kNoExpire) return reply.integer(0);
  if ((flags & kXx) && current == kNoExpire) return reply.integer(0);
  // No TTL counts as an infinite one: GT never passes over it, LT always does.
  if ((flags & kGt) && (current == kNoExpire || when <= current)) return reply.integer(0);
  if ((flags & kLt) && current != kNoExpire && when >= current) return reply.integer(0);
  if (when <= now) {
    k.shard.erase(*e, k.hash);  // already expired: Redis deletes it and propagates DEL
    const std::string_view rec[2] = {"DEL", args[1]};
    log_write(ctx, k.shard_int(), rec);
    return reply.integer(1);
  }
  k.shard.set_expire(e, when);
  char buf[24];
  const std::string_view rec[3] = {"PEXPIREAT", args[1], format_i64(buf, when)};
  log_write(ctx, k.shard_int(), rec);
  reply.integer(1);
}

void ttl_generic(ExecContext& ctx, std::string_view key, resp::Reply& reply, bool ms) {
  KeyLock k(ctx.db, key);
  Entry** e = k.find(ctx);
  if (e == nullptr) return reply.integer(-2);
  if (!(*e)->has_expire()) return reply.integer(-1);
  std::int64_t ttl = (*e)->expire_at() - ctx.db.now_ms();
  if (ttl < 0) ttl = 0;
  reply.integer(ms ? ttl : (ttl + 500) / 1000);
}

}  // namespace

void cmd_expire(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  expire_generic(ctx, args, reply, "expire", /*relative=*/true, /*seconds=*/true);
}

void cmd_pexpire(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  expire_generic(ctx, args, reply, "pexpire", /*relative=*/true, /*seconds=*/false);
}

void cmd_expireat(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  expire_generic(ctx, args, reply, "expireat", /*relative=*/false, /*seconds=*/true);
}

void cmd_pexpireat(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  expire_generic(ctx, args, reply, "pexpireat", /*relative=*/false, /*seconds=*/false);
}

void cmd_ttl(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  ttl_generic(ctx, args[1], reply, /*ms=*/false);
}

void cmd_pttl(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  ttl_generic(ctx, args[1], reply, /*ms=*/true);
}

void cmd_persist(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (e == nullptr || !(*e)->has_expire()) return reply.integer(0);
  k.shard.set_expire(e, kNoExpire);
  const std::string_view rec[2] = {"PERSIST", args[1]};
  log_write(ctx, k.shard_int(), rec);
  reply.integer(1);
}

}  // namespace mini_redis::cmd
