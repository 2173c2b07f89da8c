// Db: the keyspace, split into shards. Each shard has one mutex, a hash set of compact entries
// (db/entry.h: one allocation per key, looked up by std::string_view, no std::string per key)
// and a vector of the entries that have a TTL (most keys have none; it is what active expiry
// samples). A key's shard is picked from the high bits of its hash, the shard's table uses the
// low bits, so the two stay independent.
//
//   mini_redis::Db db;                              // 32 shards, wall clock
//   std::uint64_t h = db.hash("k");
//   mini_redis::Db::Shard& s = db.shard(db.shard_index(h));
//   std::lock_guard lock(s.mutex());
//   std::uint64_t seq = 0;
//   if (Entry** e = s.find("k", h, nullptr, seq); e != nullptr) use((*e)->str());
//
// Data commands (commands/) are built on Shard; the server and the AOF use size(),
// active_expire_cycle(), dump_shard() and stats().
//
// Thread-safety: Db's own methods may be called from any thread. Shard methods other than
// mutex() and the counters need that shard's mutex held; a command that locks several shards
// locks them in ascending index order.
#ifndef KEEL_APPS_MINI_REDIS_DB_DB_H_
#define KEEL_APPS_MINI_REDIS_DB_DB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "apps/mini-redis/db/entry.h"
#include "apps/mini-redis/db/shard_mutex.h"
#include "apps/mini-redis/db/write_log.h"

namespace mini_redis {

struct DbOptions {
  // 32 shards: with a few worker threads two commands rarely meet on one lock, and each shard's
  // table stays small enough to grow without a long pause.
  // FLUSHDB/FLUSHALL hold every shard's lock at once (db/write_log.h), and ThreadSanitizer's
  // deadlock detector aborts when one thread holds 64 locks, so stay well below that.
  std::size_t shards = 32;
  // Absolute unix time in milliseconds; empty: CLOCK_REALTIME. Tests inject a fake clock.
  std::function<std::int64_t()> now_ms;
};

struct DbStats {
  std::uint64_t expired_keys = 0;
  std::uint64_t keyspace_hits = 0;
  std::uint64_t keyspace_misses = 0;
};

// The current CLOCK_REALTIME in milliseconds.
std::int64_t wall_clock_ms();

class Db {
 public:
  // Redis's ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE: a shard is sampled again while more than
  // this percentage of its sample had expired.
  static constexpr std::size_t kActiveExpireRepeatPercent = 25;
  // Bounds one shard's work per cycle so a cycle never holds a lock for long.
  static constexpr int kActiveExpireMaxRounds = 16;
  // Elements / fields per RPUSH / HSET record written by dump_shard: big values are split so a
  // record stays small (Redis's AOF rewrite uses 64 too: AOF_REWRITE_ITEMS_PER_CMD).
  static constexpr std::size_t kDumpItemsPerCommand = 64;

  // Cache-line aligned: adjacent shards' locks and counters must not share a line.
  class alignas(64) Shard {
   public:
    ShardMutex& mutex() { return mutex_; }

    // --- Everything below needs mutex() held. ---

    // The live entry of `key` (hash = Db::hash(key)) as a pointer to its slot (the caller may
    // swap in a new entry for the same key with replace()), or nullptr. An entry whose TTL has
    // passed is removed here and logged as "DEL key" (seq gets the record's number). The clock
    // is read only for keys with a TTL. Valid until the next insert/erase in this shard.
    Entry** find(std::string_view key, std::uint64_t hash, WriteLog* log, std::uint64_t& seq);
    // Like find() but also counts a keyspace hit or miss (reads: GET, LRANGE, ...).
    Entry** find_read(std::string_view key, std::uint64_t hash, WriteLog* log,
                      std::uint64_t& seq);
    // Adds a new entry (hash = Db::hash(e->key())); its key must be absent. Registers its TTL
    // if it has one.
    void insert(Entry* e, std::uint64_t hash);
    // Puts `e` (same key) in place of *slot and destroys the old entry (list/hash included,
    // unless `keep_value`: the old entry's list/hash pointer was moved into `e`).
    void replace(Entry** slot, Entry* e, bool keep_value = false);
    // Removes and destroys entry `e` (hash = Db::hash(e->key()), which the caller already has:
    // the key is not hashed again).
    void erase(Entry* e, std::uint64_t hash);
    // Sets (at != kNoExpire) or clears the TTL of *slot, reallocating the entry if its
    // expiry block appears or goes.
    void set_expire(Entry** slot, std::int64_t at);
    // Removes every key.
    void clear();

    // ORDERING: relaxed; a count for DBSIZE/INFO read without the lock, exact only under it.
    std::size_t size() const { return count_.load(std::memory_order_relaxed); }
    std::size_t expires_size() const { return expires_count_.load(std::memory_order_relaxed); }

