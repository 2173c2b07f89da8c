// Zero-copy parsing of client requests: RESP arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
// and inline commands ("PING\r\n", as redis-cli and redis-benchmark's PING_INLINE send). The server
// parses straight out of its read buffer: the arguments are views into that buffer, valid until
// the buffer is advanced or written to.
//
//   mini_redis::resp::Request req;
//   mini_redis::resp::ParseResult r = mini_redis::resp::parse_request(buf.view(), req);
//   switch (r.kind) {
//     case ParseResult::kComplete:   run(req.args); buf.advance(r.consumed); break;
//     case ParseResult::kIncomplete: /* read more */ break;
//     case ParseResult::kError:      reply("-ERR Protocol error: " + r.error); close(); break;
//   }
//
// Limits, as Redis 7's (a request over a limit is an error as soon as its header is seen, before
// anything is buffered for it): a bulk string is at most kMaxBulkLen bytes ("invalid bulk
// length"), an array at most kMaxMultibulkLen elements ("invalid multibulk length"), an inline
// command line at most kMaxInlineLen bytes ("too big inline request"). Error texts are Redis's,
// without the "Protocol error: " prefix the server adds.
//
// An empty array ("*0\r\n") and an empty inline line are complete requests with no arguments; the
// caller skips them, as Redis does. `consumed` then says how many bytes to drop.
//
// Thread-safety: pure functions over the caller's bytes.
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_REQUEST_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mini_redis::resp {

inline constexpr std::int64_t kMaxBulkLen = 512LL * 1024 * 1024;  // Redis's proto-max-bulk-len
inline constexpr std::int64_t kMaxMultibulkLen = 1024 * 1024;     // Redis's multibulk limit
inline constexpr std::size_t kMaxInlineLen = 64 * 1024;           // Redis's PROTO_INLINE_MAX_SIZE

struct Request {
  // Views into the parsed buffer. Cleared and refilled by each parse_request call; the vector's
  // capacity is reused, so a connection that keeps one Request allocates only for its widest
  // command.
  std::vector<std::string_view> args;
  // Inline arguments may be quoted ("SET k \"a b\""); their unescaped text lives here and args
  // view into it. Unused for RESP arrays.
  std::string inline_storage;
};

struct ParseResult {
  enum Kind { kComplete, kIncomplete, kError };
  Kind kind = kIncomplete;
  std::size_t consumed = 0;  // kComplete: bytes of `buf` the request took
  std::string error;         // kError: Redis's text, e.g. "invalid bulk length"
};

// Parses one request from the front of `buf`. A RESP request starts with '*'; anything else is
// an inline command line ending in "\n" (an optional "\r" before it is dropped).
ParseResult parse_request(std::string_view buf, Request& out);

}  // namespace mini_redis::resp

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_REQUEST_H_
