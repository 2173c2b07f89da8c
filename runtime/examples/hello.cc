// hello: a tour of Keel's runtime in one small program.
//
//   ./bazelw run //runtime/examples:hello            # or: -- --tasks 100
//
// Spawns N tasks that each sleep a little and report back, runs them concurrently with a
// timeout, runs blocking work on the blocking pool, and prints the runtime's metrics.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <string>
#include <vector>

#include "runtime/keel.h"
#include "runtime/main.h"

namespace {

keel::Task<int> greet(int i) {
  co_await keel::sleep(std::chrono::milliseconds(i % 10));
  co_return i;
}

keel::Task<std::string> hostname_blocking() {
  absl::StatusOr<std::string> name = co_await keel::spawn_blocking([] {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return std::string("(unknown)");
    return std::string(buf);
  });
  co_return name.ok() ? *name : std::string("(cancelled)");
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--tasks N]   (N from 1 to 1000000, default 10)\n", argv0);
  return 2;
}

keel::Task<int> async_main(int argc, char** argv) {
  long tasks = 10;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tasks") == 0 && i + 1 < argc) {
      char* end = nullptr;
      tasks = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || tasks < 1 || tasks > 1'000'000) co_return usage(argv[0]);
    } else {
      co_return usage(argv[0]);
    }
  }

  std::vector<keel::JoinHandle<int>> handles;
  for (long i = 0; i < tasks; ++i) handles.push_back(keel::spawn(greet(static_cast<int>(i))));
  long sum = 0;
  for (auto& h : handles) {
    absl::StatusOr<int> v = co_await h;
    if (v.ok()) sum += *v;
  }
  std::printf("hello from Keel: %ld tasks joined (sum %ld)\n", tasks, sum);

  absl::Status slow = co_await keel::timeout(std::chrono::milliseconds(5),
                                             keel::sleep_task(std::chrono::seconds(1)));
  std::printf("a 1 s sleep under a 5 ms timeout: %s\n", slow.ToString().c_str());
  std::printf("running on host %s\n", (co_await hostname_blocking()).c_str());

  keel::RuntimeMetrics m = keel::Handle::current().metrics();
  keel::WorkerMetrics total = m.total();
  std::printf("%zu workers, %llu polls, %llu steals, %llu timers fired\n", m.workers.size(),
              static_cast<unsigned long long>(total.polls_total),
              static_cast<unsigned long long>(total.steals_total),
              static_cast<unsigned long long>(m.timers_fired_total));
  co_return 0;
}

}  // namespace

KEEL_MAIN(async_main)
