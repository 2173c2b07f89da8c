#include "apps/mini-redis/server/pubsub.h"

#include <utility>

#include "apps/mini-redis/db/glob.h"
#include "apps/mini-redis/protocol/reply.h"

namespace mini_redis {
namespace {

// Debian's Abseil has its own string_view: the maps' heterogeneous lookup takes that one.
absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

keel::Bytes encode_message(std::string_view channel, std::string_view message) {
  std::string out;
  out.reserve(32 + channel.size() + message.size());
  const std::string_view parts[3] = {"message", channel, message};
  resp::Reply(out).command(parts);
  return keel::Bytes::from(std::move(out));
}

keel::Bytes encode_pmessage(std::string_view pattern, std::string_view channel,
                            std::string_view message) {
  std::string out;
  out.reserve(48 + pattern.size() + channel.size() + message.size());
  const std::string_view parts[4] = {"pmessage", pattern, channel, message};
  resp::Reply(out).command(parts);
  return keel::Bytes::from(std::move(out));
}

}  // namespace

// ---- Mailbox ----

Mailbox::Mailbox(std::uint64_t limit) : limit_(limit) {
  auto [tx, rx] = keel::sync::mpsc::unbounded_channel<keel::Bytes>();
  tx_ = std::move(tx);
  rx_ = std::move(rx);
}

bool Mailbox::deliver(const keel::Bytes& msg) {
  if (killed_.is_cancelled()) return false;
  // ORDERING: relaxed; the count is only a limit, and the message itself travels through the
  // channel, whose own synchronization publishes it.
  std::uint64_t before = pending_.fetch_add(msg.size(), std::memory_order_relaxed);
  if (before + msg.size() > limit_) {
    // ORDERING: relaxed, as above: undo our share so pending_bytes() stays meaningful.
    pending_.fetch_sub(msg.size(), std::memory_order_relaxed);
    killed_.cancel();
    return false;
  }
  (void)tx_.send(msg);  // fails only once the connection dropped its receiver: nothing to do
  return true;
}

void Mailbox::written(std::size_t n) {
  // ORDERING: relaxed; see deliver().
  pending_.fetch_sub(n, std::memory_order_relaxed);
}

// ---- PubSubHub ----

bool PubSubHub::add(absl::flat_hash_map<std::string, Set>& map, std::string_view name,
                    Mailbox* m) {
  std::lock_guard lock(mu_);
  auto it = map.find(av(name));
  if (it == map.end()) it = map.emplace(std::string(name), Set()).first;
  return it->second.insert(m).second;
}

bool PubSubHub::remove(absl::flat_hash_map<std::string, Set>& map, std::string_view name,
                       Mailbox* m) {
  std::lock_guard lock(mu_);
  auto it = map.find(av(name));
  if (it == map.end()) return false;
  bool erased = it->second.erase(m) > 0;
  if (it->second.empty()) map.erase(it);
  return erased;
}

std::size_t PubSubHub::publish(std::string_view channel, std::string_view message) {
  std::size_t receivers = 0;
  std::lock_guard lock(mu_);
  if (auto it = channels_.find(av(channel)); it != channels_.end()) {
    keel::Bytes encoded = encode_message(channel, message);  // once for every subscriber
    for (Mailbox* m : it->second) {
      m->deliver(encoded);
      ++receivers;
    }
  }
  for (const auto& [pattern, subscribers] : patterns_) {
    if (!glob_match(pattern, channel)) continue;
    keel::Bytes encoded = encode_pmessage(pattern, channel, message);
    for (Mailbox* m : subscribers) {
      m->deliver(encoded);
      ++receivers;
    }
  }
  return receivers;
}

std::size_t PubSubHub::channel_count() const {
  std::lock_guard lock(mu_);
  return channels_.size();
}

std::size_t PubSubHub::pattern_count() const {
  std::lock_guard lock(mu_);
  return patterns_.size();
}

// ---- Subscriber ----

Subscriber::Subscriber(PubSubHub& hub) : hub_(hub), mailbox_(hub.output_limit()) {}

Subscriber::~Subscriber() {
  for (const std::string& c : channels_) hub_.remove(hub_.channels_, c, &mailbox_);
  for (const std::string& p : patterns_) hub_.remove(hub_.patterns_, p, &mailbox_);
}

std::size_t Subscriber::subscribe(std::string_view channel) {
  if (channels_.insert(std::string(channel)).second) hub_.add(hub_.channels_, channel, &mailbox_);
  return count();
}

std::size_t Subscriber::unsubscribe(std::string_view channel) {
  if (auto it = channels_.find(av(channel)); it != channels_.end()) {
    hub_.remove(hub_.channels_, channel, &mailbox_);
    channels_.erase(it);
  }
  return count();
}

std::size_t Subscriber::psubscribe(std::string_view pattern) {
  if (patterns_.insert(std::string(pattern)).second) hub_.add(hub_.patterns_, pattern, &mailbox_);
  return count();
}

std::size_t Subscriber::punsubscribe(std::string_view pattern) {
  if (auto it = patterns_.find(av(pattern)); it != patterns_.end()) {
    hub_.remove(hub_.patterns_, pattern, &mailbox_);
    patterns_.erase(it);
  }
  return count();
}

std::vector<std::string> Subscriber::channels() const {
  return std::vector<std::string>(channels_.begin(), channels_.end());
}

std::vector<std::string> Subscriber::patterns() const {
  return std::vector<std::string>(patterns_.begin(), patterns_.end());
}

}  // namespace mini_redis
