// Framed<Io, Codec>: a byte stream seen as a stream of frames, the analogue of tokio-util's
// `Framed` (plus FramedRead and FramedWrite for one direction).
//
//   keel::Task<void> echo_lines(keel::net::TcpStream sock) {
//     keel::codec::Framed conn(std::move(sock), keel::codec::LinesCodec(4096));
//     while (std::optional<absl::StatusOr<std::string>> line = co_await conn.next()) {
//       if (!line->ok()) co_return;                      // decode or read error: the end
//       absl::Status s = co_await conn.send(**line);     // encode, write, flush
//       if (!s.ok()) co_return;
//     }                                                  // nullopt: the peer closed
//   }
//
// Reading (Io: io::AsyncRead, Codec: codec::Decoder, see codec.h):
//   - `co_await next()` gives the next frame, an error, or std::nullopt at the end. Bytes are
//     read into a read buffer (BytesMut: reads go straight into its spare capacity, at least
//     kReadReserve = 8 KiB at a time) and decoded from there; a frame split across reads at
//     any byte boundary decodes the same as a whole one. At end of input the codec's
//     decode_eof() drains what is left (and reports a frame cut short).
//   - After an error (decode error, read error), next() gives that error once and then
//     std::nullopt: the frame boundary is lost, so the stream ends.
//   - `frames()` is the same as a keel::Stream (it borrows *this); `codec::into_stream(framed)`
//     is an owning Stream.
//   - next() is cancellation-safe: destroying a pending next() (a timeout, a lost select)
//     loses no byte and no frame; the next call carries on.
// Writing (Io: io::AsyncWrite, Codec: codec::Encoder<Item>):
//   - `co_await feed(item)`: encodes the item into the write buffer, without writing it out,
//     except for backpressure: when the buffer already holds `high_water_mark` bytes or more
//     (default 128 KiB), feed first writes the whole buffer out (as tokio's poll_ready),
//     waiting for the peer to read. Encoding errors come back as a Status and leave the
//     Framed usable.
//   - `co_await send(item)`: feed, then flush: when it returns OK the item was written to
//     the Io. (tokio's SinkExt::send; feed several then flush once to batch small frames.)
//   - `co_await flush()`: writes the whole buffer out, then flushes the Io.
//   - `co_await close()`: flush, then shut the Io's writing direction down.
//   - Cancellation: a feed cancelled while waiting for backpressure has not encoded its item
//     (nothing is sent). A send cancelled while flushing has already encoded its item: the
//     bytes stay in the write buffer (never half-written: the Io transfers nothing for a
//     write that did not complete) and go out, once, with the next feed-over-the-mark, send
//     or flush.
//
// Lifetimes: a Framed owns its Io, codec and buffers. Awaitables from next(), feed(), send(),
// flush(), close() and the Stream from frames() borrow the Framed: await them at once (keep
// the Framed alive meanwhile). `into_inner()` returns the Io and drops buffered bytes;
// `into_parts()` returns everything (for protocol upgrades that hand over the bytes read ahead).
//
// Thread-safety: one reading task and one writing task may use a Framed at the same time
// (reading touches only the read buffer, the decoder state and io.read(); writing only the
// write buffer, the encoder and io.write()) when the Io allows one reader and one writer at a
// time (io/traits.h) and the codec's decode and encode share no state (true of every codec
// in this package). Two readers, or two writers, at once are a bug.
#ifndef KEEL_RUNTIME_CODEC_FRAMED_H_
#define KEEL_RUNTIME_CODEC_FRAMED_H_

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/bytes/bytes.h"
#include "runtime/codec/codec.h"
#include "runtime/io/traits.h"
#include "runtime/stream/stream.h"
#include "runtime/task/task.h"

