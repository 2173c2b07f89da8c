// A main() for the fuzz entry points when they are built without libFuzzer (the default g++
// build): runs LLVMFuzzerTestOneInput on each file named on the command line, e.g. a crash
// file a real libFuzzer run saved, so it can be replayed and debugged with any toolchain:
//
//   ./bazelw run //apps/mini-redis/protocol:resp_fuzzer -- /tmp/crash-1234
//
// Flags (arguments starting with '-', as libFuzzer's -max_total_time=30) are ignored.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    if (!path.empty() && path[0] == '-') continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzzer: cannot open %s\n", path.c_str());
      return 1;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    ++ran;
  }
  std::fprintf(stderr,
               "fuzzer: ran %d input(s) without libFuzzer (build with --config=fuzz to fuzz)\n",
               ran);
  return 0;
}
