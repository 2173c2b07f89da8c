// Tests of BufReader and BufWriter on every flavour: buffering (fill_buf/consume, few reads
// from the inner stream, bypass of large reads and writes), read_until/read_line, lines()
// (stripping "\n" and "\r\n", the last line without newline, the maximum line length, read
// errors), forwarding of the other direction, flush and shutdown, errors, and cancellation of
// a pending fill_buf, read_line, lines().next() and BufWriter flush.

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/io/buf_reader.h"
#include "runtime/io/buf_writer.h"
#include "runtime/io/duplex.h"
#include "runtime/io/mock.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

static_assert(AsyncBufRead<BufReader<MockStream>>);
static_assert(AsyncRead<BufReader<MockStream>> && AsyncWrite<BufReader<MockStream>>);
static_assert(AsyncRead<BufWriter<MockStream>> && AsyncWrite<BufWriter<MockStream>>);
static_assert(AsyncRead<BufReader<BufWriter<DuplexStream>>>);
static_assert(AsyncWrite<BufReader<BufWriter<DuplexStream>>>);

// An AsyncRead that counts its reads (to see the buffering).
struct CountingReader {
  MockStream* inner;
  int* reads;
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf) {
    ++*reads;
    co_return co_await inner->read(buf);
  }
};
static_assert(!AsyncWrite<BufReader<CountingReader>>);

KEEL_TEST(BufReader, FillBufAndConsume) {
  MockStream m = MockBuilder().read("hello world").read("!").build();
  int reads = 0;
  BufReader r(CountingReader{&m, &reads}, 64);
  absl::StatusOr<std::span<const char>> b = co_await r.fill_buf();
  KEEL_ASSERT_OK(b);
  EXPECT_EQ(std::string_view(b->data(), b->size()), "hello world");
  r.consume(6);
  b = co_await r.fill_buf();  // still buffered: no read
  EXPECT_EQ(std::string_view(b->data(), b->size()), "world");
  EXPECT_EQ(reads, 1);
  r.consume(5);
  EXPECT_TRUE(r.buffer().empty());
  b = co_await r.fill_buf();
  EXPECT_EQ(std::string_view(b->data(), b->size()), "!");
  r.consume(1);
  b = co_await r.fill_buf();
  KEEL_ASSERT_OK(b);
  EXPECT_TRUE(b->empty());  // end of stream
  EXPECT_EQ(reads, 3);
}

KEEL_TEST(BufReader, SmallReadsComeFromTheBuffer) {
  MockStream m = MockBuilder().read("abcdefgh").build();
  int reads = 0;
  BufReader r(CountingReader{&m, &reads}, 64);
  std::string out;
  char c[3];
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(c));
    KEEL_ASSERT_OK(n);
    if (*n == 0) break;
    out.append(c, *n);
  }
  EXPECT_EQ(out, "abcdefgh");
  EXPECT_EQ(reads, 2);  // one read for the data, one for end of stream
}

KEEL_TEST(BufReader, LargeReadsBypassTheBuffer) {
  MockStream m = MockBuilder().read("0123456789").build();
  BufReader r(std::move(m), 4);
  std::string buf(8, '\0');
  absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 8u);  // more than the 4-byte buffer could have given
  EXPECT_TRUE(r.buffer().empty());
  std::string rest;
  KEEL_ASSERT_OK(co_await read_to_end(r, rest));
  EXPECT_EQ(rest, "89");
}

