// RespCodec: a keel codec (runtime/codec/codec.h) that decodes any RESP2 value into a Frame
// (frame.h) and encodes Frames, for clients and tests.
//
//   keel::codec::Framed<keel::net::TcpStream, mini_redis::resp::RespCodec> conn(
//       std::move(sock), mini_redis::resp::RespCodec());
//   absl::Status sent = co_await conn.send(Frame::command({"GET", "foo"}));
//   std::optional<absl::StatusOr<Frame>> reply = co_await conn.next();
//
// Decoding follows RESP2 strictly, so that encode(decode(bytes)) gives back the same bytes:
// lines end in "\r\n"; integers and lengths are Redis's integer syntax (no '+', no leading
// zeros); "$-1" is the null bulk and "*-1" the null array (other negative lengths are errors).
// Limits: the request limits of request.h (a bulk at most kMaxBulkLen bytes, an array at most
// kMaxMultibulkLen elements, a simple string, error or integer line at most kMaxInlineLen
// bytes) and kMaxDepth nested arrays; a value over a limit is an error as soon as its header is
// seen. Errors are INVALID_ARGUMENT statuses starting with "resp: ".
//
// Work per byte: the codec remembers how far the value arriving was checked (whole elements,
// and the element count still due in each open array), so a large reply arriving in many reads
// is scanned once, then built once it is complete. A bulk whose header has arrived makes the
// codec reserve room for the rest.
//
// Encoding: any Frame; a simple string or error containing '\r' or '\n' is an INVALID_ARGUMENT
// error (nothing is appended).
//
// Thread-safety: a value type, used by one task at a time (as every codec).
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_RESP_CODEC_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_RESP_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/mini-redis/protocol/frame.h"
#include "runtime/bytes/bytes.h"

namespace mini_redis::resp {

class RespCodec {
 public:
  // Nesting bound: Redis replies nest at most a few levels (COMMAND's infos are the deepest,
  // about 4); 64 leaves room for any real reply while keeping the recursive build and a
  // hostile peer's "*1\r\n*1\r\n..." cheap.
  static constexpr std::size_t kMaxDepth = 64;

  absl::StatusOr<std::optional<Frame>> decode(keel::BytesMut& src);
  absl::Status encode(const Frame& frame, keel::BytesMut& dst);

 private:
  // src[0, scanned_) holds the checked part of the value arriving: its array headers and
  // complete elements. pending_[i] is how many elements array level i still expects.
  std::size_t scanned_ = 0;
  std::vector<std::int64_t> pending_;
};

}  // namespace mini_redis::resp

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_RESP_CODEC_H_
