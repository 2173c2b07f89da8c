#include "apps/mini-redis/persistence/aof.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/protocol/reply.h"
#include "gtest/gtest.h"
#include "runtime/fs/fs.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace mini_redis {
namespace {

using Args = std::vector<std::string>;

// A fresh directory per test run (each KEEL_TEST body runs on three runtimes).
std::string fresh_dir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/aof_", name, "_",
                                 keel::testing::flavor().name, "_", counter.fetch_add(1));
  std::string cmd = absl::StrCat("rm -rf '", dir, "'");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::string cmd = absl::StrCat("mkdir -p \"$(dirname '", path, "')\"");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string resp(const Args& args) {
  std::string out = absl::StrCat("*", args.size(), "\r\n");
  for (const std::string& a : args) absl::StrAppend(&out, "$", a.size(), "\r\n", a, "\r\n");
  return out;
}

// Runs one command on `db` (logging to `log`) and gives the RESP reply.
std::string run(Db& db, WriteLog* log, const Args& args, std::uint64_t* seq = nullptr) {
  std::vector<std::string_view> views(args.begin(), args.end());
  const CommandSpec* cmd = find_command(views[0]);
  EXPECT_NE(cmd, nullptr) << args[0];
  if (cmd == nullptr) return "";
  ExecContext ctx{db, log};
  std::string out;
  resp::Reply reply(out);
  execute(*cmd, ctx, views, reply);
  if (seq) *seq = ctx.last_write_seq;
  return out;
}

// A fixed clock: nothing expires by itself, so a replay is comparable with the live db.
// 16 shards: FLUSHALL holds every shard's lock at once, and ThreadSanitizer's deadlock
// detector aborts when a thread holds 64 locks (the default shard count).
constexpr std::int64_t kNow = 1'700'000'000'000;
DbOptions fixed_clock() {
  DbOptions o;
  o.shards = 16;
  o.now_ms = [] { return kNow; };
  return o;
}

// The db's contents in a canonical form (key -> type, value, expiry), from dump_shard.
std::map<std::string, std::string> snapshot(Db& db) {
  std::map<std::string, std::string> strings, expiry;
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::map<std::string, std::string>> hashes;
  for (std::size_t i = 0; i < db.shard_count(); ++i) {
    db.dump_shard(
        i,
        [&](std::span<const std::string_view> a) {
          std::string cmd(a[0]);
          std::string key(a[1]);
          if (cmd == "SET" || cmd == "set") {
            strings[key] = std::string(a[2]);
          } else if (cmd == "RPUSH" || cmd == "rpush") {
            for (std::size_t j = 2; j < a.size(); ++j) lists[key].emplace_back(a[j]);
          } else if (cmd == "HSET" || cmd == "hset") {
            for (std::size_t j = 2; j + 1 < a.size(); j += 2) {
              hashes[key][std::string(a[j])] = std::string(a[j + 1]);
            }
          } else if (cmd == "PEXPIREAT" || cmd == "pexpireat") {
            expiry[key] = std::string(a[2]);
          } else {
            ADD_FAILURE() << "unexpected dump record " << cmd;
          }
        },
        [] {});
  }
  std::map<std::string, std::string> out;
  for (auto& [k, v] : strings) out[k] = "string:" + v;
  for (auto& [k, v] : lists) {
    std::string s = "list:";
    for (auto& e : v) absl::StrAppend(&s, e.size(), ":", e, ",");
    out[k] = s;
  }
  for (auto& [k, v] : hashes) {
    std::string s = "hash:";
    for (auto& [f, x] : v) absl::StrAppend(&s, f.size(), ":", f, "=", x.size(), ":", x, ",");
    out[k] = s;
  }
  for (auto& [k, v] : expiry) out[k] += " px@" + v;
  return out;
}

AofOptions options(const std::string& dir, AppendFsync fsync) {
  AofOptions o;
  o.dir = dir;
  o.fsync = fsync;
  return o;
}

// Opens `dir`'s AOF into a fresh db, closes it, and gives the db's snapshot.
keel::Task<absl::StatusOr<std::map<std::string, std::string>>> replay_snapshot(std::string dir) {
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(options(dir, AppendFsync::kNo), db);
  if (!aof.ok()) co_return aof.status();
  absl::Status s = co_await (*aof)->close();
  if (!s.ok()) co_return s;
  co_return snapshot(db);
}

// --- Appending and replay ---------------------------------------------------------------------

