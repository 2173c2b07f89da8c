// KEEL_MAIN(fn): a `main` that runs `fn` on a multi_thread runtime with I/O and timers.
//
//   keel::Task<int> async_main(int argc, char** argv) { ...; co_return 0; }
//   KEEL_MAIN(async_main)
//
// `fn` is `Task<int>(int, char**)` or `Task<int>()`; its value is the exit status. A runtime
// that cannot start prints why and exits with status 1.
#ifndef KEEL_RUNTIME_MAIN_H_
#define KEEL_RUNTIME_MAIN_H_

#include <cstdio>
#include <string>
#include <type_traits>

#include "runtime/runtime.h"

namespace keel::detail {

template <class F>
int run_main(int argc, char** argv, F fn) {
  absl::StatusOr<Runtime> rt = Runtime::new_multi_thread().enable_all().build();
  if (!rt.ok()) {
    std::fprintf(stderr, "%s: cannot start the Keel runtime: %s\n", argc > 0 ? argv[0] : "keel",
                 std::string(rt.status().message()).c_str());
    return 1;
  }
  if constexpr (std::is_invocable_v<F, int, char**>) {
    return rt->block_on(fn(argc, argv));
  } else {
    return rt->block_on(fn());
  }
}

}  // namespace keel::detail

#define KEEL_MAIN(fn) \
  int main(int argc, char** argv) { return ::keel::detail::run_main(argc, argv, fn); }

#endif  // KEEL_RUNTIME_MAIN_H_
