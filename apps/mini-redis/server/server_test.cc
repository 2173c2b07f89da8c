// In-process tests of the server: a real run_server on an ephemeral port, driven over TCP.

#include "apps/mini-redis/server/server.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/server/test_client.h"
#include "runtime/keel.h"
#include "runtime/sync/mpsc.h"
#include "runtime/test/keel_test.h"

namespace mini_redis {
namespace {

using testing::TestClient;

struct Running {
  keel::sync::CancellationToken stop;
  keel::JoinHandle<absl::Status> handle;
  std::string addr;
};

ServerConfig test_config() {
  ServerConfig c;
  c.port = kEphemeralPort;
  c.threads = 1;
  return c;
}

keel::Task<absl::StatusOr<Running>> start(ServerConfig config) {
  auto ch = keel::sync::mpsc::unbounded_channel<std::string>();
  keel::sync::mpsc::UnboundedSender<std::string> tx = std::move(ch.first);
  OnListening on = [tx](const std::string& a) mutable { (void)tx.send(a); };
  tx = {};
  keel::sync::CancellationToken stop;
  keel::JoinHandle<absl::Status> h = keel::spawn(run_server(std::move(config), stop, std::move(on)));
  std::optional<std::string> addr = co_await ch.second.recv();
  if (!addr.has_value()) {
    absl::StatusOr<absl::Status> r = co_await h;
    co_return r.ok() ? *r : r.status();
  }
  co_return Running{stop, std::move(h), *addr};
}

keel::Task<absl::Status> stop(Running& r) {
  r.stop.cancel();
  absl::StatusOr<absl::Status> s = co_await r.handle;
  co_return s.ok() ? *s : s.status();
}

keel::Task<absl::StatusOr<TestClient>> client(const Running& r) {
  co_return co_await TestClient::connect(r.addr);
}

#define START(var, config)                                  \
  absl::StatusOr<Running> var##_or = co_await start(config); \
  KEEL_ASSERT_OK(var##_or.status());                        \
  Running& var = *var##_or

#define CONNECT(var, server)                                       \
  absl::StatusOr<TestClient> var##_or = co_await client(server);   \
  KEEL_ASSERT_OK(var##_or.status());                               \
  TestClient& var = *var##_or

KEEL_TEST(Server, ConnectionCommands) {
  START(srv, test_config());
  CONNECT(c, srv);
  EXPECT_EQ(co_await c.call("PING"), "+PONG\r\n");
  EXPECT_EQ(co_await c.call("ping hello"), "$5\r\nhello\r\n");
  EXPECT_EQ(co_await c.call("PING a b"), "-ERR wrong number of arguments for 'ping' command\r\n");
  EXPECT_EQ(co_await c.call("ECHO hi"), "$2\r\nhi\r\n");
  EXPECT_EQ(co_await c.call("ECHO"), "-ERR wrong number of arguments for 'echo' command\r\n");
  EXPECT_EQ(co_await c.call("SELECT 0"), "+OK\r\n");
  EXPECT_EQ(co_await c.call("SELECT 1"), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(co_await c.call("SELECT x"), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(co_await c.call("AUTH pw"),
            "-ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(co_await c.call("COMMAND DOCS"), "*0\r\n");
  std::string count = co_await c.call("COMMAND COUNT");
  EXPECT_EQ(count[0], ':');
  EXPECT_GT(std::atoi(count.c_str() + 1), 40);
  std::string info = co_await c.call("COMMAND INFO get nosuch");
  EXPECT_EQ(info.substr(0, 22), "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n");
  EXPECT_TRUE(info.ends_with("*-1\r\n"));
  std::string all = co_await c.call("COMMAND");
  EXPECT_EQ(all.substr(0, 1), "*");
  EXPECT_EQ(co_await c.call("CONFIG GET save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(co_await c.call("CONFIG GET appendonly"), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  EXPECT_EQ(co_await c.call("CONFIG GET maxclients"),
            "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
  EXPECT_EQ(co_await c.call("CONFIG GET nothing*"), "*0\r\n");
  EXPECT_EQ(co_await c.call("CONFIG SET maxclients 5"),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'maxclients'\r\n");
  EXPECT_EQ(co_await c.call("CONFIG RESETSTAT"), "+OK\r\n");
  EXPECT_EQ(co_await c.call("CLIENT GETNAME"), "$-1\r\n");
  EXPECT_EQ(co_await c.call("CLIENT SETNAME me"), "+OK\r\n");
  EXPECT_EQ(co_await c.call("CLIENT GETNAME"), "$2\r\nme\r\n");
  EXPECT_EQ((co_await c.call("CLIENT ID")).substr(0, 1), ":");
  EXPECT_EQ(co_await c.call("HELLO 3"), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ((co_await c.call("HELLO 2")).substr(0, 22), "*14\r\n$6\r\nserver\r\n$5\r\nr");
  EXPECT_EQ(co_await c.call("NOSUCH a b"),
            "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
  EXPECT_EQ(co_await c.call("BGREWRITEAOF"),
            "-ERR Background append only file rewriting is not possible: appendonly is off\r\n");
  EXPECT_EQ(co_await c.call("SET k v"), "+OK\r\n");
  std::string text = co_await c.call("INFO");
  EXPECT_NE(text.find("redis_version:"), std::string::npos);
  EXPECT_NE(text.find("# Runtime\r\nruntime_flavor:"), std::string::npos);
  EXPECT_NE(text.find("db0:keys=1,expires=0"), std::string::npos);
  EXPECT_NE(text.find("connected_clients:1\r\n"), std::string::npos);
  EXPECT_NE(text.find("# Memory\r\nused_memory:"), std::string::npos);
  EXPECT_NE(text.find("\r\nused_memory_rss:"), std::string::npos);
  std::string keyspace = co_await c.call("INFO keyspace");
  EXPECT_EQ(keyspace.find("# Server"), std::string::npos);
  EXPECT_NE(keyspace.find("# Keyspace"), std::string::npos);
  EXPECT_EQ(co_await c.call("RESET"), "+RESET\r\n");
  EXPECT_EQ(co_await c.call("CLIENT GETNAME"), "$-1\r\n");
  EXPECT_EQ(co_await c.call("QUIT"), "+OK\r\n");
  EXPECT_TRUE(co_await c.closed_by_peer());
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, PipelinedRepliesInOrder) {
  START(srv, test_config());
  CONNECT(c, srv);
  std::string batch;
  std::string want;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&batch, testing::encode_command(absl::StrCat("SET k", i, " v", i)));
    absl::StrAppend(&batch, testing::encode_command(absl::StrCat("GET k", i)));
    absl::StrAppend(&batch, "PING\r\n");  // inline, as PING_INLINE sends
    absl::StrAppend(&batch, testing::encode_command("INCR n"));
    std::string v = absl::StrCat("v", i);
    absl::StrAppend(&want, "+OK\r\n$", v.size(), "\r\n", v, "\r\n+PONG\r\n:", i + 1, "\r\n");
  }
  KEEL_ASSERT_OK(co_await c.send(batch));
  std::string got;
  while (got.size() < want.size()) {
    std::string r = co_await c.reply();
    KEEL_ASSERT_TRUE(r[0] != '!');
    got += r;
  }
  EXPECT_EQ(got, want);
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, BigValueAcrossReads) {
  START(srv, test_config());
  CONNECT(c, srv);
  std::string big(3 * 1024 * 1024 + 7, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  std::string req = absl::StrCat("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$", big.size(), "\r\n", big, "\r\n");
  KEEL_ASSERT_OK(co_await c.send(req));
  EXPECT_EQ(co_await c.reply(), "+OK\r\n");
  EXPECT_EQ(co_await c.call("GET big"), absl::StrCat("$", big.size(), "\r\n", big, "\r\n"));
  EXPECT_EQ(co_await c.call("PING"), "+PONG\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, ProtocolErrorClosesOnlyThatClient) {
  START(srv, test_config());
  CONNECT(good, srv);
  CONNECT(bad, srv);
  CONNECT(huge, srv);
  EXPECT_EQ(co_await good.call("SET a 1"), "+OK\r\n");
  KEEL_ASSERT_OK(co_await bad.send("*1\r\n$4\r\nPING\r\n*x\r\n"));
  EXPECT_EQ(co_await bad.reply(), "+PONG\r\n");
  EXPECT_EQ(co_await bad.reply(), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(co_await bad.reply(), "!closed");
  KEEL_ASSERT_OK(co_await huge.send("*2\r\n$3\r\nGET\r\n$600000000\r\n"));
  EXPECT_EQ(co_await huge.reply(), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(co_await huge.closed_by_peer());
  EXPECT_EQ(co_await good.call("GET a"), "$1\r\n1\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, MaxClients) {
  ServerConfig config = test_config();
  config.maxclients = 2;
  START(srv, config);
  CONNECT(a, srv);
  CONNECT(b, srv);
  EXPECT_EQ(co_await a.call("PING"), "+PONG\r\n");
  EXPECT_EQ(co_await b.call("PING"), "+PONG\r\n");
  {
    CONNECT(c, srv);
    EXPECT_EQ(co_await c.reply(), "-ERR max number of clients reached\r\n");
    EXPECT_TRUE(co_await c.closed_by_peer());
  }
  EXPECT_EQ(co_await a.call("QUIT"), "+OK\r\n");
  EXPECT_TRUE(co_await a.closed_by_peer());
  // The slot comes back once the server has seen `a` go: retry until it has.
  bool served = false;
  for (int attempt = 0; attempt < 10000 && !served; ++attempt) {
    CONNECT(d, srv);
    std::string r = co_await d.call("PING");
    served = r == "+PONG\r\n";
    if (!served) co_await keel::yield_now();
  }
  EXPECT_TRUE(served);
  std::string stats = co_await b.call("INFO stats");
  EXPECT_EQ(stats.find("rejected_connections:0\r\n"), std::string::npos);
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, RequirePass) {
  ServerConfig config = test_config();
  config.requirepass = "s3cret";
  START(srv, config);
  CONNECT(c, srv);
  EXPECT_EQ(co_await c.call("GET k"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(co_await c.call("PING"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(co_await c.call("AUTH wrong"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(co_await c.call("AUTH s3cre"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(co_await c.call("AUTH other s3cret"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(co_await c.call("HELLO 2"),
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time\r\n");
  EXPECT_EQ(co_await c.call("AUTH s3cret"), "+OK\r\n");
  EXPECT_EQ(co_await c.call("GET k"), "$-1\r\n");
  CONNECT(d, srv);
  EXPECT_EQ(co_await d.call("AUTH default s3cret"), "+OK\r\n");
  EXPECT_EQ(co_await d.call("PING"), "+PONG\r\n");
  EXPECT_EQ(co_await d.call("RESET"), "+RESET\r\n");
  EXPECT_EQ(co_await d.call("PING"), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(co_await d.call("QUIT"), "+OK\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
}

KEEL_TEST(Server, SubscriberMode) {
  START(srv, test_config());
  CONNECT(sub, srv);
  CONNECT(pub, srv);
  EXPECT_EQ(co_await sub.call("SUBSCRIBE a b"),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(co_await sub.reply(), "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
  EXPECT_EQ(co_await sub.call("GET k"),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(co_await sub.call("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(co_await sub.call("PSUBSCRIBE n*"), "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
  EXPECT_EQ(co_await pub.call("PUBLISH a hello"), ":1\r\n");
  EXPECT_EQ(co_await sub.reply(), "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n");
  EXPECT_EQ(co_await pub.call("PUBLISH news x"), ":1\r\n");
  EXPECT_EQ(co_await sub.reply(),
            "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nx\r\n");
  EXPECT_EQ(co_await pub.call("PUBLISH nobody x"), ":1\r\n");  // n* matches
  EXPECT_EQ((co_await sub.reply()).substr(0, 16), "*4\r\n$8\r\npmessage");
  EXPECT_EQ(co_await sub.call("PUNSUBSCRIBE"), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:2\r\n");
  EXPECT_EQ(co_await sub.call("UNSUBSCRIBE a"), "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(co_await sub.call("UNSUBSCRIBE"), "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n");
  EXPECT_EQ(co_await sub.call("UNSUBSCRIBE"), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  // Out of subscriber mode: everything works again.
  EXPECT_EQ(co_await sub.call("PING"), "+PONG\r\n");
  EXPECT_EQ(co_await sub.call("GET k"), "$-1\r\n");
  EXPECT_EQ(co_await pub.call("PUBLISH a gone"), ":0\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
}

// A subscriber that never reads is disconnected at the output limit while a publisher and
// another client carry on.
KEEL_TEST(Server, SlowSubscriberIsDisconnected) {
  ServerConfig config = test_config();
  config.pubsub_output_limit = 64 * 1024;
  START(srv, config);
  absl::StatusOr<TestClient> sub_or = co_await TestClient::connect_small(srv.addr, 4096);
  KEEL_ASSERT_OK(sub_or.status());
  TestClient& sub = *sub_or;
  CONNECT(pub, srv);
  CONNECT(other, srv);
  EXPECT_EQ(co_await sub.call("SUBSCRIBE c"), "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
  std::string msg(16 * 1024, 'm');
  std::string publish = testing::encode_command(absl::StrCat("PUBLISH c ", msg));
  bool dropped = false;
  for (int i = 0; i < 20000 && !dropped; ++i) {
    KEEL_ASSERT_OK(co_await pub.send(publish));
    std::string r = co_await pub.reply();
    KEEL_ASSERT_TRUE(r == ":1\r\n" || r == ":0\r\n");
    dropped = r == ":0\r\n";
    if (i % 64 == 0) {
      EXPECT_EQ(co_await other.call("INCR n"), absl::StrCat(":", i / 64 + 1, "\r\n"));
    }
  }
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(co_await sub.closed_by_peer());
  EXPECT_EQ(co_await other.call("PING"), "+PONG\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
}

// 1,000 idle connections with --timeout 1 are closed (paused clock) while another client works.
KEEL_TEST(Server, IdleTimeout) {
  keel::time::pause();
  ServerConfig config = test_config();
  config.timeout = std::chrono::seconds(1);
  START(srv, config);
  std::vector<TestClient> idle;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<TestClient> c = co_await client(srv);
    KEEL_ASSERT_OK(c.status());
    idle.push_back(std::move(*c));
  }
  CONNECT(worker, srv);
  for (TestClient& c : idle) EXPECT_EQ(co_await c.call("PING"), "+PONG\r\n");
  co_await keel::time::advance(std::chrono::milliseconds(600));
  EXPECT_EQ(co_await worker.call("SET k v"), "+OK\r\n");  // the worker's idle time restarts
  // The idle ones' deadlines pass as the clock auto-advances while this waits.
  for (TestClient& c : idle) EXPECT_TRUE(co_await c.closed_by_peer());
  EXPECT_EQ(co_await worker.call("GET k"), "$1\r\nv\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
  keel::time::resume();
}

KEEL_TEST(Server, ShutdownClosesClientsAndReturnsOk) {
  START(srv, test_config());
  CONNECT(a, srv);
  CONNECT(b, srv);
  EXPECT_EQ(co_await a.call("SET k v"), "+OK\r\n");
  EXPECT_EQ(co_await b.call("SUBSCRIBE c"), "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
  EXPECT_TRUE(co_await a.closed_by_peer());
  EXPECT_TRUE(co_await b.closed_by_peer());
  absl::StatusOr<TestClient> late = co_await client(srv);
  EXPECT_FALSE(late.ok());  // the listener is closed
}

KEEL_TEST(Server, ShutdownCommand) {
  START(srv, test_config());
  CONNECT(a, srv);
  CONNECT(b, srv);
  EXPECT_EQ(co_await b.call("PING"), "+PONG\r\n");
  EXPECT_EQ(co_await a.call("SHUTDOWN NOSAVE"), "!closed");
  absl::StatusOr<absl::Status> done = co_await srv.handle;
  KEEL_ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->ok()) << *done;
  EXPECT_TRUE(co_await b.closed_by_peer());
}

KEEL_TEST(Server, BindErrorIsReported) {
  START(first, test_config());
  ServerConfig config = test_config();
  config.port = std::atoi(first.addr.substr(first.addr.rfind(':') + 1).c_str());
  absl::StatusOr<Running> second = co_await start(config);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("Address already in use"),
            std::string::npos)
      << second.status();
  KEEL_ASSERT_OK(co_await stop(first));
}

KEEL_TEST(Server, UnixSocket) {
  // TEST_TMPDIR is too long for sun_path: /tmp, made unique by the pid.
  std::string path = absl::StrCat("/tmp/mini_redis_", ::getpid(), "_",
                                  keel::testing::flavor().name, ".sock");
  ServerConfig config = test_config();
  config.port = 0;
  config.unixsocket = path;
  START(srv, config);
  EXPECT_EQ(srv.addr, absl::StrCat("unix:", path));
  absl::StatusOr<keel::net::UnixStream> c = co_await keel::net::UnixStream::connect(path);
  KEEL_ASSERT_OK(c.status());
  std::string req = "PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
  std::size_t done = 0;
  while (done < req.size()) {
    absl::StatusOr<std::size_t> n =
        co_await c->write(std::span<const char>(req.data() + done, req.size() - done));
    KEEL_ASSERT_OK(n.status());
    done += *n;
  }
  std::string got;
  char buf[64];
  while (got.size() < 12) {
    absl::StatusOr<std::size_t> n = co_await c->read(std::span<char>(buf, sizeof(buf)));
    KEEL_ASSERT_TRUE(n.ok() && *n > 0);
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "+PONG\r\n+OK\r\n");
  KEEL_ASSERT_OK(co_await stop(srv));
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // the socket file is removed
}

KEEL_TEST(Server, AppendOnlySurvivesRestart) {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp",
                                 "/aof_", keel::testing::flavor().name);
  ServerConfig config = test_config();
  config.appendonly = true;
  config.appendfsync = FsyncPolicy::kAlways;
  config.dir = dir;
  std::filesystem::remove_all(dir);
  {
    START(srv, config);
    CONNECT(c, srv);
    EXPECT_EQ(co_await c.call("SET k v1"), "+OK\r\n");
    EXPECT_EQ(co_await c.call("RPUSH l a b"), ":2\r\n");
    EXPECT_EQ(co_await c.call("CONFIG GET appendonly"),
              "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n");
    EXPECT_NE((co_await c.call("INFO persistence")).find("aof_enabled:1"), std::string::npos);
    KEEL_ASSERT_OK(co_await stop(srv));
  }
  {
    START(srv, config);
    CONNECT(c, srv);
    EXPECT_EQ(co_await c.call("GET k"), "$2\r\nv1\r\n");
    EXPECT_EQ(co_await c.call("LLEN l"), ":2\r\n");
    KEEL_ASSERT_OK(co_await stop(srv));
  }
}

}  // namespace
}  // namespace mini_redis
