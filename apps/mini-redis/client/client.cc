#include "apps/mini-redis/client/client.h"

#include <algorithm>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/protocol/reply.h"

namespace mini_redis {
namespace {

// How much room to make in the read buffer before each read: replies are usually small, and
// 16 KiB (Redis's own PROTO_IOBUF_LEN) takes a pipelined burst in one syscall.
constexpr std::size_t kReadChunk = 16 * 1024;

// The payload that marks a status made from a server error reply.
constexpr char kServerErrorPayload[] = "type.keel/mini_redis.ServerError";

absl::Status server_error(const std::string& text) {
  absl::Status st = absl::UnknownError(text);
  st.SetPayload(kServerErrorPayload, absl::Cord("1"));
  return st;
}

absl::Status unexpected(std::string_view command, const Frame& reply) {
  return absl::InternalError(absl::StrCat("mini-redis client: unexpected reply to ",
                                          std::string(command), ": ", kind_name(reply.kind), " ",
                                          reply.to_string()));
}

// A command as the server reads it; the arguments are copied once, into the request bytes.
std::string encode_request(std::span<const std::string_view> args) {
  std::string out;
  resp::Reply(out).command(args);
  return out;
}

std::string encode_request(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return encode_request(views);
}

bool is_unix_address(const std::string& addr) {
  return !addr.empty() && (addr[0] == '/' || addr[0] == '.' || addr.rfind("unix:", 0) == 0);
}

}  // namespace

bool is_server_error(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kServerErrorPayload).has_value();
}

// Tracks one call, so that its destruction mid-way (cancellation) leaves the Client in a
// known state: see client.h.
struct Client::CallGuard {
  enum Stage { kStarted, kWriting, kReading, kDone };

  explicit CallGuard(Client* c) : client(c) { client->busy_ = true; }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;
  ~CallGuard() {
    client->busy_ = false;
    if (stage == kWriting && written > 0 && client->broken_.ok()) {
      client->broken_ = absl::FailedPreconditionError(
          absl::StrCat("mini-redis client: connection to ", client->peer_,
                       " unusable: a cancelled call left a request half-written"));
    } else if (stage == kReading) {
      ++client->owed_replies_;
    }
  }

  Client* client;
  Stage stage = kStarted;
  std::size_t written = 0;
};

keel::Task<absl::StatusOr<Client>> Client::connect(std::string addr) {
  Client c;
  if (is_unix_address(addr)) {
    std::string path = addr.rfind("unix:", 0) == 0 ? addr.substr(5) : addr;
    keel::Task<absl::StatusOr<keel::net::UnixStream>> t = keel::net::UnixStream::connect(path);
    absl::StatusOr<keel::net::UnixStream> s = co_await std::move(t);
    if (!s.ok()) co_return s.status();
    c.unix_.emplace(std::move(*s));
    c.peer_ = "unix:" + path;
  } else {
    keel::Task<absl::StatusOr<keel::net::TcpStream>> t = keel::net::TcpStream::connect(addr);
    absl::StatusOr<keel::net::TcpStream> s = co_await std::move(t);
    if (!s.ok()) co_return s.status();
    // Requests are small and each waits for its reply: Nagle would only add latency.
    absl::Status st = s->set_nodelay(true);
    if (!st.ok()) co_return st;
    c.tcp_.emplace(std::move(*s));
    c.peer_ = addr;
  }
  co_return std::move(c);
}

Client::Client(Client&& other) noexcept { *this = std::move(other); }

Client& Client::operator=(Client&& other) noexcept {
  if (this == &other) return *this;
  tcp_ = std::move(other.tcp_);
  unix_ = std::move(other.unix_);
  peer_ = std::move(other.peer_);
  in_ = std::move(other.in_);
  codec_ = std::move(other.codec_);
  owed_replies_ = other.owed_replies_;
  busy_ = other.busy_;
  closed_ = other.closed_;
  broken_ = std::move(other.broken_);
  other.tcp_.reset();
  other.unix_.reset();
  other.broken_ = absl::FailedPreconditionError(
      "mini-redis client: this Client was moved from (subscribe consumes it)");
  return *this;
}

