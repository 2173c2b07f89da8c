// String commands: GET, SET, GETDEL, MGET, MSET, INCR, DECR, INCRBY, DECRBY, APPEND, STRLEN.
#include <cstring>
#include <limits>

#include "apps/mini-redis/commands/internal.h"

namespace mini_redis::cmd {

void store_string(Db::Shard& shard, Entry** slot, std::string_view key, std::uint64_t hash,
                  std::string_view value, std::int64_t expire_at) {
  if (slot == nullptr) {
    shard.insert(Entry::make_string(key, value, expire_at), hash);
    return;
  }
  Entry* e = *slot;
  if (e->type() == ValueType::kString && e->str().size() == value.size() &&
      e->has_expire() == (expire_at != kNoExpire)) {
    // Same size, same layout: the common SET-over-SET of a benchmark reuses the allocation.
    if (!value.empty()) std::memmove(e->mutable_str(), value.data(), value.size());
    if (expire_at != kNoExpire) e->set_expire_at(expire_at);
    return;
  }
  shard.replace(slot, Entry::make_string(key, value, expire_at));
}

void cmd_get(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.null();
  if ((*e)->type() != ValueType::kString) return reply.error(kWrongType);
  reply.bulk((*e)->str());
}

namespace {

enum SetFlag : unsigned {
  kNx = 1 << 0,
  kXx = 1 << 1,
  kGet = 1 << 2,
  kKeepTtl = 1 << 3,
  kEx = 1 << 4,
  kPx = 1 << 5,
  kExAt = 1 << 6,
  kPxAt = 1 << 7,
};
constexpr unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;

constexpr std::string_view kSetExpireError = "ERR invalid expire time in 'set' command";

// The flag of an expiry option (EX, PX, EXAT, PXAT), or 0.
unsigned expire_option(std::string_view opt) {
  if (eq_nocase(opt, "ex")) return kEx;
  if (eq_nocase(opt, "px")) return kPx;
  if (eq_nocase(opt, "exat")) return kExAt;
  if (eq_nocase(opt, "pxat")) return kPxAt;
  return 0;
}

}  // namespace

void cmd_set(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  // Redis 7's parseExtendedStringArgumentsOrReply: each option is allowed unless a conflicting
  // one came before; repeating one is fine (the last value wins).
  unsigned flags = 0;
  std::string_view expire_arg;
  for (std::size_t j = 3; j < args.size(); ++j) {
    const std::string_view opt = args[j];
    const bool has_next = j + 1 < args.size();
    if (eq_nocase(opt, "nx") && !(flags & kXx)) {
      flags |= kNx;
    } else if (eq_nocase(opt, "xx") && !(flags & kNx)) {
      flags |= kXx;
    } else if (eq_nocase(opt, "get")) {
      flags |= kGet;
    } else if (eq_nocase(opt, "keepttl") && !(flags & kAnyExpire)) {
      flags |= kKeepTtl;
    } else if (const unsigned exp = expire_option(opt);
               exp != 0 && has_next && !(flags & kKeepTtl) && !(flags & (kAnyExpire & ~exp))) {
      flags |= exp;
      expire_arg = args[++j];
    } else {
      return reply.error(kSyntaxError);
    }
  }
  std::int64_t expire_at = kNoExpire;
  if (flags & kAnyExpire) {
    std::int64_t ms;
    if (!resp::parse_int64(expire_arg, ms)) return reply.error(kNotInteger);
    const bool seconds = (flags & (kEx | kExAt)) != 0;
    if (ms <= 0 || (seconds && ms > std::numeric_limits<std::int64_t>::max() / 1000)) {
      return reply.error(kSetExpireError);
    }
    if (seconds) ms *= 1000;
    if (flags & (kEx | kPx)) {
      const std::int64_t now = ctx.db.now_ms();
      if (ms > std::numeric_limits<std::int64_t>::max() - now) return reply.error(kSetExpireError);
      ms += now;
    }
    expire_at = ms;
  }

  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (flags & kGet) {
    if (e != nullptr && (*e)->type() != ValueType::kString) return reply.error(kWrongType);
    if (e != nullptr) {
      reply.bulk((*e)->str());
    } else {
      reply.null();
    }
  }
  if (((flags & kNx) && e != nullptr) || ((flags & kXx) && e == nullptr)) {
    if (!(flags & kGet)) reply.null();
    return;
  }
  if ((flags & kKeepTtl) && e != nullptr) expire_at = (*e)->expire_at();
  store_string(k.shard, e, k.key, k.hash, args[2], expire_at);
  if (args.size() == 3) {
    log_write(ctx, k.shard_int(), args);  // "SET k v", no options: the request is the record
  } else if (ctx.log != nullptr) {
    char buf[24];
    std::string_view rec[5] = {"SET", args[1], args[2]};
    std::size_t n = 3;
    if (expire_at != kNoExpire) {
      rec[3] = "PXAT";
      rec[4] = format_i64(buf, expire_at);
      n = 5;
    }
    log_write(ctx, k.shard_int(), std::span(rec, n));
  }
  if (!(flags & kGet)) reply.ok();
}

void cmd_getdel(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.null();
  if ((*e)->type() != ValueType::kString) return reply.error(kWrongType);
  reply.bulk((*e)->str());
  k.shard.erase(*e, k.hash);
  const std::string_view rec[2] = {"DEL", args[1]};
  log_write(ctx, k.shard_int(), rec);
}

void cmd_mget(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  ShardLocks locks(ctx.db, args, 1, 1);
  reply.array(args.size() - 1);
  for (std::size_t i = 1; i < args.size(); ++i) {
    Db::Shard& s = ctx.db.shard(locks.shard_of(i - 1));
    Entry** e = s.find_read(args[i], locks.hash(i - 1), ctx.log, ctx.last_write_seq);
    if (e == nullptr || (*e)->type() != ValueType::kString) {
      reply.null();
    } else {
      reply.bulk((*e)->str());
    }
  }
}

void cmd_mset(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  if (args.size() % 2 == 0) return reply_arity(reply, "mset");
  ShardLocks locks(ctx.db, args, 1, 2);
  for (std::size_t i = 1; i < args.size(); i += 2) {
    const std::size_t n = (i - 1) / 2;
    Db::Shard& s = ctx.db.shard(locks.shard_of(n));
    Entry** e = s.find(args[i], locks.hash(n), ctx.log, ctx.last_write_seq);
    store_string(s, e, args[i], locks.hash(n), args[i + 1], kNoExpire);
  }
  if (ctx.log != nullptr) {
    // One record per shard holding only that shard's pairs, in command order.
    absl::InlinedVector<std::string_view, 2 * kInlineKeys + 1> rec;
    for (std::uint32_t shard : locks.locked()) {
      rec.clear();
      rec.push_back("MSET");
      for (std::size_t i = 1; i < args.size(); i += 2) {
        if (locks.shard_of((i - 1) / 2) != shard) continue;
        rec.push_back(args[i]);
        rec.push_back(args[i + 1]);
      }
      log_write(ctx, static_cast<int>(shard), rec);
    }
  }
  reply.ok();
}

namespace {

void incr_by(ExecContext& ctx, std::string_view key, std::int64_t delta, resp::Reply& reply) {
  KeyLock k(ctx.db, key);
  Entry** e = k.find(ctx);
  std::int64_t current = 0;
  if (e != nullptr) {
    if ((*e)->type() != ValueType::kString) return reply.error(kWrongType);
    if (!resp::parse_int64((*e)->str(), current)) return reply.error(kNotInteger);
  }
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
    return reply.error("ERR increment or decrement would overflow");
  }
  const std::int64_t value = current + delta;
  char buf[24];
  const std::string_view text = format_i64(buf, value);
  store_string(k.shard, e, key, k.hash, text, e != nullptr ? (*e)->expire_at() : kNoExpire);
  // The result, not the delta: replaying it cannot drift. KEEPTTL keeps the key's TTL as INCR does.
  const std::string_view rec[4] = {"SET", key, text, "KEEPTTL"};
  log_write(ctx, k.shard_int(), rec);
  reply.integer(value);
}

}  // namespace

