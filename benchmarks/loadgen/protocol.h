// Protocol and Session: what loadgen needs to know about a protocol, as one small class.
//
//   std::unique_ptr<Session> s = protocol.new_session(seed);   // one per connection
//   s->start(out);                         // bytes to send right after connecting (none yet)
//   s->encode(id, out);                    // append request `id` to `out`
//   Decoded d = s->decode(in, oldest_id);  // one response from the front of `in`
//
// The connection driver (connection.h) owns the sockets, the in-flight queue, timing and error
// accounting; a Session only turns requests into bytes and bytes into responses. decode():
//   kNeedMore     `in` holds no complete response yet (nothing consumed)
//   kResponse     one response of `consumed` bytes; it answers `id` when the protocol carries
//                 the request's id in band (echo's header, HTTP/2 stream ids), else the oldest
//                 request in flight (`oldest_id`, FIFO protocols: RESP, HTTP/1.1 pipelining)
//   kServerError  a well-formed error reply (RESP "-ERR ..."): consumed, counted as an error
//   kControl      consumed bytes that answer no request (HTTP/2 SETTINGS, PING); the session
//                 may append bytes to send in `pending_output` (a SETTINGS ACK)
//   kError        malformed input: the stream cannot be trusted any more (`error` says why)
// So echo and RESP fit now, and HTTP/1.1 (FIFO), HTTP/2 and gRPC (ids, control frames, a
// preface from start()) fit later without changing the driver's shape.
//
// Thread-safety: a Protocol is immutable and shared by every connection; a Session belongs to
// one connection.
#ifndef KEEL_BENCHMARKS_LOADGEN_PROTOCOL_H_
#define KEEL_BENCHMARKS_LOADGEN_PROTOCOL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace keel::loadgen {

enum class DecodeStatus { kNeedMore, kResponse, kServerError, kControl, kError };

struct Decoded {
  DecodeStatus status = DecodeStatus::kNeedMore;
  std::size_t consumed = 0;
  // The request answered, when the protocol carries it; otherwise the oldest in flight.
  std::optional<std::uint64_t> id;
  std::string error;  // kError / kServerError: why (allocated only on errors)
};

class Session {
 public:
  virtual ~Session() = default;
  // Bytes to send once after connecting, before the first request.
  virtual void start(std::string& out) { (void)out; }
  // Appends request `id` (per-connection, increasing from 0) to `out`.
  virtual void encode(std::uint64_t id, std::string& out) = 0;
  // Decodes one response from the front of `in`; see the file comment.
  virtual Decoded decode(std::string_view in, std::uint64_t oldest_id) = 0;
  // Bytes the session wants sent (answers to control frames); appended to `out`.
  virtual void pending_output(std::string& out) { (void)out; }
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual std::string_view name() const = 0;
  // A session for one connection; `seed` makes its random choices differ per connection.
  virtual std::unique_ptr<Session> new_session(std::uint64_t seed) const = 0;
};

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_PROTOCOL_H_
