// Keyspace commands: EXISTS, DEL, UNLINK, TYPE, KEYS, DBSIZE, FLUSHDB, FLUSHALL.
#include <string>
#include <utility>
#include <vector>

#include "apps/mini-redis/commands/internal.h"
#include "apps/mini-redis/db/glob.h"

namespace mini_redis::cmd {

void cmd_exists(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  ShardLocks locks(ctx.db, args, 1, 1);
  std::int64_t count = 0;
  for (std::size_t i = 1; i < args.size(); ++i) {
    Db::Shard& s = ctx.db.shard(locks.shard_of(i - 1));
    if (s.find(args[i], locks.hash(i - 1), ctx.log, ctx.last_write_seq) != nullptr) ++count;
  }
  reply.integer(count);
}

void cmd_del(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  ShardLocks locks(ctx.db, args, 1, 1);
  absl::InlinedVector<std::size_t, kInlineKeys> deleted;  // indexes into args
  for (std::size_t i = 1; i < args.size(); ++i) {
    Db::Shard& s = ctx.db.shard(locks.shard_of(i - 1));
    Entry** e = s.find(args[i], locks.hash(i - 1), ctx.log, ctx.last_write_seq);
    if (e == nullptr) continue;
    s.erase(*e, locks.hash(i - 1));
    deleted.push_back(i);
  }
  if (ctx.log != nullptr && !deleted.empty()) {
    // One record per shard, each naming only the keys it removed there.
    absl::InlinedVector<std::string_view, kInlineKeys + 1> rec;
    for (std::uint32_t shard : locks.locked()) {
      rec.clear();
      rec.push_back("DEL");
      for (std::size_t i : deleted) {
        if (locks.shard_of(i - 1) == shard) rec.push_back(args[i]);
      }
      if (rec.size() > 1) log_write(ctx, static_cast<int>(shard), rec);
    }
  }
  reply.integer(static_cast<std::int64_t>(deleted.size()));
}

void cmd_type(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  KeyLock k(ctx.db, args[1]);
  Entry** e = k.find(ctx);
  if (e == nullptr) return reply.simple("none");
  switch ((*e)->type()) {
    case ValueType::kString:
      return reply.simple("string");
    case ValueType::kList:
      return reply.simple("list");
    case ValueType::kHash:
      return reply.simple("hash");
  }
}

void cmd_keys(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  const std::string_view pattern = args[1];
  const bool all = pattern == "*";
  std::vector<std::string> keys;
  // Shard by shard: KEYS is not atomic across shards, and must not stall every writer at once.
  for (std::size_t i = 0; i < ctx.db.shard_count(); ++i) {
    Db::Shard& s = ctx.db.shard(i);
    std::lock_guard lock(s.mutex());
    const std::int64_t now = ctx.db.now_ms();
    s.for_each([&](const Entry* e) {
      if (e->has_expire() && e->expire_at() <= now) return;  // as Redis: skipped, not removed
      if (all || glob_match(pattern, e->key())) keys.emplace_back(e->key());
    });
  }
  reply.array(keys.size());
  for (const std::string& k : keys) reply.bulk(k);
}

void cmd_dbsize(ExecContext& ctx, std::span<const std::string_view>, resp::Reply& reply) {
  reply.integer(static_cast<std::int64_t>(ctx.db.size()));
}

void cmd_flushdb(ExecContext& ctx, std::span<const std::string_view> args, resp::Reply& reply) {
  if (args.size() > 2 || (args.size() == 2 && !eq_nocase(args[1], "async") &&
                          !eq_nocase(args[1], "sync"))) {
    return reply.error(kSyntaxError);
  }
  Db::AllShardsLock locks(ctx.db);  // every shard (KEYS need not: it goes shard by shard)
  for (std::size_t i = 0; i < ctx.db.shard_count(); ++i) ctx.db.shard(i).clear();
  const std::string_view rec[1] = {eq_nocase(args[0], "flushall") ? "FLUSHALL" : "FLUSHDB"};
  log_write(ctx, WriteLog::kAllShards, rec);
  reply.ok();
}

}  // namespace mini_redis::cmd
