// Tests of Framed / FramedRead / FramedWrite over in-memory streams (test_io.h): frames split
// across reads at every byte boundary, errors and end of stream, the Stream adapters, round
// trips, backpressure (feed and send wait while the peer does not read), and cancellation of
// pending next(), feed() and send(), on every scheduler flavour.

#include "runtime/codec/framed.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/codec/bytes_codec.h"
#include "runtime/codec/length_delimited.h"
#include "runtime/codec/lines_codec.h"
#include "runtime/codec/test_io.h"
#include "runtime/keel.h"
#include "runtime/stream/adapters.h"
#include "runtime/test/keel_test.h"

namespace keel::codec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::PipeDuplex;
using testing::PipeReader;
using testing::PipeWriter;
using testing::ScriptedReader;

// Vectors built outside coroutines: GCC 12 rejects a braced initializer list inside one.

template <class... S>
std::vector<std::string> strs(S... v) {
  std::vector<std::string> out;
  (out.push_back(std::string(v)), ...);
  return out;
}
std::vector<std::size_t> sizes123() { return {1, 2, 3}; }
std::string header4(std::uint32_t n) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
  return s;
}

template <class Io, class Codec>
Task<std::vector<std::string>> read_all_lines(Framed<Io, Codec>& f, std::vector<absl::Status>* errors) {
  std::vector<std::string> out;
  while (auto r = co_await f.next()) {
    if (!r->ok()) {
      errors->push_back(r->status());
      continue;
    }
    if constexpr (std::is_same_v<std::decay_t<decltype(**r)>, std::string>) {
      out.push_back(std::move(**r));
    } else {
      out.push_back((*r)->to_string());
    }
  }
  co_return out;
}

