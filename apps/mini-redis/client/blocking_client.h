// BlockingClient: the async Client's calls, synchronous, for code that is not async (tools,
// scripts, tests), as Tokio's mini-redis blocking_client. Each BlockingClient owns a private
// current_thread runtime and runs every call to completion on it with block_on.
//
//   absl::StatusOr<mini_redis::BlockingClient> c =
//       mini_redis::BlockingClient::connect("127.0.0.1:6379");
//   absl::Status st = c->set("foo", "bar");
//   absl::StatusOr<std::optional<std::string>> v = c->get("foo");   // "bar"
//   absl::StatusOr<mini_redis::BlockingSubscriber> sub = std::move(*c).subscribe({"news"});
//   absl::StatusOr<std::optional<mini_redis::Message>> m = sub->next_message();
//
// Errors as Client's (client.h). Never call it from inside a Keel runtime's task: block_on
// would block that runtime's thread.
//
// Thread-safety: one call at a time (calls from several threads must be serialized by the
// caller); the object may move between threads between calls.
#ifndef KEEL_APPS_MINI_REDIS_CLIENT_BLOCKING_CLIENT_H_
#define KEEL_APPS_MINI_REDIS_CLIENT_BLOCKING_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/mini-redis/client/client.h"
#include "runtime/runtime.h"

namespace mini_redis {

class BlockingSubscriber;

class BlockingClient {
 public:
  static absl::StatusOr<BlockingClient> connect(std::string addr);

  BlockingClient(BlockingClient&&) noexcept = default;
  BlockingClient& operator=(BlockingClient&&) noexcept;
  ~BlockingClient();

  absl::StatusOr<std::string> ping(std::optional<std::string> msg = std::nullopt);
  absl::StatusOr<std::optional<std::string>> get(std::string key);
  absl::Status set(std::string key, std::string value);
  absl::Status set_expires(std::string key, std::string value, std::chrono::milliseconds expiry);
  absl::StatusOr<std::int64_t> del(std::vector<std::string> keys);
  absl::StatusOr<std::int64_t> publish(std::string channel, std::string message);
  absl::StatusOr<Frame> command(std::vector<std::string> args);
  // Consumes the client, as Client::subscribe.
  absl::StatusOr<BlockingSubscriber> subscribe(std::vector<std::string> channels) &&;

  bool usable() const { return client_ != nullptr && client_->usable(); }

 private:
  BlockingClient(std::unique_ptr<keel::Runtime> rt, std::unique_ptr<Client> client)
      : rt_(std::move(rt)), client_(std::move(client)) {}

  // Declared first, destroyed last: the client's socket is registered with its I/O driver.
  std::unique_ptr<keel::Runtime> rt_;
  std::unique_ptr<Client> client_;
};

class BlockingSubscriber {
 public:
  BlockingSubscriber(BlockingSubscriber&&) noexcept = default;
  BlockingSubscriber& operator=(BlockingSubscriber&&) noexcept;
  ~BlockingSubscriber();

  // Blocks until a message arrives; std::nullopt once the server closed the connection.
  absl::StatusOr<std::optional<Message>> next_message();
  // As next_message, giving up after `wait` (DEADLINE_EXCEEDED; nothing is lost).
  absl::StatusOr<std::optional<Message>> next_message_for(std::chrono::milliseconds wait);
  absl::Status subscribe(std::vector<std::string> channels);
  absl::Status unsubscribe(std::vector<std::string> channels);
  // The subscribed channels (none for a moved-from subscriber).
  const std::vector<std::string>& channels() const;

 private:
  friend class BlockingClient;
  BlockingSubscriber(std::unique_ptr<keel::Runtime> rt, std::unique_ptr<Subscriber> sub)
      : rt_(std::move(rt)), sub_(std::move(sub)) {}

  std::unique_ptr<keel::Runtime> rt_;
  std::unique_ptr<Subscriber> sub_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_CLIENT_BLOCKING_CLIENT_H_