KEEL_TEST(BufReader, ReadLineAndReadUntil) {
  MockStream m = MockBuilder().read("GET / HTTP/1.1\r\nHost: x").read("\r\n\r\nbody;rest").build();
  BufReader r(std::move(m), 8);  // lines longer than the buffer
  std::string line;
  absl::StatusOr<std::size_t> n = co_await r.read_line(line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(line, "GET / HTTP/1.1\r\n");
  line.clear();
  n = co_await r.read_line(line);
  EXPECT_EQ(line, "Host: x\r\n");
  line.clear();
  n = co_await r.read_line(line);
  EXPECT_EQ(line, "\r\n");
  line.clear();
  n = co_await r.read_until(';', line);
  EXPECT_EQ(line, "body;");
  line.clear();
  n = co_await r.read_until(';', line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(line, "rest");  // end of stream without the delimiter
  n = co_await r.read_line(line);
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
}

KEEL_TEST(BufReader, ReadUntilMaximum) {
  MockStream m = MockBuilder().read("0123456789\nok\n").build();
  BufReader r(std::move(m), 4);
  std::string line;
  absl::StatusOr<std::size_t> n = co_await r.read_line(line, 5);
  EXPECT_TRUE(absl::IsResourceExhausted(n.status())) << n.status();
  EXPECT_TRUE(absl::StrContains(n.status().message(), "read_until: no delimiter within 5 bytes"))
      << n.status();
  EXPECT_EQ(line, "01234");  // the first 5; the rest of the line is still unread
  n = co_await r.read_line(line);
  EXPECT_EQ(line, "0123456789\n");
  std::string rest;
  KEEL_ASSERT_OK(co_await read_to_end(r, rest));
  EXPECT_EQ(rest, "ok\n");
}

Task<std::vector<absl::StatusOr<std::string>>> collect(Stream<absl::StatusOr<std::string>> s) {
  std::vector<absl::StatusOr<std::string>> out;
  while (std::optional<absl::StatusOr<std::string>> v = co_await s.next()) out.push_back(std::move(*v));
  co_return out;
}

KEEL_TEST(BufReader, Lines) {
  MockStream m = MockBuilder().read("one\ntwo\r\n\nthr").read("ee\r\nlast").build();
  BufReader r(std::move(m), 5);
  Task<std::vector<absl::StatusOr<std::string>>> t = collect(lines(r));
  std::vector<absl::StatusOr<std::string>> got = co_await std::move(t);
  KEEL_ASSERT_TRUE(got.size() == 5u);
  for (auto& l : got) KEEL_ASSERT_OK(l);
  EXPECT_EQ(*got[0], "one");
  EXPECT_EQ(*got[1], "two");
  EXPECT_EQ(*got[2], "");
  EXPECT_EQ(*got[3], "three");
  EXPECT_EQ(*got[4], "last");
}

KEEL_TEST(BufReader, LinesMaximumLength) {
  // "abcd\r\n" is exactly 4 bytes of line: allowed; "abcde\n" is not.
  MockStream m = MockBuilder().read("abcd\r\nabcd\nabcde\nnever\n").build();
  BufReader r(std::move(m));
  Task<std::vector<absl::StatusOr<std::string>>> t = collect(lines(r, 4));
  std::vector<absl::StatusOr<std::string>> got = co_await std::move(t);
  KEEL_ASSERT_TRUE(got.size() == 3u);
  EXPECT_EQ(*got[0], "abcd");
  EXPECT_EQ(*got[1], "abcd");
  EXPECT_TRUE(absl::IsResourceExhausted(got[2].status())) << got[2].status();
  EXPECT_TRUE(absl::StrContains(got[2].status().message(), "lines: a line is longer than 4 bytes"));
  // A long line without any newline in sight fails too, without reading it all.
  MockStream m2 = MockBuilder().read(std::string(100, 'x')).build();
  BufReader r2(std::move(m2), 16);
  Task<std::vector<absl::StatusOr<std::string>>> t2 = collect(lines(r2, 10));
  got = co_await std::move(t2);
  KEEL_ASSERT_TRUE(got.size() == 1u);
  EXPECT_TRUE(absl::IsResourceExhausted(got[0].status()));
  std::string rest;
  (void)co_await read_to_end(r2, rest);  // drain the mock's script
  (void)co_await read_to_end(r, rest);
}

KEEL_TEST(BufReader, LinesYieldsReadErrorAndEnds) {
  MockStream m = MockBuilder().read("ok\npart").read_error(absl::UnavailableError("read mock: reset")).build();
  BufReader r(std::move(m));
  Task<std::vector<absl::StatusOr<std::string>>> t = collect(lines(r));
  std::vector<absl::StatusOr<std::string>> got = co_await std::move(t);
  KEEL_ASSERT_TRUE(got.size() == 2u);
  EXPECT_EQ(*got[0], "ok");
  EXPECT_TRUE(absl::IsUnavailable(got[1].status())) << got[1].status();
}

KEEL_TEST(BufReader, ForwardsWrites) {
  MockStream m = MockBuilder().read("ping\n").write("pong\n").build();
  BufReader r(std::move(m));
  std::string line;
  KEEL_ASSERT_OK(co_await r.read_line(line));
  KEEL_ASSERT_OK(co_await write_all(r, "pong\n"));
  KEEL_ASSERT_OK(co_await r.flush());
  KEEL_ASSERT_OK(co_await r.shutdown());
  EXPECT_EQ(r.get_ref().remaining(), 0u);
}

KEEL_TEST(BufReader, CancelledFillBufConsumesNothing) {
  time::pause();
  auto [a, b] = duplex(64);
  BufReader r(std::move(a));
  auto t = co_await timeout(std::chrono::milliseconds(5), r.fill_buf());
  EXPECT_TRUE(absl::IsDeadlineExceeded(t.status())) << t.status();
  auto s = co_await select(r.fill_buf(), ::keel::testing::settle(1));
  EXPECT_EQ(s.index(), 1u);
  // A read_line cancelled halfway keeps the first half in `line` (consumed), loses nothing.
  KEEL_ASSERT_OK(co_await write_all(b, "hel"));
  std::string line;
  auto t2 = co_await timeout(std::chrono::milliseconds(5), r.read_line(line));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2.status()));
  EXPECT_EQ(line, "hel");
  KEEL_ASSERT_OK(co_await write_all(b, "lo\nworld\n"));
  KEEL_ASSERT_OK(co_await r.read_line(line));
  EXPECT_EQ(line, "hello\n");
  // lines().next() cancelled mid-line: the Stream keeps its place.
  auto ls = lines(r);
  auto n1 = co_await ls.next();
  KEEL_ASSERT_TRUE(n1.has_value() && n1->ok());
  EXPECT_EQ(**n1, "world");
  KEEL_ASSERT_OK(co_await write_all(b, "par"));
  auto t3 = co_await timeout(std::chrono::milliseconds(5), next_task(ls));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t3.status()));
  KEEL_ASSERT_OK(co_await write_all(b, "tial\n"));
  KEEL_ASSERT_OK(co_await b.shutdown());
  auto n2 = co_await ls.next();
  KEEL_ASSERT_TRUE(n2.has_value() && n2->ok());
  EXPECT_EQ(**n2, "partial");
  auto n3 = co_await ls.next();
  EXPECT_FALSE(n3.has_value());
}

