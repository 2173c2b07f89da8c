// Entry: one key of the keyspace and its value in ONE heap allocation, laid out as
//
//   [8-byte header: key length, value length, type, has-expire]
//   [if has-expire: 8-byte absolute unix ms, 4-byte position in the shard's expiry vector]
//   [key bytes][value bytes: a string inline, or a pointer to a List / Hash]
//
// so a 16-byte key with a 16-byte value costs 40 bytes (a 48-byte malloc chunk) and no
// std::string. An entry is immutable in size: a change of length or of the expiry block makes a
// new entry (Entry::make) that replaces the old one in its shard's table.
//
//   Entry* e = Entry::make_string("key", "value", /*expire_at=*/kNoExpire);
//   e->key();        // "key"
//   Entry::destroy(e);
//
// Thread-safety: none; entries belong to a Db shard and are touched under its lock.
#ifndef KEEL_APPS_MINI_REDIS_DB_ENTRY_H_
#define KEEL_APPS_MINI_REDIS_DB_ENTRY_H_

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace mini_redis {

// No expiry: a key without a TTL.
inline constexpr std::int64_t kNoExpire = -1;

enum class ValueType : std::uint8_t { kString = 0, kList = 1, kHash = 2 };

using List = std::deque<std::string>;

// A hash value keeps its fields in insertion order as Redis's small (listpack) hashes do, so
// HGETALL answers in the order redis-server does; past kHashIndexThreshold fields an index
// makes lookups O(1) (Redis switches to a hashtable there and its order is unspecified, so a
// deletion may then move the last field into the hole).
class Hash {
 public:
  // Redis's hash-max-listpack-entries default: below it a linear scan is as fast as a lookup.
  static constexpr std::size_t kHashIndexThreshold = 128;

  std::size_t size() const { return fields_.size(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

  const std::string* get(std::string_view field) const;
  // Sets field to value; true if the field is new.
  bool set(std::string_view field, std::string_view value);
  // True if the field existed.
  bool erase(std::string_view field);

 private:
  std::ptrdiff_t find(std::string_view field) const;
  void build_index();

  std::vector<std::pair<std::string, std::string>> fields_;
  // Field → position in fields_, only past kHashIndexThreshold fields. Keys view fields_'s
  // strings, whose buffers do not move when the vector grows (moves keep heap buffers; short
  // strings are re-indexed on growth, see set()).
  std::unique_ptr<absl::flat_hash_map<std::string_view, std::uint32_t>> index_;
};

class Entry {
 public:
  // Largest key / value length the header can hold (Redis's proto-max-bulk-len is 512 MB).
  static constexpr std::uint64_t kMaxKeyLen = (std::uint64_t{1} << 30) - 1;
  static constexpr std::uint64_t kMaxValueLen = (std::uint64_t{1} << 31) - 1;

  static Entry* make_string(std::string_view key, std::string_view value, std::int64_t expire_at);
  // A string entry whose value is left uninitialised, `value_len` bytes, to be written in place
  // (APPEND, INCR) through mutable_str().
  static Entry* make_string_uninit(std::string_view key, std::size_t value_len,
                                   std::int64_t expire_at);
  // Takes ownership of `list` / `hash`.
  static Entry* make_list(std::string_view key, List* list, std::int64_t expire_at);
  static Entry* make_hash(std::string_view key, Hash* hash, std::int64_t expire_at);
  // A copy of `e` (same key and value; a list/hash pointer moves over) with a different expiry.
  // `e` must then be freed with free_shell(), which does not free the list/hash.
  static Entry* with_expire(const Entry* e, std::int64_t expire_at);
  // Frees the entry and its list/hash.
  static void destroy(Entry* e);
  // Frees only the entry's memory (its list/hash now belongs to another entry).
  static void free_shell(Entry* e);

  std::string_view key() const { return {data() + key_offset(), key_len_}; }
  ValueType type() const { return static_cast<ValueType>(type_); }
  bool has_expire() const { return has_expire_ != 0; }
  std::int64_t expire_at() const {
    if (!has_expire_) return kNoExpire;
    std::int64_t v;
    std::memcpy(&v, data(), sizeof v);
    return v;
  }
  void set_expire_at(std::int64_t at) { std::memcpy(data(), &at, sizeof at); }  // has_expire() only
  std::uint32_t expire_pos() const {
    std::uint32_t v;
    std::memcpy(&v, data() + 8, sizeof v);
    return v;
  }
  void set_expire_pos(std::uint32_t pos) { std::memcpy(data() + 8, &pos, sizeof pos); }

  std::string_view str() const { return {value_ptr(), value_len_}; }
  char* mutable_str() { return value_ptr(); }
  List* list() const { return load_ptr<List>(); }
  Hash* hash() const { return load_ptr<Hash>(); }

 private:
  Entry() = default;
  static Entry* allocate(std::string_view key, ValueType type, std::size_t value_len,
                         std::int64_t expire_at);
  static constexpr std::size_t kExpireBlock = 12;  // 8-byte time + 4-byte vector position

  std::size_t key_offset() const { return has_expire_ ? kExpireBlock : 0; }
  char* data() { return reinterpret_cast<char*>(this) + sizeof(Entry); }
  const char* data() const { return reinterpret_cast<const char*>(this) + sizeof(Entry); }
  char* value_ptr() const {
    return const_cast<char*>(data()) + key_offset() + key_len_;
  }
  template <typename T>
  T* load_ptr() const {
    T* p;
    std::memcpy(&p, value_ptr(), sizeof p);
    return p;
  }

  std::uint64_t key_len_ : 30;
  std::uint64_t value_len_ : 31;
  std::uint64_t type_ : 2;
  std::uint64_t has_expire_ : 1;
};

static_assert(sizeof(Entry) == 8, "the entry header must stay one word");

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_DB_ENTRY_H_
