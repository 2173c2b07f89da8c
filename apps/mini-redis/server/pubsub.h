// Pub/sub: the hub that routes PUBLISH to subscribed connections, and each subscriber's mailbox.
//
//   PubSubHub hub(/*output_limit=*/32 << 20);
//   Subscriber sub(hub);                         // one per subscribed connection
//   sub.subscribe("news");                       // -> 1 (subscriptions of this client)
//   hub.publish("news", "hello");                // -> 1 receiver; sub.mailbox() holds
//                                                //    "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
//   std::optional<keel::Bytes> m = co_await sub.mailbox().receiver().recv();
//   ... write m ...; sub.mailbox().written(m->size());
//
// PUBLISH encodes a message once for all channel subscribers and once per matching pattern
// (pattern subscribers get "pmessage" with the pattern), and pushes the shared bytes into each
// receiver's mailbox: an unbounded mpsc channel plus a count of bytes not yet written to the
// client. When a subscriber's pending bytes would exceed the output limit (Redis's
// "client-output-buffer-limit pubsub"), its mailbox is killed instead: the message is dropped,
// killed() is cancelled, and the connection closes itself; memory never grows without bound.
//
// Thread-safety: PubSubHub's methods may be called from any thread (one mutex, never held
// across a co_await or while waking anything but a mailbox's receiver). A Subscriber belongs to
// its connection's task; its Mailbox's counters and token may be touched from any thread.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_PUBSUB_H_
#define KEEL_APPS_MINI_REDIS_SERVER_PUBSUB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/bytes/bytes.h"
#include "runtime/sync/cancellation_token.h"
#include "runtime/sync/mpsc.h"

namespace mini_redis {

class Mailbox {
 public:
  explicit Mailbox(std::uint64_t limit);
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues `msg` unless that would take the pending bytes over the limit, in which case the
  // mailbox is killed (and stays so). Returns false when killed.
  bool deliver(const keel::Bytes& msg);
  // The connection has written `n` bytes it received from the mailbox.
  void written(std::size_t n);

  keel::sync::mpsc::UnboundedReceiver<keel::Bytes>& receiver() { return rx_; }
  // Cancelled when the subscriber fell too far behind.
  const keel::sync::CancellationToken& killed() const { return killed_; }
  bool is_killed() const { return killed_.is_cancelled(); }
  std::uint64_t pending_bytes() const {
    // ORDERING: relaxed; a statistic and a limit check, no data is published through it.
    return pending_.load(std::memory_order_relaxed);
  }

 private:
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> pending_{0};
  keel::sync::mpsc::UnboundedSender<keel::Bytes> tx_;
  keel::sync::mpsc::UnboundedReceiver<keel::Bytes> rx_;
  keel::sync::CancellationToken killed_;
};

class PubSubHub {
 public:
  explicit PubSubHub(std::uint64_t output_limit) : output_limit_(output_limit) {}
  PubSubHub(const PubSubHub&) = delete;
  PubSubHub& operator=(const PubSubHub&) = delete;

  // Delivers `message` to every subscriber of `channel` and of each matching pattern; returns
  // how many deliveries were made (Redis's PUBLISH reply; a client subscribed to the channel
  // and to a matching pattern counts twice).
  std::size_t publish(std::string_view channel, std::string_view message);

  std::size_t channel_count() const;   // channels with at least one subscriber
  std::size_t pattern_count() const;   // patterns with at least one subscriber
  std::uint64_t output_limit() const { return output_limit_; }

 private:
  friend class Subscriber;
  using Set = absl::flat_hash_set<Mailbox*>;
  // Both return true when `m` was not yet subscribed / was subscribed.
  bool add(absl::flat_hash_map<std::string, Set>& map, std::string_view name, Mailbox* m);
  bool remove(absl::flat_hash_map<std::string, Set>& map, std::string_view name, Mailbox* m);

  const std::uint64_t output_limit_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Set> channels_;  // guarded by mu_
  absl::flat_hash_map<std::string, Set> patterns_;  // guarded by mu_
};

// One connection's subscriptions and mailbox. The destructor unsubscribes everything, so the
// hub never points at a gone mailbox.
class Subscriber {
 public:
  explicit Subscriber(PubSubHub& hub);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Each returns this client's subscription count (channels + patterns) after the call, the
  // third element of Redis's (un)subscribe replies.
  std::size_t subscribe(std::string_view channel);
  std::size_t unsubscribe(std::string_view channel);
  std::size_t psubscribe(std::string_view pattern);
  std::size_t punsubscribe(std::string_view pattern);

  // Current subscriptions, in no particular order (for UNSUBSCRIBE with no arguments).
  std::vector<std::string> channels() const;
  std::vector<std::string> patterns() const;
  std::size_t count() const { return channels_.size() + patterns_.size(); }

  Mailbox& mailbox() { return mailbox_; }

 private:
  PubSubHub& hub_;
  Mailbox mailbox_;
  absl::flat_hash_set<std::string> channels_;
  absl::flat_hash_set<std::string> patterns_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_SERVER_PUBSUB_H_
