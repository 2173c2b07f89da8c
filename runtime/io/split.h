// split(stream): separates a full-duplex stream into a read half and a write half that can
// live in different tasks, even on different threads; unsplit() puts them back together.
//
//   auto [rd, wr] = keel::io::split(std::move(sock));
//   auto h = keel::spawn(pump_replies(std::move(rd)));   // reads in its own task
//   KEEL_ASSERT_OK(co_await keel::io::write_all(wr, request));
//   ...
//   Sock sock = keel::io::unsplit(co_await std::move(h), std::move(wr));
//
// The halves share ownership of the stream (a std::shared_ptr): it lives until both are gone
// or unsplit. ReadHalf<S> is AsyncRead (read() is S's read); WriteHalf<S> is AsyncWrite
// (write/flush/shutdown are S's). No lock is added: the halves call S directly, so S must
// tolerate one reader and one writer at the same time from different threads. The io
// contract (traits.h) requires that of every full-duplex stream, and Keel's sockets,
// DuplexStream and MockStream meet it; a stream that does not (one whose reads and writes
// share unsynchronized state, such as a TLS session) must not be split this way.
//
// Thread-safety: each half belongs to one task at a time; the two halves may be used at once.
#ifndef KEEL_RUNTIME_IO_SPLIT_H_
#define KEEL_RUNTIME_IO_SPLIT_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <utility>

#include "runtime/io/traits.h"

namespace keel::io {

template <class S>
class WriteHalf;

template <class S>
class ReadHalf {
 public:
  auto read(std::span<char> buf) { return stream_->read(buf); }
  // Whether `w` came from the same split().
  bool is_pair_of(const WriteHalf<S>& w) const { return stream_ == w.stream_; }

 private:
  template <class T>
    requires AsyncRead<T> && AsyncWrite<T>
  friend std::pair<ReadHalf<T>, WriteHalf<T>> split(T stream);
  template <class T>
  friend T unsplit(ReadHalf<T> r, WriteHalf<T> w);
  friend class WriteHalf<S>;
  explicit ReadHalf(std::shared_ptr<S> s) : stream_(std::move(s)) {}

  std::shared_ptr<S> stream_;
};

template <class S>
class WriteHalf {
 public:
  auto write(std::span<const char> buf) { return stream_->write(buf); }
  auto flush() { return stream_->flush(); }
  auto shutdown() { return stream_->shutdown(); }
  bool is_pair_of(const ReadHalf<S>& r) const { return stream_ == r.stream_; }

 private:
  template <class T>
    requires AsyncRead<T> && AsyncWrite<T>
  friend std::pair<ReadHalf<T>, WriteHalf<T>> split(T stream);
  template <class T>
  friend T unsplit(ReadHalf<T> r, WriteHalf<T> w);
  friend class ReadHalf<S>;
  explicit WriteHalf(std::shared_ptr<S> s) : stream_(std::move(s)) {}

  std::shared_ptr<S> stream_;
};

// Splits `stream` (moved into shared ownership) into its two halves.
template <class S>
  requires AsyncRead<S> && AsyncWrite<S>
std::pair<ReadHalf<S>, WriteHalf<S>> split(S stream) {
  auto shared = std::make_shared<S>(std::move(stream));
  return {ReadHalf<S>(shared), WriteHalf<S>(shared)};
}

// The stream back from its two halves. Aborts if they come from different split() calls
// (or were moved from).
template <class S>
S unsplit(ReadHalf<S> r, WriteHalf<S> w) {
  if (r.stream_ == nullptr || r.stream_ != w.stream_) {
    std::fprintf(stderr, "keel::io::unsplit: the halves do not come from the same split()\n");
    std::abort();
  }
  S s = std::move(*r.stream_);
  r.stream_.reset();
  w.stream_.reset();
  return s;
}

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_SPLIT_H_