absl::Status Client::fail(absl::Status error) {
  if (broken_.ok()) broken_ = error;
  return error;
}

absl::Status Client::begin_call() const {
  if (!broken_.ok()) {
    if (broken_.code() == absl::StatusCode::kFailedPrecondition) return broken_;
    return absl::FailedPreconditionError(
        absl::StrCat("mini-redis client: connection to ", peer_,
                     " unusable after an earlier error: ", broken_.message()));
  }
  if (busy_) {
    return absl::FailedPreconditionError(
        "mini-redis client: a call is already in progress on this connection");
  }
  return absl::OkStatus();
}

keel::Task<absl::StatusOr<std::size_t>> Client::read_some(std::span<char> buf) {
  if (tcp_.has_value()) co_return co_await tcp_->read(buf);
  co_return co_await unix_->read(buf);
}

keel::Task<absl::StatusOr<std::size_t>> Client::write_some(std::span<const char> buf) {
  if (tcp_.has_value()) co_return co_await tcp_->write(buf);
  co_return co_await unix_->write(buf);
}

keel::Task<absl::Status> Client::write_request(std::string bytes, CallGuard& guard) {
  guard.stage = CallGuard::kWriting;
  while (guard.written < bytes.size()) {
    std::span<const char> rest(bytes.data() + guard.written, bytes.size() - guard.written);
    keel::Task<absl::StatusOr<std::size_t>> w = write_some(rest);
    absl::StatusOr<std::size_t> n = co_await std::move(w);
    if (!n.ok()) {
      guard.stage = CallGuard::kDone;
      co_return fail(n.status());
    }
    guard.written += *n;
  }
  co_return absl::OkStatus();
}

keel::Task<absl::StatusOr<Frame>> Client::read_frame() {
  while (true) {
    absl::StatusOr<std::optional<Frame>> r = codec_.decode(in_);
    if (!r.ok()) {
      co_return fail(absl::InvalidArgumentError(
          absl::StrCat("mini-redis client: bad reply from ", peer_, ": ", r.status().message())));
    }
    if (r->has_value()) co_return std::move(**r);
    in_.reserve(kReadChunk);
    keel::Task<absl::StatusOr<std::size_t>> rd = read_some(in_.spare());
    absl::StatusOr<std::size_t> n = co_await std::move(rd);
    if (!n.ok()) co_return fail(n.status());
    if (*n == 0) {
      closed_ = in_.empty();
      co_return fail(
          absl::UnavailableError(absl::StrCat("mini-redis client: connection closed by ", peer_,
                                              in_.empty() ? "" : " in the middle of a reply")));
    }
    in_.commit(*n);
  }
}

keel::Task<absl::Status> Client::drain_owed() {
  while (owed_replies_ > 0) {
    keel::Task<absl::StatusOr<Frame>> t = read_frame();
    absl::StatusOr<Frame> dropped = co_await std::move(t);
    if (!dropped.ok()) co_return dropped.status();
    --owed_replies_;
  }
  co_return absl::OkStatus();
}

keel::Task<absl::StatusOr<Frame>> Client::round_trip(std::string request) {
  absl::Status ok = begin_call();
  if (!ok.ok()) co_return ok;
  CallGuard guard(this);
  keel::Task<absl::Status> w = write_request(std::move(request), guard);
  absl::Status st = co_await std::move(w);
  if (!st.ok()) co_return st;
  guard.stage = CallGuard::kReading;
  // Replies owed to calls that were cancelled while waiting for them come first.
  keel::Task<absl::Status> draining = drain_owed();
  st = co_await std::move(draining);
  if (!st.ok()) {
    guard.stage = CallGuard::kDone;
    co_return st;
  }
  keel::Task<absl::StatusOr<Frame>> t = read_frame();
  absl::StatusOr<Frame> reply = co_await std::move(t);
  guard.stage = CallGuard::kDone;
  if (!reply.ok()) co_return reply.status();
  if (reply->is_error()) co_return server_error(reply->str);
  co_return std::move(*reply);
}

