// Tests of io::duplex on every flavour: transfer both ways, bounded buffering (partial writes,
// waiting while full or empty), end of stream on shutdown and on drop, the errors of writing
// after shutdown or to a dropped peer, cancellation of a pending read and of a pending write
// (nothing consumed, nothing written, the pipe still works), and a cross-task stress transfer
// checked byte for byte.

#include "runtime/io/duplex.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/io/split.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

// A JoinHandle<T>'s result (StatusOr<T>: an error if the task was aborted) with T itself a
// Status or StatusOr: one level.
template <class T>
T flatten(absl::StatusOr<T> r) {
  if (!r.ok()) return T(r.status());
  return std::move(*r);
}


Task<absl::StatusOr<std::size_t>> read_into(DuplexStream& s, std::string& out, std::size_t n) {
  out.resize(n);
  absl::StatusOr<std::size_t> r = co_await s.read(std::span<char>(out));
  out.resize(r.ok() ? *r : 0);
  co_return r;
}

Task<absl::StatusOr<std::size_t>> write_str(DuplexStream& s, std::string data) {
  co_return co_await s.write(std::span<const char>(data.data(), data.size()));
}

KEEL_TEST(Duplex, TransfersBothWays) {
  auto [a, b] = duplex(64);
  KEEL_ASSERT_OK(co_await write_all(a, "hello"));
  KEEL_ASSERT_OK(co_await write_all(b, "world!"));
  std::string got;
  absl::StatusOr<std::size_t> n = co_await read_into(b, got, 100);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(got, "hello");
  n = co_await read_into(a, got, 3);  // a smaller buffer: a partial read
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(got, "wor");
  n = co_await read_into(a, got, 100);
  EXPECT_EQ(got, "ld!");
  // Empty buffers complete at once with 0.
  n = co_await read_into(a, got, 0);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
  n = co_await write_str(a, "");
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
  KEEL_ASSERT_OK(co_await a.flush());
}

KEEL_TEST(Duplex, WriteIsBoundedByCapacity) {
  auto [a, b] = duplex(4);
  absl::StatusOr<std::size_t> n = co_await write_str(a, "abcdef");
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);  // only what fits
  std::string got;
  n = co_await read_into(b, got, 2);
  EXPECT_EQ(got, "ab");
  n = co_await write_str(a, "efgh");  // wraps around the ring
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);
  n = co_await read_into(b, got, 10);
  EXPECT_EQ(got, "cdef");
}

Task<absl::StatusOr<std::string>> read_all(DuplexStream s) {
  co_return co_await read_to_string(s);
}

KEEL_TEST(Duplex, ReaderWaitsForWriterAndSeesEofOnShutdown) {
  auto [a, b] = duplex(8);
  JoinHandle<absl::StatusOr<std::string>> h = spawn(read_all(std::move(b)));
  std::string data(1000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  KEEL_ASSERT_OK(co_await write_all(a, data));  // waits while the reader drains
  KEEL_ASSERT_OK(co_await a.shutdown());
  absl::StatusOr<std::string> got = flatten(co_await std::move(h));
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, data);
  // Writing after shutdown fails, naming the cause.
  absl::StatusOr<std::size_t> n = co_await write_str(a, "late");
  EXPECT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "write duplex: the stream was shut down"))
      << n.status();
}

KEEL_TEST(Duplex, DroppingAnEndGivesEofAndBrokenPipe) {
  auto [a, b] = duplex(8);
  KEEL_ASSERT_OK(co_await write_all(b, "bye"));
  { DuplexStream gone = std::move(b); }
  std::string got;
  absl::StatusOr<std::size_t> n = co_await read_into(a, got, 10);
  EXPECT_EQ(got, "bye");  // what was buffered is still read
  n = co_await read_into(a, got, 10);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);  // then end of stream
  n = co_await write_str(a, "anyone?");
  EXPECT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "write duplex: the other end was dropped"))
      << n.status();
}

Task<absl::StatusOr<std::size_t>> write_owned(DuplexStream s, std::string data) {
  co_return co_await s.write(std::span<const char>(data.data(), data.size()));
}

Task<absl::StatusOr<std::size_t>> read_owned(DuplexStream s) {
  char buf[16];
  co_return co_await s.read(std::span<char>(buf));
}

KEEL_TEST(Duplex, PendingWriteFailsWhenPeerIsDropped) {
  auto [a, b] = duplex(2);
  KEEL_ASSERT_OK(co_await write_all(a, "xx"));  // full
  JoinHandle<absl::StatusOr<std::size_t>> h = spawn(write_owned(std::move(a), "more"));
  co_await ::keel::testing::settle(20);  // (the write waits: the buffer is full)
  EXPECT_FALSE(h.is_finished());
  { DuplexStream gone = std::move(b); }
  absl::StatusOr<std::size_t> n = flatten(co_await std::move(h));
  EXPECT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "the other end was dropped")) << n.status();
}

KEEL_TEST(Duplex, PendingReadSeesEofWhenPeerIsDropped) {
  auto [a, b] = duplex(2);
  JoinHandle<absl::StatusOr<std::size_t>> h = spawn(read_owned(std::move(a)));
  co_await ::keel::testing::settle(20);
  EXPECT_FALSE(h.is_finished());  // nothing was written: it cannot have finished
  { DuplexStream gone = std::move(b); }
  absl::StatusOr<std::size_t> n = flatten(co_await std::move(h));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
}