KEEL_TEST(BufWriter, BuffersUntilFlush) {
  auto [a, b] = duplex(1024);
  BufWriter w(std::move(a), 16);
  KEEL_ASSERT_OK(co_await write_all(w, "abc"));
  KEEL_ASSERT_OK(co_await write_all(w, "def"));
  EXPECT_EQ(std::string_view(w.buffer().data(), w.buffer().size()), "abcdef");
  // Nothing reached the peer yet.
  char c;
  auto s = co_await select(read(b, std::span<char>(&c, 1)), ::keel::testing::settle(5));
  EXPECT_EQ(s.index(), 1u);
  KEEL_ASSERT_OK(co_await w.flush());
  EXPECT_TRUE(w.buffer().empty());
  std::string got(6, '\0');
  KEEL_ASSERT_OK(co_await read_exact(b, std::span<char>(got)));
  EXPECT_EQ(got, "abcdef");
}

KEEL_TEST(BufWriter, FlushesWhenFullAndBypassesLargeWrites) {
  MockStream m = MockBuilder().write("0123456789").write("ABCDEFGHIJKLMNOPQRSTUVWXYZ").write("xy").build();
  BufWriter w(std::move(m), 12);
  KEEL_ASSERT_OK(co_await write_all(w, "01234"));
  KEEL_ASSERT_OK(co_await write_all(w, "56789"));
  // Does not fit: the buffer goes out first, then this (larger than the buffer) goes through.
  KEEL_ASSERT_OK(co_await write_all(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  KEEL_ASSERT_OK(co_await write_all(w, "xy"));
  EXPECT_EQ(w.get_ref().remaining(), 1u);
  KEEL_ASSERT_OK(co_await w.shutdown());  // flushes
  EXPECT_EQ(w.get_ref().remaining(), 0u);
}

KEEL_TEST(BufWriter, ErrorsAndForwardedReads) {
  MockStream m = MockBuilder().read("in").write("ab").write_error(absl::AbortedError("write mock: gone")).build();
  BufWriter w(std::move(m), 8);
  std::string in(2, '\0');
  KEEL_ASSERT_OK(co_await read_exact(w, std::span<char>(in)));
  EXPECT_EQ(in, "in");
  KEEL_ASSERT_OK(co_await write_all(w, "abcd"));
  absl::Status s = co_await w.flush();
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  // "ab" went out, "cd" stays buffered for a retry.
  EXPECT_EQ(std::string_view(w.buffer().data(), w.buffer().size()), "cd");
  w.get_ref().clear_failures();
  std::move(w).into_inner();
}

Task<absl::StatusOr<std::string>> read_n(DuplexStream& s, std::size_t n) {
  std::string out(n, '\0');
  absl::Status st = co_await read_exact(s, std::span<char>(out));
  if (!st.ok()) co_return st;
  co_return out;
}

KEEL_TEST(BufWriter, CancelledFlushKeepsProgress) {
  time::pause();
  auto [a, b] = duplex(4);
  BufWriter w(std::move(a), 16);
  KEEL_ASSERT_OK(co_await write_all(w, "0123456789"));
  // The peer takes only 4 bytes, nobody reads: the flush waits and is cancelled.
  auto t = co_await timeout(std::chrono::milliseconds(5), w.flush());
  EXPECT_TRUE(absl::IsDeadlineExceeded(t)) << t;
  EXPECT_EQ(std::string_view(w.buffer().data(), w.buffer().size()), "456789");
  // A write cancelled while flushing to make room accepts none of its bytes.
  std::string zs(12, 'z');
  auto t2 = co_await timeout(std::chrono::milliseconds(5), write_all(w, zs));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2)) << t2;
  EXPECT_EQ(std::string_view(w.buffer().data(), w.buffer().size()), "456789");
  Task<absl::Status> fl = w.flush();
  Task<absl::StatusOr<std::string>> rd = read_n(b, 10);
  auto [fs, got] = co_await join(std::move(fl), std::move(rd));
  KEEL_ASSERT_OK(fs);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "0123456789");
}

}  // namespace
}  // namespace keel::io