KEEL_TEST(Framed, LinesSplitAcrossReadsAtEveryBoundary) {
  const std::string input = "alpha\r\nbeta\n\ngamma";
  const std::vector<std::string> want = strs("alpha", "beta", "", "gamma");
  for (std::size_t i = 0; i <= input.size(); ++i) {
    std::vector<std::string> chunks;
    chunks.push_back(input.substr(0, i));
    chunks.push_back(input.substr(i));
    FramedRead<ScriptedReader, LinesCodec> f(ScriptedReader(std::move(chunks)), LinesCodec());
    std::vector<absl::Status> errors;
    std::vector<std::string> got = co_await read_all_lines(f, &errors);
    EXPECT_EQ(got, want) << "split at " << i;
    EXPECT_TRUE(errors.empty());
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.push_back(std::string(1, c));
  FramedRead<ScriptedReader, LinesCodec> f(ScriptedReader(std::move(bytes)), LinesCodec());
  std::vector<absl::Status> errors;
  EXPECT_EQ(co_await read_all_lines(f, &errors), want);
}

KEEL_TEST(Framed, LengthDelimitedFramesOneByteAtATime) {
  std::string wire = header4(3) + "abc" + header4(0) + header4(5) + "hello";
  std::vector<std::string> bytes;
  for (char c : wire) bytes.push_back(std::string(1, c));
  FramedRead<ScriptedReader, LengthDelimitedCodec> f(ScriptedReader(std::move(bytes)),
                                                     LengthDelimitedCodec());
  std::vector<absl::Status> errors;
  EXPECT_EQ(co_await read_all_lines(f, &errors), strs("abc", "", "hello"));
  EXPECT_TRUE(errors.empty());
}

KEEL_TEST(Framed, EndOfStreamInsideAFrameIsAnErrorThenTheEnd) {
  std::vector<std::string> chunks;
  chunks.push_back(header4(2) + "ok" + header4(10) + "cut");
  FramedRead<ScriptedReader, LengthDelimitedCodec> f(ScriptedReader(std::move(chunks)),
                                                     LengthDelimitedCodec());
  auto first = co_await f.next();
  KEEL_ASSERT_TRUE(first.has_value() && first->ok());
  EXPECT_EQ((*first)->view(), "ok");
  auto second = co_await f.next();
  KEEL_ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(absl::IsDataLoss(second->status())) << second->status();
  EXPECT_FALSE((co_await f.next()).has_value());
  EXPECT_FALSE((co_await f.next()).has_value());
}

KEEL_TEST(Framed, OversizedFrameIsRejectedAndEndsTheStream) {
  std::vector<std::string> chunks;
  chunks.push_back(header4(1 << 30) + "whatever follows");
  FramedRead<ScriptedReader, LengthDelimitedCodec> f(ScriptedReader(std::move(chunks)),
                                                     LengthDelimitedCodec());
  auto r = co_await f.next();
  KEEL_ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(absl::IsResourceExhausted(r->status())) << r->status();
  EXPECT_LT(f.read_buffer().capacity(), std::size_t{1} << 20);
  EXPECT_FALSE((co_await f.next()).has_value());
  // A line over the maximum: the same.
  std::vector<std::string> long_line;
  long_line.push_back(std::string(100, 'x'));
  FramedRead<ScriptedReader, LinesCodec> lines(ScriptedReader(std::move(long_line)), LinesCodec(10));
  auto l = co_await lines.next();
  KEEL_ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(absl::IsResourceExhausted(l->status()));
  EXPECT_FALSE((co_await lines.next()).has_value());
}

KEEL_TEST(Framed, ReadErrorIsReportedThenTheEnd) {
  std::vector<std::string> chunks;
  chunks.push_back("one\ntw");
  FramedRead<ScriptedReader, LinesCodec> f(
      ScriptedReader(std::move(chunks), absl::UnavailableError("read test: connection reset")),
      LinesCodec());
  auto a = co_await f.next();
  KEEL_ASSERT_TRUE(a.has_value() && a->ok());
  EXPECT_EQ(**a, "one");
  auto b = co_await f.next();
  KEEL_ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(absl::IsUnavailable(b->status()));
  EXPECT_FALSE((co_await f.next()).has_value());
}

KEEL_TEST(Framed, FramesAsAStream) {
  std::vector<std::string> chunks;
  chunks.push_back("a\nbb\nccc\n");
  FramedRead<ScriptedReader, LinesCodec> f(ScriptedReader(std::move(chunks)), LinesCodec());
  auto sizes = stream::map(f.frames(), [](absl::StatusOr<std::string> l) { return l->size(); });
  auto all = stream::collect(std::move(sizes));
  EXPECT_EQ(co_await std::move(all), sizes123());

  std::vector<std::string> more;
  more.push_back("x\ny\n");
  Framed<ScriptedReader, LinesCodec> owned(ScriptedReader(std::move(more)), LinesCodec());
  auto s = into_stream(std::move(owned));
  auto n = stream::count(std::move(s));
  EXPECT_EQ(co_await std::move(n), 2u);
}

KEEL_TEST(Framed, BytesCodecChunks) {
  std::vector<std::string> chunks = strs("abc", "defg");
  FramedRead<ScriptedReader, BytesCodec> f(ScriptedReader(std::move(chunks)), BytesCodec());
  std::vector<absl::Status> errors;
  EXPECT_EQ(co_await read_all_lines(f, &errors), strs("abc", "defg"));
}

// ---- over a pipe: round trips, backpressure, cancellation ----

Task<absl::Status> send_lines(FramedWrite<PipeWriter, LinesCodec>* out, int n) {
  for (int i = 0; i < n; ++i) {
    Task<absl::Status> fed = out->feed(std::to_string(i));
    absl::Status s = co_await std::move(fed);
    if (!s.ok()) co_return s;
  }
  absl::Status s = co_await out->flush();
  if (!s.ok()) co_return s;
  co_return co_await out->close();
}

Task<void> send_lines_owned(PipeWriter w, int n) {
  FramedWrite<PipeWriter, LinesCodec> out(std::move(w), LinesCodec());
  absl::Status s = co_await send_lines(&out, n);
  EXPECT_TRUE(s.ok()) << s;
}

KEEL_TEST(Framed, RoundTripThroughASmallPipe) {
  auto [w, r] = testing::pipe(7);  // far smaller than what is sent: many partial writes
  auto writer = spawn(send_lines_owned(std::move(w), 2000));
  FramedRead<PipeReader, LinesCodec> in(std::move(r), LinesCodec());
  int expect = 0;
  while (auto line = co_await in.next()) {
    KEEL_ASSERT_TRUE(line->ok());
    EXPECT_EQ(**line, std::to_string(expect));
    ++expect;
  }
  EXPECT_EQ(expect, 2000);
  co_await writer;
}

KEEL_TEST(Framed, FullDuplexEcho) {
  auto [to_server_w, to_server_r] = testing::pipe(64);
  auto [to_client_w, to_client_r] = testing::pipe(64);
  Framed<PipeDuplex, LengthDelimitedCodec> client(PipeDuplex(std::move(to_client_r), std::move(to_server_w)),
                                                  LengthDelimitedCodec());
  Framed<PipeDuplex, LengthDelimitedCodec> server(PipeDuplex(std::move(to_server_r), std::move(to_client_w)),
                                                  LengthDelimitedCodec());
  for (int i = 0; i < 20; ++i) {
    std::string msg(static_cast<std::size_t>(i * 13), static_cast<char>('a' + i));
    // The send (over a 64-byte pipe) and the echo must run concurrently.
    Task<absl::Status> sent = client.send(std::string_view(msg));
    Task<std::optional<absl::StatusOr<BytesMut>>> got = server.next();
    auto [s, frame] = co_await join(std::move(sent), std::move(got));
    KEEL_ASSERT_OK(s);
    KEEL_ASSERT_TRUE(frame.has_value() && frame->ok());
    EXPECT_EQ((*frame)->view(), msg);
    Task<absl::Status> echoed = server.send(std::move(**frame));
    Task<std::optional<absl::StatusOr<BytesMut>>> back = client.next();
    auto [s2, reply] = co_await join(std::move(echoed), std::move(back));
    KEEL_ASSERT_OK(s2);
    KEEL_ASSERT_TRUE(reply.has_value() && reply->ok());
    EXPECT_EQ((*reply)->view(), msg);
  }
}

Task<absl::Status> feed_then_close(FramedWrite<PipeWriter, LinesCodec>* out, std::string line) {
  Task<absl::Status> fed = out->feed(std::move(line));
  absl::Status s = co_await std::move(fed);
  if (!s.ok()) co_return s;
  co_return co_await out->close();
}

Task<std::vector<std::string>> read_lines(FramedRead<PipeReader, LinesCodec>* in) {
  std::vector<std::string> got;
  while (auto l = co_await in->next()) got.push_back(l->ok() ? **l : std::string("error"));
  co_return got;
}

// feed() buffers until the high-water mark, then waits for the peer; a cancelled feed sends
// nothing, and everything fed before arrives once.
KEEL_TEST(Framed, FeedAppliesBackpressureAtTheHighWaterMark) {
  time::pause();
  auto [w, r] = testing::pipe(100);
  FramedWrite<PipeWriter, LinesCodec> out(std::move(w), LinesCodec());
  out.set_high_water_mark(1000);
  const std::string line(99, 'x');  // 100 bytes with "\n"
  for (int i = 0; i < 10; ++i) {
    Task<absl::Status> fed = out.feed(std::string(line));
    auto t = co_await ::keel::timeout(seconds(1), std::move(fed));
    KEEL_ASSERT_OK(t);
  }
  EXPECT_EQ(out.write_buffer().size(), 1000u);  // nothing written yet
  EXPECT_EQ(r.buffered(), 0u);
  // At the mark: the 11th feed writes, fills the pipe and waits for the reader.
  Task<absl::Status> blocked = out.feed(std::string("last"));
  auto t = co_await ::keel::timeout(seconds(1), std::move(blocked));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t)) << t;
  EXPECT_EQ(r.buffered(), 100u);
  EXPECT_EQ(out.write_buffer().size(), 900u);  // the cancelled feed encoded nothing
  // A reader drains; a feed now goes through, and flush writes the rest.
  FramedRead<PipeReader, LinesCodec> in(std::move(r), LinesCodec());
  Task<absl::Status> done_feeding = feed_then_close(&out, std::string("last"));
  Task<std::vector<std::string>> reader = read_lines(&in);
  auto [s, got] = co_await join(std::move(done_feeding), std::move(reader));
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_TRUE(got.size() == 11u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], line);
  EXPECT_EQ(got[10], "last");
  time::resume();
}

