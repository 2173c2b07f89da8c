#include "apps/mini-redis/server/pubsub.h"

#include <optional>
#include <string>

#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace mini_redis {
namespace {

std::string take_all(Mailbox& m) {
  std::string out;
  for (;;) {
    auto r = m.receiver().try_recv();
    if (!r.ok()) break;
    out.append(r.value().view());
    m.written(r.value().size());
  }
  return out;
}

TEST(PubSub, ChannelMessageEncoding) {
  PubSubHub hub(1 << 20);
  Subscriber a(hub);
  EXPECT_EQ(a.subscribe("news"), 1u);
  EXPECT_EQ(a.subscribe("news"), 1u);  // twice: still one subscription
  EXPECT_EQ(a.subscribe("sport"), 2u);
  EXPECT_EQ(hub.channel_count(), 2u);
  EXPECT_EQ(hub.publish("news", "hello"), 1u);
  EXPECT_EQ(hub.publish("weather", "rain"), 0u);
  EXPECT_EQ(take_all(a.mailbox()), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
  EXPECT_EQ(a.mailbox().pending_bytes(), 0u);
}

TEST(PubSub, PatternsAndCounts) {
  PubSubHub hub(1 << 20);
  Subscriber a(hub);
  Subscriber b(hub);
  EXPECT_EQ(a.psubscribe("n*"), 1u);
  EXPECT_EQ(a.subscribe("news"), 2u);
  EXPECT_EQ(b.psubscribe("n?ws"), 1u);
  EXPECT_EQ(hub.pattern_count(), 2u);
  // a: once for the channel, once for its pattern; b: once for its pattern.
  EXPECT_EQ(hub.publish("news", "x"), 3u);
  std::string got_a = take_all(a.mailbox());
  EXPECT_NE(got_a.find("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n"), std::string::npos);
  EXPECT_NE(got_a.find("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$1\r\nx\r\n"),
            std::string::npos);
  EXPECT_EQ(take_all(b.mailbox()), "*4\r\n$8\r\npmessage\r\n$4\r\nn?ws\r\n$4\r\nnews\r\n$1\r\nx\r\n");
  EXPECT_EQ(a.punsubscribe("n*"), 1u);
  EXPECT_EQ(a.unsubscribe("news"), 0u);
  EXPECT_EQ(a.unsubscribe("never"), 0u);
  EXPECT_EQ(hub.publish("news", "y"), 1u);
  EXPECT_EQ(hub.channel_count(), 0u);
  EXPECT_EQ(hub.pattern_count(), 1u);
}

TEST(PubSub, DestructorUnsubscribes) {
  PubSubHub hub(1 << 20);
  {
    Subscriber a(hub);
    a.subscribe("c");
    a.psubscribe("*");
  }
  EXPECT_EQ(hub.channel_count(), 0u);
  EXPECT_EQ(hub.pattern_count(), 0u);
  EXPECT_EQ(hub.publish("c", "m"), 0u);
}

TEST(PubSub, SlowSubscriberIsKilledAtTheLimit) {
  // Each message is 34 bytes encoded ("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$4\r\nxxxx\r\n").
  PubSubHub hub(110);
  Subscriber slow(hub);
  Subscriber fast(hub);
  slow.subscribe("c");
  fast.subscribe("c");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hub.publish("c", "xxxx"), 2u);
    take_all(fast.mailbox());
  }
  EXPECT_FALSE(slow.mailbox().is_killed());
  EXPECT_EQ(slow.mailbox().pending_bytes(), 102u);
  hub.publish("c", "xxxx");  // would make 136 > 110
  EXPECT_TRUE(slow.mailbox().is_killed());
  EXPECT_TRUE(slow.mailbox().killed().is_cancelled());
  EXPECT_EQ(slow.mailbox().pending_bytes(), 102u);
  EXPECT_FALSE(fast.mailbox().is_killed());
  EXPECT_EQ(take_all(fast.mailbox()).size(), 34u);
}

keel::Task<std::optional<keel::Bytes>> receive(Mailbox* m) {
  co_return co_await m->receiver().recv();
}

keel::Task<void> publish_later(PubSubHub* hub) {
  co_await keel::yield_now();
  hub->publish("c", "hi");
}

KEEL_TEST(PubSubAsync, ReceiverWakesOnPublish) {
  PubSubHub hub(1 << 20);
  Subscriber s(hub);
  s.subscribe("c");
  keel::JoinHandle<void> pub = keel::spawn(publish_later(&hub));
  std::optional<keel::Bytes> got = co_await receive(&s.mailbox());
  KEEL_ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->view(), "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n");
  (void)co_await pub;
}

// A wait on the mailbox that is cancelled (the connection's select picked its socket) takes
// nothing: the message is there for the next receive.
KEEL_TEST(PubSubAsync, CancelledReceiveLosesNothing) {
  PubSubHub hub(1 << 20);
  Subscriber s(hub);
  s.subscribe("c");
  keel::Task<std::optional<keel::Bytes>> waiting = receive(&s.mailbox());
  keel::Task<void> timer = keel::sleep_task(std::chrono::milliseconds(1));
  auto first = co_await keel::select(std::move(waiting), std::move(timer));
  EXPECT_EQ(first.index(), 1u);
  hub.publish("c", "after");
  std::optional<keel::Bytes> got = co_await receive(&s.mailbox());
  KEEL_ASSERT_TRUE(got.has_value());
  EXPECT_NE(got->view().find("after"), std::string_view::npos);
}

// Publishers on several threads while subscribers come and go (run under tsan).
keel::Task<void> publisher(PubSubHub* hub, int n) {
  for (int i = 0; i < n; ++i) {
    hub->publish("c", "m");
    if (i % 16 == 0) co_await keel::yield_now();
  }
}

keel::Task<void> churn(PubSubHub* hub, int n) {
  for (int i = 0; i < n; ++i) {
    Subscriber s(*hub);
    s.subscribe("c");
    s.psubscribe("c*");
    co_await keel::yield_now();
    take_all(s.mailbox());
  }
}

KEEL_TEST(PubSubAsync, ConcurrentPublishAndChurn) {
  PubSubHub hub(1 << 20);
  Subscriber steady(hub);
  steady.subscribe("c");
  std::vector<keel::JoinHandle<void>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(keel::spawn(publisher(&hub, 500)));
  hs.push_back(keel::spawn(churn(&hub, 200)));
  for (auto& h : hs) (void)co_await h;
  std::size_t bytes = take_all(steady.mailbox()).size();
  EXPECT_EQ(bytes, 1500u * std::string_view("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n").size());
  EXPECT_EQ(hub.channel_count(), 1u);
  EXPECT_EQ(hub.pattern_count(), 0u);
}

}  // namespace
}  // namespace mini_redis
