// WriteLog: where the keyspace reports each write, in the order it applied them: the
// append-only file (persistence/aof.h) implements it.
//
// A write command calls append() while it still holds the lock of the shard it changed, so two
// writes to one key reach the log in the order they were applied. A command that changes keys in
// several shards (MSET, DEL k1 k2, ...) takes their locks in ascending shard order and appends
// one record per shard, each holding only that shard's keys, all before it releases any lock. A
// command that changes every shard (FLUSHDB, FLUSHALL) holds every shard's lock and appends one
// record with shard kAllShards.
//
// Records are deterministic: replaying them on the state the log describes gives the same
// state. So relative expiry is logged as absolute ("SET k v PX 100" is logged as "SET k v PXAT
// <unix ms>", "EXPIRE k 10" as "PEXPIREAT k <unix ms>"), and a key that expires (lazily on access
// or by the active expiry cycle) is logged as "DEL k".
//
// A record that is the client's request unchanged ("RPUSH l a b", "SET k v" without options)
// comes with the request's own RESP bytes (`encoded`), which the log copies instead of encoding
// the arguments again: the append-only file then holds what the client sent, as Redis's does
// (the command name keeps the client's case).
//
// Thread-safety: append() is called concurrently from every worker thread, under shard locks:
// it must be short and must never wait on anything that could need a shard lock.
#ifndef KEEL_APPS_MINI_REDIS_DB_WRITE_LOG_H_
#define KEEL_APPS_MINI_REDIS_DB_WRITE_LOG_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace mini_redis {

class WriteLog {
 public:
  static constexpr int kAllShards = -1;

  virtual ~WriteLog() = default;

  // Records one command (args[0] is its name). `encoded` is empty, or exactly `args` as a RESP
  // array of bulk strings (as resp::parse_request parses it back to `args`). Returns the
  // record's sequence number: numbers increase with each record, starting at 1.
  virtual std::uint64_t append(int shard, std::span<const std::string_view> args,
                               std::string_view encoded) = 0;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_DB_WRITE_LOG_H_