KEEL_TEST(Aof, AppendWritesRedisFormatAndCloseFlushes) {
  std::string dir = fresh_dir("format");
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(options(dir, AppendFsync::kNo), db);
  KEEL_ASSERT_OK(aof);
  std::string binary("a\r\n\0b", 5);
  std::vector<std::string_view> r1 = {"SET", "k", "v"};
  std::vector<std::string_view> r2 = {"RPUSH", "l", "a", "", "b"};
  std::vector<std::string_view> r3 = {"SET", "bin", binary};
  // As db/write_log.h requires: the shard's lock held, every shard's for kAllShards.
  {
    std::lock_guard lock(db.shard(0).mutex());
    EXPECT_EQ((*aof)->append(0, r1, {}), 1u);
  }
  {
    std::lock_guard lock(db.shard(1).mutex());
    EXPECT_EQ((*aof)->append(1, r2, {}), 2u);
  }
  {
    Db::AllShardsLock all(db);
    EXPECT_EQ((*aof)->append(WriteLog::kAllShards, r3, {}), 3u);
  }
  std::uint64_t seq = 0;
  EXPECT_EQ(run(db, aof->get(), {"SET", "x", "y"}, &seq), "+OK\r\n");
  EXPECT_EQ(seq, 4u);
  EXPECT_EQ((*aof)->stats().appended_seq, 4u);
  KEEL_ASSERT_OK(co_await (*aof)->close());  // kNo: close() alone puts it on disk
  std::string got = read_file(dir + "/appendonly.aof");
  std::string expected =
      resp({"SET", "k", "v"}) + resp({"RPUSH", "l", "a", "", "b"}) + resp({"SET", "bin", binary});
  EXPECT_EQ(got.substr(0, expected.size()), expected);
  EXPECT_EQ(got.size(), (*aof)->stats().current_size);
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ((*again)["l"], "list:1:a,0:,1:b,");
  EXPECT_EQ((*again)["bin"], "string:" + binary);
  EXPECT_EQ((*again)["x"], "string:y");
  EXPECT_EQ(again->size(), 4u);

  // After close: records are dropped, waiting for them fails.
  std::uint64_t late;
  {
    std::lock_guard lock(db.shard(0).mutex());
    late = (*aof)->append(0, r1, {});
  }
  absl::Status w = co_await (*aof)->wait_durable(late);
  EXPECT_TRUE(absl::IsFailedPrecondition(w)) << w;
  // close() again gives the same result.
  KEEL_ASSERT_OK(co_await (*aof)->close());
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), got);
}

// A record given with its request's bytes is written as those bytes (the client's case too).
KEEL_TEST(Aof, AppendCopiesTheRequestBytes) {
  std::string dir = fresh_dir("verbatim");
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(options(dir, AppendFsync::kNo), db);
  KEEL_ASSERT_OK(aof);
  std::vector<std::string_view> rec = {"set", "k", "v"};
  const std::string request = resp({"set", "k", "v"});
  {
    std::lock_guard lock(db.shard(2).mutex());
    EXPECT_EQ((*aof)->append(2, rec, request), 1u);
  }
  {
    Db::AllShardsLock all(db);
    EXPECT_EQ((*aof)->append(WriteLog::kAllShards, rec, request), 2u);
  }
  KEEL_ASSERT_OK(co_await (*aof)->close());
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), request + request);
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ((*again)["k"], "string:v");
}

