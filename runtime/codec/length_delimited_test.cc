// Tests of LengthDelimitedCodec as decoder and encoder (no I/O): every header width in both
// byte orders, frames split at every byte boundary, oversized lengths rejected before any
// allocation, adjustments, offsets and num_skip, end of input inside a frame.

#include "runtime/codec/length_delimited.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/codec/codec.h"

namespace keel::codec {
namespace {

static_assert(Decoder<LengthDelimitedCodec>);
static_assert(std::same_as<decoder_item_t<LengthDelimitedCodec>, BytesMut>);
static_assert(Encoder<LengthDelimitedCodec, std::string>);
static_assert(Encoder<LengthDelimitedCodec, Bytes>);
static_assert(Encoder<LengthDelimitedCodec, BytesMut>);
static_assert(Decoder<Frozen<LengthDelimitedCodec>>);
static_assert(std::same_as<decoder_item_t<Frozen<LengthDelimitedCodec>>, Bytes>);

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

struct Decoded {
  std::vector<std::string> frames;
  std::vector<absl::Status> errors;
};

Decoded decode_pieces(LengthDelimitedCodec codec, const std::vector<std::string>& pieces,
                      bool eof = true) {
  Decoded out;
  BytesMut src;
  auto drain = [&](bool at_eof) {
    for (;;) {
      auto r = at_eof ? decode_eof(codec, src) : codec.decode(src);
      if (!r.ok()) {
        out.errors.push_back(r.status());
        return;
      }
      if (!r->has_value()) return;
      out.frames.push_back((*r)->to_string());
    }
  };
  for (const std::string& p : pieces) {
    src.append(p);
    drain(false);
    if (!out.errors.empty()) return out;
  }
  if (eof) drain(true);
  return out;
}

TEST(LengthDelimitedCodec, DefaultIsFourByteBigEndian) {
  LengthDelimitedCodec codec;
  BytesMut dst;
  ASSERT_TRUE(codec.encode(std::string_view("hello"), dst).ok());
  EXPECT_EQ(dst.view(), bytes({0, 0, 0, 5}) + "hello");
  auto r = codec.decode(dst);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->view(), "hello");
  EXPECT_TRUE(dst.empty());
}

TEST(LengthDelimitedCodec, EveryWidthAndByteOrderRoundTrips) {
  for (std::size_t width = 1; width <= 8; ++width) {
    for (bool big : {true, false}) {
      auto b = LengthDelimitedCodec::builder().length_field_length(width);
      if (big) b.big_endian(); else b.little_endian();
      LengthDelimitedCodec codec = b.new_codec();
      BytesMut wire;
      std::vector<std::string> frames = {"", "x", std::string(200, 'y'), "zz"};
      for (const auto& f : frames) ASSERT_TRUE(codec.encode(std::string_view(f), wire).ok());
      EXPECT_EQ(wire.size(), 4 * width + 203);
      // The 200-byte frame's header: 200 in the last (big) or first (little) byte.
      std::size_t at = 2 * width + 1;
      EXPECT_EQ(static_cast<unsigned char>(wire[big ? at + width - 1 : at]), 200u)
          << "width " << width << (big ? " big" : " little");
      Decoded d = decode_pieces(codec, {wire.to_string()});
      EXPECT_EQ(d.frames, frames) << "width " << width;
      EXPECT_TRUE(d.errors.empty());
    }
  }
}

TEST(LengthDelimitedCodec, ExplicitHeaderBytes) {
  auto le2 = LengthDelimitedCodec::builder().length_field_length(2).little_endian().new_codec();
  BytesMut dst;
  ASSERT_TRUE(le2.encode(std::string_view(std::string(0x0102, 'a')), dst).ok());
  EXPECT_EQ(dst.view().substr(0, 2), bytes({0x02, 0x01}));
  auto be3 = LengthDelimitedCodec::builder().length_field_length(3).new_codec();
  BytesMut dst3;
  ASSERT_TRUE(be3.encode(std::string_view(std::string(0x010203, 'b')), dst3).ok());
  EXPECT_EQ(dst3.view().substr(0, 3), bytes({0x01, 0x02, 0x03}));
}

TEST(LengthDelimitedCodec, SplitAtEveryByteBoundaryDecodesTheSame) {
  LengthDelimitedCodec proto = LengthDelimitedCodec::builder().length_field_length(2).new_codec();
  BytesMut wire;
  std::vector<std::string> frames = {"first", "", "third frame", "4"};
  for (const auto& f : frames) ASSERT_TRUE(proto.encode(std::string_view(f), wire).ok());
  std::string input = wire.to_string();
  for (std::size_t i = 0; i <= input.size(); ++i) {
    for (std::size_t j = i; j <= input.size(); ++j) {
      Decoded d = decode_pieces(proto, {input.substr(0, i), input.substr(i, j - i), input.substr(j)});
      EXPECT_EQ(d.frames, frames) << "split at " << i << ", " << j;
      EXPECT_TRUE(d.errors.empty());
    }
  }
  std::vector<std::string> one_by_one;
  for (char c : input) one_by_one.push_back(std::string(1, c));
  EXPECT_EQ(decode_pieces(proto, one_by_one).frames, frames);
}

TEST(LengthDelimitedCodec, OversizedLengthIsRejectedBeforeAllocating) {
  auto codec = LengthDelimitedCodec::builder().max_frame_length(1024).new_codec();
  BytesMut src = BytesMut::copy_from(bytes({0, 0, 4, 1}));  // 1025
  auto r = codec.decode(src);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("max_frame_length 1024"), std::string::npos);
  EXPECT_LT(src.capacity(), 1024u);  // nothing reserved for the frame
  // The largest 8-byte length: no overflow, same error.
  auto wide = LengthDelimitedCodec::builder().length_field_length(8).new_codec();
  BytesMut huge = BytesMut::copy_from(std::string(8, '\xff'));
  auto h = wide.decode(huge);
  EXPECT_TRUE(absl::IsResourceExhausted(h.status())) << h.status();
  EXPECT_LT(huge.capacity(), 1024u);
  // At the maximum: accepted, and room for it reserved at once.
  auto at_max = LengthDelimitedCodec::builder().max_frame_length(1024).new_codec();
  BytesMut ok = BytesMut::copy_from(bytes({0, 0, 4, 0}));
  auto m = at_max.decode(ok);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
  EXPECT_GE(ok.capacity(), 1024u);
}

