// Client: an async mini-redis (and Redis) client, as Tokio's mini-redis client: one connection,
// one call at a time, typed calls for the common commands and command() for any other.
//
//   absl::StatusOr<mini_redis::Client> c = co_await mini_redis::Client::connect("127.0.0.1:6379");
//   if (!c.ok()) co_return c.status();       // "connect 127.0.0.1:6379: Connection refused"
//   absl::Status st = co_await c->set("foo", "bar");
//   absl::StatusOr<std::optional<std::string>> v = co_await c->get("foo");   // "bar"
//   absl::StatusOr<mini_redis::Subscriber> sub =
//       co_await std::move(*c).subscribe({"news"});   // the Client becomes the Subscriber
//   keel::Stream<absl::StatusOr<mini_redis::Message>> msgs = sub->messages();
//
// Addresses: "host:port" (TCP, TCP_NODELAY set), or a Unix socket path: anything starting with
// '/' or '.', or "unix:PATH".
//
// Errors: a server error reply ("-ERR ...") becomes a status carrying the server's text as its
// message ("WRONGTYPE Operation against a key holding the wrong kind of value");
// is_server_error() tells it apart. The connection stays usable after one. I/O errors name the
// operation and peer; the server closing the connection is UNAVAILABLE "mini-redis client:
// connection closed by <peer>". After an I/O or protocol error the Client is unusable: every
// later call fails at once with FAILED_PRECONDITION naming the first error.
//
// Cancellation: a call destroyed mid-wait (it lost a keel::select, a keel::timeout expired, its
// task was aborted) leaves no trace when it was waiting for its reply: the request was sent
// whole, so the Client remembers one reply is owed and the next call reads and drops it
// before its own; reply bytes already received stay buffered. The one unrecoverable case is a
// call cancelled while its request was half written (a full socket buffer): the connection
// then holds a truncated command, and the Client reports itself unusable (FAILED_PRECONDITION
// "mini-redis client: connection unusable: a cancelled call left a request half-written").
//
// Thread-safety: one call at a time, from one task at a time (a call made while another is
// pending fails with FAILED_PRECONDITION). Do not move a Client while a call is pending.
#ifndef KEEL_APPS_MINI_REDIS_CLIENT_CLIENT_H_
#define KEEL_APPS_MINI_REDIS_CLIENT_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/mini-redis/protocol/frame.h"
#include "apps/mini-redis/protocol/resp_codec.h"
#include "net/tcp_stream.h"
#include "net/unix_stream.h"
#include "runtime/bytes/bytes.h"
#include "runtime/stream/stream.h"
#include "runtime/task/task.h"

namespace mini_redis {

using resp::Frame;

// True for a status made from a server error reply (see above).
bool is_server_error(const absl::Status& status);

// A message received by a Subscriber.
struct Message {
  std::string channel;
  std::string content;
  friend bool operator==(const Message&, const Message&) = default;
};

class Subscriber;

class Client {
 public:
  static keel::Task<absl::StatusOr<Client>> connect(std::string addr);

  // A moved-from Client (also one consumed by subscribe) fails every call with
  // FAILED_PRECONDITION.
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  // PING [msg]: "PONG", or msg back.
  keel::Task<absl::StatusOr<std::string>> ping(std::optional<std::string> msg = std::nullopt);
  keel::Task<absl::StatusOr<std::optional<std::string>>> get(std::string key);
  keel::Task<absl::Status> set(std::string key, std::string value);
  // SET key value PX ms.
  keel::Task<absl::Status> set_expires(std::string key, std::string value,
                                       std::chrono::milliseconds expiry);
  // DEL: how many of the keys existed.
  keel::Task<absl::StatusOr<std::int64_t>> del(std::vector<std::string> keys);
  template <class... Keys>
    requires(sizeof...(Keys) > 0 && (std::is_convertible_v<Keys, std::string> && ...))
  keel::Task<absl::StatusOr<std::int64_t>> del(Keys&&... keys) {
    std::vector<std::string> v;
    (v.emplace_back(std::forward<Keys>(keys)), ...);
    return del(std::move(v));
  }
  // PUBLISH: how many subscribers received the message.
  keel::Task<absl::StatusOr<std::int64_t>> publish(std::string channel, std::string message);
  // Any command; the reply as a Frame (a server error reply is an error status instead).
  keel::Task<absl::StatusOr<Frame>> command(std::vector<std::string> args);