KEEL_TEST(Aof, ReplaysEveryRecordKind) {
  std::string dir = fresh_dir("kinds");
  std::string file =
      resp({"SET", "s", "1"}) + resp({"INCR", "s"}) + resp({"SET", "gone", "x"}) +
      resp({"DEL", "gone"}) + resp({"RPUSH", "l", "a", "b", "c"}) + resp({"LPUSH", "l", "z"}) +
      resp({"RPOP", "l"}) + resp({"HSET", "h", "f1", "v1", "f2", "v2"}) +
      resp({"HDEL", "h", "f1"}) + resp({"SET", "t", "v", "PXAT", std::to_string(kNow + 100000)}) +
      resp({"SET", "e", "v"}) + resp({"PEXPIREAT", "e", std::to_string(kNow + 5000)}) +
      resp({"APPEND", "s", "0"}) + resp({"MSET", "m1", "a", "m2", "b"}) + resp({"SET", "p", "v"}) +
      resp({"PEXPIREAT", "p", std::to_string(kNow + 9)}) + resp({"PERSIST", "p"}) +
      resp({"SET", "old", "v"}) + resp({"FLUSHALL"}) + resp({"SET", "after", "flush"}) +
      resp({"SET", "s", "2"}) + resp({"INCRBY", "s", "10"}) + resp({"RPUSH", "l", "a", "b", "c"}) +
      resp({"LPOP", "l"}) + resp({"HSET", "h", "f", "v"}) +
      resp({"SET", "t", "v", "PXAT", std::to_string(kNow + 100000)}) + resp({"SET", "e", "v"}) +
      resp({"PEXPIREAT", "e", std::to_string(kNow + 5000)}) + resp({"MSET", "m1", "a", "m2", "b"}) +
      resp({"set", "lower", "case"});
  write_file(dir + "/appendonly.aof", file);
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(options(dir, AppendFsync::kNo), db);
  KEEL_ASSERT_OK(aof);
  EXPECT_EQ(run(db, nullptr, {"GET", "s"}), "$2\r\n12\r\n");
  EXPECT_EQ(run(db, nullptr, {"EXISTS", "old", "gone"}), ":0\r\n");
  EXPECT_EQ(run(db, nullptr, {"GET", "after"}), "$5\r\nflush\r\n");
  EXPECT_EQ(run(db, nullptr, {"LRANGE", "l", "0", "-1"}), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
  EXPECT_EQ(run(db, nullptr, {"HGET", "h", "f"}), "$1\r\nv\r\n");
  EXPECT_EQ(run(db, nullptr, {"PTTL", "t"}), ":100000\r\n");
  EXPECT_EQ(run(db, nullptr, {"PTTL", "e"}), ":5000\r\n");
  EXPECT_EQ(run(db, nullptr, {"MGET", "m1", "m2"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  EXPECT_EQ(run(db, nullptr, {"GET", "lower"}), "$4\r\ncase\r\n");
  EXPECT_EQ(db.size(), 9u);
  EXPECT_EQ((*aof)->stats().current_size, file.size());
  EXPECT_EQ((*aof)->stats().base_size, file.size());
  KEEL_ASSERT_OK(co_await (*aof)->close());
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), file);  // replay writes nothing
}

KEEL_TEST(Aof, MissingFileIsCreatedAndStaleRewriteRemoved) {
  std::string dir = fresh_dir("create");
  write_file(dir + "/sub/appendonly.aof.rewrite", resp({"SET", "half", "done"}));
  Db db(fixed_clock());
  AofOptions o = options(dir + "/sub", AppendFsync::kAlways);
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(o, db);
  KEEL_ASSERT_OK(aof);
  bool exists1 = co_await keel::fs::exists(dir + "/sub/appendonly.aof");
  EXPECT_TRUE(exists1);
  bool exists2 = co_await keel::fs::exists(dir + "/sub/appendonly.aof.rewrite");
  EXPECT_FALSE(exists2);
  EXPECT_EQ(db.size(), 0u);
  EXPECT_TRUE((*aof)->fsync_always());
  KEEL_ASSERT_OK(co_await (*aof)->close());
}

KEEL_TEST(Aof, OpenErrorNamesThePath) {
  std::string dir = fresh_dir("openerr");
  write_file(dir + "/notadir", "x");
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(options(dir + "/notadir", AppendFsync::kNo), db);
  EXPECT_FALSE(aof.ok());
  EXPECT_NE(aof.status().message().find(dir + "/notadir"), std::string::npos) << aof.status();
}

// A torn last record (a crash mid-write) at every byte offset: dropped, the file truncated to
// the whole records, the earlier records intact; appending then carries on.
KEEL_TEST(Aof, TornLastRecordAtEveryOffsetIsDropped) {
  std::string good = resp({"SET", "a", "1"}) + resp({"RPUSH", "l", "x", "y"});
  std::string last = resp({"SET", "torn", "value"});
  for (std::size_t cut = 1; cut < last.size(); ++cut) {
    std::string dir = fresh_dir("torn");
    write_file(dir + "/appendonly.aof", good + last.substr(0, cut));
    Db db(fixed_clock());
    absl::StatusOr<std::shared_ptr<Aof>> aof =
        co_await Aof::open(options(dir, AppendFsync::kAlways), db);
    if (!aof.ok()) {
      ADD_FAILURE() << "cut " << cut << ": " << aof.status();
      continue;
    }
    EXPECT_EQ(read_file(dir + "/appendonly.aof"), good) << "cut " << cut;
    EXPECT_EQ(run(db, nullptr, {"GET", "a"}), "$1\r\n1\r\n") << "cut " << cut;
    EXPECT_EQ(run(db, nullptr, {"EXISTS", "torn"}), ":0\r\n") << "cut " << cut;
    std::uint64_t seq = 0;
    run(db, aof->get(), {"SET", "b", "2"}, &seq);
    KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));
    KEEL_ASSERT_OK(co_await (*aof)->close());
    absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
    KEEL_ASSERT_OK(again);
    EXPECT_EQ(again->size(), 3u) << "cut " << cut;
    EXPECT_EQ((*again)["b"], "string:2");
  }
}

