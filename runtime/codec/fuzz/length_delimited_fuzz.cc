// libFuzzer entry point for LengthDelimitedCodec's decoder.
//
// Input: bytes 0-3 pick the configuration (field width 1..8, byte order, offset 0..2,
// adjustment -8..7, num_skip, max_frame_length 1..2048); byte 4 the chunking pattern; the
// rest is the byte stream. Checks:
//   - decoding the stream whole and in chunks gives the same frames and the same first error;
//   - every frame is within max_frame_length, and the read buffer's capacity never grows
//     past what the frame bound allows (no allocation driven by an announced length over
//     the bound);
//   - with the plain layout (no offset, header dropped), re-encoding each frame and decoding
//     it again gives the frame back.
// Built by run_fuzzers.sh with clang's -fsanitize=fuzzer,address, and run over a corpus and
// random inputs in CI by :length_delimited_fuzz_test.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bytes/bytes.h"
#include "runtime/codec/codec.h"
#include "runtime/codec/fuzz/fuzz_check.h"
#include "runtime/codec/length_delimited.h"

namespace {

struct Config {
  std::size_t width;
  bool big;
  std::size_t offset;
  std::int64_t adjustment;
  std::optional<std::size_t> num_skip;
  std::size_t max;
};

keel::codec::LengthDelimitedCodec make(const Config& c) {
  auto b = keel::codec::LengthDelimitedCodec::builder()
               .length_field_length(c.width)
               .length_field_offset(c.offset)
               .length_adjustment(c.adjustment)
               .max_frame_length(c.max);
  if (c.big) {
    b.big_endian();
  } else {
    b.little_endian();
  }
  if (c.num_skip) b.num_skip(*c.num_skip);
  return b.new_codec();
}

struct Outcome {
  std::vector<std::string> frames;
  std::optional<std::string> error;
};

Outcome decode(const Config& cfg, std::string_view input, std::size_t chunk_cycle) {
  keel::codec::LengthDelimitedCodec codec = make(cfg);
  keel::BytesMut src;
  Outcome out;
  // What the buffer may legitimately hold: a whole frame after its header, plus one chunk.
  const std::size_t bound = cfg.offset + cfg.width + cfg.max + input.size() + 64;
  auto drain = [&](bool eof) {
    for (;;) {
      auto r = eof ? keel::codec::decode_eof(codec, src) : codec.decode(src);
      KEEL_FUZZ_CHECK(src.capacity() <= 2 * bound);
      if (!r.ok()) {
        out.error = std::string(r.status().message());
        return false;
      }
      if (!r->has_value()) return true;
      KEEL_FUZZ_CHECK((*r)->size() <= cfg.max);
      out.frames.push_back((*r)->to_string());
    }
  };
  std::size_t at = 0;
  std::size_t step = 1;
  while (at < input.size()) {
    std::size_t n = chunk_cycle == 0 ? input.size() : step;
    n = std::min(n, input.size() - at);
    src.append(input.substr(at, n));
    at += n;
    if (!drain(false)) return out;
    if (chunk_cycle != 0) step = step % chunk_cycle + 1;
  }
  drain(true);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  Config cfg;
  cfg.width = data[0] % 8 + 1;
  cfg.big = (data[1] & 1) != 0;
  cfg.offset = (data[1] >> 1) % 3;
  cfg.adjustment = static_cast<std::int64_t>(data[2] % 16) - 8;
  std::size_t head = cfg.offset + cfg.width;
  if (data[3] & 0x80) cfg.num_skip = (data[3] & 0x7f) % (head + 1);
  cfg.max = std::size_t{1} << ((data[3] >> 2) % 12);
  std::size_t cycle = data[4] % 9 + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 5, size - 5);

  Outcome whole = decode(cfg, input, 0);
  Outcome chunked = decode(cfg, input, cycle);
  KEEL_FUZZ_CHECK(whole.frames == chunked.frames);
  KEEL_FUZZ_CHECK(whole.error == chunked.error);

  if (cfg.offset == 0 && !cfg.num_skip.has_value()) {
    keel::codec::LengthDelimitedCodec codec = make(cfg);
    for (const std::string& f : whole.frames) {
      keel::BytesMut wire;
      absl::Status s = codec.encode(std::string_view(f), wire);
      if (!s.ok()) continue;  // e.g. a frame shorter than a positive adjustment
      auto back = codec.decode(wire);
      KEEL_FUZZ_CHECK(back.ok() && back->has_value());
      KEEL_FUZZ_CHECK((*back)->view() == f);
      KEEL_FUZZ_CHECK(wire.empty());
    }
  }
  return 0;
}