TEST(LengthDelimitedCodec, AdjustmentOffsetAndNumSkip) {
  // The length counts its own 2 bytes.
  auto self_counting =
      LengthDelimitedCodec::builder().length_field_length(2).length_adjustment(-2).new_codec();
  Decoded a = decode_pieces(self_counting, {bytes({0, 5}) + "abc"});
  EXPECT_EQ(a.frames, (std::vector<std::string>{"abc"}));
  BytesMut enc;
  ASSERT_TRUE(self_counting.encode(std::string_view("abc"), enc).ok());
  EXPECT_EQ(enc.view(), bytes({0, 5}) + "abc");
  // The header is kept in the frame.
  auto keep = LengthDelimitedCodec::builder()
                  .length_field_length(2)
                  .length_adjustment(2)
                  .num_skip(0)
                  .new_codec();
  Decoded k = decode_pieces(keep, {bytes({0, 3}) + "abc"});
  EXPECT_EQ(k.frames, (std::vector<std::string>{bytes({0, 3}) + "abc"}));
  // A 1-byte tag before a 1-byte length, both kept in the frame: num_skip(0), and an
  // adjustment that counts the two header bytes.
  auto tagged = LengthDelimitedCodec::builder()
                    .length_field_offset(1)
                    .length_field_length(1)
                    .length_adjustment(2)
                    .num_skip(0)
                    .new_codec();
  Decoded t = decode_pieces(tagged, {"T" + bytes({2}) + "hiU" + bytes({0})});
  EXPECT_EQ(t.frames, (std::vector<std::string>{"T" + bytes({2}) + "hi", "U" + bytes({0})}));
  // Offset with the default num_skip drops the whole header (tag included).
  auto drop_all = LengthDelimitedCodec::builder().length_field_offset(1).length_field_length(1).new_codec();
  Decoded d = decode_pieces(drop_all, {"T" + bytes({2}) + "hi"});
  EXPECT_EQ(d.frames, (std::vector<std::string>{"hi"}));
  // Keeping the header (num_skip 0) without counting it: the frame would not cover the
  // header, which would be read again as the next header (found by the fuzz driver: with a
  // zero length this decoded empty frames forever).
  auto uncounted = LengthDelimitedCodec::builder().length_field_length(2).num_skip(0).new_codec();
  Decoded u = decode_pieces(uncounted, {bytes({0, 0}) + "abc"});
  EXPECT_TRUE(u.frames.empty());
  ASSERT_EQ(u.errors.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(u.errors[0])) << u.errors[0];
  // A length that is negative after adjustment is a data error.
  Decoded neg = decode_pieces(self_counting, {bytes({0, 1}) + "x"});
  ASSERT_EQ(neg.errors.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(neg.errors[0])) << neg.errors[0];
}