KEEL_TEST(Aof, DamageInTheMiddleIsAnErrorWithTheOffset) {
  std::string first = resp({"SET", "a", "1"});
  std::string second = resp({"SET", "b", "2"});
  struct Case {
    std::string file;
    std::string want;
  };
  std::string bad_len = second;
  bad_len[4] = 'x';  // "$3" -> "x3"
  std::vector<Case> cases = {
      {first + bad_len + first, absl::StrCat("offset ", first.size())},
      {first + "garbage\r\n" + second, absl::StrCat("offset ", first.size())},
      {first + resp({"NOSUCHCMD", "x"}) + second, "NOSUCHCMD"},
      {first + "*0\r\n" + second, absl::StrCat("offset ", first.size())},
      {first + "$3\r\nfoo\r\n", absl::StrCat("offset ", first.size())},
  };
  for (const Case& c : cases) {
    std::string dir = fresh_dir("damage");
    write_file(dir + "/appendonly.aof", c.file);
    Db db(fixed_clock());
    absl::StatusOr<std::shared_ptr<Aof>> aof =
        co_await Aof::open(options(dir, AppendFsync::kNo), db);
    EXPECT_FALSE(aof.ok());
    std::string msg(aof.status().message());
    EXPECT_NE(msg.find(dir + "/appendonly.aof"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.want), std::string::npos) << msg;
    EXPECT_EQ(read_file(dir + "/appendonly.aof"), c.file);  // damage is never "repaired"
  }
}

// --- Durability ------------------------------------------------------------------------------

// Blocks the writer inside its write until released (the hook runs on a blocking thread).
struct Gate {
  std::atomic<int> entered{0};
  std::atomic<bool> open{false};
  std::atomic<int> batches{0};
  std::atomic<bool> fail{false};
  void wait_open() {
    while (!open.load()) std::this_thread::yield();
  }
};

AofOptions gated(const std::string& dir, AppendFsync fsync, std::shared_ptr<Gate> gate) {
  AofOptions o = options(dir, fsync);
  o.write_hook = [gate]() -> absl::Status {
    gate->batches.fetch_add(1);
    gate->entered.fetch_add(1);
    gate->wait_open();
    if (gate->fail.load()) return absl::ResourceExhaustedError("write injected: disk full");
    return absl::OkStatus();
  };
  return o;
}

keel::Task<absl::Status> wait_for(std::shared_ptr<Aof> aof, std::uint64_t seq) {
  co_return co_await aof->wait_durable(seq);
}

keel::Task<void> yield_times(int n) {
  for (int i = 0; i < n; ++i) co_await keel::yield_now();
}

KEEL_TEST(Aof, AlwaysWaitDurableCompletesOnlyAfterTheWrite) {
  std::string dir = fresh_dir("always");
  auto gate = std::make_shared<Gate>();
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(gated(dir, AppendFsync::kAlways, gate), db);
  KEEL_ASSERT_OK(aof);
  std::uint64_t seq = 0;
  run(db, aof->get(), {"SET", "k", "v"}, &seq);
  keel::JoinHandle<absl::Status> waiter = keel::spawn(wait_for(*aof, seq));
  KEEL_ASSERT_TRUE(co_await keel::testing::eventually([&] { return gate->entered.load() == 1; }));
  co_await yield_times(50);
  EXPECT_FALSE(waiter.is_finished());
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), "");
  EXPECT_LT((*aof)->stats().durable_seq, seq);
  gate->open.store(true);
  absl::StatusOr<absl::Status> r = co_await std::move(waiter);
  KEEL_ASSERT_OK(r);
  KEEL_ASSERT_OK(*r);
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), resp({"SET", "k", "v"}));
  EXPECT_GE((*aof)->stats().durable_seq, seq);
  KEEL_ASSERT_OK(co_await (*aof)->close());
}

// Group commit: records that arrive while a batch is being written and fsynced go out
// together in the next batch, and every waiter wakes.
KEEL_TEST(Aof, AlwaysGroupCommitsWaiters) {
  std::string dir = fresh_dir("group");
  auto gate = std::make_shared<Gate>();
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(gated(dir, AppendFsync::kAlways, gate), db);
  KEEL_ASSERT_OK(aof);
  std::vector<keel::JoinHandle<absl::Status>> waiters;
  std::uint64_t seq = 0;
  run(db, aof->get(), {"SET", "k0", "v"}, &seq);
  waiters.push_back(keel::spawn(wait_for(*aof, seq)));
  KEEL_ASSERT_TRUE(co_await keel::testing::eventually([&] { return gate->entered.load() == 1; }));
  constexpr int kClients = 50;
  for (int i = 1; i < kClients; ++i) {
    run(db, aof->get(), {"SET", absl::StrCat("k", i), "v"}, &seq);
    waiters.push_back(keel::spawn(wait_for(*aof, seq)));
  }
  gate->open.store(true);
  for (auto& w : waiters) {
    absl::StatusOr<absl::Status> r = co_await std::move(w);
    KEEL_ASSERT_OK(r);
    EXPECT_TRUE(r->ok()) << *r;
  }
  EXPECT_EQ(gate->batches.load(), 2);  // the first record, then the other 49 at once
  KEEL_ASSERT_OK(co_await (*aof)->close());
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(again->size(), static_cast<std::size_t>(kClients));
}

