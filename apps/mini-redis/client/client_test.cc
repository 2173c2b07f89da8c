// Client and Subscriber against a scripted responder (test_responder.h): every typed call and
// its reply shapes, server errors, broken connections, Unix sockets, pub/sub, and calls
// cancelled mid-wait (by keel::timeout and by losing a keel::select).

#include "apps/mini-redis/client/client.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "apps/mini-redis/client/test_responder.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace mini_redis {
namespace {

using keel::Task;
using testing::Responder;
using testing::Step;

using Args = std::vector<std::string>;

// Long enough that the cancelled call is surely parked on its read or write (the outcome does
// not depend on it: the responder holds its answer until released).
constexpr auto kCancelAfter = std::chrono::milliseconds(20);
// A bound on retrying a cancellation that came before the call sent anything (see the tests).
constexpr int kMaxAttempts = 100;

Task<void> wait_received(std::shared_ptr<Responder> r, std::size_t n) {
  keel::Task<void> t = r->wait_received(n);
  co_await std::move(t);
}

std::vector<Step> script1() {
  return {
      {.expect = {"PING"}, .reply = "+PONG\r\n"},
      {.expect = {"PING", "hi"}, .reply = "$2\r\nhi\r\n"},
      {.expect = {"SET", "k", "v"}, .reply = "+OK\r\n"},
      {.expect = {"GET", "k"}, .reply = "$1\r\nv\r\n"},
      {.expect = {"GET", "nope"}, .reply = "$-1\r\n"},
      {.expect = {"SET", "t", std::string("a\r\n\0b", 5), "PX", "1500"}, .reply = "+OK\r\n"},
      {.expect = {"DEL", "a", "b"}, .reply = ":2\r\n"},
      {.expect = {"DEL", "c"}, .reply = ":0\r\n"},
      {.expect = {"PUBLISH", "ch", "m"}, .reply = ":3\r\n"},
      {.expect = {"LRANGE", "l", "0", "-1"}, .reply = "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
  };
}

std::vector<Step> script2() {
  return {
      {.expect = {"GET", "l"},
       .reply = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {.expect = {"NOPE"}, .reply = "-ERR unknown command 'NOPE', with args beginning with: \r\n"},
      {.expect = {"GET", "k"}, .reply = "$1\r\nv\r\n"},
  };
}

std::vector<Step> script3() {
  return {
      {.expect = {"GET", "k"}, .reply = ":1\r\n"},
      {.expect = {"SET", "k", "v"}, .reply = "+QUEUED\r\n"},
  };
}

std::vector<Step> script4() {
  return {{.expect = {"GET", "k"}, .reply = "?what\r\n"}};
}

std::vector<Step> script5() {
  return {{.expect = {"GET", "k"}, .close = true}};
}

std::vector<Step> script6() {
  return {{.expect = {"GET", "k"}, .reply = "$10\r\nabc"},
                                 {.push = true, .close = true}};
}

std::vector<Step> script7() {
  return {{.expect = {"PING"}, .reply = "+PONG\r\n"}};
}

std::vector<Step> script8() {
  return {
      {.expect = {"GET", "slow"}, .hold = true, .later = "$3\r\nold\r\n"},
      {.expect = {"GET", "k"}, .reply = "$3\r\nnew\r\n"},
  };
}

std::vector<Step> script9() {
  return {
      {.expect = {"GET", "slow"}, .reply = "$10\r\n01234", .hold = true, .later = "56789\r\n"},
      {.expect = {"DEL", "x"}, .reply = ":1\r\n"},
      {.expect = {"GET", "k"}, .reply = "$2\r\nok\r\n"},
  };
}

std::vector<Step> script10() {
  return {{.expect = {"SET", "big", std::string(2 << 20, 'x')},
                                         .reply = "+OK\r\n",
                                         .hold_reads = true}};
}

std::vector<Step> script11() {
  return {
      {.expect = {"SUBSCRIBE", "a", "b"},
       // A message may arrive between the confirmations: it is kept for next_message().
       .reply = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nfirst\r\n"
                "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"},
      {.reply = "*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$6\r\nsecond\r\n"
                "*4\r\n$8\r\npmessage\r\n$2\r\nb*\r\n$1\r\nb\r\n$5\r\nthird\r\n", .push = true},
      {.expect = {"SUBSCRIBE", "c"}, .reply = "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:3\r\n"},
      {.expect = {"UNSUBSCRIBE", "a"}, .reply = "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n"},
      {.reply = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$4\r\nlast\r\n", .push = true, .close = false},
      {.expect = {"UNSUBSCRIBE"},
       .reply = "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
                "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n"},
      {.push = true, .close = true},
  };
}

std::vector<Step> script12() {
  return {
      {.expect = {"SUBSCRIBE", "a"},
       .reply = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$7\r\nmes",
       .hold = true,
       .later = "sage\r\n$1\r\na\r\n$2\r\nhi\r\n"},
  };
}

std::vector<Step> script13() {
  return {
      {.expect = {"SUBSCRIBE", "a"}, .reply = "-NOAUTH Authentication required.\r\n"},
  };
}

// A fresh Unix socket path: short, since sun_path holds 107 bytes and Bazel's TEST_TMPDIR is
// longer than that.
std::string socket_path() {
  static std::atomic<int> next{0};
  return "/tmp/mini-redis-client-" + std::to_string(::getpid()) + "-" +
         std::to_string(next.fetch_add(1)) + ".sock";
}

Args lrange_args() { return {"LRANGE", "l", "0", "-1"}; }
Args channels_ab() { return {"a", "b"}; }

KEEL_TEST(Client, ConnectRefusedIsNamed) {
  absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind("127.0.0.1:0");
  KEEL_ASSERT_OK(l);
  std::string addr = l->local_addr()->to_string();
  { keel::net::TcpListener drop = std::move(*l); }
  absl::StatusOr<Client> c = co_await Client::connect(addr);
  KEEL_ASSERT_TRUE(!c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "connect " + addr)) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "Connection refused")) << c.status();
}

KEEL_TEST(Client, TypedCalls) {
  auto r = Responder::start_tcp(script1());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->peer(), (*r)->address());
  absl::StatusOr<std::string> pong = co_await c->ping();
  KEEL_ASSERT_OK(pong);
  EXPECT_EQ(*pong, "PONG");
  pong = co_await c->ping("hi");
  KEEL_ASSERT_OK(pong);
  EXPECT_EQ(*pong, "hi");
  KEEL_ASSERT_OK(co_await c->set("k", "v"));
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, std::optional<std::string>("v"));
  v = co_await c->get("nope");
  KEEL_ASSERT_OK(v);
  EXPECT_FALSE(v->has_value());
  KEEL_ASSERT_OK(co_await c->set_expires("t", std::string("a\r\n\0b", 5),
                                         std::chrono::milliseconds(1500)));
  absl::StatusOr<std::int64_t> n = co_await c->del(std::string("a"), std::string("b"));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 2);
  n = co_await c->del(Args(1, "c"));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  n = co_await c->publish("ch", "m");
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 3);
  absl::StatusOr<Frame> f = co_await c->command(lrange_args());
  KEEL_ASSERT_OK(f);
  EXPECT_EQ(*f, Frame::command(channels_ab()));
  EXPECT_TRUE(c->usable());
}

