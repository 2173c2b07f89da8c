// List commands: LPUSH, RPUSH, LPOP, RPOP (with count), LRANGE, LLEN.
#include <string>

#include "apps/mini-redis/commands/internal.h"

namespace mini_redis::cmd {
namespace {

void push(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply, bool left) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  List* list;
  if (e == nullptr) {
    list = new List();
    k.shard.insert(Entry::make_list(k.key, list, kNoExpire), k.hash);
  } else {
    if ((*e)->type() != ValueType::kList) return reply.error(kWrongType);
    list = (*e)->list();
  }
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (left) {
      list->emplace_front(args[i]);
    } else {
      list->emplace_back(args[i]);
    }
  }
  log_write(ctx, k.shard_int(), args);
  reply.integer(static_cast<std::int64_t>(list->size()));
}

void pop(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply, bool left) {
  if (args.size() > 3) return reply_arity(reply, left ? "lpop" : "rpop");
  std::int64_t count = 1;
  const bool has_count = args.size() == 3;
  if (has_count && (!resp::parse_int64(args[2], count) || count < 0)) {
    return reply.error("ERR value is out of range, must be positive");
  }
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (e == nullptr) return has_count ? reply.null_array() : reply.null();
  if ((*e)->type() != ValueType::kList) return reply.error(kWrongType);
  if (count == 0) return reply.array(0);
  List* list = (*e)->list();
  const std::size_t n = std::min(static_cast<std::size_t>(count), list->size());
  if (has_count) reply.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (left) {
      reply.bulk(list->front());
      list->pop_front();
    } else {
      reply.bulk(list->back());
      list->pop_back();
    }
  }
  if (list->empty()) k.shard.erase(*e, k.hash);
  log_write(ctx, k.shard_int(), args);
}

}  // namespace

void cmd_lpush(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  push(ctx, args, reply, /*left=*/true);
}

void cmd_rpush(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  push(ctx, args, reply, /*left=*/false);
}

void cmd_lpop(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  pop(ctx, args, reply, /*left=*/true);
}

void cmd_rpop(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  pop(ctx, args, reply, /*left=*/false);
}

void cmd_lrange(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  std::int64_t start, stop;
  if (!resp::parse_int64(args[2], start) || !resp::parse_int64(args[3], stop))
    return reply.error(kNotInteger);
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.array(0);
  if ((*e)->type() != ValueType::kList) return reply.error(kWrongType);
  const List& list = *(*e)->list();
  const auto len = static_cast<std::int64_t>(list.size());
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return reply.array(0);
  if (stop >= len) stop = len - 1;
  reply.array(static_cast<std::size_t>(stop - start + 1));
  for (std::int64_t i = start; i <= stop; ++i) reply.bulk(list[static_cast<std::size_t>(i)]);
}

void cmd_llen(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find_read(ctx);
  if (e == nullptr) return reply.integer(0);
  if ((*e)->type() != ValueType::kList) return reply.error(kWrongType);
  reply.integer(static_cast<std::int64_t>((*e)->list()->size()));
}

}  // namespace mini_redis::cmd
