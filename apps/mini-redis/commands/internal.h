// Helpers shared by the command families (keys.cc, strings.cc, expiry.cc, lists.cc, hashes.cc):
// Redis's error texts, write logging and multi-shard locking. Internal
// to the commands package.
//
//   KeyLock k(ctx.db, args[1]);                       // hashes the key, locks its shard
//   Entry** e = k.find(ctx);
//   log_write(ctx, k.shard, args);
//
// Thread-safety: a KeyLock / ShardLocks belongs to one command execution.
#ifndef KEEL_APPS_MINI_REDIS_COMMANDS_INTERNAL_H_
#define KEEL_APPS_MINI_REDIS_COMMANDS_INTERNAL_H_

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/protocol/number.h"

namespace mini_redis::cmd {

inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
// Redis's proto-max-bulk-len: the largest string value (APPEND checks it).
inline constexpr std::size_t kMaxStringLen = 512ull * 1024 * 1024;
// Keys whose shards a multi-key command can track without allocating.
inline constexpr std::size_t kInlineKeys = 8;

// Formats n into buf (at least 21 bytes).
inline std::string_view format_i64(char* buf, std::int64_t n) {
  auto r = std::to_chars(buf, buf + 21, n);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

// Logs one record. When it is the request itself (the command passes its own `args`), the log
// gets the request's RESP bytes too (ExecContext::request_resp).
inline void log_write(ExecContext& ctx, int shard, std::span<const std::string_view> args) {
  if (ctx.log == nullptr) return;
  const bool verbatim =
      args.data() == ctx.request_args.data() && args.size() == ctx.request_args.size();
  std::string_view encoded = verbatim ? ctx.request_resp : std::string_view();
  ctx.last_write_seq = std::max(ctx.last_write_seq, ctx.log->append(shard, args, encoded));
}

// One key: its hash, its shard, and that shard's lock (held for the object's lifetime).
struct KeyLock {
  KeyLock(Db& db, std::string_view k)
      : key(k),
        hash(Db::hash(k)),
        index(db.shard_index(hash)),
        shard(db.shard(index)),
        lock(shard.mutex()) {}

  Entry** find(ExecContext& ctx) { return shard.find(key, hash, ctx.log, ctx.last_write_seq); }
  Entry** find_read(ExecContext& ctx) {
    return shard.find_read(key, hash, ctx.log, ctx.last_write_seq);
  }
  int shard_int() const { return static_cast<int>(index); }

  std::string_view key;
  std::uint64_t hash;
  std::size_t index;
  Db::Shard& shard;
  std::lock_guard<ShardMutex> lock;
};

// The shards of several keys (args[first], args[first + step], ...), locked in ascending
// order for the object's lifetime, as write_log.h requires of multi-key commands.
class ShardLocks {
 public:
  ShardLocks(Db& db, std::span<const std::string_view> args, std::size_t first, std::size_t step)
      : db_(db) {
    for (std::size_t i = first; i < args.size(); i += step) {
      const std::uint64_t h = Db::hash(args[i]);
      hashes_.push_back(h);
      shards_.push_back(static_cast<std::uint32_t>(db.shard_index(h)));
    }
    locked_ = shards_;
    std::sort(locked_.begin(), locked_.end());
    locked_.erase(std::unique(locked_.begin(), locked_.end()), locked_.end());
    for (std::uint32_t s : locked_) db_.shard(s).mutex().lock();
  }
  ~ShardLocks() {
    for (auto it = locked_.rbegin(); it != locked_.rend(); ++it) db_.shard(*it).mutex().unlock();
  }
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;

  // The n-th key's hash and shard (in the order of the constructor's walk).
  std::uint64_t hash(std::size_t n) const { return hashes_[n]; }
  std::uint32_t shard_of(std::size_t n) const { return shards_[n]; }
  // The distinct shards, ascending.
  std::span<const std::uint32_t> locked() const { return locked_; }

 private:
  Db& db_;
  absl::InlinedVector<std::uint64_t, kInlineKeys> hashes_;
  absl::InlinedVector<std::uint32_t, kInlineKeys> shards_;
  absl::InlinedVector<std::uint32_t, kInlineKeys> locked_;
};

// Stores `value` as the string value of `key` (slot: its live entry or nullptr), with expiry
// `expire_at` (kNoExpire: none). Overwrites in place when the layout allows: no allocation.
void store_string(Db::Shard& shard, Entry** slot, std::string_view key, std::uint64_t hash,
                  std::string_view value, std::int64_t expire_at);

// Handlers, by family.
void cmd_exists(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_del(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_type(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_keys(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_dbsize(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_flushdb(ExecContext&, std::span<const std::string_view>, resp::Reply&);

void cmd_get(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_set(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_getdel(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_mget(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_mset(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_incr(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_decr(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_incrby(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_decrby(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_append(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_strlen(ExecContext&, std::span<const std::string_view>, resp::Reply&);

void cmd_expire(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_pexpire(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_expireat(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_pexpireat(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_ttl(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_pttl(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_persist(ExecContext&, std::span<const std::string_view>, resp::Reply&);

void cmd_lpush(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_rpush(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_lpop(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_rpop(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_lrange(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_llen(ExecContext&, std::span<const std::string_view>, resp::Reply&);

void cmd_hset(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_hget(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_hdel(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_hgetall(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_hlen(ExecContext&, std::span<const std::string_view>, resp::Reply&);
void cmd_hexists(ExecContext&, std::span<const std::string_view>, resp::Reply&);

}  // namespace mini_redis::cmd

#endif  // KEEL_APPS_MINI_REDIS_COMMANDS_INTERNAL_H_