  // SUBSCRIBE: turns this connection into a Subscriber (the Client is consumed, as in Tokio's
  // mini-redis: a subscribed connection accepts only pub/sub commands). Await it at once.
  keel::Task<absl::StatusOr<Subscriber>> subscribe(std::vector<std::string> channels) &&;

  // False once an I/O or protocol error (or a half-written cancelled call) broke the
  // connection.
  bool usable() const { return broken_.ok(); }
  // Replies still owed to calls cancelled while waiting for them (the next call drops them).
  std::size_t owed_replies() const { return owed_replies_; }
  // The peer, as in error messages ("127.0.0.1:6379", "unix:/tmp/redis.sock").
  const std::string& peer() const { return peer_; }

 private:
  friend class Subscriber;
  struct CallGuard;

  Client() = default;

  // Sends `request` (an encoded command) whole, then reads its reply, after the replies owed
  // by cancelled calls.
  keel::Task<absl::StatusOr<Frame>> round_trip(std::string request);
  // Starts a call: checks the connection is usable and idle.
  absl::Status begin_call() const;
  // Reads and drops the replies owed to calls cancelled while waiting for them.
  keel::Task<absl::Status> drain_owed();
  keel::Task<absl::Status> write_request(std::string bytes, CallGuard& guard);
  // The next frame from the connection (I/O, protocol and EOF errors break the connection).
  keel::Task<absl::StatusOr<Frame>> read_frame();
  keel::Task<absl::StatusOr<std::size_t>> read_some(std::span<char> buf);
  keel::Task<absl::StatusOr<std::size_t>> write_some(std::span<const char> buf);
  absl::Status fail(absl::Status error);

  // Exactly one of the two is set.
  std::optional<keel::net::TcpStream> tcp_;
  std::optional<keel::net::UnixStream> unix_;
  std::string peer_;
  keel::BytesMut in_;
  resp::RespCodec codec_;
  std::size_t owed_replies_ = 0;  // replies of cancelled calls, dropped before the next one's
  bool busy_ = false;             // a call is running
  bool closed_ = false;           // the server closed the connection between replies
  absl::Status broken_;           // why the connection is unusable (OK while usable)
};

// A connection in subscriber mode. Messages that arrive while (un)subscribe waits for its
// confirmations are kept and delivered, in order, by the next next_message().
//
// Cancellation: next_message() and messages() are cancellation-safe (a message is never lost:
// bytes read stay buffered). A subscribe()/unsubscribe() cancelled after its request was sent
// leaves the confirmations to arrive later; next_message() applies and skips them.
// Thread-safety: as Client.
class Subscriber {
 public:
  Subscriber(Subscriber&&) noexcept = default;
  Subscriber& operator=(Subscriber&&) noexcept = default;

  // The next message; std::nullopt once the server closed the connection.
  keel::Task<absl::StatusOr<std::optional<Message>>> next_message();
  // The messages as a stream, ending when the connection closes or after an error. The stream
  // refers to this Subscriber, which must outlive it (and not move meanwhile).
  keel::Stream<absl::StatusOr<Message>> messages();
  keel::Task<absl::Status> subscribe(std::vector<std::string> channels);
  // UNSUBSCRIBE the channels (all of them when empty).
  keel::Task<absl::Status> unsubscribe(std::vector<std::string> channels);

  // The channels subscribed to, as confirmed by the server, in order of subscription.
  const std::vector<std::string>& channels() const { return channels_; }
  bool usable() const { return client_.usable(); }

 private:
  friend class Client;
  explicit Subscriber(Client client) : client_(std::move(client)) {}

  // Sends SUBSCRIBE/UNSUBSCRIBE and waits for `confirmations` replies of that kind.
  keel::Task<absl::Status> change(std::string verb, std::vector<std::string> channels,
                                  std::size_t confirmations);
  // Takes one push: a message is queued, a (un)subscribe confirmation applied to channels_.
  // Returns its kind ("message", "subscribe" or "unsubscribe").
  absl::StatusOr<std::string> apply(Frame push);

  Client client_;
  std::vector<std::string> channels_;
  std::deque<Message> queued_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_CLIENT_CLIENT_H_
