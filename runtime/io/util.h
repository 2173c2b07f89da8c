// The io utilities every protocol layer uses, written once against the AsyncRead/AsyncWrite
// concepts (runtime/io/traits.h), the analogue of tokio's AsyncReadExt/AsyncWriteExt:
//
//   read(r, buf)                    one read: StatusOr<size_t> (0 at end of stream)
//   read_exact(r, buf)              fills `buf` completely, or fails (OUT_OF_RANGE at early EOF)
//   read_to_end(r, out[, max])      appends everything up to end of stream to a std::string or
//                                   a BytesMut; RESOURCE_EXHAUSTED past `max` bytes
//   read_to_string(r[, max])        the same, into a new std::string
//   read_until(r, delim, out[, max])  appends up to and including `delim`
//   write_all(w, bytes)             writes every byte (looping over short writes)
//   flush(w), shutdown(w)
//
//   std::string header(4, '\0');
//   KEEL_ASSERT_OK(co_await keel::io::read_exact(sock, std::span<char>(header)));
//   KEEL_ASSERT_OK(co_await keel::io::write_all(sock, "PONG\r\n"));
//
// Each is a Task that borrows the stream and the buffers by reference: await it at once (the
// stream and buffers must outlive the await), as with the streams' own operations.
//
// Cancellation (destroying the awaiting task mid-operation): every function leaves the stream
// usable, but those that loop over several reads or writes are not atomic: read_exact and
// write_all may have transferred part of the buffer; read_to_end, read_to_string's inner loop
// and read_until keep what they read so far appended to `out` (never padding or garbage).
//
// Errors: a failing read or write is returned as is (its message names the stream); the
// utilities' own errors name the utility ("read_exact: unexpected end of stream after 3 of 8
// bytes").
//
// read_until on an AsyncBufRead stream (a BufReader: it has fill_buf() and consume()) scans
// the buffer; on a plain AsyncRead it has to read one byte at a time (it cannot give back what
// it read past the delimiter): wrap the stream in a BufReader for anything but tests.
//
// Thread-safety: as the stream's: one reader and one writer at a time.
#ifndef KEEL_RUNTIME_IO_UTIL_H_
#define KEEL_RUNTIME_IO_UTIL_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/bytes/bytes.h"
#include "runtime/io/traits.h"
#include "runtime/task/task.h"

namespace keel::io {

// "No maximum" for the functions that take one.
inline constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();
// How much read_to_end asks for per read when the output has no spare room: large enough that
// a big body takes few reads, small enough not to overshoot a small one by much.
inline constexpr std::size_t kReadToEndChunk = 8 * 1024;

// A buffered reader: fill_buf() gives the buffered bytes (reading more when none are
// buffered; empty at end of stream), consume(n) drops n of them. BufReader is one.
template <class R>
concept AsyncBufRead = AsyncRead<R> && requires(R& r, std::size_t n) {
  { r.fill_buf() } -> AwaitableOf<absl::StatusOr<std::span<const char>>>;
  r.consume(n);
};

namespace detail {

// Spans of char or const char only: strings and literals go to the string_view overloads
// instead of being ambiguous between the two.
template <class S>
concept CharSpan = std::same_as<S, std::span<const char>> || std::same_as<S, std::span<char>>;

// Trims a std::string back to what was really read when read_to_end stops, including when
// its coroutine is destroyed mid-read (cancellation): no zero padding is left behind.
struct TrimOnExit {
  std::string& s;
  const std::size_t& keep;
  ~TrimOnExit() { s.resize(keep); }
};

inline absl::Status write_zero_error(const char* op, std::size_t done, std::size_t total) {
  return absl::UnavailableError(
      absl::StrCat(op, ": the stream accepted no bytes after ", done, " of ", total, " bytes"));
}

}  // namespace detail

// One read: bytes placed at the front of `buf`, or 0 at end of stream.
template <AsyncRead R>
Task<absl::StatusOr<std::size_t>> read(R& r, std::span<char> buf) {
  co_return co_await r.read(buf);
}

// Reads exactly buf.size() bytes. OUT_OF_RANGE when the stream ends first.
template <AsyncRead R>
Task<absl::Status> read_exact(R& r, std::span<char> buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    absl::StatusOr<std::size_t> n = co_await r.read(buf.subspan(done));
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      co_return absl::OutOfRangeError(absl::StrCat("read_exact: unexpected end of stream after ",
                                                   done, " of ", buf.size(), " bytes"));
    }
    done += *n;
  }
  co_return absl::OkStatus();
}