    // Calls f(entry) for every stored entry (expired ones included).
    template <typename F>
    void for_each(F&& f) const {
      for (const EntryRef& r : table_) f(static_cast<const Entry*>(r.p));
    }

   private:
    friend class Db;
    struct EntryRef {
      mutable Entry* p;  // mutable: replace() swaps the entry of a key without rehashing
    };
    struct HashedKey {
      std::string_view key;
      std::uint64_t hash;
    };
    struct EntryHash {
      using is_transparent = void;
      std::size_t operator()(const EntryRef& r) const { return Db::hash(r.p->key()); }
      std::size_t operator()(const HashedKey& k) const { return k.hash; }
    };
    struct EntryEq {
      using is_transparent = void;
      bool operator()(const EntryRef& a, const EntryRef& b) const {
        return a.p->key() == b.p->key();
      }
      bool operator()(const HashedKey& a, const EntryRef& b) const {
        return a.key == b.p->key();
      }
      bool operator()(const EntryRef& a, const HashedKey& b) const {
        return a.p->key() == b.key;
      }
    };

    void add_expire(Entry* e);
    void remove_expire(Entry* e);
    // Removes an expired entry (hash as for erase): logs DEL, counts it.
    void expire_entry(Entry* e, std::uint64_t hash, WriteLog* log, std::uint64_t& seq);
    void publish_counts() {
      // ORDERING: relaxed; written under the shard lock, read lock-free as statistics (size()).
      count_.store(table_.size(), std::memory_order_relaxed);
      expires_count_.store(expires_.size(), std::memory_order_relaxed);
    }
    std::uint64_t next_random();

    ShardMutex mutex_;
    const Db* db_ = nullptr;
    int index_ = 0;
    absl::flat_hash_set<EntryRef, EntryHash, EntryEq> table_;
    std::vector<Entry*> expires_;  // entries with a TTL; each knows its position
    std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
    // Written under mutex_, read without it (size(), stats()).
    std::atomic<std::size_t> count_{0};
    std::atomic<std::size_t> expires_count_{0};
    std::atomic<std::uint64_t> expired_{0};
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
  };

  explicit Db(DbOptions options = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  static std::uint64_t hash(std::string_view key) {
    return absl::Hash<absl::string_view>{}(absl::string_view(key.data(), key.size()));
  }
  std::size_t shard_index(std::uint64_t hash) const {
    // High 32 bits, scaled: the table inside the shard uses the low bits.
    return static_cast<std::size_t>(((hash >> 32) * shard_count_) >> 32);
  }
  std::size_t shard_of(std::string_view key) const { return shard_index(hash(key)); }
  Shard& shard(std::size_t i) { return shards_[i]; }

  // Holds every shard's lock, taken in ascending order, for its lifetime: a consistent cut of
  // the whole keyspace (FLUSHDB/FLUSHALL; the AOF, to collect its per-shard buffers).
  class AllShardsLock {
   public:
    explicit AllShardsLock(Db& db) : db_(db) {
      for (std::size_t i = 0; i < db_.shard_count_; ++i) db_.shards_[i].mutex_.lock();
    }
    ~AllShardsLock() {
      for (std::size_t i = db_.shard_count_; i-- > 0;) db_.shards_[i].mutex_.unlock();
    }
    AllShardsLock(const AllShardsLock&) = delete;
    AllShardsLock& operator=(const AllShardsLock&) = delete;

   private:
    Db& db_;
  };

  std::size_t size() const;           // keys (DBSIZE), expired-but-not-yet-removed included
  std::size_t expires_size() const;   // keys with a TTL
  std::size_t shard_count() const { return shard_count_; }
  std::int64_t now_ms() const { return now_ ? now_() : wall_clock_ms(); }

  // Redis-style active expiry: in each shard samples up to `samples_per_shard` keys that have a
  // TTL, removes the expired ones (logging "DEL k" to `log` if not null), and samples that
  // shard again while more than kActiveExpireRepeatPercent of its sample had expired (at most
  // kActiveExpireMaxRounds times). Returns the number of keys removed.
  std::size_t active_expire_cycle(WriteLog* log, std::size_t samples_per_shard);

  // With shard `shard`'s lock held: emits the commands that rebuild it (SET k v; RPUSH k ...;
  // HSET k f v ...; PEXPIREAT k ms after a key with a TTL; expired keys skipped), then calls
  // under_lock() and releases the lock. For the AOF rewrite.
  void dump_shard(std::size_t shard,
                  absl::FunctionRef<void(std::span<const std::string_view>)> emit,
                  absl::FunctionRef<void()> under_lock);

  DbStats stats() const;

 private:
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
  std::function<std::int64_t()> now_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_DB_DB_H_