// send() waits while the peer does not read; cancelled mid-flush, its frame stays buffered
// (never half-sent) and the next flush delivers it once.
KEEL_TEST(Framed, CancelledSendIsDeliveredOnceByTheNextFlush) {
  time::pause();
  auto [w, r] = testing::pipe(16);
  FramedWrite<PipeWriter, LengthDelimitedCodec> out(std::move(w), LengthDelimitedCodec());
  std::string big(100, 'b');
  Task<absl::Status> sending = out.send(std::string_view(big));
  auto t = co_await ::keel::timeout(milliseconds(50), std::move(sending));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t)) << t;
  EXPECT_EQ(r.buffered(), 16u);                        // the pipe is full
  EXPECT_EQ(out.write_buffer().size(), 104u - 16u);    // the rest waits in the buffer
  FramedRead<PipeReader, LengthDelimitedCodec> in(std::move(r), LengthDelimitedCodec());
  Task<absl::Status> closing = out.close();
  Task<std::optional<absl::StatusOr<BytesMut>>> first = in.next();
  auto [s, frame] = co_await join(std::move(closing), std::move(first));
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_TRUE(frame.has_value() && frame->ok());
  EXPECT_EQ((*frame)->view(), big);
  EXPECT_FALSE((co_await in.next()).has_value());  // exactly one frame
  time::resume();
}

