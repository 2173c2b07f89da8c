// BlockingClient and BlockingSubscriber from a plain thread, against the scripted responder
// running on a background runtime.

#include "apps/mini-redis/client/blocking_client.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "apps/mini-redis/client/test_responder.h"
#include "gtest/gtest.h"
#include "runtime/keel.h"

namespace mini_redis {
namespace {

using testing::Responder;
using testing::Step;
using Args = std::vector<std::string>;

keel::Task<absl::StatusOr<std::shared_ptr<Responder>>> start(std::vector<Step> steps) {
  co_return Responder::start_tcp(std::move(steps));
}

std::vector<Step> script() {
  return {
      {.expect = {"PING"}, .reply = "+PONG\r\n"},
      {.expect = {"SET", "k", "v"}, .reply = "+OK\r\n"},
      {.expect = {"SET", "e", "v", "PX", "10"}, .reply = "+OK\r\n"},
      {.expect = {"GET", "k"}, .reply = "$1\r\nv\r\n"},
      {.expect = {"GET", "x"}, .reply = "-ERR boom\r\n"},
      {.expect = {"DEL", "k", "x"}, .reply = ":1\r\n"},
      {.expect = {"PUBLISH", "c", "m"}, .reply = ":0\r\n"},
      {.expect = {"ECHO", "e"}, .reply = "$1\r\ne\r\n"},
      {.expect = {"SUBSCRIBE", "a"},
       .reply = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nm1\r\n",
       .hold = true,
       .later = "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nm2\r\n"},
      {.expect = {"UNSUBSCRIBE", "a"}, .reply = "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n"},
  };
}

TEST(BlockingClient, CallsAndSubscriber) {
  absl::StatusOr<keel::Runtime> bg =
      keel::Runtime::new_multi_thread().worker_threads(1).enable_all().build();
  ASSERT_TRUE(bg.ok()) << bg.status();
  absl::StatusOr<std::shared_ptr<Responder>> r = bg->block_on(start(script()));
  ASSERT_TRUE(r.ok()) << r.status();

  absl::StatusOr<BlockingClient> c = BlockingClient::connect((*r)->address());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->ping(), "PONG");
  EXPECT_TRUE(c->set("k", "v").ok());
  EXPECT_TRUE(c->set_expires("e", "v", std::chrono::milliseconds(10)).ok());
  EXPECT_EQ(*c->get("k"), std::optional<std::string>("v"));
  absl::StatusOr<std::optional<std::string>> bad = c->get("x");
  EXPECT_TRUE(is_server_error(bad.status()));
  EXPECT_EQ(bad.status().message(), "ERR boom");
  EXPECT_EQ(*c->del({"k", "x"}), 1);
  EXPECT_EQ(*c->publish("c", "m"), 0);
  EXPECT_EQ(*c->command({"ECHO", "e"}), Frame::bulk("e"));

  absl::StatusOr<BlockingSubscriber> sub = std::move(*c).subscribe({"a"});
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_FALSE(c->usable());
  EXPECT_EQ(c->get("k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sub->channels(), Args{"a"});
  absl::StatusOr<std::optional<Message>> m = sub->next_message();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(**m, (Message{"a", "m1"}));
  // The responder holds m2 until released: a bounded wait gives up, and loses nothing.
  m = sub->next_message_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(absl::IsDeadlineExceeded(m.status())) << m.status();
  (*r)->release();
  m = sub->next_message();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(**m, (Message{"a", "m2"}));
  EXPECT_TRUE(sub->unsubscribe({"a"}).ok());
  EXPECT_TRUE(sub->channels().empty());
}

TEST(BlockingClient, ConnectErrorIsNamed) {
  absl::StatusOr<BlockingClient> c = BlockingClient::connect("/nonexistent/mini-redis.sock");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/mini-redis.sock"))
      << c.status();
}

}  // namespace
}  // namespace mini_redis