// A wait_durable cancelled mid-wait (its task lost a select) leaves nothing behind; later
// waits still work.
KEEL_TEST(Aof, WaitDurableCancelledMidWait) {
  std::string dir = fresh_dir("cancel");
  auto gate = std::make_shared<Gate>();
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(gated(dir, AppendFsync::kAlways, gate), db);
  KEEL_ASSERT_OK(aof);
  std::uint64_t seq = 0;
  run(db, aof->get(), {"SET", "k", "v"}, &seq);
  KEEL_ASSERT_TRUE(co_await keel::testing::eventually([&] { return gate->entered.load() == 1; }));
  keel::Task<absl::Status> w = wait_for(*aof, seq);
  keel::Task<void> y = yield_times(20);
  auto first = co_await keel::select(std::move(w), std::move(y));
  EXPECT_EQ(first.index(), 1u);  // the wait was destroyed mid-wait
  gate->open.store(true);
  KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));
  KEEL_ASSERT_OK(co_await (*aof)->close());
}

KEEL_TEST(Aof, WriteErrorFailsWaitersAndStopsTheWriter) {
  std::string dir = fresh_dir("error");
  auto gate = std::make_shared<Gate>();
  gate->fail.store(true);
  gate->open.store(true);
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(gated(dir, AppendFsync::kAlways, gate), db);
  KEEL_ASSERT_OK(aof);
  std::uint64_t seq = 0;
  run(db, aof->get(), {"SET", "k", "v"}, &seq);
  absl::Status s = co_await (*aof)->wait_durable(seq);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_FALSE((*aof)->stats().last_write_ok);
  EXPECT_TRUE(absl::IsResourceExhausted((*aof)->write_status()));
  run(db, aof->get(), {"SET", "k2", "v"}, &seq);
  s = co_await (*aof)->wait_durable(seq);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_FALSE((*aof)->start_rewrite().ok());
  s = co_await (*aof)->close();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
}

// Steps the paused clock by a tenth of kWriteRetryInterval until pred() holds: the writer
// coalesces, waits and retries on that clock, and a test that yields keeps the runtime from
// going idle (which would advance it). Each write runs on a blocking thread in real time, so
// the bound is real time, as in eventually(): only a broken writer reaches it. `pred` may
// refer to the caller's frame: await the result at once.
template <class Pred>
keel::Task<bool> advance_until(Pred pred) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    co_await keel::time::advance(kWriteRetryInterval / 10);
  }
  co_return true;
}

// everysec: a failed write refuses writes but drops nothing; the file is cut back to before
// the batch (here the hook leaves a torn record in it, as a write cut short by a full disk
// does), the batch is tried again every kWriteRetryInterval behind nothing newer, and the
// first retry that succeeds writes every record once and accepts writes again.
KEEL_TEST(Aof, EverySecWriteErrorIsRetriedAfterCuttingTheFileBack) {
  keel::time::pause();
  std::string dir = fresh_dir("retry");
  const std::string path = dir + "/appendonly.aof";
  auto failures = std::make_shared<std::atomic<int>>(2);
  AofOptions o = options(dir, AppendFsync::kEverySec);
  o.write_hook = [failures, path]() -> absl::Status {
    if (failures->load() == 0) return absl::OkStatus();
    std::ofstream(path, std::ios::binary | std::ios::app) << "*3\r\n$3\r\nSE";
    failures->fetch_sub(1);
    return absl::ResourceExhaustedError("write injected: disk full");
  };
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(o, db);
  KEEL_ASSERT_OK(aof);
  std::shared_ptr<Aof> a = *aof;
  EXPECT_TRUE(a->accepting_writes());
  std::uint64_t seq = 0;
  run(db, a.get(), {"SET", "k", "v"}, &seq);
  KEEL_ASSERT_TRUE(co_await advance_until([&] { return !a->accepting_writes(); }));
  EXPECT_TRUE(absl::IsResourceExhausted(a->write_status())) << a->write_status();
  EXPECT_FALSE(a->stats().last_write_ok);
  EXPECT_EQ(read_file(path), "");  // the torn record is gone
  // A record that arrives meanwhile (the server refuses write commands, but an expired key is
  // still logged as DEL) goes behind the failed ones.
  run(db, a.get(), {"SET", "k2", "v2"}, &seq);
  // Until a retry succeeds (the first retry fails too).
  KEEL_ASSERT_TRUE(co_await advance_until([&] { return a->accepting_writes(); }));
  EXPECT_EQ(failures->load(), 0);
  KEEL_ASSERT_OK(co_await a->wait_durable(seq));
  EXPECT_EQ(read_file(path), resp({"SET", "k", "v"}) + resp({"SET", "k2", "v2"}));
  EXPECT_TRUE(a->write_status().ok()) << a->write_status();
  EXPECT_TRUE(a->stats().last_write_ok);
  KEEL_ASSERT_OK(co_await a->close());
  keel::time::resume();
}

