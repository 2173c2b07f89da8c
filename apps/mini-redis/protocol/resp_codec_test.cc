#include "apps/mini-redis/protocol/resp_codec.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "apps/mini-redis/protocol/request.h"
#include "gtest/gtest.h"
#include "runtime/codec/codec.h"

namespace mini_redis::resp {
namespace {

static_assert(keel::codec::Decoder<RespCodec>);
static_assert(keel::codec::Encoder<RespCodec, Frame>);

std::string wire(const Frame& f) {
  std::string out;
  encode(f, out);
  return out;
}

// Decodes every frame of `in` given whole.
std::vector<Frame> decode_all(std::string_view in) {
  RespCodec codec;
  keel::BytesMut buf = keel::BytesMut::copy_from(in);
  std::vector<Frame> out;
  while (true) {
    absl::StatusOr<std::optional<Frame>> r = codec.decode(buf);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->has_value()) break;
    out.push_back(std::move(**r));
  }
  EXPECT_TRUE(buf.empty());
  return out;
}

absl::Status decode_error(std::string_view in) {
  RespCodec codec;
  keel::BytesMut buf = keel::BytesMut::copy_from(in);
  absl::StatusOr<std::optional<Frame>> r = codec.decode(buf);
  if (r.ok()) return absl::OkStatus();
  return r.status();
}

std::vector<Frame> samples() {
  return {
      Frame::simple("OK"),
      Frame::simple(""),
      Frame::error("ERR unknown command 'x'"),
      Frame::integer(0),
      Frame::integer(-9223372036854775807LL - 1),
      Frame::integer(9223372036854775807LL),
      Frame::bulk(""),
      Frame::bulk(std::string("bin\r\n\0\xff", 7)),
      Frame::bulk(std::string(5000, 'v')),
      Frame::null(),
      Frame::null_array(),
      Frame::array_of({}),
      Frame::command({"SET", "k", "v"}),
      Frame::array_of({Frame::array_of({Frame::integer(1), Frame::array_of({})}),
                       Frame::null(), Frame::error("E"),
                       Frame::array_of({Frame::array_of({Frame::bulk("deep")})})}),
  };
}

TEST(RespCodec, RoundTripsEveryKind) {
  for (const Frame& f : samples()) {
    std::vector<Frame> got = decode_all(wire(f));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], f);
    RespCodec codec;
    keel::BytesMut out;
    ASSERT_TRUE(codec.encode(f, out).ok());
    EXPECT_EQ(out.view(), wire(f));
  }
}

TEST(RespCodec, SeveralFramesInOneBuffer) {
  std::string all;
  for (const Frame& f : samples()) all += wire(f);
  EXPECT_EQ(decode_all(all), samples());
}

// Fed one byte at a time, and split in two at every byte: the same frames.
TEST(RespCodec, SplitAtEveryByteBoundary) {
  std::string all;
  for (const Frame& f : samples()) {
    if (f.kind == Frame::Kind::kBulk && f.str.size() > 100) continue;  // keep it quick
    all += wire(f);
  }
  std::vector<Frame> expected;
  for (const Frame& f : samples()) {
    if (!(f.kind == Frame::Kind::kBulk && f.str.size() > 100)) expected.push_back(f);
  }
  {
    RespCodec codec;
    keel::BytesMut buf;
    std::vector<Frame> got;
    for (char c : all) {
      buf.push_back(c);
      while (true) {
        absl::StatusOr<std::optional<Frame>> r = codec.decode(buf);
        ASSERT_TRUE(r.ok()) << r.status();
        if (!r->has_value()) break;
        got.push_back(std::move(**r));
      }
    }
    EXPECT_EQ(got, expected);
    EXPECT_TRUE(buf.empty());
  }
  for (std::size_t split = 0; split <= all.size(); ++split) {
    RespCodec codec;
    keel::BytesMut buf;
    std::vector<Frame> got;
    for (int piece = 0; piece < 2; ++piece) {
      buf.append(piece == 0 ? std::string_view(all).substr(0, split)
                            : std::string_view(all).substr(split));
      while (true) {
        absl::StatusOr<std::optional<Frame>> r = codec.decode(buf);
        ASSERT_TRUE(r.ok()) << r.status();
        if (!r->has_value()) break;
        got.push_back(std::move(**r));
      }
    }
    EXPECT_EQ(got, expected) << "split at " << split;
  }
}

