// Reply: appends RESP2 replies to an output string. Command handlers write exactly one reply each;
// the connection writes the string once per batch of pipelined requests.
//
//   std::string out;
//   mini_redis::resp::Reply reply(out);
//   reply.simple("OK");             // +OK\r\n
//   reply.bulk("bar");              // $3\r\nbar\r\n
//   reply.null();                   // $-1\r\n
//   reply.array(2); reply.integer(1); reply.error("ERR no");  // *2\r\n:1\r\n-ERR no\r\n
//   reply.command(args);            // *2\r\n$3\r\nGET\r\n$1\r\nk\r\n: a command as clients send it
//
// error() takes the whole text after '-', including the code ("ERR ...", "WRONGTYPE ...").
// Simple strings and errors must not contain '\r' or '\n'; error() replaces them with spaces, as
// Redis does.
//
// Thread-safety: a Reply and its string belong to one task.
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_REPLY_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_REPLY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mini_redis::resp {

class Reply {
 public:
  explicit Reply(std::string& out) : out_(&out) {}

  void simple(std::string_view s);
  void ok() { out_->append("+OK\r\n"); }
  void error(std::string_view s);
  void integer(std::int64_t n);
  void bulk(std::string_view s);
  void null() { out_->append("$-1\r\n"); }         // the null bulk string
  void null_array() { out_->append("*-1\r\n"); }
  void array(std::size_t n);                        // then exactly n replies
  void raw(std::string_view bytes) { out_->append(bytes); }  // pre-encoded RESP
  // An array of bulk strings: a command as a client sends it (requests, the AOF's records) or
  // a pub/sub message.
  // Grows the string once for the whole command: the AOF encodes one per write, under the
  // shard lock, and three small appends per argument cost more than the copying.
  void command(std::span<const std::string_view> args);

  std::string& out() { return *out_; }

 private:
  std::string* out_;
};

}  // namespace mini_redis::resp

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_REPLY_H_