// A next() cancelled while waiting for bytes loses nothing: bytes that arrive later (also
// half a frame at a time) decode whole.
Task<void> write_slowly(PipeWriter w, std::string bytes, Duration gap) {
  for (char c : bytes) {
    co_await sleep(gap);
    auto n = co_await w.write(std::span<const char>(&c, 1));
    EXPECT_TRUE(n.ok());
  }
  absl::Status closed = co_await w.shutdown();
  EXPECT_TRUE(closed.ok());
}

KEEL_TEST(Framed, NextIsCancellationSafe) {
  time::pause();
  auto [w, r] = testing::pipe(1024);
  std::string wire = header4(3) + "abc" + header4(2) + "de";
  auto writer = spawn(write_slowly(std::move(w), wire, milliseconds(10)));
  FramedRead<PipeReader, LengthDelimitedCodec> in(std::move(r), LengthDelimitedCodec());
  std::vector<std::string> got;
  int gave_up = 0;
  for (;;) {
    Task<std::optional<absl::StatusOr<BytesMut>>> next = in.next();
    auto t = co_await ::keel::timeout(milliseconds(7), std::move(next));
    if (!t.ok()) {
      ++gave_up;
      continue;
    }
    if (!t->has_value()) break;
    KEEL_ASSERT_TRUE((*t)->ok());
    got.push_back((**t)->to_string());
  }
  EXPECT_EQ(got, strs("abc", "de"));
  EXPECT_GT(gave_up, 5);
  co_await writer;
  time::resume();
}

KEEL_TEST(Framed, EncodeErrorLeavesTheFramedUsable) {
  auto [w, r] = testing::pipe(1024);
  Framed<PipeWriter, LinesCodec> out(std::move(w), LinesCodec());
  std::string two_lines = "two\nlines";
  Task<absl::Status> bad_send = out.send(std::move(two_lines));
  absl::Status bad = co_await std::move(bad_send);
  EXPECT_TRUE(absl::IsInvalidArgument(bad));
  std::string fine = "fine";
  Task<absl::Status> good_send = out.send(std::move(fine));
  absl::Status good = co_await std::move(good_send);
  KEEL_ASSERT_OK(good);
  EXPECT_EQ(r.buffered(), 5u);
  PipeWriter back = std::move(out).into_inner();
  (void)back;
}

}  // namespace
}  // namespace keel::codec
