#include "apps/mini-redis/db/db.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace mini_redis {

std::int64_t wall_clock_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// ---- Shard ----

Entry** Db::Shard::find(std::string_view key, std::uint64_t hash, WriteLog* log,
                        std::uint64_t& seq) {
  auto it = table_.find(HashedKey{key, hash});
  if (it == table_.end()) return nullptr;
  Entry** slot = &it->p;
  if ((*slot)->has_expire() && (*slot)->expire_at() <= db_->now_ms()) {
    expire_entry(*slot, hash, log, seq);
    return nullptr;
  }
  return slot;
}

Entry** Db::Shard::find_read(std::string_view key, std::uint64_t hash, WriteLog* log,
                             std::uint64_t& seq) {
  Entry** slot = find(key, hash, log, seq);
  // Plain load + store: the counter is only written under the shard lock.
  // ORDERING: relaxed; a statistic read by INFO, which needs no order with anything else.
  auto& counter = slot != nullptr ? hits_ : misses_;
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return slot;
}

void Db::Shard::expire_entry(Entry* e, std::uint64_t hash, WriteLog* log, std::uint64_t& seq) {
  if (log != nullptr) {
    const std::string_view args[2] = {"DEL", e->key()};
    seq = std::max(seq, log->append(index_, args, {}));
  }
  // ORDERING: relaxed, written only under the shard lock; a statistic (see find_read).
  expired_.store(expired_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  erase(e, hash);
}

void Db::Shard::insert(Entry* e, std::uint64_t hash) {
  // lazy_emplace with the caller's hash: the key is not hashed a second time.
  table_.lazy_emplace(HashedKey{e->key(), hash}, [e](const auto& ctor) { ctor(EntryRef{e}); });
  if (e->has_expire()) add_expire(e);
  publish_counts();
}

void Db::Shard::replace(Entry** slot, Entry* e, bool keep_value) {
  Entry* old = *slot;
  if (old->has_expire()) remove_expire(old);
  *slot = e;
  if (e->has_expire()) add_expire(e);
  if (keep_value) {
    Entry::free_shell(old);
  } else {
    Entry::destroy(old);
  }
  publish_counts();
}

void Db::Shard::erase(Entry* e, std::uint64_t hash) {
  if (e->has_expire()) remove_expire(e);
  // Erase by key while the entry is still alive (the table compares its key).
  table_.erase(HashedKey{e->key(), hash});
  Entry::destroy(e);
  publish_counts();
}

void Db::Shard::set_expire(Entry** slot, std::int64_t at) {
  Entry* e = *slot;
  if (at != kNoExpire && e->has_expire()) {
    e->set_expire_at(at);  // the block is already there: no reallocation
    return;
  }
  if (at == kNoExpire && !e->has_expire()) return;
  replace(slot, Entry::with_expire(e, at), /*keep_value=*/true);
}

void Db::Shard::clear() {
  for (const EntryRef& r : table_) Entry::destroy(r.p);
  table_.clear();
  expires_.clear();
  publish_counts();
}

void Db::Shard::add_expire(Entry* e) {
  e->set_expire_pos(static_cast<std::uint32_t>(expires_.size()));
  expires_.push_back(e);
}

void Db::Shard::remove_expire(Entry* e) {
  const std::uint32_t pos = e->expire_pos();
  Entry* last = expires_.back();
  expires_[pos] = last;
  last->set_expire_pos(pos);
  expires_.pop_back();
}

std::uint64_t Db::Shard::next_random() {
  // xorshift64: sampling needs spread, not quality.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

// ---- Db ----

Db::Db(DbOptions options)
    : shard_count_(std::max<std::size_t>(options.shards, 1)),
      shards_(std::make_unique<Shard[]>(shard_count_)),
      now_(std::move(options.now_ms)) {
  for (std::size_t i = 0; i < shard_count_; ++i) {
    shards_[i].index_ = static_cast<int>(i);
    shards_[i].db_ = this;
    shards_[i].rng_ ^= (i + 1) * 0x2545F4914F6CDD1DULL;
  }
}

Db::~Db() {
  for (std::size_t i = 0; i < shard_count_; ++i) shards_[i].clear();
}

std::size_t Db::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) n += shards_[i].size();
  return n;
}

std::size_t Db::expires_size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) n += shards_[i].expires_size();
  return n;
}

DbStats Db::stats() const {
  DbStats s;
  // ORDERING: relaxed; counters for INFO, each read on its own (no cross-counter snapshot).
  for (std::size_t i = 0; i < shard_count_; ++i) {
    s.expired_keys += shards_[i].expired_.load(std::memory_order_relaxed);
    s.keyspace_hits += shards_[i].hits_.load(std::memory_order_relaxed);
    s.keyspace_misses += shards_[i].misses_.load(std::memory_order_relaxed);
  }
  return s;
}

std::size_t Db::active_expire_cycle(WriteLog* log, std::size_t samples_per_shard) {
  if (samples_per_shard == 0) return 0;
  std::size_t removed = 0;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    if (s.expires_size() == 0) continue;  // most shards of most workloads: skip the lock
    std::lock_guard lock(s.mutex_);
    const std::int64_t now = now_ms();
    for (int round = 0; round < kActiveExpireMaxRounds && !s.expires_.empty(); ++round) {
      const std::size_t sample = std::min(samples_per_shard, s.expires_.size());
      std::size_t expired = 0;
      for (std::size_t n = 0; n < sample && !s.expires_.empty(); ++n) {
        Entry* e = s.expires_[s.next_random() % s.expires_.size()];
        if (e->expire_at() > now) continue;
        s.expire_entry(e, hash(e->key()), log, seq);
        ++expired;
      }
      removed += expired;
      if (expired * 100 <= sample * kActiveExpireRepeatPercent) break;
    }
  }
  return removed;
}

void Db::dump_shard(std::size_t shard,
                    absl::FunctionRef<void(std::span<const std::string_view>)> emit,
                    absl::FunctionRef<void()> under_lock) {
  Shard& s = shards_[shard];
  std::lock_guard lock(s.mutex_);
  const std::int64_t now = now_ms();
  std::vector<std::string_view> args;
  for (const Shard::EntryRef& r : s.table_) {
    const Entry* e = r.p;
    if (e->has_expire() && e->expire_at() <= now) continue;
    switch (e->type()) {
      case ValueType::kString: {
        const std::string_view set[3] = {"SET", e->key(), e->str()};
        emit(set);
        break;
      }
      case ValueType::kList: {
        const List& list = *e->list();
        for (std::size_t i = 0; i < list.size(); i += kDumpItemsPerCommand) {
          args.clear();
          args.push_back("RPUSH");
          args.push_back(e->key());
          for (std::size_t j = i; j < list.size() && j < i + kDumpItemsPerCommand; ++j) {
            args.push_back(list[j]);
          }
          emit(args);
        }
        break;
      }
      case ValueType::kHash: {
        const auto& fields = e->hash()->fields();
        for (std::size_t i = 0; i < fields.size(); i += kDumpItemsPerCommand) {
          args.clear();
          args.push_back("HSET");
          args.push_back(e->key());
          for (std::size_t j = i; j < fields.size() && j < i + kDumpItemsPerCommand; ++j) {
            args.push_back(fields[j].first);
            args.push_back(fields[j].second);
          }
          emit(args);
        }
        break;
      }
    }
    if (e->has_expire()) {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, e->expire_at());
      (void)ec;
      const std::string_view pexpireat[3] = {"PEXPIREAT", e->key(),
                                             std::string_view(buf, end - buf)};
      emit(pexpireat);
    }
  }
  under_lock();
}

}  // namespace mini_redis
