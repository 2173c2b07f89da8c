// Runs a libFuzzer entry point (LLVMFuzzerTestOneInput, linked in from one *_fuzz.cc) in CI,
// where g++ cannot build real libFuzzer binaries: over a corpus of edge cases (every
// configuration byte with structured payloads) and 10,000 random inputs from a fixed seed.
// A failed check inside the entry point aborts the test with the check's text.
// run_fuzzers.sh runs the same entry points under real libFuzzer with clang.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()),
                                input.size());
}

std::string be32(std::uint32_t n) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
  return s;
}

// Payloads that stress framing: separators, partial terminators, headers of every size.
std::vector<std::string> payloads() {
  std::vector<std::string> p = {
      "",
      "\n",
      "\r\n",
      "\r",
      "\n\n\n",
      "a\nbb\r\nccc\n",
      "no newline at all",
      std::string(100, 'x'),
      std::string(100, 'x') + "\n" + std::string(3, 'y') + "\n",
      std::string(70, 'z') + "\r\n",
      "\r\r\r\n\r",
      std::string(16, '\0'),
      std::string(16, '\xff'),
      std::string(9, '\x7f'),
      be32(0),
      be32(1) + "a",
      be32(5) + "hello" + be32(0) + be32(3) + "abc",
      be32(0xffffffffu) + "x",
      be32(2048) + std::string(2048, 'q'),
      be32(10) + "cut",
  };
  for (int i = 0; i < 20; ++i) p.push_back(std::string(1, static_cast<char>(i)) + "abc\n");
  return p;
}

TEST(FuzzEntryPoint, EdgeCaseCorpus) {
  const std::vector<std::string> bodies = payloads();
  int runs = 0;
  for (int b0 = 0; b0 < 256; b0 += 5) {
    for (int b3 : {0, 0x2c, 0x80, 0x85, 0xaf, 0xff}) {
      for (const std::string& body : bodies) {
        std::string in;
        in.push_back(static_cast<char>(b0));
        in.push_back(static_cast<char>(b0 * 7 + 1));   // byte order, offset, chunking
        in.push_back(static_cast<char>(b0 * 13 + 3));  // adjustment
        in.push_back(static_cast<char>(b3));           // num_skip, max length
        in.push_back(static_cast<char>(b0 ^ b3));      // chunking
        in += body;
        EXPECT_EQ(run(in), 0);
        ++runs;
      }
    }
  }
  EXPECT_GT(runs, 10000);
  // Short inputs (fewer bytes than the configuration takes).
  for (std::size_t n = 0; n < 6; ++n) EXPECT_EQ(run(std::string(n, '\n')), 0);
}

TEST(FuzzEntryPoint, TenThousandRandomInputs) {
  std::mt19937_64 rng(0x6b65656c);  // "keel": deterministic
  // Bytes drawn mostly from the ones framing cares about.
  const std::string interesting = std::string("\n\r\0\x01\x02\x04\x7f\x80\xff", 9) + "ab";
  for (int i = 0; i < 10000; ++i) {
    std::size_t len = rng() % 300;
    std::string in;
    in.reserve(len);
    for (std::size_t j = 0; j < len; ++j) {
      std::uint64_t r = rng();
      in.push_back(r % 3 == 0 ? static_cast<char>(r >> 8)
                              : interesting[(r >> 8) % interesting.size()]);
    }
    ASSERT_EQ(run(in), 0) << "input " << i;
  }
}

}  // namespace
