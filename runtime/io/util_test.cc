// Tests of the io utilities (util.h) on every flavour, over MockStream (scripted partial reads,
// errors) and duplex pipes: read_exact (short stream, errors), read_to_end into std::string
// and BytesMut (limits, cancellation leaves no padding), read_to_string, read_until on a plain
// AsyncRead, write_all over short writes and failing writes, flush and shutdown.

#include "runtime/io/util.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/io/duplex.h"
#include "runtime/io/mock.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

template <class W>
Task<absl::Status> write_then_shutdown(W& w, std::string data) {
  absl::Status s = co_await write_all(w, data);
  if (!s.ok()) co_return s;
  co_return co_await w.shutdown();
}

KEEL_TEST(IoUtil, ReadExactAcrossPartialReads) {
  MockStream m = MockBuilder().read("ab").read("cde").read("f").build();
  std::string buf(5, '\0');
  KEEL_ASSERT_OK(co_await read_exact(m, std::span<char>(buf)));
  EXPECT_EQ(buf, "abcde");
  std::string one(1, '\0');
  absl::StatusOr<std::size_t> n = co_await read(m, std::span<char>(one));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(one, "f");
}

KEEL_TEST(IoUtil, ReadExactReportsEarlyEnd) {
  MockStream m = MockBuilder().read("abc").build();
  std::string buf(8, '\0');
  absl::Status s = co_await read_exact(m, std::span<char>(buf));
  EXPECT_TRUE(absl::IsOutOfRange(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "read_exact: unexpected end of stream after 3 of 8 bytes"))
      << s;
}

KEEL_TEST(IoUtil, ReadExactPropagatesErrors) {
  MockStream m = MockBuilder().read("ab").read_error(absl::UnavailableError("read mock: reset")).build();
  std::string buf(4, '\0');
  absl::Status s = co_await read_exact(m, std::span<char>(buf));
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(s.message(), "read mock: reset");
}

KEEL_TEST(IoUtil, ReadToEndString) {
  MockStream m = MockBuilder().read("hello ").read("world").build();
  std::string out = "> ";
  absl::StatusOr<std::size_t> n = co_await read_to_end(m, out);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 11u);
  EXPECT_EQ(out, "> hello world");
}

KEEL_TEST(IoUtil, ReadToEndLimit) {
  MockStream m = MockBuilder().read("0123456789").read("abcdef").build();
  std::string out;
  absl::StatusOr<std::size_t> n = co_await read_to_end(m, out, 12);
  EXPECT_TRUE(absl::IsResourceExhausted(n.status())) << n.status();
  EXPECT_TRUE(absl::StrContains(n.status().message(), "more than 12 bytes")) << n.status();
  EXPECT_LE(out.size(), 13u);  // never much past the limit
  EXPECT_EQ(out, std::string("0123456789abcdef").substr(0, out.size()));
  m.clear_failures();
  // Exactly at the limit is fine.
  MockStream m2 = MockBuilder().read("0123456789").build();
  std::string out2;
  n = co_await read_to_end(m2, out2, 10);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(out2, "0123456789");
  // read to end of what the script still holds so that m reports nothing left.
  std::string rest;
  (void)co_await read_to_end(m, rest);
}

KEEL_TEST(IoUtil, ReadToEndBytesMut) {
  MockStream m = MockBuilder().read("abc").read(std::string(20000, 'x')).build();
  BytesMut out;
  out.append("[");
  absl::StatusOr<std::size_t> n = co_await read_to_end(m, out);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 20003u);
  EXPECT_EQ(out.view(), "[abc" + std::string(20000, 'x'));
  MockStream m2 = MockBuilder().read("0123456789").build();
  BytesMut out2;
  n = co_await read_to_end(m2, out2, 5);
  EXPECT_TRUE(absl::IsResourceExhausted(n.status())) << n.status();
  EXPECT_LE(out2.size(), 6u);
  std::string rest;
  (void)co_await read_to_end(m2, rest);
}