// everysec: clients wait for nothing but the write; the fsync follows within a second.
KEEL_TEST(Aof, EverySecFsyncsOnTheTimer) {
  keel::time::pause();
  std::string dir = fresh_dir("everysec");
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(options(dir, AppendFsync::kEverySec), db);
  KEEL_ASSERT_OK(aof);
  std::uint64_t seq = 0;
  run(db, aof->get(), {"SET", "k", "v"}, &seq);
  KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));  // written to the kernel
  EXPECT_EQ(read_file(dir + "/appendonly.aof"), resp({"SET", "k", "v"}));
  co_await keel::time::advance(kEverySecInterval + std::chrono::milliseconds(10));
  std::shared_ptr<Aof> a = *aof;
  KEEL_ASSERT_TRUE(
      co_await keel::testing::eventually([&] { return a->stats().durable_seq >= seq; }));
  KEEL_ASSERT_OK(co_await (*aof)->close());
  keel::time::resume();
}

// --- Rewrite ---------------------------------------------------------------------------------

KEEL_TEST(Aof, RewriteCompactsAndRejectsASecondOne) {
  std::string dir = fresh_dir("rewrite");
  Db db(fixed_clock());
  absl::StatusOr<std::shared_ptr<Aof>> aof =
      co_await Aof::open(options(dir, AppendFsync::kAlways), db);
  KEEL_ASSERT_OK(aof);
  for (int i = 0; i < 200; ++i) run(db, aof->get(), {"INCR", "counter"});
  for (int i = 0; i < 100; ++i) run(db, aof->get(), {"RPUSH", "list", absl::StrCat("e", i)});
  for (int i = 0; i < 100; ++i) {
    run(db, aof->get(), {"HSET", "hash", absl::StrCat("f", i), absl::StrCat("v", i)});
  }
  run(db, aof->get(), {"SET", "ttl", "v", "PXAT", std::to_string(kNow + 60000)});
  run(db, aof->get(), {"SET", "gone", "v"});
  std::uint64_t seq = 0;
  run(db, aof->get(), {"DEL", "gone"}, &seq);
  KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));
  std::uint64_t before = (*aof)->stats().current_size;

  KEEL_ASSERT_OK((*aof)->start_rewrite());
  absl::Status second = (*aof)->start_rewrite();
  if (!second.ok()) {  // the first may have finished already on a fast machine
    EXPECT_EQ(second.message(), "ERR Background append only file rewriting already in progress");
  }
  KEEL_ASSERT_OK(co_await (*aof)->wait_rewrite());
  Aof::AofStats st = (*aof)->stats();
  EXPECT_EQ(st.rewrites, 1u + (second.ok() ? 1u : 0u));
  EXPECT_FALSE(st.rewrite_in_progress);
  EXPECT_TRUE(st.last_bgrewrite_ok);
  EXPECT_LT(st.current_size, before);
  EXPECT_EQ(st.base_size, st.current_size);
  EXPECT_EQ(read_file(dir + "/appendonly.aof").size(), st.current_size);
  bool exists3 = co_await keel::fs::exists(dir + "/appendonly.aof.rewrite");
  EXPECT_FALSE(exists3);

  // Appends after the switch go to the new file.
  run(db, aof->get(), {"SET", "after", "rewrite"}, &seq);
  KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));
  KEEL_ASSERT_OK(co_await (*aof)->close());
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(*again, snapshot(db));
  EXPECT_EQ(again->size(), 5u);
}

