// KEEL_FUZZ_CHECK(cond): a check for fuzz entry points (the codecs' and mini-redis's RESP
// parsers). On failure it prints the condition and aborts, which both
// libFuzzer and the CI driver (fuzz_driver_test.cc) report as a crash with the input.
#ifndef KEEL_RUNTIME_CODEC_FUZZ_FUZZ_CHECK_H_
#define KEEL_RUNTIME_CODEC_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define KEEL_FUZZ_CHECK(cond)                                                    \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                       \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

#endif  // KEEL_RUNTIME_CODEC_FUZZ_FUZZ_CHECK_H_
