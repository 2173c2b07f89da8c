// BufReader<R>: adds a read buffer to any AsyncRead, and line-oriented reading on top of it.
//
//   keel::io::BufReader reader(std::move(sock));          // owns the stream; 8 KiB buffer
//   std::string line;
//   absl::StatusOr<std::size_t> n = co_await reader.read_line(line);   // "GET / HTTP/1.1\r\n"
//
//   auto ls = keel::io::lines(reader, /*max_line_length=*/8192);  // Stream of lines
//   while (std::optional<absl::StatusOr<std::string>> l = co_await ls.next()) {
//     if (!l->ok()) { ... too long, or a read error: the stream has ended ... }
//     use(**l);                                                     // no "\n" / "\r\n"
//   }
//
// What it offers: `fill_buf()` (the buffered bytes, reading from R only when none are
// buffered; empty at end of stream) and `consume(n)` (AsyncBufRead, see util.h), `read()`
// (so a BufReader is itself an AsyncRead; reads at least as large as the buffer bypass it when
// it is empty), `read_until` / `read_line`, and `lines()`. If R is also AsyncWrite, write(),
// flush() and shutdown() are forwarded to it unbuffered, so a BufReader<TcpStream> is still a
// full-duplex stream.
//
// Invariants: the buffer holds bytes [pos_, filled_) not yet consumed, read from R in order
// and never handed out twice; R is read only when pos_ == filled_.
//
// Cancellation: fill_buf() and read() are cancellation-safe (a cancelled fill_buf consumed
// nothing from R, by R's own contract, and left the buffer as it was). read_until/read_line
// keep what they already read appended to `out` and consumed (call again to continue).
// lines()'s Stream is cancellation-safe as every Stream's next() is.
//
// Lifetimes: fill_buf()'s span and buffer() point into the BufReader: valid until the next
// call on it or its move. lines(reader) borrows `reader`, which must outlive the Stream.
// into_inner() discards the buffered bytes (read them first when they matter).
//
// Thread-safety: as R: one reader (and, when forwarding, one writer) at a time.
#ifndef KEEL_RUNTIME_IO_BUF_READER_H_
#define KEEL_RUNTIME_IO_BUF_READER_H_

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/io/traits.h"
#include "runtime/io/util.h"
#include "runtime/stream/stream.h"
#include "runtime/task/task.h"

namespace keel::io {

// The default buffer of BufReader and BufWriter: tokio's value; large enough to take a whole
// typical request or response header in one read, small enough to keep per connection.
inline constexpr std::size_t kDefaultBufCapacity = 8 * 1024;

template <AsyncRead R>
class BufReader {
 public:
  explicit BufReader(R inner, std::size_t capacity = kDefaultBufCapacity)
      : inner_(std::move(inner)),
        buf_(std::make_unique_for_overwrite<char[]>(capacity == 0 ? 1 : capacity)),
        cap_(capacity == 0 ? 1 : capacity) {}
  BufReader(BufReader&&) noexcept = default;
  BufReader& operator=(BufReader&&) noexcept = default;

  // The buffered bytes; when none are, reads once from R into the buffer (empty result: end of
  // stream).
  Task<absl::StatusOr<std::span<const char>>> fill_buf() {
    if (pos_ == filled_) {
      pos_ = filled_ = 0;
      absl::StatusOr<std::size_t> n = co_await inner_.read(std::span<char>(buf_.get(), cap_));
      if (!n.ok()) co_return n.status();
      filled_ = *n;
    }
    co_return buffer();
  }
  // Drops the first n buffered bytes. Aborts if n > buffer().size().
  void consume(std::size_t n) {
    if (n > filled_ - pos_) {
      std::fprintf(stderr, "keel::io::BufReader::consume: %zu bytes, but only %zu are buffered\n",
                   n, filled_ - pos_);
      std::abort();
    }
    pos_ += n;
  }
  // The buffered bytes, without reading.
  std::span<const char> buffer() const {
    return std::span<const char>(buf_.get() + pos_, filled_ - pos_);
  }
  std::size_t capacity() const { return cap_; }

  R& get_ref() { return inner_; }
  const R& get_ref() const { return inner_; }
  // The stream; buffered bytes are discarded.
  R into_inner() && { return std::move(inner_); }

  // AsyncRead: copies buffered bytes (filling the buffer first when it is empty).
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf) {
    if (pos_ == filled_ && buf.size() >= cap_) {
      // Nothing buffered and the caller's buffer is at least as big: skip the copy.
      pos_ = filled_ = 0;
      co_return co_await inner_.read(buf);
    }
    absl::StatusOr<std::span<const char>> avail = co_await fill_buf();
    if (!avail.ok()) co_return avail.status();
    std::size_t n = std::min(avail->size(), buf.size());
    if (n > 0) std::memcpy(buf.data(), avail->data(), n);
    consume(n);
    co_return n;
  }

  // See io::read_until (util.h): appends up to and including `delim`.
  Task<absl::StatusOr<std::size_t>> read_until(char delim, std::string& out,
                                               std::size_t max = kNoLimit) {
    return ::keel::io::read_until(*this, delim, out, max);
  }
  // Appends one line, "\n" included (0 at end of stream). RESOURCE_EXHAUSTED after `max`
  // bytes without a newline.
  Task<absl::StatusOr<std::size_t>> read_line(std::string& out, std::size_t max = kNoLimit) {
    return ::keel::io::read_until(*this, '\n', out, max);
  }

  // Forwarded, unbuffered, when R is also AsyncWrite.
  auto write(std::span<const char> buf)
    requires AsyncWrite<R>
  {
    return inner_.write(buf);
  }
  auto flush()
    requires AsyncWrite<R>
  {
    return inner_.flush();
  }
  auto shutdown()
    requires AsyncWrite<R>
  {
    return inner_.shutdown();
  }

 private:
  R inner_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t pos_ = 0;     // first unconsumed byte
  std::size_t filled_ = 0;  // end of the buffered bytes
};

namespace detail {
inline absl::Status line_too_long(std::size_t max_line_length) {
  return absl::ResourceExhaustedError(
      absl::StrCat("lines: a line is longer than ", max_line_length, " bytes"));
}
}  // namespace detail

// The lines of `reader` without their "\n" or "\r\n", as a Stream (the last line may lack the
// newline). A line longer than `max_line_length` bytes (terminator excluded) yields
// RESOURCE_EXHAUSTED ("lines: a line is longer than N bytes"); a read error is yielded as is;
// after an error the Stream ends. `reader` must outlive the Stream.
template <class R>
Stream<absl::StatusOr<std::string>> lines(BufReader<R>& reader,
                                          std::size_t max_line_length = kNoLimit) {
  // Room for "\r\n" after the longest allowed line.
  std::size_t limit = max_line_length >= kNoLimit - 2 ? kNoLimit : max_line_length + 2;
  for (;;) {
    std::string line;
    absl::StatusOr<std::size_t> n = co_await reader.read_until('\n', line, limit);
    if (!n.ok()) {
      absl::Status err = absl::IsResourceExhausted(n.status()) ? detail::line_too_long(max_line_length)
                                                               : n.status();
      co_yield err;
      co_return;
    }
    if (*n == 0) co_return;  // end of stream
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      if (!line.empty() && line.back() == '\r') line.pop_back();
    }
    if (line.size() > max_line_length) {
      absl::Status err = detail::line_too_long(max_line_length);
      co_yield err;
      co_return;
    }
    co_yield std::move(line);
  }
}

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_BUF_READER_H_
