// Runs a libFuzzer entry point (LLVMFuzzerTestOneInput, linked in from request_fuzz.cc or
// resp_fuzz.cc) in CI, where g++ builds no libFuzzer binaries: over a corpus of RESP
// edge cases (each with several values of the configuration byte) and 10,000 random inputs
// built from RESP tokens, from a fixed seed. A failed check aborts with the check's text.

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

std::vector<std::string> corpus() {
  return {
      "",
      "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n",
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nbc\r\n*1\r\n$4\r\nPING\r\n",
      "PING\r\nPING\nset \"a b\" 'c\\'d' \"\\x41\\n\"\r\n",
      "set \"abc\r\n",
      "x 'a'b\n",
      "\r\n\n   \n*0\r\n*-1\r\n",
      "*1\r\n:1\r\n",
      "*1\r\n$-1\r\n",
      "*1\r\n$536870913\r\n",
      "*1\r\n$536870912\r\nabc",
      "*1048577\r\n",
      "*01\r\n",
      "*1\r",
      "$3\r\nfoo\r\n",
      "+OK\r\n-ERR x\r\n:42\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n",
      "*2\r\n*1\r\n:1\r\n*2\r\n+a\r\n-b\r\n",
      "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:0\r\n",
      ":-9223372036854775808\r\n:9223372036854775808\r\n",
      ":+1\r\n",
      "+a\nb\r\n",
      "$1\r\nabc",
      std::string("get a\0b\n", 8),
      std::string("*1\r\n$2\r\n\0\xff\r\n", 12),
      std::string(200, '*'),
      std::string(200, '$'),
      std::string(100, 'a') + "\n",
  };
}

TEST(FuzzEntryPoint, EdgeCaseCorpus) {
  int runs = 0;
  for (const std::string& body : corpus()) {
    for (int config = 0; config < 256; config += 3) {
      EXPECT_EQ(run(std::string(1, static_cast<char>(config)) + body), 0);
      ++runs;
    }
  }
  EXPECT_GT(runs, 2000);
}

TEST(FuzzEntryPoint, TenThousandRandomInputs) {
  std::mt19937_64 rng(0x6d696e69);  // "mini": deterministic
  // Pieces RESP parsers care about, so that random inputs often come close to valid.
  const std::vector<std::string> tokens = {
      "*", "$", "+", "-", ":", "\r\n", "\r", "\n", "0", "1", "2", "3", "-1", "10", " ",
      "\"", "'", "\\", "\\x4", "a", "GET", std::string(1, '\0'), "\xff", "*2\r\n", "$3\r\n",
      "abc\r\n", "*1\r\n$1\r\nx\r\n"};
  for (int i = 0; i < 10000; ++i) {
    std::string in(1, static_cast<char>(rng()));
    std::size_t pieces = rng() % 40;
    for (std::size_t j = 0; j < pieces; ++j) {
      std::uint64_t r = rng();
      if (r % 5 == 0) {
        in.push_back(static_cast<char>(r >> 8));
      } else {
        in += tokens[(r >> 8) % tokens.size()];
      }
    }
    ASSERT_EQ(run(in), 0) << "input " << i;
  }
}

}  // namespace
