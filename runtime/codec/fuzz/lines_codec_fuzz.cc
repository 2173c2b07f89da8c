// libFuzzer entry point for LinesCodec's decoder.
//
// Input: byte 0 picks max_length (0..63, small so that the bound is hit often), byte 1 the
// chunking pattern; the rest is the byte stream. Checks:
//   - decoding the stream whole and in chunks gives the same lines and the same errors;
//   - every line is within max_length and holds no "\n";
//   - while waiting for more bytes the codec buffers at most max_length + 1 bytes.
// Built by run_fuzzers.sh with clang's -fsanitize=fuzzer,address, and run over a corpus and
// random inputs in CI by :lines_codec_fuzz_test.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/bytes/bytes.h"
#include "runtime/codec/codec.h"
#include "runtime/codec/fuzz/fuzz_check.h"
#include "runtime/codec/lines_codec.h"

namespace {

struct Outcome {
  std::vector<std::string> lines;
  std::vector<std::string> errors;
};

Outcome decode(std::size_t max_length, std::string_view input, std::size_t chunk_cycle) {
  keel::codec::LinesCodec codec(max_length);
  keel::BytesMut src;
  Outcome out;
  auto drain = [&](bool eof) {
    for (int guard = 0;; ++guard) {
      KEEL_FUZZ_CHECK(guard < 1 << 20);
      auto r = eof ? keel::codec::decode_eof(codec, src) : codec.decode(src);
      if (!r.ok()) {
        out.errors.push_back(std::string(r.status().message()));
        continue;
      }
      if (!r->has_value()) {
        if (!eof) KEEL_FUZZ_CHECK(src.size() <= max_length + 1);
        return;
      }
      const std::string& line = **r;
      KEEL_FUZZ_CHECK(line.size() <= max_length);
      KEEL_FUZZ_CHECK(line.find('\n') == std::string::npos);
      out.lines.push_back(line);
    }
  };
  std::size_t at = 0;
  std::size_t step = 1;
  while (at < input.size()) {
    std::size_t n = chunk_cycle == 0 ? input.size() : step;
    n = std::min(n, input.size() - at);
    src.append(input.substr(at, n));
    at += n;
    drain(false);
    if (chunk_cycle != 0) step = step % chunk_cycle + 1;
  }
  drain(true);
  KEEL_FUZZ_CHECK(src.empty());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t max_length = data[0] % 64;
  std::size_t cycle = data[1] % 9 + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  Outcome whole = decode(max_length, input, 0);
  Outcome chunked = decode(max_length, input, cycle);
  KEEL_FUZZ_CHECK(whole.lines == chunked.lines);
  KEEL_FUZZ_CHECK(whole.errors == chunked.errors);
  return 0;
}
