#include "runtime/codec/length_delimited.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace keel::codec {

namespace {

[[noreturn]] void bad_config(const char* what, std::size_t value) {
  std::fprintf(stderr, "keel: LengthDelimitedCodec::Builder: %s (%zu)\n", what, value);
  std::abort();
}

}  // namespace

LengthDelimitedCodec LengthDelimitedCodec::Builder::new_codec() const {
  return LengthDelimitedCodec(*this);
}

LengthDelimitedCodec::LengthDelimitedCodec(const Builder& b)
    : offset_(b.offset_),
      field_len_(b.field_len_),
      big_endian_(b.big_endian_),
      adjustment_(b.adjustment_),
      num_skip_(b.num_skip_.value_or(b.offset_ + b.field_len_)),
      max_frame_length_(b.max_frame_length_) {
  if (field_len_ < 1 || field_len_ > 8) bad_config("length_field_length must be 1 to 8", field_len_);
  if (offset_ > (std::size_t{1} << 32)) bad_config("length_field_offset is absurdly large", offset_);
  if (num_skip_ > head_len()) {
    bad_config("num_skip must not exceed length_field_offset + length_field_length", num_skip_);
  }
}

absl::StatusOr<std::optional<BytesMut>> LengthDelimitedCodec::decode(BytesMut& src) {
  if (!pending_.has_value()) {
    const std::size_t head = head_len();
    if (src.size() < head) {
      src.reserve(head - src.size());
      return std::nullopt;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(src.data()) + offset_;
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < field_len_; ++i) {
      std::size_t at = big_endian_ ? i : field_len_ - 1 - i;
      n = (n << 8) | p[at];
    }
    if (n > max_frame_length_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("LengthDelimitedCodec: announced frame length ", n,
                       " exceeds max_frame_length ", max_frame_length_));
    }
    // |n| <= max_frame_length <= SIZE_MAX and |adjustment| < 2^63: exact in __int128.
    __int128 adjusted = static_cast<__int128>(n) + adjustment_;
    if (adjusted < 0) {
      return absl::DataLossError(absl::StrCat("LengthDelimitedCodec: announced frame length ", n,
                                              " is negative after length_adjustment ",
                                              adjustment_));
    }
    if (adjusted > static_cast<__int128>(max_frame_length_)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "LengthDelimitedCodec: frame length ", static_cast<std::uint64_t>(adjusted),
          " (announced ", n, ", adjusted by ", adjustment_, ") exceeds max_frame_length ",
          max_frame_length_));
    }
    if (static_cast<__int128>(num_skip_) + adjusted < static_cast<__int128>(head)) {
      // The frame would not cover the header bytes it keeps: they would be read again as
      // the next header (with a zero-length frame and num_skip 0, forever).
      return absl::DataLossError(absl::StrCat(
          "LengthDelimitedCodec: frame length ", static_cast<std::uint64_t>(adjusted),
          " (announced ", n, ") is shorter than the ", head - num_skip_,
          " header bytes the frame keeps (num_skip ", num_skip_, ")"));
    }
    src.advance(num_skip_);
    pending_ = static_cast<std::size_t>(adjusted);
    if (src.size() < *pending_) src.reserve(*pending_ - src.size());
  }
  if (src.size() < *pending_) return std::nullopt;
  BytesMut frame = src.split_to(*pending_);
  pending_.reset();
  return std::optional<BytesMut>(std::move(frame));
}

absl::Status LengthDelimitedCodec::encode(std::string_view payload, BytesMut& dst) {
  if (payload.size() > max_frame_length_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("LengthDelimitedCodec: cannot encode a frame of ", payload.size(),
                     " bytes: over max_frame_length ", max_frame_length_));
  }
  __int128 value = static_cast<__int128>(payload.size()) - adjustment_;
  __int128 limit = field_len_ == 8 ? (static_cast<__int128>(1) << 64)
                                   : (static_cast<__int128>(1) << (8 * field_len_));
  if (value < 0 || value >= limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("LengthDelimitedCodec: cannot encode a frame of ", payload.size(),
                     " bytes: its length field does not fit ", field_len_, " bytes"));
  }
  auto v = static_cast<std::uint64_t>(value);
  dst.reserve(field_len_ + payload.size());
  char field[8];
  for (std::size_t i = 0; i < field_len_; ++i) {
    std::size_t shift = 8 * (big_endian_ ? field_len_ - 1 - i : i);
    field[i] = static_cast<char>((v >> shift) & 0xff);
  }
  dst.append(std::string_view(field, field_len_));
  dst.append(payload);
  return absl::OkStatus();
}

}  // namespace keel::codec
