// Keyspace commands: EXISTS, DEL, UNLINK, TYPE, KEYS, DBSIZE, FLUSHDB, FLUSHALL; find_command.
#include <algorithm>
#include <string>

#include "apps/mini-redis/commands/test_util.h"
#include "gtest/gtest.h"

namespace mini_redis {
namespace {

using namespace testing;  // NOLINT

TEST(FindCommand, AnyCaseAndUnknown) {
  ASSERT_NE(find_command("get"), nullptr);
  EXPECT_EQ(find_command("GeT"), find_command("get"));
  EXPECT_EQ(find_command("GET")->name, "get");
  EXPECT_EQ(find_command("PEXPIREAT")->name, "pexpireat");
  EXPECT_EQ(find_command("nosuchcommand"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
  EXPECT_EQ(find_command(std::string(100, 'g')), nullptr);
  EXPECT_EQ(find_command("ping"), nullptr);  // a connection command: the server's
  for (const CommandSpec& c : all_commands()) {
    EXPECT_EQ(find_command(c.name), &c);
    EXPECT_NE(c.arity, 0);
    EXPECT_TRUE(c.flags & (kCmdWrite | kCmdReadonly)) << c.name;
  }
  EXPECT_EQ(find_command("set")->arity, -3);
  EXPECT_TRUE(find_command("set")->flags & kCmdWrite);
  EXPECT_EQ(find_command("mset")->key_step, 2);
}

TEST(Keys, ExistsCountsDuplicates) {
  Harness h;
  EXPECT_EQ(h.run({"SET", "a", "1"}), kOk);
  EXPECT_EQ(h.run({"EXISTS", "a", "a", "b"}), integer(2));
  EXPECT_EQ(h.run({"EXISTS"}), err("ERR wrong number of arguments for 'exists' command"));
}

TEST(Keys, DelAndUnlink) {
  Harness h;
  EXPECT_EQ(h.run({"MSET", "a", "1", "b", "2", "c", "3"}), kOk);
  h.log.clear();
  EXPECT_EQ(h.run({"DEL", "a", "a", "nope"}), integer(1));
  EXPECT_EQ(h.log.texts(), std::vector<std::string>{"DEL a"});
  EXPECT_EQ(h.run({"UNLINK", "b", "c"}), integer(2));
  EXPECT_EQ(h.run({"DBSIZE"}), integer(0));
  EXPECT_EQ(h.run({"DEL"}), err("ERR wrong number of arguments for 'del' command"));
  h.log.clear();
  EXPECT_EQ(h.run({"DEL", "nope"}), integer(0));
  EXPECT_EQ(h.log.size(), 0u);  // nothing changed, nothing logged
}

TEST(Keys, DelLogsOneRecordPerShardWithOnlyItsKeys) {
  Harness h(16);
  std::vector<std::string> keys;
  std::vector<std::string_view> args = {"DEL"};
  for (int i = 0; i < 30; ++i) keys.push_back("k" + std::to_string(i));
  for (const std::string& k : keys) {
    const std::string_view set[3] = {"SET", k, "v"};
    run_command(h.db, nullptr, set);
    args.push_back(k);
  }
  args.push_back("missing");
  EXPECT_EQ(run_command(h.db, &h.log, args), integer(30));
  std::size_t logged = 0;
  int prev = -1;
  for (const RecordingLog::Record& r : h.log.records()) {
    ASSERT_EQ(r.args[0], "DEL");
    EXPECT_GT(r.shard, prev);
    prev = r.shard;
    for (std::size_t i = 1; i < r.args.size(); ++i) {
      EXPECT_EQ(static_cast<int>(h.db.shard_of(r.args[i])), r.shard);
      EXPECT_NE(r.args[i], "missing");
      ++logged;
    }
  }
  EXPECT_EQ(logged, 30u);
}

TEST(Keys, Type) {
  Harness h;
  h.run({"SET", "s", "v"});
  h.run({"RPUSH", "l", "v"});
  h.run({"HSET", "h", "f", "v"});
  EXPECT_EQ(h.run({"TYPE", "s"}), "+string\r\n");
  EXPECT_EQ(h.run({"TYPE", "l"}), "+list\r\n");
  EXPECT_EQ(h.run({"TYPE", "h"}), "+hash\r\n");
  EXPECT_EQ(h.run({"TYPE", "x"}), "+none\r\n");
}

std::vector<std::string> keys_reply(Harness& h, std::string_view pattern) {
  const std::string out = h.run({"KEYS", pattern});
  // Parse "*n\r\n$len\r\nkey\r\n..." (keys in tests hold no CRLF).
  std::vector<std::string> keys;
  std::size_t pos = out.find("\r\n") + 2;
  while (pos < out.size()) {
    const std::size_t len_end = out.find("\r\n", pos);
    const std::size_t len = std::stoul(out.substr(pos + 1, len_end - pos - 1));
    keys.push_back(out.substr(len_end + 2, len));
    pos = len_end + 2 + len + 2;
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(Keys, KeysGlob) {
  Harness h;
  h.run({"MSET", "hello", "1", "hallo", "1", "hxllo", "1", "hllo", "1", "heeeello", "1",
         "a*b", "1", "a?b", "1"});
  using V = std::vector<std::string>;
  EXPECT_EQ(keys_reply(h, "h?llo"), (V{"hallo", "hello", "hxllo"}));
  EXPECT_EQ(keys_reply(h, "h*llo"), (V{"hallo", "heeeello", "hello", "hllo", "hxllo"}));
  EXPECT_EQ(keys_reply(h, "h[ae]llo"), (V{"hallo", "hello"}));
  EXPECT_EQ(keys_reply(h, "h[^e]llo"), (V{"hallo", "hxllo"}));
  EXPECT_EQ(keys_reply(h, "h[a-b]llo"), (V{"hallo"}));
  EXPECT_EQ(keys_reply(h, "a\\*b"), (V{"a*b"}));
  EXPECT_EQ(keys_reply(h, "a\\?b"), (V{"a?b"}));
  EXPECT_EQ(keys_reply(h, "*").size(), 7u);
  EXPECT_EQ(keys_reply(h, "nomatch*"), V{});
  EXPECT_EQ(h.run({"KEYS", "nomatch"}), "*0\r\n");
  // The empty key: "*" lists it (Redis special-cases "*"), "**" does not.
  Harness e;
  e.run({"SET", "", "v"});
  EXPECT_EQ(e.run({"KEYS", "*"}), "*1\r\n$0\r\n\r\n");
  EXPECT_EQ(e.run({"KEYS", "**"}), "*0\r\n");
  // Expired keys are not listed.
  h.run({"SET", "gone", "v", "PX", "10"});
  h.advance(10);
  EXPECT_EQ(keys_reply(h, "gone"), V{});
}

TEST(Keys, FlushdbFlushall) {
  Harness h;
  h.run({"MSET", "a", "1", "b", "2"});
  h.run({"SET", "t", "1", "EX", "100"});
  h.log.clear();
  EXPECT_EQ(h.run({"DBSIZE"}), integer(3));
  EXPECT_EQ(h.run({"FLUSHDB", "foo"}), err("ERR syntax error"));
  EXPECT_EQ(h.run({"FLUSHDB", "ASYNC", "ASYNC"}), err("ERR syntax error"));
  EXPECT_EQ(h.run({"FLUSHDB", "async"}), kOk);
  EXPECT_EQ(h.run({"DBSIZE"}), integer(0));
  EXPECT_EQ(h.db.expires_size(), 0u);
  h.run({"SET", "a", "1"});
  EXPECT_EQ(h.run({"FLUSHALL", "SYNC"}), kOk);
  EXPECT_EQ(h.run({"FLUSHALL"}), kOk);
  EXPECT_EQ(h.run({"DBSIZE"}), integer(0));
  const auto records = h.log.records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].text(), "FLUSHDB");
  EXPECT_EQ(records[0].shard, WriteLog::kAllShards);
  EXPECT_EQ(records[2].text(), "FLUSHALL");
  EXPECT_EQ(records[2].shard, WriteLog::kAllShards);
}

TEST(Keys, SequenceNumbersReachTheContext) {
  Harness h;
  std::uint64_t seq = 0;
  const std::string_view set[3] = {"SET", "a", "1"};
  run_command(h.db, &h.log, set, &seq);
  EXPECT_EQ(seq, 1u);
  run_command(h.db, &h.log, set, &seq);
  EXPECT_EQ(seq, 2u);
  const std::string_view get[2] = {"GET", "a"};
  run_command(h.db, &h.log, get, &seq);
  EXPECT_EQ(seq, 0u);  // reads log nothing
}

}  // namespace
}  // namespace mini_redis