TEST(RespCodec, ReservesRoomForAnAnnouncedBulk) {
  RespCodec codec;
  keel::BytesMut buf = keel::BytesMut::copy_from("$100000\r\nabc");
  absl::StatusOr<std::optional<Frame>> r = codec.decode(buf);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_GE(buf.capacity() - buf.size(), 100000u - 3 + 2);
}

TEST(RespCodec, MalformedInputIsAnError) {
  EXPECT_EQ(decode_error("!x\r\n").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_error("!x\r\n").message(), "resp: invalid type byte '!'");
  EXPECT_EQ(decode_error(":abc\r\n").message(), "resp: invalid integer");
  EXPECT_EQ(decode_error(":+1\r\n").message(), "resp: invalid integer");
  EXPECT_EQ(decode_error(":01\r\n").message(), "resp: invalid integer");
  EXPECT_EQ(decode_error("$-2\r\n").message(), "resp: invalid bulk length");
  EXPECT_EQ(decode_error("$x\r\n").message(), "resp: invalid bulk length");
  EXPECT_EQ(decode_error("*-2\r\n").message(), "resp: invalid multibulk length");
  EXPECT_EQ(decode_error("+OK\rx").message(), "resp: expected \"\\r\\n\" at the end of a line");
  EXPECT_EQ(decode_error("+a\nb\r\n").message(), "resp: '\\n' inside a simple string or error");
  EXPECT_EQ(decode_error("$1\r\nabc").message(), "resp: bulk string not followed by \"\\r\\n\"");
  EXPECT_TRUE(decode_error("*2\r\n:1\r\n?").message().find("invalid type byte") !=
              std::string::npos);
}

TEST(RespCodec, Limits) {
  EXPECT_EQ(decode_error("$" + std::to_string(kMaxBulkLen + 1) + "\r\n").message(),
            "resp: invalid bulk length");
  EXPECT_TRUE(decode_error("$" + std::to_string(kMaxBulkLen) + "\r\n").ok());  // waits
  EXPECT_EQ(decode_error("*" + std::to_string(kMaxMultibulkLen + 1) + "\r\n").message(),
            "resp: invalid multibulk length");
  EXPECT_TRUE(decode_error("*" + std::to_string(kMaxMultibulkLen) + "\r\n").ok());
  EXPECT_EQ(decode_error("+" + std::string(kMaxInlineLen + 1, 'x')).message(),
            "resp: line too long");
  EXPECT_TRUE(decode_error("+" + std::string(kMaxInlineLen, 'x')).ok());
  std::string deep;
  for (std::size_t i = 0; i < RespCodec::kMaxDepth; ++i) deep += "*1\r\n";
  EXPECT_TRUE(decode_error(deep + ":1\r\n").ok());
  EXPECT_EQ(decode_error(deep + "*1\r\n").message(), "resp: arrays nested too deep");
}

TEST(RespCodec, DecodeEofWithLeftoverIsAnError) {
  RespCodec codec;
  keel::BytesMut buf = keel::BytesMut::copy_from("*2\r\n:1\r\n");
  absl::StatusOr<std::optional<Frame>> r = keel::codec::decode_eof(codec, buf);
  EXPECT_FALSE(r.ok());
  RespCodec fresh;
  keel::BytesMut empty;
  r = keel::codec::decode_eof(fresh, empty);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(RespCodec, EncodeRejectsNewlinesInSimpleStrings) {
  RespCodec codec;
  keel::BytesMut out;
  EXPECT_EQ(codec.encode(Frame::simple("a\nb"), out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.encode(Frame::array_of({Frame::error("x\r")}), out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

// What clients send is what the server's parser reads.
TEST(RespCodec, CommandsParseAsRequests) {
  std::vector<std::string> args = {"SET", "key", std::string("v\r\n\0", 4), ""};
  std::string in = wire(Frame::command(args));
  Request req;
  ParseResult r = parse_request(in, req);
  ASSERT_EQ(r.kind, ParseResult::kComplete);
  EXPECT_EQ(std::vector<std::string>(req.args.begin(), req.args.end()), args);
}

}  // namespace
}  // namespace mini_redis::resp
