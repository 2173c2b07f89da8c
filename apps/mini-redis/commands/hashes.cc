// Hash commands: HSET, HGET, HDEL, HGETALL, HLEN, HEXISTS.
#include "apps/mini-redis/commands/internal.h"

namespace mini_redis::cmd {

void cmd_hset(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  if (args.size() % 2 == 1) return reply_arity(reply, "hset");
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  Hash* hash;
  if (e == nullptr) {
    hash = new Hash();
    k.shard.insert(Entry::make_hash(k.key, hash, kNoExpire), k.hash);
  } else {
    if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
    hash = (*e)->hash();
  }
  std::int64_t added = 0;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (hash->set(args[i], args[i + 1])) ++added;
  }
  log_write(ctx, k.shard_int(), args);
  reply.integer(added);
}

void cmd_hget(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.null();
  if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
  const std::string* v = (*e)->hash()->get(args[2]);
  if (v == nullptr) return reply.null();
  reply.bulk(*v);
}

void cmd_hdel(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (e == nullptr) return reply.integer(0);
  if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
  Hash* hash = (*e)->hash();
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (hash->erase(args[i])) ++removed;
  }
  if (hash->size() == 0) k.shard.erase(*e, k.hash);
  if (removed > 0) log_write(ctx, k.shard_int(), args);
  reply.integer(removed);
}

void cmd_hgetall(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.array(0);
  if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
  const auto& fields = (*e)->hash()->fields();
  reply.array(2 * fields.size());
  for (const auto& [f, v] : fields) {
    reply.bulk(f);
    reply.bulk(v);
  }
}

void cmd_hlen(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.integer(0);
  if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
  reply.integer(static_cast<std::int64_t>((*e)->hash()->size()));
}

void cmd_hexists(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.integer(0);
  if ((*e)->type() != ValueType::kHash) return reply.error(kWrongType);
  reply.integer((*e)->hash()->get(args[2]) != nullptr ? 1 : 0);
}

}  // namespace mini_redis::cmd
