// Test support for the command tests: a Db on a fake clock, a WriteLog that records every
// record, and run() that executes one command and returns its raw RESP reply.
//
//   Harness h;
//   EXPECT_EQ(h.run({"SET", "k", "v"}), "+OK\r\n");
//   EXPECT_EQ(h.log.last(), "SET k v");
//   EXPECT_TRUE(h.log.records().back().verbatim);   // logged from the request's own bytes
//
// run() executes as the server does, with the request's RESP bytes in the ExecContext; the
// RecordingLog checks that bytes a command hands it parse back to exactly its arguments (and
// aborts, naming the record, if not).
//
// Thread-safety: run() may be called from several threads (the Db and the log are safe);
// the clock should only be moved while no command runs.
#ifndef KEEL_APPS_MINI_REDIS_COMMANDS_TEST_UTIL_H_
#define KEEL_APPS_MINI_REDIS_COMMANDS_TEST_UTIL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/protocol/request.h"

namespace mini_redis::testing {

class RecordingLog : public WriteLog {
 public:
  struct Record {
    int shard;
    std::vector<std::string> args;
    bool verbatim = false;  // came with its RESP bytes (the request itself)
    std::string text() const {
      std::string s;
      for (const std::string& a : args) {
        if (!s.empty()) s += ' ';
        s += a;
      }
      return s;
    }
  };

  std::uint64_t append(int shard, std::span<const std::string_view> args,
                       std::string_view encoded) override {
    Record rec{shard, std::vector<std::string>(args.begin(), args.end()), !encoded.empty()};
    if (!encoded.empty()) {
      resp::Request parsed;
      resp::ParseResult r = resp::parse_request(encoded, parsed);
      if (r.kind != resp::ParseResult::kComplete || r.consumed != encoded.size() ||
          !std::equal(parsed.args.begin(), parsed.args.end(), args.begin(), args.end())) {
        std::fprintf(stderr, "RecordingLog: the bytes given with record '%s' encode other args\n",
                     rec.text().c_str());
        std::abort();
      }
    }
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(rec));
    return records_.size();
  }
  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const Record& r : records()) out.push_back(r.text());
    return out;
  }
  std::string last() const {
    std::lock_guard lock(mutex_);
    return records_.empty() ? "" : records_.back().text();
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    records_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Record> records_;
};

// Executes args on db as the server does (with the request's RESP bytes at hand); unknown
// commands give "-ERR unknown command".
inline std::string run_command(Db& db, WriteLog* log, std::span<const std::string_view> args,
                               std::uint64_t* seq = nullptr) {
  std::string request;
  resp::Reply(request).command(args);
  std::string out;
  resp::Reply reply(out);
  ExecContext ctx{db, log};
  ctx.request_args = args;
  ctx.request_resp = request;
  const CommandSpec* cmd = find_command(args[0]);
  if (cmd == nullptr) {
    reply.error("ERR unknown command");
  } else {
    execute(*cmd, ctx, args, reply);
  }
  if (seq != nullptr) *seq = ctx.last_write_seq;
  return out;
}

struct Harness {
  // 2024-01-01T00:00:00Z: a realistic unix time in ms.
  static constexpr std::int64_t kStart = 1704067200000;

  explicit Harness(std::size_t shards = 8)
      : db(DbOptions{shards, [this] { return now.load(); }}) {}

  std::string run(std::initializer_list<std::string_view> args) {
    return run_command(db, &log, std::span(args.begin(), args.size()));
  }
  // Runs with no log (AOF replay).
  std::string run_unlogged(std::span<const std::string_view> args) {
    return run_command(db, nullptr, args);
  }
  void advance(std::int64_t ms) { now += ms; }

  std::atomic<std::int64_t> now{kStart};
  Db db;
  RecordingLog log;
};

// RESP helpers for expectations.
inline std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string integer(std::int64_t n) { return ":" + std::to_string(n) + "\r\n"; }
inline std::string err(std::string_view s) { return "-" + std::string(s) + "\r\n"; }
inline constexpr std::string_view kOk = "+OK\r\n";
inline constexpr std::string_view kNull = "$-1\r\n";
inline constexpr std::string_view kWrongTypeReply =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

}  // namespace mini_redis::testing

#endif  // KEEL_APPS_MINI_REDIS_COMMANDS_TEST_UTIL_H_