keel::Task<absl::StatusOr<std::string>> Client::ping(std::optional<std::string> msg) {
  const std::string_view args[2] = {"PING", msg.has_value() ? std::string_view(*msg) : ""};
  keel::Task<absl::StatusOr<Frame>> t =
      round_trip(encode_request(std::span(args, msg.has_value() ? 2 : 1)));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kSimple || r->kind == Frame::Kind::kBulk) co_return std::move(r->str);
  co_return unexpected("PING", *r);
}

keel::Task<absl::StatusOr<std::optional<std::string>>> Client::get(std::string key) {
  const std::string_view args[2] = {"GET", key};
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(args));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kNull) co_return std::optional<std::string>();
  if (r->kind == Frame::Kind::kBulk || r->kind == Frame::Kind::kSimple) {
    co_return std::optional<std::string>(std::move(r->str));
  }
  co_return unexpected("GET", *r);
}

keel::Task<absl::Status> Client::set(std::string key, std::string value) {
  const std::string_view args[3] = {"SET", key, value};
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(args));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kSimple && r->str == "OK") co_return absl::OkStatus();
  co_return unexpected("SET", *r);
}

keel::Task<absl::Status> Client::set_expires(std::string key, std::string value,
                                             std::chrono::milliseconds expiry) {
  const std::string ms = std::to_string(expiry.count());
  const std::string_view args[5] = {"SET", key, value, "PX", ms};
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(args));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kSimple && r->str == "OK") co_return absl::OkStatus();
  co_return unexpected("SET", *r);
}

keel::Task<absl::StatusOr<std::int64_t>> Client::del(std::vector<std::string> keys) {
  keys.insert(keys.begin(), "DEL");
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(keys));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kInteger) co_return r->integer_value;
  co_return unexpected("DEL", *r);
}

keel::Task<absl::StatusOr<std::int64_t>> Client::publish(std::string channel, std::string message) {
  const std::string_view args[3] = {"PUBLISH", channel, message};
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(args));
  absl::StatusOr<Frame> r = co_await std::move(t);
  if (!r.ok()) co_return r.status();
  if (r->kind == Frame::Kind::kInteger) co_return r->integer_value;
  co_return unexpected("PUBLISH", *r);
}

keel::Task<absl::StatusOr<Frame>> Client::command(std::vector<std::string> args) {
  if (args.empty()) co_return absl::InvalidArgumentError("mini-redis client: empty command");
  keel::Task<absl::StatusOr<Frame>> t = round_trip(encode_request(args));
  co_return co_await std::move(t);
}

keel::Task<absl::StatusOr<Subscriber>> Client::subscribe(std::vector<std::string> channels) && {
  if (channels.empty()) {
    co_return absl::InvalidArgumentError("mini-redis client: subscribe needs a channel");
  }
  absl::Status ok = begin_call();
  if (!ok.ok()) co_return ok;
  // Replies owed by cancelled calls must be drained before the connection changes mode.
  {
    CallGuard guard(this);
    keel::Task<absl::Status> draining = drain_owed();
    absl::Status drained = co_await std::move(draining);
    if (!drained.ok()) co_return drained;
  }
  Subscriber sub(std::move(*this));
  std::size_t n = channels.size();
  keel::Task<absl::Status> t = sub.change("SUBSCRIBE", std::move(channels), n);
  absl::Status st = co_await std::move(t);
  if (!st.ok()) co_return st;
  co_return std::move(sub);
}

absl::StatusOr<std::string> Subscriber::apply(Frame f) {
  if (f.is_error()) return server_error(f.str);
  auto is_text = [](const Frame& x) {
    return x.kind == Frame::Kind::kBulk || x.kind == Frame::Kind::kSimple;
  };
  std::vector<Frame>& a = f.array;
  if (f.kind != Frame::Kind::kArray || a.size() < 3 || !is_text(a[0])) {
    return unexpected("SUBSCRIBE", f);
  }
  const std::string& kind = a[0].str;
  if (kind == "message" && a.size() == 3 && is_text(a[1]) && is_text(a[2])) {
    queued_.push_back(Message{std::move(a[1].str), std::move(a[2].str)});
    return std::string("message");
  }
  if (kind == "pmessage" && a.size() == 4 && is_text(a[2]) && is_text(a[3])) {
    queued_.push_back(Message{std::move(a[2].str), std::move(a[3].str)});
    return std::string("message");
  }
  if (kind == "subscribe" && is_text(a[1])) {
    if (std::find(channels_.begin(), channels_.end(), a[1].str) == channels_.end()) {
      channels_.push_back(a[1].str);
    }
    return kind;
  }
  if (kind == "unsubscribe") {
    if (is_text(a[1])) std::erase(channels_, a[1].str);  // null: there was none to drop
    return kind;
  }
  return unexpected("SUBSCRIBE", f);
}

