#include "runtime/codec/lines_codec.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace keel::codec {

namespace {

// The most bytes a line may occupy before its "\n": max_length plus an optional "\r".
std::size_t line_window(std::size_t max_length) {
  return max_length >= std::numeric_limits<std::size_t>::max() - 1 ? max_length : max_length + 1;
}

std::string take_line(BytesMut& src, std::size_t len, std::size_t consume) {
  std::size_t content = len;
  if (content > 0 && src.view()[content - 1] == '\r') --content;
  std::string line(src.view().substr(0, content));
  src.advance(consume);
  return line;
}

absl::Status too_long(std::size_t max_length) {
  return absl::ResourceExhaustedError(
      absl::StrCat("LinesCodec: line longer than max_length (", max_length, " bytes)"));
}

}  // namespace

absl::StatusOr<std::optional<std::string>> LinesCodec::decode(BytesMut& src) {
  const std::size_t window = line_window(max_length_);
  if (discarding_ && !discard(src)) return std::nullopt;
  std::string_view view = src.view();
  // Search at most one byte past the window: enough to tell that a line is too long.
  std::size_t read_to =
      std::min(view.size(), window == std::numeric_limits<std::size_t>::max() ? window : window + 1);
  std::size_t nl = std::string_view::npos;
  if (next_index_ < read_to) {
    nl = view.substr(next_index_, read_to - next_index_).find('\n');
    if (nl != std::string_view::npos) nl += next_index_;
  }
  if (nl != std::string_view::npos) {
    next_index_ = 0;
    std::size_t content = nl;
    if (content > 0 && view[content - 1] == '\r') --content;
    if (content > max_length_) {
      src.advance(nl + 1);  // the whole line is here: drop it
      return too_long(max_length_);
    }
    return std::optional<std::string>(take_line(src, nl, nl + 1));
  }
  // No "\n" yet. Too long already when more than the window is buffered, or when the window
  // is full and its last byte is not the "\r" of a "\r\n".
  bool over = view.size() > window ||
              (view.size() == window && window > max_length_ && view[window - 1] != '\r');
  if (over) {
    next_index_ = 0;
    discarding_ = true;
    discard(src);  // drop what is buffered of the long line now, keep what follows it
    return too_long(max_length_);
  }
  next_index_ = read_to;
  return std::nullopt;
}

bool LinesCodec::discard(BytesMut& src) {
  std::size_t nl = src.view().find('\n');
  if (nl == std::string_view::npos) {
    src.clear();
    return false;
  }
  src.advance(nl + 1);
  discarding_ = false;
  return true;
}

absl::StatusOr<std::optional<std::string>> LinesCodec::decode_eof(BytesMut& src) {
  absl::StatusOr<std::optional<std::string>> r = decode(src);
  if (!r.ok() || r->has_value()) return r;
  if (discarding_) {
    src.clear();
    discarding_ = false;
    next_index_ = 0;
    return std::nullopt;
  }
  if (src.empty()) return std::nullopt;
  // The last line, without "\n"; decode() already showed it is within the bound.
  next_index_ = 0;
  std::size_t len = src.size();
  std::size_t content = len - (src.view()[len - 1] == '\r' ? 1 : 0);
  if (content > max_length_) {
    src.clear();
    return too_long(max_length_);
  }
  return std::optional<std::string>(take_line(src, len, len));
}

absl::Status LinesCodec::encode(std::string_view line, BytesMut& dst) {
  if (line.find('\n') != std::string_view::npos) {
    return absl::InvalidArgumentError("LinesCodec: cannot encode a line containing \"\\n\"");
  }
  dst.reserve(line.size() + 1);
  dst.append(line);
  dst.push_back('\n');
  return absl::OkStatus();
}

}  // namespace keel::codec
