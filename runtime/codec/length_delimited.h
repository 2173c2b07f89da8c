// LengthDelimitedCodec: frames prefixed by their length, the analogue of tokio-util's
// LengthDelimitedCodec (same builder options and the same meaning for them).
//
//   // A 4-byte big-endian length, then that many payload bytes (the default):
//   keel::codec::Framed<keel::net::TcpStream, keel::codec::LengthDelimitedCodec> conn(
//       std::move(sock), keel::codec::LengthDelimitedCodec());
//   KEEL_ASSERT_OK(co_await conn.send(std::string_view("hello")));  // writes "\0\0\0\5hello"
//   std::optional<absl::StatusOr<keel::BytesMut>> frame = co_await conn.next();
//
//   // A 2-byte little-endian length that counts itself, kept in the frame, max 1 KiB:
//   auto codec = keel::codec::LengthDelimitedCodec::builder()
//                    .length_field_length(2).little_endian()
//                    .length_adjustment(-2).num_skip(0).max_frame_length(1024)
//                    .new_codec();
//
// The wire layout a decoder expects, for each frame:
//   [length_field_offset bytes][length field: length_field_length bytes][payload...]
//   - The length field is an unsigned integer of 1 to 8 bytes, big-endian by default.
//   - The frame is, after dropping the first `num_skip` bytes (default: offset + field
//     length, i.e. the whole header), the next `length + length_adjustment` bytes. Use a
//     negative adjustment when the length counts the header, a positive one (with num_skip(0))
//     to keep the header in the frame.
//   - `max_frame_length` (default 8 MiB) bounds the announced length and the frame: a larger
//     one is a RESOURCE_EXHAUSTED error as soon as its header arrives, before anything is
//     allocated for it. A negative adjusted length, or one too short to cover the header
//     bytes kept in the frame (num_skip < header), is a DATA_LOSS error.
//   - Frames come out as BytesMut sharing the read buffer's storage (no copy); wrap the codec
//     in codec::Frozen<> for Bytes. Once a header is decoded the codec reserves room for the
//     rest of that frame in the read buffer, so a large frame is read without regrowing.
//   - At end of input inside a frame, decode_eof() reports "unexpected end of stream inside a
//     frame" (DATA_LOSS).
// Encoding writes the length field (payload size - length_adjustment, in the configured width
// and byte order) and then the payload; offset and num_skip describe only how frames are read,
// so an encoder writes no bytes before the length field. A payload over max_frame_length, or
// whose length does not fit the field, is an error and appends nothing.
//
// Builder errors (a field length outside 1..8, num_skip past the header) are bugs: new_codec()
// aborts with a message. Thread-safety: a value type, used by one task at a time.
#ifndef KEEL_RUNTIME_CODEC_LENGTH_DELIMITED_H_
#define KEEL_RUNTIME_CODEC_LENGTH_DELIMITED_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/bytes/bytes.h"

namespace keel::codec {

class LengthDelimitedCodec {
 public:
  // 8 MiB, as tokio: large enough for any message a protocol frames this way in one piece,
  // small enough that a hostile header cannot make a connection reserve much memory.
  static constexpr std::size_t kDefaultMaxFrameLength = 8 * 1024 * 1024;

  class Builder {
   public:
    // Bytes before the length field (default 0).
    Builder& length_field_offset(std::size_t n) { offset_ = n; return *this; }
    // Width of the length field in bytes, 1 to 8 (default 4).
    Builder& length_field_length(std::size_t n) { field_len_ = n; return *this; }
    Builder& big_endian() { big_endian_ = true; return *this; }
    Builder& little_endian() { big_endian_ = false; return *this; }
    // Added to the length field's value to give the frame length (default 0).
    Builder& length_adjustment(std::int64_t n) { adjustment_ = n; return *this; }
    // Bytes dropped from the front before the frame (default: offset + field length).
    Builder& num_skip(std::size_t n) { num_skip_ = n; return *this; }
    // The largest length announced or frame accepted (default 8 MiB).
    Builder& max_frame_length(std::size_t n) { max_frame_length_ = n; return *this; }
    // The codec; aborts on an invalid configuration (see the file comment).
    LengthDelimitedCodec new_codec() const;

   private:
    friend class LengthDelimitedCodec;
    std::size_t offset_ = 0;
    std::size_t field_len_ = 4;
    bool big_endian_ = true;
    std::int64_t adjustment_ = 0;
    std::optional<std::size_t> num_skip_;
    std::size_t max_frame_length_ = kDefaultMaxFrameLength;
  };

  static Builder builder() { return Builder(); }
  // The default: 4-byte big-endian length, header dropped, max 8 MiB.
  LengthDelimitedCodec() : LengthDelimitedCodec(Builder()) {}

  std::size_t max_frame_length() const { return max_frame_length_; }
  void set_max_frame_length(std::size_t n) { max_frame_length_ = n; }

  absl::StatusOr<std::optional<BytesMut>> decode(BytesMut& src);
  absl::Status encode(std::string_view payload, BytesMut& dst);
  absl::Status encode(const Bytes& payload, BytesMut& dst) { return encode(payload.view(), dst); }
  absl::Status encode(const BytesMut& payload, BytesMut& dst) { return encode(payload.view(), dst); }

 private:
  explicit LengthDelimitedCodec(const Builder& b);

  std::size_t head_len() const { return offset_ + field_len_; }

  std::size_t offset_;
  std::size_t field_len_;
  bool big_endian_;
  std::int64_t adjustment_;
  std::size_t num_skip_;
  std::size_t max_frame_length_;
  std::optional<std::size_t> pending_;  // frame length decoded from a header already skipped
};

}  // namespace keel::codec

#endif  // KEEL_RUNTIME_CODEC_LENGTH_DELIMITED_H_