void cmd_incr(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  incr_by(ctx, args[1], 1, reply);
}

void cmd_decr(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  incr_by(ctx, args[1], -1, reply);
}

void cmd_incrby(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  std::int64_t delta;
  if (!resp::parse_int64(args[2], delta)) return reply.error(kNotInteger);
  incr_by(ctx, args[1], delta, reply);
}

void cmd_decrby(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  std::int64_t delta;
  if (!resp::parse_int64(args[2], delta)) return reply.error(kNotInteger);
  if (delta == std::numeric_limits<std::int64_t>::min()) {
    return reply.error("ERR decrement would overflow");
  }
  incr_by(ctx, args[1], -delta, reply);
}

void cmd_append(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  std::size_t len;
  if (e == nullptr) {
    k.shard.insert(Entry::make_string(k.key, args[2], kNoExpire), k.hash);
    len = args[2].size();
  } else {
    if ((*e)->type() != ValueType::kString) return reply.error(kWrongType);
    const std::string_view old = (*e)->str();
    len = old.size() + args[2].size();
    if (len > kMaxStringLen) {
      return reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    Entry* grown = Entry::make_string_uninit(k.key, len, (*e)->expire_at());
    std::memcpy(grown->mutable_str(), old.data(), old.size());
    if (!args[2].empty())
      std::memcpy(grown->mutable_str() + old.size(), args[2].data(), args[2].size());
    k.shard.replace(e, grown);
  }
  log_write(ctx, k.shard_int(), args);
  reply.integer(static_cast<std::int64_t>(len));
}

void cmd_strlen(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.integer(0);
  if ((*e)->type() != ValueType::kString) return reply.error(kWrongType);
  reply.integer(static_cast<std::int64_t>((*e)->str().size()));
}

}  // namespace mini_redis::cmd
