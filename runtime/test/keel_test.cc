#include "runtime/test/keel_test.h"

namespace keel::testing {
namespace {
// Tests run one at a time; every runtime thread of the body reads the same flavour.
const Flavor* running = nullptr;
}

const std::vector<Flavor>& all_flavors() {
  static const std::vector<Flavor> flavors = {
      {"current_thread", false, 1},
      {"multi_thread_1", true, 1},
      {"multi_thread_4", true, 4},
  };
  return flavors;
}

const Flavor& flavor() {
  static const Flavor none{"none", false, 0};
  return running ? *running : none;
}

Runtime make_runtime(const Flavor& f, const std::function<void(Runtime::Builder&)>& configure) {
  Runtime::Builder b = f.multi_thread ? Runtime::new_multi_thread() : Runtime::new_current_thread();
  if (f.multi_thread) b.worker_threads(f.workers);
  b.enable_all();
  if (configure) configure(b);
  absl::StatusOr<Runtime> rt = b.build();
  if (!rt.ok()) {
    ADD_FAILURE() << "runtime build failed: " << rt.status();
    std::abort();
  }
  return std::move(*rt);
}

void run_on_every_flavor(Task<void> (*body)()) {
  for (const Flavor& f : all_flavors()) {
    SCOPED_TRACE(f.name);
    Runtime rt = make_runtime(f);
    running = &f;
    rt.block_on(body());
    running = nullptr;
  }
}

}  // namespace keel::testing