KEEL_TEST(IoUtil, ReadToEndCancelledLeavesNoPadding) {
  time::pause();
  auto [a, b] = duplex(64);
  KEEL_ASSERT_OK(co_await write_all(b, "partial"));
  std::string out;
  // No end of stream: read_to_end waits after "partial" until the timeout destroys it.
  auto r = co_await timeout(std::chrono::milliseconds(5), read_to_end(a, out));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(out, "partial");  // what was read is kept, without zero padding
}

KEEL_TEST(IoUtil, ReadToString) {
  MockStream m = MockBuilder().read("a").read("b").read("c").build();
  absl::StatusOr<std::string> s = co_await read_to_string(m);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(*s, "abc");
  MockStream e = MockBuilder().read("a").read_error(absl::DataLossError("read x: bad")).build();
  s = co_await read_to_string(e);
  EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
}

KEEL_TEST(IoUtil, ReadUntilOnPlainStream) {
  MockStream m = MockBuilder().read("one\ntw").read("o\nthree").build();
  std::string line;
  absl::StatusOr<std::size_t> n = co_await read_until(m, '\n', line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(line, "one\n");
  line.clear();
  n = co_await read_until(m, '\n', line);
  EXPECT_EQ(line, "two\n");
  line.clear();
  n = co_await read_until(m, '\n', line, 3);
  EXPECT_TRUE(absl::IsResourceExhausted(n.status())) << n.status();
  EXPECT_EQ(line, "thr");
  n = co_await read_until(m, '\n', line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 2u);  // "ee" then end of stream
  EXPECT_EQ(line, "three");
  n = co_await read_until(m, '\n', line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
}

KEEL_TEST(IoUtil, WriteAllOverShortWrites) {
  // The mock accepts a write only up to the end of the current item: write_all loops.
  MockStream m = MockBuilder().write("hel").write("lo ").write("world").build();
  KEEL_ASSERT_OK(co_await write_all(m, "hello world"));
  KEEL_ASSERT_OK(co_await flush(m));
  KEEL_ASSERT_OK(co_await shutdown(m));
  EXPECT_EQ(m.remaining(), 0u);
  // And through a small duplex, where the reader drains concurrently.
  auto [a, b] = duplex(3);
  Task<absl::Status> w = write_then_shutdown(a, std::string(10000, 'q'));
  Task<absl::StatusOr<std::string>> r = read_to_string(b);
  auto [ws, rs] = co_await join(std::move(w), std::move(r));
  KEEL_ASSERT_OK(ws);
  KEEL_ASSERT_OK(rs);
  EXPECT_EQ(*rs, std::string(10000, 'q'));
}

// A writer that accepts nothing (a broken stream).
struct ZeroWriter {
  Ready<absl::StatusOr<std::size_t>> write(std::span<const char>) {
    return Ready<absl::StatusOr<std::size_t>>(std::size_t{0});
  }
  Ready<absl::Status> flush() { return Ready<absl::Status>(absl::OkStatus()); }
  Ready<absl::Status> shutdown() { return Ready<absl::Status>(absl::OkStatus()); }
};
static_assert(AsyncWrite<ZeroWriter>);
static_assert(AsyncRead<MockStream> && AsyncWrite<MockStream>);
static_assert(AsyncRead<DuplexStream> && AsyncWrite<DuplexStream>);

KEEL_TEST(IoUtil, WriteAllErrors) {
  ZeroWriter z;
  absl::Status s = co_await write_all(z, "abc");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "write_all: the stream accepted no bytes after 0 of 3"))
      << s;
  MockStream m = MockBuilder().write("ab").write_error(absl::AbortedError("write mock: gone")).build();
  s = co_await write_all(m, "abcd");
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_EQ(s.message(), "write mock: gone");
  // Writing nothing succeeds at once.
  KEEL_ASSERT_OK(co_await write_all(z, ""));
}

}  // namespace
}  // namespace keel::io