KEEL_TEST(Client, ServerErrorIsAStatusAndTheConnectionGoesOn) {
  auto r = Responder::start_tcp(script2());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("l");
  KEEL_ASSERT_TRUE(!v.ok());
  EXPECT_TRUE(is_server_error(v.status()));
  EXPECT_EQ(v.status().message(),
            "WRONGTYPE Operation against a key holding the wrong kind of value");
  absl::StatusOr<Frame> f = co_await c->command(Args(1, "NOPE"));
  KEEL_ASSERT_TRUE(!f.ok());
  EXPECT_TRUE(is_server_error(f.status()));
  EXPECT_TRUE(absl::StartsWith(f.status().message(), "ERR unknown command"));
  v = co_await c->get("k");
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, std::optional<std::string>("v"));
}

KEEL_TEST(Client, UnexpectedReplyShapeIsAnError) {
  auto r = Responder::start_tcp(script3());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  KEEL_ASSERT_TRUE(!v.ok());
  EXPECT_FALSE(is_server_error(v.status()));
  EXPECT_TRUE(absl::StrContains(v.status().message(), "unexpected reply to GET: integer"))
      << v.status();
  absl::Status st = co_await c->set("k", "v");
  EXPECT_TRUE(absl::StrContains(st.message(), "unexpected reply to SET")) << st;
}

KEEL_TEST(Client, MalformedReplyBreaksTheConnection) {
  auto r = Responder::start_tcp(script4());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  KEEL_ASSERT_TRUE(!v.ok());
  EXPECT_TRUE(absl::StrContains(v.status().message(), "bad reply from " + (*r)->address()))
      << v.status();
  EXPECT_FALSE(c->usable());
  v = co_await c->get("k");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "unusable after an earlier error"));
}

