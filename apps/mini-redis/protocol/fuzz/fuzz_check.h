// MINI_REDIS_FUZZ_CHECK(cond): a check for fuzz entry points. On failure it prints the
// condition and aborts, which libFuzzer and the CI driver (fuzz_driver_test.cc) both report as
// a crash with the input. (runtime/codec/fuzz/fuzz_check.h is the same, but not exported.)
//
//   MINI_REDIS_FUZZ_CHECK(r.consumed <= size);
//
// Thread-safety: stateless.
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_FUZZ_FUZZ_CHECK_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define MINI_REDIS_FUZZ_CHECK(cond)                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                       \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_FUZZ_FUZZ_CHECK_H_
