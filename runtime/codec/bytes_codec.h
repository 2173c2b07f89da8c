// BytesCodec: no framing at all. decode() hands out whatever bytes have arrived, as one
// BytesMut (without copying); encode() appends the bytes as they are. The analogue of
// tokio-util's BytesCodec: turns an AsyncRead into a stream of chunks and back.
//
//   keel::codec::FramedRead<keel::fs::File, keel::codec::BytesCodec> in(std::move(f), {});
//   while (auto chunk = co_await in.next()) { ... (*chunk)->size() ... }
//
// Chunks are at most what one read delivered (Framed reads at least 8 KiB at a time). At end
// of input nothing is left over, so decode_eof() never fails.
//
// Thread-safety: a stateless value type.
#ifndef KEEL_RUNTIME_CODEC_BYTES_CODEC_H_
#define KEEL_RUNTIME_CODEC_BYTES_CODEC_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/bytes/bytes.h"

namespace keel::codec {

class BytesCodec {
 public:
  absl::StatusOr<std::optional<BytesMut>> decode(BytesMut& src) {
    if (src.empty()) return std::nullopt;
    return std::optional<BytesMut>(src.split());
  }
  absl::StatusOr<std::optional<BytesMut>> decode_eof(BytesMut& src) { return decode(src); }

  absl::Status encode(std::string_view data, BytesMut& dst) {
    dst.append(data);
    return absl::OkStatus();
  }
  absl::Status encode(const Bytes& data, BytesMut& dst) { return encode(data.view(), dst); }
  absl::Status encode(const BytesMut& data, BytesMut& dst) { return encode(data.view(), dst); }
};

}  // namespace keel::codec

#endif  // KEEL_RUNTIME_CODEC_BYTES_CODEC_H_