KEEL_TEST(Client, ServerClosingIsUnavailableThenUnusable) {
  auto r = Responder::start_tcp(script5());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "connection closed by")) << v.status();
  absl::Status st = co_await c->set("k", "v");
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
}

KEEL_TEST(Client, ClosedInTheMiddleOfAReply) {
  auto r = Responder::start_tcp(script6());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "in the middle of a reply")) << v.status();
}

KEEL_TEST(Client, UnixSocket) {
  std::string path = socket_path();
  ::unlink(path.c_str());
  auto r = Responder::start_unix(path, script7());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect(path);
  KEEL_ASSERT_OK(c);
  EXPECT_EQ(c->peer(), "unix:" + path);
  absl::StatusOr<std::string> pong = co_await c->ping();
  KEEL_ASSERT_OK(pong);
  EXPECT_EQ(*pong, "PONG");
  absl::StatusOr<Client> c2 = co_await Client::connect("unix:" + path + ".missing");
  EXPECT_FALSE(c2.ok());
  ::unlink(path.c_str());
}

// A get() abandoned by keel::timeout while it waits for its reply leaves no trace: the next
// call drops the late reply and gets its own.
KEEL_TEST(Client, GetCancelledByTimeoutLeavesNoTrace) {
  auto r = Responder::start_tcp(script8());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  // The timer may fire before the call got to send anything (a slow sanitizer build): that
  // too leaves no trace, and the call is simply tried again.
  absl::StatusOr<std::optional<std::string>> v;
  for (int attempt = 0; attempt < kMaxAttempts && c->owed_replies() == 0; ++attempt) {
    co_await keel::yield_now();  // a fresh cooperative budget, so the write is tried
    keel::Task<absl::StatusOr<std::optional<std::string>>> slow = c->get("slow");
    v = co_await keel::timeout(kCancelAfter, std::move(slow));
    EXPECT_TRUE(absl::IsDeadlineExceeded(v.status())) << v.status();
  }
  EXPECT_EQ(c->owed_replies(), 1u);
  EXPECT_TRUE(c->usable());
  (*r)->release();
  v = co_await c->get("k");
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, std::optional<std::string>("new"));
  EXPECT_EQ((*r)->requests(), (std::vector<Args>{{"GET", "slow"}, {"GET", "k"}}));
}

// The same with half of the late reply already received when the call is cancelled, and the
// cancellation coming from losing a select once the responder has the request.
KEEL_TEST(Client, CancelledWithHalfAReplyBuffered) {
  auto r = Responder::start_tcp(script9());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  keel::Task<absl::StatusOr<std::optional<std::string>>> slow = c->get("slow");
  keel::Task<void> received = wait_received(*r, 1);
  auto first = co_await keel::select(std::move(slow), std::move(received));
  EXPECT_EQ(first.index(), 1u);
  // A second cancelled call: its request goes out whole, its reply is owed too.
  EXPECT_EQ(c->owed_replies(), 1u);
  for (int attempt = 0; attempt < kMaxAttempts && c->owed_replies() == 1; ++attempt) {
    co_await keel::yield_now();
    keel::Task<absl::StatusOr<std::int64_t>> del = c->del(std::string("x"));
    absl::StatusOr<std::int64_t> n = co_await keel::timeout(kCancelAfter, std::move(del));
    EXPECT_TRUE(absl::IsDeadlineExceeded(n.status())) << n.status();
  }
  EXPECT_EQ(c->owed_replies(), 2u);
  (*r)->release();
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, std::optional<std::string>("ok"));
  EXPECT_TRUE(c->usable());
}

Task<absl::Status> set_big(Client* c) {
  keel::Task<absl::Status> t = c->set("big", std::string(2 << 20, 'x'));
  co_return co_await std::move(t);
}

