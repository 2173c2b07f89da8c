// Tests of io::copy and io::copy_bidirectional on every flavour: byte counts and content,
// flush at the end, errors from either side (with the other direction stopped), large
// transfers through small duplex pipes (8 MiB through duplex(64); less under sanitizers,
// which slow each of the ~10^5 hand-offs), and cancellation (timeout) leaving the streams
// usable.

#include "runtime/io/copy.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/io/duplex.h"
#include "runtime/io/mock.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

#if defined(KEEL_SANITIZER)
constexpr std::size_t kLarge = 1024 * 1024;
#else
constexpr std::size_t kLarge = 8 * 1024 * 1024;
#endif

template <class T>
T flatten(absl::StatusOr<T> r) {
  if (!r.ok()) return T(r.status());
  return std::move(*r);
}

KEEL_TEST(Copy, CopiesUntilEofAndFlushes) {
  MockStream src = MockBuilder().read("abc").read("defg").build();
  auto [a, b] = duplex(1024);
  absl::StatusOr<std::uint64_t> n = co_await copy(src, a);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 7u);
  KEEL_ASSERT_OK(co_await a.shutdown());
  absl::StatusOr<std::string> got = co_await read_to_string(b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "abcdefg");
}

KEEL_TEST(Copy, PropagatesErrors) {
  MockStream src = MockBuilder().read("abc").read_error(absl::UnavailableError("read src: reset")).build();
  MockStream dst = MockBuilder().write("abc").build();
  absl::StatusOr<std::uint64_t> n = co_await copy(src, dst);
  EXPECT_TRUE(absl::IsUnavailable(n.status())) << n.status();
  EXPECT_EQ(n.status().message(), "read src: reset");
  MockStream src2 = MockBuilder().read("abc").build();
  MockStream dst2 = MockBuilder().write_error(absl::AbortedError("write dst: closed")).build();
  n = co_await copy(src2, dst2);
  EXPECT_TRUE(absl::IsAborted(n.status())) << n.status();
}

// Writes `total` bytes of a known pattern (offset by `salt`), then shuts down.
template <class W>
Task<absl::Status> produce(W& w, std::size_t total, int salt) {
  std::string chunk(4096 + salt, '\0');
  std::size_t sent = 0;
  while (sent < total) {
    std::size_t n = std::min(chunk.size(), total - sent);
    for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<char>((sent + i + salt) % 253);
    absl::Status s = co_await write_all(w, std::string_view(chunk.data(), n));
    if (!s.ok()) co_return s;
    sent += n;
  }
  co_return co_await w.shutdown();
}

// Reads to end of stream, checking the pattern; gives the count.
template <class R>
Task<absl::StatusOr<std::size_t>> consume_all(R& r, int salt) {
  std::string buf(3000, '\0');
  std::size_t got = 0;
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return got;
    for (std::size_t i = 0; i < *n; ++i) {
      if (buf[i] != static_cast<char>((got + i + salt) % 253)) {
        co_return absl::DataLossError(absl::StrCat("byte ", got + i, " differs"));
      }
    }
    got += *n;
  }
}

// One end of the proxied connection: sends `out` bytes and receives until end of stream.
Task<absl::StatusOr<std::size_t>> peer(DuplexStream s, std::size_t out, int salt_out, int salt_in) {
  Task<absl::Status> w = produce(s, out, salt_out);
  Task<absl::StatusOr<std::size_t>> r = consume_all(s, salt_in);
  auto [ws, rs] = co_await join(std::move(w), std::move(r));
  if (!ws.ok()) co_return ws;
  co_return rs;
}

Task<absl::StatusOr<std::pair<std::uint64_t, std::uint64_t>>> proxy(DuplexStream a, DuplexStream b) {
  co_return co_await copy_bidirectional(a, b);
}

KEEL_TEST(Copy, BidirectionalLargeTransferThroughSmallPipes) {
  auto [client, proxy_a] = duplex(64);
  auto [proxy_b, server] = duplex(64);
  auto hp = spawn(proxy(std::move(proxy_a), std::move(proxy_b)));
  auto hc = spawn(peer(std::move(client), kLarge, 1, 2));
  auto hs = spawn(peer(std::move(server), kLarge / 2, 2, 1));
  absl::StatusOr<std::size_t> c = flatten(co_await std::move(hc));
  absl::StatusOr<std::size_t> s = flatten(co_await std::move(hs));
  auto p = flatten(co_await std::move(hp));
  KEEL_ASSERT_OK(c);
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_OK(p);
  EXPECT_EQ(*c, kLarge / 2);  // the client received what the server sent
  EXPECT_EQ(*s, kLarge);
  EXPECT_EQ(p->first, kLarge);
  EXPECT_EQ(p->second, kLarge / 2);
}

KEEL_TEST(Copy, BidirectionalStopsAtFirstError) {
  // b fails its read while a's direction still waits for data that never comes: the error
  // must end the whole copy (the pending direction is cancelled).
  auto [a, a_peer] = duplex(64);
  MockStream b = MockBuilder().read("x").read_error(absl::UnavailableError("read b: reset")).build();
  absl::StatusOr<std::pair<std::uint64_t, std::uint64_t>> r = co_await copy_bidirectional(a, b);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(r.status().message(), "read b: reset");
  char c;
  absl::StatusOr<std::size_t> n = co_await a_peer.read(std::span<char>(&c, 1));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(c, 'x');  // what was copied before the error arrived
}

KEEL_TEST(Copy, CancelledCopyLeavesStreamsUsable) {
  time::pause();
  auto [src, src_peer] = duplex(64);
  auto [dst, dst_peer] = duplex(64);
  KEEL_ASSERT_OK(co_await write_all(src_peer, "before"));
  // No end of stream: copy waits for more and is cancelled.
  auto t = co_await timeout(std::chrono::milliseconds(10), copy(src, dst));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t.status())) << t.status();
  std::string got(6, '\0');
  KEEL_ASSERT_OK(co_await read_exact(dst_peer, std::span<char>(got)));
  EXPECT_EQ(got, "before");
  // copy_bidirectional cancelled the same way.
  auto t2 = co_await timeout(std::chrono::milliseconds(10), copy_bidirectional(src, dst));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2.status())) << t2.status();
  // Both streams still work.
  KEEL_ASSERT_OK(co_await write_all(src_peer, "after"));
  KEEL_ASSERT_OK(co_await src_peer.shutdown());
  absl::StatusOr<std::uint64_t> n = co_await copy(src, dst);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 5u);
}

}  // namespace
}  // namespace keel::io