// Appends everything up to end of stream to `out`; gives the number of bytes appended.
// RESOURCE_EXHAUSTED (with the first `max` + some bytes appended) when the stream holds more
// than `max` bytes: it never grows `out` by much more than `max`.
template <AsyncRead R>
Task<absl::StatusOr<std::size_t>> read_to_end(R& r, std::string& out, std::size_t max = kNoLimit) {
  std::size_t committed = out.size();
  detail::TrimOnExit trim{out, committed};
  std::size_t total = 0;
  for (;;) {
    std::size_t want = std::max(kReadToEndChunk, out.capacity() - out.size());
    if (max != kNoLimit) want = std::min(want, max - total + 1);
    out.resize(committed + want);
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(out.data() + committed, want));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return total;
    committed += *n;
    total += *n;
    if (total > max) {
      co_return absl::ResourceExhaustedError(
          absl::StrCat("read_to_end: the stream holds more than ", max, " bytes"));
    }
  }
}

// The same into a BytesMut (read straight into its spare capacity).
template <AsyncRead R>
Task<absl::StatusOr<std::size_t>> read_to_end(R& r, BytesMut& out, std::size_t max = kNoLimit) {
  std::size_t total = 0;
  for (;;) {
    std::size_t want = kReadToEndChunk;
    if (max != kNoLimit) want = std::min(want, max - total + 1);
    out.reserve(want);
    std::span<char> spare = out.spare();
    if (max != kNoLimit) spare = spare.first(std::min(spare.size(), max - total + 1));
    absl::StatusOr<std::size_t> n = co_await r.read(spare);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return total;
    out.commit(*n);
    total += *n;
    if (total > max) {
      co_return absl::ResourceExhaustedError(
          absl::StrCat("read_to_end: the stream holds more than ", max, " bytes"));
    }
  }
}

// Everything up to end of stream as a new string (RESOURCE_EXHAUSTED past `max` bytes).
template <AsyncRead R>
Task<absl::StatusOr<std::string>> read_to_string(R& r, std::size_t max = kNoLimit) {
  std::string out;
  absl::StatusOr<std::size_t> n = co_await read_to_end(r, out, max);
  if (!n.ok()) co_return n.status();
  co_return out;
}

// Appends bytes to `out` up to and including the first `delim` (or up to end of stream);
// gives how many were appended (0 only at end of stream). RESOURCE_EXHAUSTED when `max` bytes
// were appended without finding `delim`: `out` then holds those bytes and the rest of the
// line is still unread.
template <AsyncRead R>
Task<absl::StatusOr<std::size_t>> read_until(R& r, char delim, std::string& out,
                                             std::size_t max = kNoLimit) {
  std::size_t total = 0;
  auto too_long = [&] {
    return absl::ResourceExhaustedError(absl::StrCat(
        "read_until: no delimiter within ", max, " bytes"));
  };
  if constexpr (AsyncBufRead<R>) {
    for (;;) {
      absl::StatusOr<std::span<const char>> buf = co_await r.fill_buf();
      if (!buf.ok()) co_return buf.status();
      if (buf->empty()) co_return total;  // end of stream
      const char* hit = static_cast<const char*>(std::memchr(buf->data(), delim, buf->size()));
      std::size_t take = hit != nullptr ? static_cast<std::size_t>(hit - buf->data()) + 1 : buf->size();
      bool found = hit != nullptr;
      if (take > max - total) {
        take = max - total;
        found = false;
      }
      out.append(buf->data(), take);
      r.consume(take);
      total += take;
      if (found) co_return total;
      if (total == max) co_return too_long();
    }
  } else {
    char c;
    for (;;) {
      if (total == max) co_return too_long();
      absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(&c, 1));
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return total;
      out.push_back(c);
      ++total;
      if (c == delim) co_return total;
    }
  }
}

// Writes every byte of `buf` (looping over short writes). UNAVAILABLE if the stream accepts
// no byte.
template <AsyncWrite W, detail::CharSpan Span>
Task<absl::Status> write_all(W& w, Span buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    absl::StatusOr<std::size_t> n = co_await w.write(std::span<const char>(buf).subspan(done));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return detail::write_zero_error("write_all", done, buf.size());
    done += *n;
  }
  co_return absl::OkStatus();
}

template <AsyncWrite W>
Task<absl::Status> write_all(W& w, std::string_view s) {
  co_return co_await write_all(w, std::span<const char>(s.data(), s.size()));
}

template <AsyncWrite W>
Task<absl::Status> flush(W& w) {
  co_return co_await w.flush();
}

template <AsyncWrite W>
Task<absl::Status> shutdown(W& w) {
  co_return co_await w.shutdown();
}

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_UTIL_H_
