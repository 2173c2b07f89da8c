// Framed over keel::io::duplex (runtime/io/duplex.h), the runtime's own in-memory stream: a
// pipelined request/response exchange between two tasks, a large frame through a small pipe,
// and backpressure with a cancelled send, on every flavour.

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/codec/framed.h"
#include "runtime/codec/length_delimited.h"
#include "runtime/codec/lines_codec.h"
#include "runtime/io/duplex.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::codec {
namespace {

using std::chrono::milliseconds;
using io::DuplexStream;

static_assert(io::AsyncReadWrite<DuplexStream>);

absl::Status flatten(const absl::StatusOr<absl::Status>& r) { return r.ok() ? *r : r.status(); }

// Answers each line with its length until the client closes.
Task<void> length_server(DuplexStream io) {
  Framed<DuplexStream, LinesCodec> conn(std::move(io), LinesCodec(1 << 20));
  while (auto line = co_await conn.next()) {
    if (!line->ok()) break;
    Task<absl::Status> fed = conn.feed(std::to_string((*line)->size()));
    absl::Status s = co_await std::move(fed);
    if (!s.ok()) break;
    // Flush only when no further request is already buffered (pipelining).
    if (conn.read_buffer().empty()) {
      absl::Status f = co_await conn.flush();
      if (!f.ok()) break;
    }
  }
  absl::Status c = co_await conn.close();
  EXPECT_TRUE(c.ok()) << c;
}

Task<std::vector<std::string>> read_replies(Framed<DuplexStream, LinesCodec>* c, int n) {
  std::vector<std::string> got;
  for (int i = 0; i < n; ++i) {
    auto r = co_await c->next();
    if (!r.has_value() || !r->ok()) break;
    got.push_back(**r);
  }
  co_return got;
}

Task<absl::Status> send_requests(Framed<DuplexStream, LinesCodec>* c, int n) {
  for (int i = 0; i < n; ++i) {
    Task<absl::Status> fed = c->feed(std::string(static_cast<std::size_t>(i), 'x'));
    absl::Status s = co_await std::move(fed);
    if (!s.ok()) co_return s;
  }
  co_return co_await c->close();
}

KEEL_TEST(FramedDuplex, PipelinedRequestsAndReplies) {
  auto [client_io, server_io] = io::duplex(256);
  auto server = spawn(length_server(std::move(server_io)));
  Framed<DuplexStream, LinesCodec> client(std::move(client_io), LinesCodec(1 << 20));
  constexpr int kRequests = 300;
  // Send everything first (the pipe is small, so the server must answer meanwhile: the
  // replies are read concurrently).
  Task<std::vector<std::string>> reader = read_replies(&client, kRequests);
  Task<absl::Status> writer = send_requests(&client, kRequests);
  auto [got, sent] = co_await join(std::move(reader), std::move(writer));
  KEEL_ASSERT_OK(sent);
  KEEL_ASSERT_TRUE(got.size() == static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(got[i], std::to_string(i));
  EXPECT_FALSE((co_await client.next()).has_value());  // the server closed after us
  co_await server;
}

KEEL_TEST(FramedDuplex, BigFrameThroughASmallPipeAndCancelledSend) {
  time::pause();
  auto [a_io, b_io] = io::duplex(1024);
  Framed<DuplexStream, LengthDelimitedCodec> a(std::move(a_io), LengthDelimitedCodec());
  Framed<DuplexStream, LengthDelimitedCodec> b(std::move(b_io), LengthDelimitedCodec());
  std::string big(300 * 1024, 'z');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  // Nobody reads: the send fills the pipe and waits; the timeout cancels it.
  Task<absl::Status> sending = a.send(std::string_view(big));
  auto t = co_await ::keel::timeout(milliseconds(100), std::move(sending));
  EXPECT_TRUE(absl::IsDeadlineExceeded(flatten(t))) << flatten(t);
  EXPECT_EQ(a.write_buffer().size(), big.size() + 4 - 1024);
  // Now b reads while a flushes the rest: the frame arrives whole, once.
  Task<absl::Status> flushing = a.flush();
  Task<std::optional<absl::StatusOr<BytesMut>>> receiving = b.next();
  auto [f, frame] = co_await join(std::move(flushing), std::move(receiving));
  KEEL_ASSERT_OK(f);
  KEEL_ASSERT_TRUE(frame.has_value() && frame->ok());
  EXPECT_TRUE((*frame)->view() == big);
  Task<absl::Status> closing = a.close();
  KEEL_ASSERT_OK(co_await std::move(closing));
  EXPECT_FALSE((co_await b.next()).has_value());
  time::resume();
}

}  // namespace
}  // namespace keel::codec
