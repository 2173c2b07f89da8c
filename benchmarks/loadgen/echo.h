// EchoProtocol: requests of `size` bytes that an echo server sends back; every response is
// checked byte for byte against what was sent.
//
//   EchoProtocol echo(64);
//   auto s = echo.new_session(1);
//   s->encode(7, out);                // 64 bytes: the id (8 bytes, little endian), then a
//                                     // pattern derived from the id
//   Decoded d = s->decode(in, 7);     // kResponse once 64 bytes are there and they match
//
// With size >= 8 the id travels in the message, so a late UDP datagram is recognised as the
// answer to an older request; below 8 bytes the pattern of the oldest request in flight is
// expected. A mismatch is a protocol error ("echo: byte 12 of request 7 differs").
//
// Thread-safety: EchoProtocol is immutable; a session belongs to one connection.
#ifndef KEEL_BENCHMARKS_LOADGEN_ECHO_H_
#define KEEL_BENCHMARKS_LOADGEN_ECHO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "benchmarks/loadgen/protocol.h"

namespace keel::loadgen {

class EchoProtocol final : public Protocol {
 public:
  explicit EchoProtocol(std::size_t size) : size_(size) {}
  std::string_view name() const override { return "echo"; }
  std::unique_ptr<Session> new_session(std::uint64_t seed) const override;
  std::size_t size() const { return size_; }

  // The message for request `id` (exposed for tests).
  static void fill(std::uint64_t id, std::size_t size, char* out);
  // Bytes carrying the id when a message is at least this long.
  static constexpr std::size_t kIdBytes = 8;

 private:
  std::size_t size_;
};

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_ECHO_H_