// A FLUSHALL (a kAllShards record) and other writes in the middle of the dump: the dump
// restarts, and the result is exact.
KEEL_TEST(Aof, FlushAllMidRewriteRestartsTheDump) {
  std::string dir = fresh_dir("restart");
  auto db = std::make_shared<Db>(fixed_clock());
  auto aof_slot = std::make_shared<std::shared_ptr<Aof>>();
  auto hook_calls = std::make_shared<std::atomic<int>>(0);
  AofOptions o = options(dir, AppendFsync::kEverySec);
  o.rewrite_hook = [db, aof_slot, hook_calls](std::size_t shard) {
    int call = hook_calls->fetch_add(1);
    Aof* log = aof_slot->get();
    // Writes between shard dumps of the first pass, on the rewrite's blocking thread.
    if (call == 2) {
      for (int i = 0; i < 20; ++i) run(*db, log, {"SET", absl::StrCat("pre", i), "x"});
      run(*db, log, {"FLUSHALL"});
      for (int i = 0; i < 20; ++i) run(*db, log, {"SET", absl::StrCat("post", i), "y"});
    }
    if (call % 3 == 0) run(*db, log, {"INCR", absl::StrCat("tick", shard % 4)});
  };
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(o, *db);
  KEEL_ASSERT_OK(aof);
  *aof_slot = *aof;
  for (int i = 0; i < 100; ++i) run(*db, aof->get(), {"SET", absl::StrCat("k", i), "v"});
  KEEL_ASSERT_OK((*aof)->start_rewrite());
  KEEL_ASSERT_OK(co_await (*aof)->wait_rewrite());
  EXPECT_GT(hook_calls->load(), static_cast<int>(db->shard_count()));  // dumped again
  for (int i = 0; i < 10; ++i) run(*db, aof->get(), {"SET", absl::StrCat("late", i), "z"});
  KEEL_ASSERT_OK(co_await (*aof)->close());
  aof_slot->reset();
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(*again, snapshot(*db));
  EXPECT_EQ(again->count("k1"), 0u);
  EXPECT_EQ(again->count("post7"), 1u);
}

// Writers on several tasks (on mt4: several threads) while rewrites run: the rewritten file
// replays to exactly the live db, with nothing lost or doubled. Writer 0 also sends an
// occasional FLUSHALL, whose record must land between the other writers' records before and
// after it (they sit in per-shard buffers) and which restarts a rewrite's dump.
keel::Task<void> writer_task(Db* db, Aof* aof, int id, int ops) {
  std::mt19937 rng(static_cast<unsigned>(id) * 7919u + 1u);
  for (int i = 0; i < ops; ++i) {
    std::string key = absl::StrCat("key", rng() % 64);
    if (id == 0 && i % 500 == 250) {
      run(*db, aof, {"FLUSHALL"});
      continue;
    }
    switch (rng() % 8) {
      case 0:
        run(*db, aof, {"SET", key, absl::StrCat(id, ":", i)});
        break;
      case 1:
        run(*db, aof, {"DEL", key});
        break;
      case 2:
        run(*db, aof, {"RPUSH", "l" + key, absl::StrCat(i), "x"});
        break;
      case 3:
        run(*db, aof, {"HSET", "h" + key, absl::StrCat("f", rng() % 8), absl::StrCat(i)});
        break;
      case 4:
        run(*db, aof, {"INCR", "n" + key});
        break;
      case 5:
        run(*db, aof, {"MSET", key, "m", absl::StrCat("key", rng() % 64), "m2"});
        break;
      case 6:
        run(*db, aof, {"PEXPIREAT", "n" + key, std::to_string(kNow + 1000 + i)});
        break;
      default:
        run(*db, aof, {"LPOP", "l" + key});
        break;
    }
    if (i % 16 == 0) co_await keel::yield_now();
  }
}

keel::Task<void> rewriter_task(std::shared_ptr<Aof> aof, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    absl::Status s = aof->start_rewrite();
    EXPECT_TRUE(s.ok() || absl::IsFailedPrecondition(s)) << s;
    s = co_await aof->wait_rewrite();
    EXPECT_TRUE(s.ok()) << s;
  }
}

