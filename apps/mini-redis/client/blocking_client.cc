#include "apps/mini-redis/client/blocking_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/time/timeout.h"

namespace mini_redis {
namespace {

// The async side of each call: the Client lives on the heap (its address is stable), and each
// wrapper takes what it needs by value, so nothing dangles while block_on runs it.
keel::Task<absl::StatusOr<std::unique_ptr<Client>>> connect_task(std::string addr) {
  keel::Task<absl::StatusOr<Client>> t = Client::connect(std::move(addr));
  absl::StatusOr<Client> c = co_await std::move(t);
  if (!c.ok()) co_return c.status();
  co_return std::make_unique<Client>(std::move(*c));
}

keel::Task<absl::StatusOr<std::unique_ptr<Subscriber>>> subscribe_task(
    std::unique_ptr<Client> client, std::vector<std::string> channels) {
  keel::Task<absl::StatusOr<Subscriber>> t = std::move(*client).subscribe(std::move(channels));
  absl::StatusOr<Subscriber> s = co_await std::move(t);
  if (!s.ok()) co_return s.status();
  co_return std::make_unique<Subscriber>(std::move(*s));
}

keel::Task<absl::StatusOr<std::optional<Message>>> next_for(Subscriber* sub,
                                                           std::chrono::milliseconds wait) {
  keel::Task<absl::StatusOr<std::optional<Message>>> t = sub->next_message();
  co_return co_await keel::timeout(wait, std::move(t));
}

absl::Status unusable() {
  return absl::FailedPreconditionError("mini-redis blocking client: moved from or consumed");
}

}  // namespace

absl::StatusOr<BlockingClient> BlockingClient::connect(std::string addr) {
  absl::StatusOr<keel::Runtime> rt = keel::Runtime::new_current_thread().enable_all().build();
  if (!rt.ok()) {
    return absl::Status(rt.status().code(), absl::StrCat("mini-redis blocking client: runtime: ",
                                                         rt.status().message()));
  }
  auto runtime = std::make_unique<keel::Runtime>(std::move(*rt));
  absl::StatusOr<std::unique_ptr<Client>> c = runtime->block_on(connect_task(std::move(addr)));
  if (!c.ok()) return c.status();
  return BlockingClient(std::move(runtime), std::move(*c));
}

BlockingClient& BlockingClient::operator=(BlockingClient&& other) noexcept {
  // The client goes before the runtime it is registered with.
  client_.reset();
  rt_ = std::move(other.rt_);
  client_ = std::move(other.client_);
  return *this;
}

BlockingClient::~BlockingClient() { client_.reset(); }

absl::StatusOr<std::string> BlockingClient::ping(std::optional<std::string> msg) {
  if (!client_) return unusable();
  return rt_->block_on(client_->ping(std::move(msg)));
}

absl::StatusOr<std::optional<std::string>> BlockingClient::get(std::string key) {
  if (!client_) return unusable();
  return rt_->block_on(client_->get(std::move(key)));
}

absl::Status BlockingClient::set(std::string key, std::string value) {
  if (!client_) return unusable();
  return rt_->block_on(client_->set(std::move(key), std::move(value)));
}

absl::Status BlockingClient::set_expires(std::string key, std::string value,
                                         std::chrono::milliseconds expiry) {
  if (!client_) return unusable();
  return rt_->block_on(client_->set_expires(std::move(key), std::move(value), expiry));
}

absl::StatusOr<std::int64_t> BlockingClient::del(std::vector<std::string> keys) {
  if (!client_) return unusable();
  return rt_->block_on(client_->del(std::move(keys)));
}

absl::StatusOr<std::int64_t> BlockingClient::publish(std::string channel, std::string message) {
  if (!client_) return unusable();
  return rt_->block_on(client_->publish(std::move(channel), std::move(message)));
}

absl::StatusOr<Frame> BlockingClient::command(std::vector<std::string> args) {
  if (!client_) return unusable();
  return rt_->block_on(client_->command(std::move(args)));
}

absl::StatusOr<BlockingSubscriber> BlockingClient::subscribe(std::vector<std::string> channels) && {
  if (!client_) return unusable();
  absl::StatusOr<std::unique_ptr<Subscriber>> sub =
      rt_->block_on(subscribe_task(std::move(client_), std::move(channels)));
  if (!sub.ok()) return sub.status();
  return BlockingSubscriber(std::move(rt_), std::move(*sub));
}

BlockingSubscriber& BlockingSubscriber::operator=(BlockingSubscriber&& other) noexcept {
  sub_.reset();
  rt_ = std::move(other.rt_);
  sub_ = std::move(other.sub_);
  return *this;
}

BlockingSubscriber::~BlockingSubscriber() { sub_.reset(); }

const std::vector<std::string>& BlockingSubscriber::channels() const {
  static const std::vector<std::string> kNone;
  return sub_ ? sub_->channels() : kNone;
}

absl::StatusOr<std::optional<Message>> BlockingSubscriber::next_message() {
  if (!sub_) return unusable();
  return rt_->block_on(sub_->next_message());
}

absl::StatusOr<std::optional<Message>> BlockingSubscriber::next_message_for(
    std::chrono::milliseconds wait) {
  if (!sub_) return unusable();
  return rt_->block_on(next_for(sub_.get(), wait));
}

absl::Status BlockingSubscriber::subscribe(std::vector<std::string> channels) {
  if (!sub_) return unusable();
  return rt_->block_on(sub_->subscribe(std::move(channels)));
}

absl::Status BlockingSubscriber::unsubscribe(std::vector<std::string> channels) {
  if (!sub_) return unusable();
  return rt_->block_on(sub_->unsubscribe(std::move(channels)));
}

}  // namespace mini_redis