namespace keel::codec {

// Bytes reserved for each read: one read brings at least this much when the peer sends it,
// while an idle connection's buffer stays small. 8 KiB, as tokio's INITIAL_CAPACITY.
inline constexpr std::size_t kReadReserve = 8 * 1024;
// The write buffer size over which feed() waits for writes (tokio's backpressure boundary).
// 128 KiB keeps a pipeline of small frames in few syscalls without buffering without bound.
inline constexpr std::size_t kDefaultHighWaterMark = 128 * 1024;

template <class Io, class Codec>
struct FramedParts {
  Io io;
  Codec codec;
  BytesMut read_buf;   // bytes read but not yet decoded
  BytesMut write_buf;  // bytes encoded but not yet written
};

template <class Io, class Codec>
class Framed {
 public:
  Framed(Io io, Codec codec) : io_(std::move(io)), codec_(std::move(codec)) {}
  explicit Framed(Io io)
    requires std::default_initializable<Codec>
      : io_(std::move(io)) {}
  // Resumes from parts (e.g. switching codecs over bytes already read).
  explicit Framed(FramedParts<Io, Codec> parts)
      : io_(std::move(parts.io)),
        codec_(std::move(parts.codec)),
        read_buf_(std::move(parts.read_buf)),
        write_buf_(std::move(parts.write_buf)),
        readable_(!read_buf_.empty()) {}

  Framed(Framed&&) = default;
  Framed& operator=(Framed&&) = default;
  Framed(const Framed&) = delete;
  Framed& operator=(const Framed&) = delete;

  // ---- reading ----

  // The next frame, an error (then the end), or nullopt at the end. Cancellation-safe.
  template <class C = Codec>
    requires io::AsyncRead<Io> && Decoder<C>
  Task<std::optional<absl::StatusOr<decoder_item_t<C>>>> next() {
    using Item = decoder_item_t<C>;
    using Out = std::optional<absl::StatusOr<Item>>;
    for (;;) {
      if (done_) co_return std::nullopt;
      if (eof_) {
        absl::StatusOr<std::optional<Item>> r = codec::decode_eof(codec_, read_buf_);
        if (!r.ok()) {
          done_ = true;
          co_return Out(r.status());
        }
        if (r->has_value()) co_return Out(std::move(**r));
        done_ = true;
        co_return std::nullopt;
      }
      if (readable_) {
        absl::StatusOr<std::optional<Item>> r = codec_.decode(read_buf_);
        if (!r.ok()) {
          done_ = true;
          co_return Out(r.status());
        }
        if (r->has_value()) co_return Out(std::move(**r));
        readable_ = false;  // nothing more to decode until more bytes arrive
      }
      read_buf_.reserve(kReadReserve);
      std::span<char> spare = read_buf_.spare();
      absl::StatusOr<std::size_t> n = co_await io_.read(spare);
      if (!n.ok()) {
        done_ = true;
        co_return Out(n.status());
      }
      if (*n == 0) {
        eof_ = true;
        continue;
      }
      read_buf_.commit(*n);
      readable_ = true;
    }
  }

  // next() as a Stream; it borrows *this (which must outlive it).
  template <class C = Codec>
    requires io::AsyncRead<Io> && Decoder<C>
  Stream<absl::StatusOr<decoder_item_t<C>>> frames() {
    for (;;) {
      Task<std::optional<absl::StatusOr<decoder_item_t<C>>>> t = next<C>();
      std::optional<absl::StatusOr<decoder_item_t<C>>> r = co_await std::move(t);
      if (!r.has_value()) co_return;
      co_yield std::move(*r);
    }
  }

  // ---- writing ----

  // Encodes `item` into the write buffer; first writes the buffer out when it is at or over
  // the high-water mark (backpressure). Does not flush the Io.
  template <class Item>
    requires io::AsyncWrite<Io> && Encoder<Codec, Item>
  Task<absl::Status> feed(Item item) {
    if (write_buf_.size() >= high_water_mark_) {
      absl::Status s = co_await write_out();
      if (!s.ok()) co_return s;
    }
    co_return codec_.encode(std::move(item), write_buf_);
  }

  // feed(item), then flush(): OK once the item was written to the Io.
  template <class Item>
    requires io::AsyncWrite<Io> && Encoder<Codec, Item>
  Task<absl::Status> send(Item item) {
    Task<absl::Status> fed = feed(std::move(item));
    absl::Status s = co_await std::move(fed);
    if (!s.ok()) co_return s;
    Task<absl::Status> flushed = flush();
    co_return co_await std::move(flushed);
  }