// A call cancelled while its request is half written leaves the connection unusable, and says so.
KEEL_TEST(Client, CancelledMidWriteMakesTheClientUnusable) {
  std::string path = socket_path();
  ::unlink(path.c_str());
  // A Unix socket's buffers are far smaller than 2 MiB, and the responder reads nothing until
  // released, so the write must stall part way.
  auto r = Responder::start_unix(path, script10());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect(path);
  KEEL_ASSERT_OK(c);
  // The set runs in its own task, aborted once it is parked on the stalled write. A write
  // parked before its first syscall (the socket's readiness not yet known) wrote nothing, which
  // leaves no trace: then the call is simply tried again.
  for (int attempt = 0; attempt < kMaxAttempts && c->usable(); ++attempt) {
    keel::JoinHandle<absl::Status> set = keel::spawn(set_big(&*c));
    KEEL_ASSERT_TRUE(co_await keel::testing::parked_on(set, "UnixStream::write"));
    set.abort();
    absl::StatusOr<absl::Status> joined = co_await set;
    KEEL_ASSERT_OK(joined);
    EXPECT_TRUE(absl::IsCancelled(*joined)) << *joined;
    co_await keel::yield_now();
  }
  EXPECT_FALSE(c->usable());
  absl::StatusOr<std::optional<std::string>> v = co_await c->get("k");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "half-written")) << v.status();
  (*r)->release();
  ::unlink(path.c_str());
}

KEEL_TEST(Subscriber, SubscribeReceiveUnsubscribe) {
  auto r = Responder::start_tcp(script11());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<Subscriber> sub = co_await std::move(*c).subscribe(channels_ab());
  KEEL_ASSERT_OK(sub);
  EXPECT_EQ(sub->channels(), (Args{"a", "b"}));
  // The Client was consumed.
  absl::StatusOr<std::string> gone = co_await c->ping();
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(gone.status().message(), "moved from")) << gone.status();
  keel::Stream<absl::StatusOr<Message>> msgs = sub->messages();
  std::vector<Message> got;
  for (int i = 0; i < 3; ++i) {
    std::optional<absl::StatusOr<Message>> m = co_await msgs.next();
    KEEL_ASSERT_TRUE(m.has_value());
    KEEL_ASSERT_OK(*m);
    got.push_back(**m);
  }
  EXPECT_EQ(got, (std::vector<Message>{{"a", "first"}, {"b", "second"}, {"b", "third"}}));
  KEEL_ASSERT_OK(co_await sub->subscribe(Args(1, "c")));
  KEEL_ASSERT_OK(co_await sub->unsubscribe(Args(1, "a")));
  EXPECT_EQ(sub->channels(), (Args{"b", "c"}));
  std::optional<absl::StatusOr<Message>> m = co_await msgs.next();
  KEEL_ASSERT_TRUE(m.has_value());
  KEEL_ASSERT_OK(*m);
  EXPECT_EQ(**m, (Message{"c", "last"}));
  KEEL_ASSERT_OK(co_await sub->unsubscribe(Args()));
  EXPECT_TRUE(sub->channels().empty());
  // The server closes: the stream ends.
  m = co_await msgs.next();
  EXPECT_FALSE(m.has_value());
  absl::StatusOr<std::optional<Message>> after = co_await sub->next_message();
  KEEL_ASSERT_OK(after);
  EXPECT_FALSE(after->has_value());
}

// next_message() cancelled mid-wait loses nothing, even with part of a message buffered.
KEEL_TEST(Subscriber, NextMessageCancelledMidWaitLosesNothing) {
  auto r = Responder::start_tcp(script12());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<Subscriber> sub = co_await std::move(*c).subscribe(Args(1, "a"));
  KEEL_ASSERT_OK(sub);
  keel::Task<absl::StatusOr<std::optional<Message>>> next = sub->next_message();
  absl::StatusOr<std::optional<Message>> m = co_await keel::timeout(kCancelAfter, std::move(next));
  EXPECT_TRUE(absl::IsDeadlineExceeded(m.status())) << m.status();
  (*r)->release();
  m = co_await sub->next_message();
  KEEL_ASSERT_OK(m);
  KEEL_ASSERT_TRUE(m->has_value());
  EXPECT_EQ(**m, (Message{"a", "hi"}));
}

KEEL_TEST(Subscriber, ServerErrorOnSubscribe) {
  auto r = Responder::start_tcp(script13());
  KEEL_ASSERT_OK(r);
  absl::StatusOr<Client> c = co_await Client::connect((*r)->address());
  KEEL_ASSERT_OK(c);
  absl::StatusOr<Subscriber> sub = co_await std::move(*c).subscribe(Args(1, "a"));
  KEEL_ASSERT_TRUE(!sub.ok());
  EXPECT_TRUE(is_server_error(sub.status()));
  EXPECT_EQ(sub.status().message(), "NOAUTH Authentication required.");
}

}  // namespace
}  // namespace mini_redis