KEEL_TEST(Aof, RewriteWhileWritersRunReplaysToTheLiveDb) {
  for (AppendFsync mode : {AppendFsync::kAlways, AppendFsync::kEverySec}) {
    std::string dir = fresh_dir("concurrent");
    Db db(fixed_clock());
    absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(options(dir, mode), db);
    KEEL_ASSERT_OK(aof);
    constexpr int kWriters = 4;
    constexpr int kOps = 2000;
    std::vector<keel::JoinHandle<void>> tasks;
    for (int w = 0; w < kWriters; ++w)
      tasks.push_back(keel::spawn(writer_task(&db, aof->get(), w, kOps)));
    keel::JoinHandle<void> rewriter = keel::spawn(rewriter_task(*aof, 4));
    for (auto& t : tasks) KEEL_ASSERT_OK(co_await std::move(t));
    KEEL_ASSERT_OK(co_await std::move(rewriter));
    // One more rewrite with the writers quiet, then a few writes after it.
    KEEL_ASSERT_OK((*aof)->start_rewrite());
    KEEL_ASSERT_OK(co_await (*aof)->wait_rewrite());
    keel::Task<void> tail = writer_task(&db, aof->get(), 99, 100);
    co_await std::move(tail);
    EXPECT_EQ((*aof)->stats().rewrites, 5u);  // 4 while the writers ran, 1 after
    KEEL_ASSERT_OK(co_await (*aof)->close());
    absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
    KEEL_ASSERT_OK(again);
    EXPECT_EQ(*again, snapshot(db));
    EXPECT_GT(again->size(), 10u);
  }
}

// A rewrite that fails at the switch (its temporary file vanished, so the rename fails)
// leaves the old file live and complete: the records appended meanwhile are not lost.
KEEL_TEST(Aof, FailedRewriteKeepsTheOldFile) {
  std::string dir = fresh_dir("rwfail");
  auto db = std::make_shared<Db>(fixed_clock());
  auto aof_slot = std::make_shared<std::shared_ptr<Aof>>();
  AofOptions o = options(dir, AppendFsync::kAlways);
  std::string tmp = dir + "/appendonly.aof.rewrite";
  o.rewrite_hook = [db, aof_slot, tmp](std::size_t shard) {
    if (shard == 0) {
      EXPECT_EQ(::unlink(tmp.c_str()), 0);
    }
    run(*db, aof_slot->get(), {"SET", absl::StrCat("during", shard), "x"});
  };
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(o, *db);
  KEEL_ASSERT_OK(aof);
  *aof_slot = *aof;
  for (int i = 0; i < 30; ++i) run(*db, aof->get(), {"SET", absl::StrCat("k", i), "v"});
  KEEL_ASSERT_OK((*aof)->start_rewrite());
  absl::Status r = co_await (*aof)->wait_rewrite();
  EXPECT_TRUE(absl::IsNotFound(r)) << r;
  EXPECT_NE(r.message().find("rename"), std::string::npos) << r;
  EXPECT_FALSE((*aof)->stats().last_bgrewrite_ok);
  EXPECT_EQ((*aof)->stats().rewrites, 0u);
  std::uint64_t seq = 0;
  run(*db, aof->get(), {"SET", "after", "failure"}, &seq);
  KEEL_ASSERT_OK(co_await (*aof)->wait_durable(seq));
  KEEL_ASSERT_OK(co_await (*aof)->close());
  aof_slot->reset();
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(*again, snapshot(*db));
  EXPECT_EQ(again->size(), 30u + db->shard_count() + 1u);
}

KEEL_TEST(Aof, CloseStopsARunningRewrite) {
  std::string dir = fresh_dir("closerw");
  Db db(fixed_clock());
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto entered = std::make_shared<std::atomic<bool>>(false);
  AofOptions o = options(dir, AppendFsync::kEverySec);
  o.rewrite_hook = [release, entered](std::size_t) {
    entered->store(true);
    while (!release->load()) std::this_thread::yield();
  };
  absl::StatusOr<std::shared_ptr<Aof>> aof = co_await Aof::open(o, db);
  KEEL_ASSERT_OK(aof);
  for (int i = 0; i < 50; ++i) run(db, aof->get(), {"SET", absl::StrCat("k", i), "v"});
  KEEL_ASSERT_OK((*aof)->start_rewrite());
  KEEL_ASSERT_TRUE(co_await keel::testing::eventually([&] { return entered->load(); }));
  EXPECT_TRUE((*aof)->stats().rewrite_in_progress);
  std::shared_ptr<Aof> a = *aof;
  keel::Task<absl::Status> c = a->close();
  keel::JoinHandle<absl::Status> closing = keel::spawn(std::move(c));
  co_await yield_times(10);
  release->store(true);
  absl::StatusOr<absl::Status> r = co_await std::move(closing);
  KEEL_ASSERT_OK(r);
  KEEL_ASSERT_OK(*r);
  EXPECT_FALSE(a->stats().rewrite_in_progress);
  bool exists4 = co_await keel::fs::exists(dir + "/appendonly.aof.rewrite");
  EXPECT_FALSE(exists4);
  absl::StatusOr<std::map<std::string, std::string>> again = co_await replay_snapshot(dir);
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(again->size(), 50u);
}

}  // namespace
}  // namespace mini_redis