  // Writes every buffered byte, then flushes the Io.
  Task<absl::Status> flush()
    requires io::AsyncWrite<Io>
  {
    absl::Status s = co_await write_out();
    if (!s.ok()) co_return s;
    co_return co_await io_.flush();
  }

  // flush(), then shuts the Io's writing direction down (the peer reads end of stream).
  Task<absl::Status> close()
    requires io::AsyncWrite<Io>
  {
    absl::Status s = co_await write_out();
    if (!s.ok()) co_return s;
    co_return co_await io_.shutdown();
  }

  // ---- access ----

  Io& get_ref() { return io_; }
  const Io& get_ref() const { return io_; }
  Io& get_mut() { return io_; }
  Codec& codec() { return codec_; }
  const Codec& codec() const { return codec_; }
  // Bytes read and not yet decoded (e.g. to hand over to another protocol).
  BytesMut& read_buffer() { return read_buf_; }
  const BytesMut& read_buffer() const { return read_buf_; }
  // Bytes encoded and not yet written.
  BytesMut& write_buffer() { return write_buf_; }
  const BytesMut& write_buffer() const { return write_buf_; }
  std::size_t high_water_mark() const { return high_water_mark_; }
  // At least 1. A mark of 1 makes every feed() write out what was buffered before it.
  void set_high_water_mark(std::size_t n) { high_water_mark_ = n == 0 ? 1 : n; }

  // The Io; buffered bytes (read ahead, or not yet written) are dropped.
  Io into_inner() && { return std::move(io_); }
  FramedParts<Io, Codec> into_parts() && {
    return FramedParts<Io, Codec>{std::move(io_), std::move(codec_), std::move(read_buf_),
                                  std::move(write_buf_)};
  }

 private:
  // Writes the whole write buffer out (without flushing the Io).
  Task<absl::Status> write_out()
    requires io::AsyncWrite<Io>
  {
    while (!write_buf_.empty()) {
      std::span<const char> bytes = std::as_const(write_buf_).span();
      absl::StatusOr<std::size_t> n = co_await io_.write(bytes);
      if (!n.ok()) co_return n.status();
      if (*n == 0) {
        co_return absl::InternalError("Framed: write accepted no bytes from a non-empty buffer");
      }
      write_buf_.advance(*n);
    }
    co_return absl::OkStatus();
  }

  Io io_;
  Codec codec_;
  BytesMut read_buf_;
  BytesMut write_buf_;
  bool readable_ = false;  // the read buffer may hold a frame the codec has not seen
  bool eof_ = false;       // the Io gave end of stream
  bool done_ = false;      // the stream ended (after EOF drained, or an error)
  std::size_t high_water_mark_ = kDefaultHighWaterMark;
};

// Framed over a reader, for decoding only (the write operations need an AsyncWrite).
template <class R, class D>
class FramedRead : public Framed<R, D> {
 public:
  using Framed<R, D>::Framed;
};

// Framed over a writer, for encoding only (next() needs an AsyncRead).
template <class W, class E>
class FramedWrite : public Framed<W, E> {
 public:
  using Framed<W, E>::Framed;
};

template <class Io, class Codec>
Framed(Io, Codec) -> Framed<Io, Codec>;

// An owning Stream of the frames of `framed` (which it keeps alive).
template <class Io, class Codec>
  requires io::AsyncRead<Io> && Decoder<Codec>
Stream<absl::StatusOr<decoder_item_t<Codec>>> into_stream(Framed<Io, Codec> framed) {
  for (;;) {
    Task<std::optional<absl::StatusOr<decoder_item_t<Codec>>>> t = framed.next();
    std::optional<absl::StatusOr<decoder_item_t<Codec>>> r = co_await std::move(t);
    if (!r.has_value()) co_return;
    co_yield std::move(*r);
  }
}

}  // namespace keel::codec

#endif  // KEEL_RUNTIME_CODEC_FRAMED_H_