keel::Task<absl::Status> Subscriber::change(std::string verb, std::vector<std::string> channels,
                                            std::size_t confirmations) {
  absl::Status ok = client_.begin_call();
  if (!ok.ok()) co_return ok;
  Client::CallGuard guard(&client_);
  channels.insert(channels.begin(), verb);
  keel::Task<absl::Status> w = client_.write_request(encode_request(channels), guard);
  absl::Status st = co_await std::move(w);
  if (!st.ok()) co_return st;
  // From here a cancellation is harmless: the confirmations are pushes like any other, which
  // next_message() applies.
  guard.stage = Client::CallGuard::kDone;
  std::size_t seen = 0;
  while (seen < confirmations) {
    keel::Task<absl::StatusOr<Frame>> t = client_.read_frame();
    absl::StatusOr<Frame> f = co_await std::move(t);
    if (!f.ok()) co_return f.status();
    absl::StatusOr<std::string> kind = apply(std::move(*f));
    if (!kind.ok()) co_return kind.status();
    if (absl::EqualsIgnoreCase(*kind, verb)) ++seen;
  }
  co_return absl::OkStatus();
}

keel::Task<absl::Status> Subscriber::subscribe(std::vector<std::string> channels) {
  if (channels.empty()) {
    co_return absl::InvalidArgumentError("mini-redis client: subscribe needs a channel");
  }
  std::size_t n = channels.size();
  keel::Task<absl::Status> t = change("SUBSCRIBE", std::move(channels), n);
  co_return co_await std::move(t);
}

keel::Task<absl::Status> Subscriber::unsubscribe(std::vector<std::string> channels) {
  // With no channels the server confirms each subscribed channel, or once (with a null
  // channel) when there is none.
  std::size_t n = channels.empty() ? std::max<std::size_t>(channels_.size(), 1) : channels.size();
  keel::Task<absl::Status> t = change("UNSUBSCRIBE", std::move(channels), n);
  co_return co_await std::move(t);
}

keel::Task<absl::StatusOr<std::optional<Message>>> Subscriber::next_message() {
  while (queued_.empty()) {
    if (client_.closed_) co_return std::optional<Message>();  // a clean close: the end
    absl::Status ok = client_.begin_call();
    if (!ok.ok()) co_return ok;
    // A cancelled read transferred nothing, so waiting for a push has no cancellation hazard:
    // the guard stays at kStarted.
    Client::CallGuard guard(&client_);
    keel::Task<absl::StatusOr<Frame>> t = client_.read_frame();
    absl::StatusOr<Frame> f = co_await std::move(t);
    if (!f.ok()) {
      if (client_.closed_) co_return std::optional<Message>();
      co_return f.status();
    }
    absl::StatusOr<std::string> kind = apply(std::move(*f));
    if (!kind.ok()) co_return kind.status();
  }
  Message m = std::move(queued_.front());
  queued_.pop_front();
  co_return std::optional<Message>(std::move(m));
}

keel::Stream<absl::StatusOr<Message>> Subscriber::messages() {
  while (true) {
    keel::Task<absl::StatusOr<std::optional<Message>>> t = next_message();
    absl::StatusOr<std::optional<Message>> m = co_await std::move(t);
    if (!m.ok()) {
      co_yield absl::StatusOr<Message>(m.status());
      co_return;
    }
    if (!m->has_value()) co_return;
    co_yield absl::StatusOr<Message>(std::move(**m));
  }
}

}  // namespace mini_redis
