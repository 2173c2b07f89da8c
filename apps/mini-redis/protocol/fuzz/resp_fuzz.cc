// libFuzzer entry point for RespCodec (resp_codec.h).
//
// Input: byte 0 picks the chunk sizes the stream is fed in (0: whole; n: 1, 2, .., n, 1, ..);
// the rest is the byte stream. Checks:
//   - encode(decode(x)) gives back exactly the bytes the frame was decoded from (RESP2 as the
//     codec reads it has one spelling per value);
//   - decoding whole and in chunks gives the same frames and the same error (or none);
//   - every frame stays within the limits (depth, sizes);
//   - the decoder never consumes bytes without yielding a frame.
// Built as a real libFuzzer binary by `--config=fuzz` and run in CI by :resp_codec_fuzz_test.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/mini-redis/protocol/frame.h"
#include "runtime/codec/fuzz/fuzz_check.h"
#include "apps/mini-redis/protocol/request.h"
#include "apps/mini-redis/protocol/resp_codec.h"
#include "runtime/bytes/bytes.h"

namespace {

using mini_redis::resp::Frame;
using mini_redis::resp::RespCodec;

struct Outcome {
  std::vector<Frame> frames;
  std::string error;
};

void check_frame(const Frame& f, std::size_t depth) {
  KEEL_FUZZ_CHECK(depth <= RespCodec::kMaxDepth + 1);
  if (f.kind == Frame::Kind::kBulk) {
    KEEL_FUZZ_CHECK(f.str.size() <= static_cast<std::size_t>(mini_redis::resp::kMaxBulkLen));
  }
  if (f.kind == Frame::Kind::kArray) {
    KEEL_FUZZ_CHECK(f.array.size() <=
                          static_cast<std::size_t>(mini_redis::resp::kMaxMultibulkLen));
    for (const Frame& item : f.array) check_frame(item, depth + 1);
  }
}

Outcome decode(std::string_view input, std::size_t chunk_cycle) {
  RespCodec codec;
  keel::BytesMut src;
  Outcome out;
  std::string fed;          // everything appended so far
  std::size_t decoded = 0;  // bytes of `fed` that frames came from
  std::size_t at = 0;
  std::size_t step = 1;
  while (at < input.size()) {
    std::size_t n = chunk_cycle == 0 ? input.size() : step;
    n = std::min(n, input.size() - at);
    src.append(input.substr(at, n));
    fed.append(input.substr(at, n));
    at += n;
    if (chunk_cycle != 0) step = step % chunk_cycle + 1;
    while (true) {
      std::size_t before = src.size();
      absl::StatusOr<std::optional<Frame>> r = codec.decode(src);
      if (!r.ok()) {
        out.error = std::string(r.status().message());
        KEEL_FUZZ_CHECK(out.error.rfind("resp: ", 0) == 0);
        return out;
      }
      if (!r->has_value()) {
        KEEL_FUZZ_CHECK(src.size() == before);
        break;
      }
      std::size_t consumed = before - src.size();
      KEEL_FUZZ_CHECK(consumed > 0);
      std::string wire;
      mini_redis::resp::encode(**r, wire);
      KEEL_FUZZ_CHECK(wire == std::string_view(fed).substr(decoded, consumed));
      decoded += consumed;
      check_frame(**r, 0);
      out.frames.push_back(std::move(**r));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome whole = decode(input, 0);
  Outcome chunked = decode(input, data[0] % 17);
  KEEL_FUZZ_CHECK(whole.frames == chunked.frames);
  KEEL_FUZZ_CHECK(whole.error.empty() == chunked.error.empty());
  return 0;
}
