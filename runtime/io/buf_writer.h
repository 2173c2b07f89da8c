// BufWriter<W>: adds a write buffer to any AsyncWrite, so that many small writes become few
// large ones.
//
//   keel::io::BufWriter writer(std::move(sock));              // owns the stream; 8 KiB
//   KEEL_ASSERT_OK(co_await keel::io::write_all(writer, "HTTP/1.1 200 OK\r\n"));
//   KEEL_ASSERT_OK(co_await keel::io::write_all(writer, headers));
//   KEEL_ASSERT_OK(co_await writer.flush());                  // now it is on the wire
//
// What it offers: write() (copies into the buffer; when the bytes do not fit, first writes
// the buffer out; a write at least as large as the buffer then goes straight to W), flush()
// (writes the buffer out, then flushes W), shutdown() (flush, then W's shutdown). Bytes are
// only guaranteed to reach W after flush() or shutdown(): drop a BufWriter without flushing
// and its buffered bytes are lost. If W is also AsyncRead, read() is forwarded to it, so a
// BufWriter<TcpStream> is still a full-duplex stream.
//
// Invariants: the buffer holds bytes [pos_, filled_) accepted by write() and not yet written
// to W, in order; pos_ advances as W accepts them, so a failed or cancelled flush loses and
// repeats nothing.
//
// Cancellation: a cancelled write() accepted none of its caller's bytes (they are copied into
// the buffer, or written through, only in the step that completes it); it may have written
// out part of the buffer (progress is recorded). flush() and shutdown() may be retried.
//
// Errors: W's errors as they are; a W that accepts no byte gives UNAVAILABLE ("BufWriter
// flush: the stream accepted no bytes after ...").
//
// Lifetimes: into_inner() discards buffered bytes (flush first). buffer() points into the
// BufWriter until its next call or move.
//
// Thread-safety: as W: one writer (and, when forwarding, one reader) at a time.
#ifndef KEEL_RUNTIME_IO_BUF_WRITER_H_
#define KEEL_RUNTIME_IO_BUF_WRITER_H_

#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/io/buf_reader.h"
#include "runtime/io/traits.h"
#include "runtime/io/util.h"
#include "runtime/task/task.h"

namespace keel::io {

template <AsyncWrite W>
class BufWriter {
 public:
  explicit BufWriter(W inner, std::size_t capacity = kDefaultBufCapacity)
      : inner_(std::move(inner)),
        buf_(std::make_unique_for_overwrite<char[]>(capacity == 0 ? 1 : capacity)),
        cap_(capacity == 0 ? 1 : capacity) {}
  BufWriter(BufWriter&&) noexcept = default;
  BufWriter& operator=(BufWriter&&) noexcept = default;

  // AsyncWrite: accepts all of `buf` (buffered, or written through when it is at least as large
  // as the buffer, in which case W may accept fewer).
  Task<absl::StatusOr<std::size_t>> write(std::span<const char> buf) {
    if (buf.empty()) co_return std::size_t{0};
    if (filled_ + buf.size() > cap_) {
      absl::Status s = co_await flush_buf();
      if (!s.ok()) co_return s;
    }
    if (buf.size() >= cap_) co_return co_await inner_.write(buf);
    std::memcpy(buf_.get() + filled_, buf.data(), buf.size());
    filled_ += buf.size();
    co_return buf.size();
  }
  // Writes the buffer out, then flushes W.
  Task<absl::Status> flush() {
    absl::Status s = co_await flush_buf();
    if (!s.ok()) co_return s;
    co_return co_await inner_.flush();
  }
  // Writes the buffer out, then shuts W down.
  Task<absl::Status> shutdown() {
    absl::Status s = co_await flush_buf();
    if (!s.ok()) co_return s;
    co_return co_await inner_.shutdown();
  }

  // The bytes accepted and not yet written to W.
  std::span<const char> buffer() const {
    return std::span<const char>(buf_.get() + pos_, filled_ - pos_);
  }
  std::size_t capacity() const { return cap_; }
  W& get_ref() { return inner_; }
  const W& get_ref() const { return inner_; }
  // The stream; buffered bytes are discarded.
  W into_inner() && { return std::move(inner_); }

  // Forwarded when W is also AsyncRead.
  auto read(std::span<char> buf)
    requires AsyncRead<W>
  {
    return inner_.read(buf);
  }

 private:
  // Writes [pos_, filled_) to W, recording progress as it goes; empties the buffer on success.
  Task<absl::Status> flush_buf() {
    std::size_t total = filled_ - pos_;
    while (pos_ < filled_) {
      absl::StatusOr<std::size_t> n =
          co_await inner_.write(std::span<const char>(buf_.get() + pos_, filled_ - pos_));
      if (!n.ok()) co_return n.status();
      if (*n == 0) {
        co_return detail::write_zero_error("BufWriter flush", total - (filled_ - pos_), total);
      }
      pos_ += *n;
    }
    pos_ = filled_ = 0;
    co_return absl::OkStatus();
  }

  W inner_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t pos_ = 0;     // first byte not yet written to W
  std::size_t filled_ = 0;  // end of the accepted bytes
};

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_BUF_WRITER_H_
