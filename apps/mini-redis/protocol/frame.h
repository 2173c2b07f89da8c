// Frame: one RESP2 value as a tree (simple string, error, integer, bulk string, null, array,
// null array), for the client and tests. The server does not use it: it parses requests with
// parse_request (request.h) and writes replies with Reply (reply.h), without building trees.
//
//   mini_redis::resp::Frame cmd = mini_redis::resp::Frame::command({"SET", "k", "v"});
//   std::string wire;
//   mini_redis::resp::encode(cmd, wire);          // *3\r\n$3\r\nSET\r\n...
//   Frame::bulk("bar").to_string();               // "\"bar\"" (as redis-cli prints it)
//
// Thread-safety: a plain value type.
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_FRAME_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_FRAME_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis::resp {

struct Frame {
  enum class Kind { kSimple, kError, kInteger, kBulk, kNull, kArray, kNullArray };

  Kind kind = Kind::kNull;
  std::string str;                 // kSimple, kError (the text after '-'), kBulk
  std::int64_t integer_value = 0;  // kInteger (named so that Frame::integer(n) can build one)
  std::vector<Frame> array;        // kArray

  static Frame simple(std::string s);
  static Frame error(std::string s);
  static Frame integer(std::int64_t n);
  static Frame bulk(std::string s);
  static Frame null();
  static Frame null_array();
  static Frame array_of(std::vector<Frame> items);
  // An array of bulk strings: how clients send commands.
  static Frame command(const std::vector<std::string>& args);

  bool is_error() const { return kind == Kind::kError; }
  bool is_null() const { return kind == Kind::kNull || kind == Kind::kNullArray; }

  // As redis-cli prints a reply: OK, (error) ERR x, (integer) 1, "bar" (escaped), (nil),
  // (empty array), and arrays as numbered lines "1) ..." (nested ones indented).
  std::string to_string() const;

  friend bool operator==(const Frame&, const Frame&) = default;
};

// Appends the RESP2 encoding of `f`. Simple strings and errors are written as they are: the
// caller keeps '\r' and '\n' out of them (RespCodec's encoder checks).
void encode(const Frame& f, std::string& out);

// redis-cli's quoting of a bulk string: "..." with \\ \" \n \r \t \a \b and \xNN escapes.
std::string quote(std::string_view s);

const char* kind_name(Frame::Kind kind);

// For GoogleTest messages.
void PrintTo(const Frame& f, std::ostream* os);

}  // namespace mini_redis::resp

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_FRAME_H_
