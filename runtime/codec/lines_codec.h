// LinesCodec: frames are lines of text ending in "\n" (or "\r\n"), decoded as std::string
// without the terminator. The analogue of tokio-util's LinesCodec, but always bounded.
//
//   keel::codec::Framed<keel::net::TcpStream, keel::codec::LinesCodec> conn(
//       std::move(sock), keel::codec::LinesCodec(/*max_length=*/4096));
//   while (auto line = co_await conn.next()) {
//     if (!line->ok()) break;                       // e.g. a line over 4096 bytes
//     KEEL_ASSERT_OK(co_await conn.send("you said: " + **line));
//   }
//
// Decoding:
//   - A line is the bytes before "\n"; one "\r" right before the "\n" is dropped too.
//     Bytes are passed through as they are (no UTF-8 validation).
//   - `max_length` bounds a line (without its terminator). A longer line is a
//     RESOURCE_EXHAUSTED error as soon as more than max_length (+1 for a possible "\r") bytes
//     arrived without a "\n": the codec never buffers more than that. With that error the
//     codec starts discarding bytes up to and including the next "\n" (at once, for what is
//     buffered), then decodes normally again (Framed ends its stream at the first error
//     anyway).
//   - At end of input, a last line without "\n" is still a line (as tokio).
//   - Each byte is searched for "\n" once (the codec remembers how far it looked).
// Encoding: appends the line and "\n". A line containing "\n" is an INVALID_ARGUMENT error
// (it would decode as two lines); the length is not checked.
//
// Thread-safety: a value type, used by one task at a time.
#ifndef KEEL_RUNTIME_CODEC_LINES_CODEC_H_
#define KEEL_RUNTIME_CODEC_LINES_CODEC_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/bytes/bytes.h"

namespace keel::codec {

class LinesCodec {
 public:
  // The default bound on a line: 64 KiB is far above any line-based protocol's real lines
  // (SMTP allows 1000 bytes, HTTP/1.1 servers commonly 8 KiB per header line) while one
  // connection's worth of it costs nothing.
  static constexpr std::size_t kDefaultMaxLength = 64 * 1024;

  LinesCodec() = default;
  explicit LinesCodec(std::size_t max_length) : max_length_(max_length) {}

  std::size_t max_length() const { return max_length_; }

  absl::StatusOr<std::optional<std::string>> decode(BytesMut& src);
  absl::StatusOr<std::optional<std::string>> decode_eof(BytesMut& src);
  absl::Status encode(std::string_view line, BytesMut& dst);

 private:
  // Drops the bytes of a too-long line up to and including its "\n"; false when none came yet
  // (everything buffered was dropped and discarding goes on).
  bool discard(BytesMut& src);

  std::size_t max_length_ = kDefaultMaxLength;
  std::size_t next_index_ = 0;  // src[0, next_index_) holds no '\n'
  bool discarding_ = false;     // dropping the rest of a too-long line
};

}  // namespace keel::codec

#endif  // KEEL_RUNTIME_CODEC_LINES_CODEC_H_