KEEL_TEST(Duplex, CancelledReadConsumesNothing) {
  time::pause();
  auto [a, b] = duplex(16);
  std::string got;
  // The read waits (nothing buffered) until the timeout destroys it.
  absl::StatusOr<std::size_t> r =
      co_await timeout(std::chrono::milliseconds(10), read_into(a, got, 10));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  // A read cancelled by select against a ready branch, after it registered.
  auto s = co_await select(read_into(a, got, 10), ::keel::testing::settle(1));
  EXPECT_EQ(s.index(), 1u);
  // The pipe still works, and the next read gets everything.
  KEEL_ASSERT_OK(co_await write_all(b, "data"));
  absl::StatusOr<std::size_t> n = co_await read_into(a, got, 10);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(got, "data");
}

KEEL_TEST(Duplex, CancelledWriteWritesNothing) {
  time::pause();
  auto [a, b] = duplex(4);
  KEEL_ASSERT_OK(co_await write_all(a, "abcd"));  // full
  absl::StatusOr<std::size_t> r =
      co_await timeout(std::chrono::milliseconds(10), write_str(a, "XYZ"));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  auto s = co_await select(write_str(a, "QRS"), ::keel::testing::settle(1));
  EXPECT_EQ(s.index(), 1u);
  KEEL_ASSERT_OK(co_await a.shutdown());
  absl::StatusOr<std::string> all = co_await read_to_string(b);
  KEEL_ASSERT_OK(all);
  EXPECT_EQ(*all, "abcd");  // none of the cancelled writes' bytes
}

Task<absl::Status> drip(DuplexStream s, int n) {
  for (int i = 0; i < n; ++i) {
    char c = static_cast<char>('a' + i % 26);
    absl::Status st = co_await write_all(s, std::span<const char>(&c, 1));
    if (!st.ok()) co_return st;
    co_await yield_now();
  }
  co_return co_await s.shutdown();
}

// Reads are cancelled over and over while another task's writes wake them: whichever wins a
// race, no byte may be lost or duplicated (a read that did not complete consumed nothing).
KEEL_TEST(Duplex, CancelRacingWithWakeLosesNothing) {
  constexpr int kBytes = 500;
  auto [a, b] = duplex(3);
  JoinHandle<absl::Status> h = spawn(drip(std::move(b), kBytes));
  std::string collected;
  for (;;) {
    std::string got;
    Task<absl::StatusOr<std::size_t>> rd = read_into(a, got, 2);
    Task<void> other = ::keel::testing::settle(1);
    auto s = co_await select(std::move(rd), std::move(other));
    if (s.index() != 0) continue;
    absl::StatusOr<std::size_t> n = std::get<0>(std::move(s));
    KEEL_ASSERT_OK(n);
    if (*n == 0) break;
    collected += got;
  }
  KEEL_ASSERT_OK(flatten(co_await std::move(h)));
  std::string want;
  for (int i = 0; i < kBytes; ++i) want.push_back(static_cast<char>('a' + i % 26));
  EXPECT_EQ(collected, want);
}

template <class W>
Task<absl::Status> pump_out(W w, std::size_t total, std::uint32_t seed) {
  std::string chunk;
  std::size_t sent = 0;
  while (sent < total) {
    seed = seed * 1103515245u + 12345u;
    std::size_t n = std::min<std::size_t>(1 + (seed >> 16) % 300, total - sent);
    chunk.resize(n);
    for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<char>((sent + i) % 251);
    absl::Status st = co_await write_all(w, chunk);
    if (!st.ok()) co_return st;
    sent += n;
  }
  co_return co_await w.shutdown();
}

template <class R>
Task<absl::StatusOr<std::size_t>> pump_in(R r) {
  std::size_t got = 0;
  char buf[177];
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return got;
    for (std::size_t i = 0; i < *n; ++i) {
      if (buf[i] != static_cast<char>((got + i) % 251)) {
        co_return absl::DataLossError(absl::StrCat("byte ", got + i, " is wrong"));
      }
    }
    got += *n;
  }
}

// Both directions at once; each end's reader and writer are separate tasks (split halves),
// so on multi_thread(4) the four run on different workers against small rings.
KEEL_TEST(Duplex, StressBothDirectionsAcrossThreads) {
  constexpr std::size_t kTotal = 256 * 1024;
  auto [a, b] = duplex(97);
  auto [ar, aw] = split(std::move(a));
  auto [br, bw] = split(std::move(b));
  auto wa = spawn(pump_out(std::move(aw), kTotal, 1));
  auto wb = spawn(pump_out(std::move(bw), kTotal, 2));
  auto ra = spawn(pump_in(std::move(ar)));
  auto rb = spawn(pump_in(std::move(br)));
  absl::Status sa = flatten(co_await std::move(wa));
  absl::Status sb = flatten(co_await std::move(wb));
  KEEL_ASSERT_OK(sa);
  KEEL_ASSERT_OK(sb);
  absl::StatusOr<std::size_t> na = flatten(co_await std::move(ra));
  absl::StatusOr<std::size_t> nb = flatten(co_await std::move(rb));
  KEEL_ASSERT_OK(na);
  KEEL_ASSERT_OK(nb);
  EXPECT_EQ(*na, kTotal);
  EXPECT_EQ(*nb, kTotal);
}

}  // namespace
}  // namespace keel::io
