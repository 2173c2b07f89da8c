// Tests of LinesCodec and BytesCodec as decoders and encoders (no I/O): lines split at every
// byte boundary, "\r\n", the length bound and recovery after it, end of input.

#include "runtime/codec/lines_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/codec/bytes_codec.h"
#include "runtime/codec/codec.h"

namespace keel::codec {
namespace {

static_assert(Decoder<LinesCodec>);
static_assert(std::same_as<decoder_item_t<LinesCodec>, std::string>);
static_assert(Encoder<LinesCodec, std::string>);
static_assert(Encoder<LinesCodec, std::string_view>);
static_assert(Decoder<BytesCodec>);
static_assert(Encoder<BytesCodec, Bytes>);

struct Decoded {
  std::vector<std::string> lines;
  std::vector<absl::Status> errors;
};

// Feeds `pieces` one after the other, decoding everything decodable after each; then EOF.
Decoded decode_pieces(LinesCodec codec, const std::vector<std::string>& pieces) {
  Decoded out;
  BytesMut src;
  auto drain = [&](bool eof) {
    for (;;) {
      auto r = eof ? decode_eof(codec, src) : codec.decode(src);
      if (!r.ok()) {
        out.errors.push_back(r.status());
        continue;
      }
      if (!r->has_value()) return;
      out.lines.push_back(std::move(**r));
    }
  };
  for (const std::string& p : pieces) {
    src.append(p);
    drain(false);
  }
  drain(true);
  return out;
}

TEST(LinesCodec, DecodesLinesAndStripsCrLf) {
  Decoded d = decode_pieces(LinesCodec(), {"one\ntwo\r\n\nthree\r\r\nlast"});
  EXPECT_EQ(d.lines, (std::vector<std::string>{"one", "two", "", "three\r", "last"}));
  EXPECT_TRUE(d.errors.empty());
}

TEST(LinesCodec, SplitAtEveryByteBoundaryDecodesTheSame) {
  const std::string input = "alpha\r\nbeta\n\ngamma delta\r\nz\n";
  const std::vector<std::string> want = {"alpha", "beta", "", "gamma delta", "z"};
  for (std::size_t i = 0; i <= input.size(); ++i) {
    for (std::size_t j = i; j <= input.size(); ++j) {
      Decoded d = decode_pieces(
          LinesCodec(), {input.substr(0, i), input.substr(i, j - i), input.substr(j)});
      EXPECT_EQ(d.lines, want) << "split at " << i << ", " << j;
      EXPECT_TRUE(d.errors.empty());
    }
  }
  std::vector<std::string> bytes;
  for (char c : input) bytes.push_back(std::string(1, c));
  EXPECT_EQ(decode_pieces(LinesCodec(), bytes).lines, want);
}

TEST(LinesCodec, LineAtTheMaximumIsAccepted) {
  Decoded d = decode_pieces(LinesCodec(4), {"abcd\nabcd\r\n"});
  EXPECT_EQ(d.lines, (std::vector<std::string>{"abcd", "abcd"}));
  EXPECT_TRUE(d.errors.empty());
}

TEST(LinesCodec, LongLineIsAClearErrorWithoutBufferingIt) {
  LinesCodec codec(4);
  BytesMut src;
  // Byte by byte: the error comes as soon as the bound is certainly exceeded.
  std::string input = "abcde";
  std::size_t fed = 0;
  absl::Status error;
  for (char c : input) {
    src.push_back(c);
    ++fed;
    auto r = codec.decode(src);
    if (!r.ok()) {
      error = r.status();
      break;
    }
    EXPECT_FALSE(r->has_value());
  }
  EXPECT_EQ(fed, 5u);
  EXPECT_TRUE(absl::IsResourceExhausted(error)) << error;
  EXPECT_NE(error.message().find("max_length"), std::string::npos) << error;
  // "abcd\r" could still be a 4-byte line: no error until the next byte.
  LinesCodec crlf(4);
  BytesMut src2 = BytesMut::copy_from("abcd\r");
  auto r = crlf.decode(src2);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  src2.push_back('x');
  EXPECT_TRUE(absl::IsResourceExhausted(crlf.decode(src2).status()));
}

TEST(LinesCodec, RecoversAtTheNextLineAfterTooLong) {
  Decoded d = decode_pieces(LinesCodec(4), {"ok\nwaytoolong", "stillgoing", "\nfine\n"});
  EXPECT_EQ(d.lines, (std::vector<std::string>{"ok", "fine"}));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_TRUE(absl::IsResourceExhausted(d.errors[0]));
  // A too-long line that arrives whole is one error too.
  Decoded whole = decode_pieces(LinesCodec(3), {"toolong\nab\n"});
  EXPECT_EQ(whole.lines, (std::vector<std::string>{"ab"}));
  EXPECT_EQ(whole.errors.size(), 1u);
}

TEST(LinesCodec, BufferStaysBoundedWhileDiscarding) {
  LinesCodec codec(16);
  BytesMut src;
  int errors = 0;
  for (int i = 0; i < 1000; ++i) {
    src.append(std::string(100, 'x'));
    auto r = codec.decode(src);
    if (!r.ok()) ++errors;
    EXPECT_LE(src.size(), 18u);
  }
  EXPECT_EQ(errors, 1);
  src.append("\nnext\n");
  auto r = codec.decode(src);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value_or("?"), "next");
}

TEST(LinesCodec, EndOfInput) {
  LinesCodec codec;
  BytesMut empty;
  auto r = decode_eof(codec, empty);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  BytesMut cr = BytesMut::copy_from("tail\r");
  auto t = decode_eof(codec, cr);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->value_or("?"), "tail");
  EXPECT_TRUE(cr.empty());
}

TEST(LinesCodec, Encodes) {
  LinesCodec codec;
  BytesMut dst;
  ASSERT_TRUE(codec.encode("hello", dst).ok());
  ASSERT_TRUE(codec.encode(std::string("again\r"), dst).ok());
  EXPECT_EQ(dst.view(), "hello\nagain\r\n");
  absl::Status bad = codec.encode("two\nlines", dst);
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_EQ(dst.view(), "hello\nagain\r\n");  // nothing appended
}

TEST(BytesCodec, PassesChunksThrough) {
  BytesCodec codec;
  BytesMut src = BytesMut::copy_from("abc");
  auto r = codec.decode(src);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->view(), "abc");
  EXPECT_TRUE(src.empty());
  auto none = codec.decode(src);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto eof = decode_eof(codec, src);
  ASSERT_TRUE(eof.ok());
  EXPECT_FALSE(eof->has_value());
  BytesMut dst;
  ASSERT_TRUE(codec.encode(Bytes::from_static("xy"), dst).ok());
  EXPECT_EQ(dst.view(), "xy");
}

}  // namespace
}  // namespace keel::codec
