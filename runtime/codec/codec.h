// Decoder and Encoder: how a codec turns bytes into frames and frames into bytes, the contract
// that Framed (framed.h) and every protocol parser (lines, length-delimited, RESP, gRPC
// framing) follow. The analogue of tokio-util's `codec::{Decoder, Encoder}`.
//
//   struct NulCodec {  // frames separated by '\0'
//     absl::StatusOr<std::optional<std::string>> decode(keel::BytesMut& src) {
//       std::size_t at = src.view().find('\0');
//       if (at == std::string_view::npos) return std::nullopt;   // need more bytes
//       std::string frame(src.view().substr(0, at));
//       src.advance(at + 1);                                     // consume the frame
//       return frame;
//     }
//     absl::Status encode(std::string frame, keel::BytesMut& dst) {
//       dst.append(frame);
//       dst.push_back('\0');
//       return absl::OkStatus();
//     }
//   };
//   static_assert(keel::codec::Decoder<NulCodec> && keel::codec::Encoder<NulCodec, std::string>);
//
// The decoder contract:
//   - `d.decode(src)` returns absl::StatusOr<std::optional<Item>>: a frame (whose bytes it
//     removed from the front of `src`), std::nullopt when `src` does not hold a whole frame
//     yet (it may leave `src` unchanged or consume a prefix it has dealt with, and it may
//     reserve room in `src` for the rest of the frame), or an error for bytes that can never
//     become a valid frame (the message names the codec and the problem). A decoder never
//     makes the caller buffer without bound: a frame too long for it is an error as soon as
//     that is known.
//   - After an error, the caller stops decoding (Framed ends the stream).
//   - `decode_eof(d, src)` is called once the input has ended, repeatedly until it gives
//     nullopt. A decoder may define a member `decode_eof(src)`; otherwise the default decodes,
//     and reports "unexpected end of stream inside a frame" when bytes remain that form no
//     frame.
//   - Decoders see the bytes in whatever pieces the input delivers: a frame split across reads
//     at any byte boundary decodes the same as when it arrives whole.
// The encoder contract:
//   - `e.encode(item, dst)` appends the item's bytes to `dst` and returns OK, or an error (and
//     appends nothing) for an item it cannot encode (too long, invalid).
//
// Thread-safety: codecs are plain values owned by one Framed (one task at a time).
#ifndef KEEL_RUNTIME_CODEC_CODEC_H_
#define KEEL_RUNTIME_CODEC_CODEC_H_

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/bytes/bytes.h"

namespace keel::codec {

namespace detail {
template <class T>
struct DecodeResult : std::false_type {};
template <class T>
struct DecodeResult<absl::StatusOr<std::optional<T>>> : std::true_type {
  using Item = T;
};
template <class D>
using decode_result_t = decltype(std::declval<D&>().decode(std::declval<BytesMut&>()));
}  // namespace detail

template <class D>
concept Decoder = requires(D& d, BytesMut& src) {
  d.decode(src);
} && detail::DecodeResult<detail::decode_result_t<D>>::value;

// The frame type a decoder yields.
template <Decoder D>
using decoder_item_t = typename detail::DecodeResult<detail::decode_result_t<D>>::Item;

template <class E, class Item>
concept Encoder = requires(E& e, Item item, BytesMut& dst) {
  { e.encode(std::move(item), dst) } -> std::same_as<absl::Status>;
};

template <class D>
concept HasDecodeEof = requires(D& d, BytesMut& src) {
  { d.decode_eof(src) } -> std::same_as<detail::decode_result_t<D>>;
};

// Decodes what is left once the input has ended (see the contract above).
template <Decoder D>
absl::StatusOr<std::optional<decoder_item_t<D>>> decode_eof(D& d, BytesMut& src) {
  if constexpr (HasDecodeEof<D>) {
    return d.decode_eof(src);
  } else {
    absl::StatusOr<std::optional<decoder_item_t<D>>> r = d.decode(src);
    if (r.ok() && !r->has_value() && !src.empty()) {
      return absl::DataLossError(
          absl::StrCat("decode: unexpected end of stream inside a frame (", src.size(),
                       " bytes left over)"));
    }
    return r;
  }
}

// A decoder yielding Bytes (immutable, shareable) from one yielding BytesMut, without copying.
//   FramedRead<TcpStream, Frozen<LengthDelimitedCodec>> in(std::move(sock), {});
template <Decoder D>
  requires std::same_as<decoder_item_t<D>, BytesMut>
class Frozen {
 public:
  Frozen() = default;
  explicit Frozen(D inner) : inner_(std::move(inner)) {}

  absl::StatusOr<std::optional<Bytes>> decode(BytesMut& src) { return freeze(inner_.decode(src)); }
  absl::StatusOr<std::optional<Bytes>> decode_eof(BytesMut& src) {
    return freeze(codec::decode_eof(inner_, src));
  }
  template <class Item>
    requires Encoder<D, Item>
  absl::Status encode(Item item, BytesMut& dst) {
    return inner_.encode(std::move(item), dst);
  }

  D& inner() { return inner_; }
  const D& inner() const { return inner_; }

 private:
  static absl::StatusOr<std::optional<Bytes>> freeze(absl::StatusOr<std::optional<BytesMut>> r) {
    if (!r.ok()) return r.status();
    if (!r->has_value()) return std::optional<Bytes>();
    return std::optional<Bytes>(std::move(**r).freeze());
  }

  D inner_;
};

}  // namespace keel::codec

#endif  // KEEL_RUNTIME_CODEC_CODEC_H_