TEST(LengthDelimitedCodec, EndOfInputInsideAFrame) {
  LengthDelimitedCodec codec;
  Decoded mid_payload = decode_pieces(codec, {bytes({0, 0, 0, 9}) + "abc"});
  ASSERT_EQ(mid_payload.errors.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(mid_payload.errors[0]));
  EXPECT_NE(mid_payload.errors[0].message().find("unexpected end of stream inside a frame"),
            std::string::npos)
      << mid_payload.errors[0];
  Decoded mid_header = decode_pieces(codec, {bytes({0, 0})});
  ASSERT_EQ(mid_header.errors.size(), 1u);
  EXPECT_TRUE(absl::IsDataLoss(mid_header.errors[0]));
  Decoded clean = decode_pieces(codec, {bytes({0, 0, 0, 1}) + "a"});
  EXPECT_EQ(clean.frames, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(clean.errors.empty());
}

TEST(LengthDelimitedCodec, EncodeErrorsAppendNothing) {
  auto one_byte = LengthDelimitedCodec::builder().length_field_length(1).new_codec();
  BytesMut dst;
  absl::Status s = one_byte.encode(std::string_view(std::string(256, 'a')), dst);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(dst.empty());
  ASSERT_TRUE(one_byte.encode(std::string_view(std::string(255, 'a')), dst).ok());
  auto small = LengthDelimitedCodec::builder().max_frame_length(4).new_codec();
  BytesMut dst2;
  EXPECT_TRUE(absl::IsResourceExhausted(small.encode(std::string_view("12345"), dst2)));
  EXPECT_TRUE(dst2.empty());
}

TEST(LengthDelimitedCodec, FrozenYieldsBytesSharingTheBuffer) {
  Frozen<LengthDelimitedCodec> codec;
  BytesMut src;
  ASSERT_TRUE(codec.encode(std::string_view("abc"), src).ok());
  ASSERT_TRUE(codec.encode(Bytes::from_static("de"), src).ok());
  auto a = codec.decode(src);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(**a, "abc");
  auto b = codec.decode(src);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, "de");
}

TEST(LengthDelimitedCodecDeathTest, InvalidBuilderAborts) {
  EXPECT_DEATH(LengthDelimitedCodec::builder().length_field_length(9).new_codec(),
               "length_field_length must be 1 to 8");
  EXPECT_DEATH(LengthDelimitedCodec::builder().length_field_length(2).num_skip(3).new_codec(),
               "num_skip");
}

}  // namespace
}  // namespace keel::codec
