// KEEL_TEST(suite, name): a GoogleTest test whose body is a coroutine, run once on every
// scheduler flavour (current_thread, multi_thread with 1 worker, multi_thread with 4 workers).
//
//   KEEL_TEST(Channel, DeliversInOrder) {
//     auto h = keel::spawn(producer());
//     EXPECT_EQ(co_await consumer(), 10);
//     co_return;
//   }
//
// Inside the body use EXPECT_* (GoogleTest's ASSERT_* `return`, which a coroutine cannot) or
// KEEL_ASSERT_TRUE / KEEL_ASSERT_OK, which `co_return` on failure. `keel::testing::flavor()`
// names the flavour running. Each run gets a fresh runtime with I/O and timers enabled.
#ifndef KEEL_RUNTIME_TEST_KEEL_TEST_H_
#define KEEL_RUNTIME_TEST_KEEL_TEST_H_

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/runtime.h"
#include "runtime/task/yield.h"

namespace keel::testing {

struct Flavor {
  const char* name;
  bool multi_thread;
  std::size_t workers;
};

// The three flavours every scheduler-independent test runs on.
const std::vector<Flavor>& all_flavors();
// The flavour of the runtime running the current KEEL_TEST body.
const Flavor& flavor();
// A runtime of the given flavour with I/O and timers; `configure` may adjust the builder.
Runtime make_runtime(const Flavor& f,
                     const std::function<void(Runtime::Builder&)>& configure = nullptr);
// Runs body() to completion on each flavour, each on a fresh runtime.
void run_on_every_flavor(Task<void> (*body)());

}  // namespace keel::testing

#define KEEL_TEST(suite, name)                                                     \
  static ::keel::Task<void> keel_test_body_##suite##_##name();                     \
  TEST(suite, name) {                                                              \
    ::keel::testing::run_on_every_flavor(&keel_test_body_##suite##_##name);        \
  }                                                                                \
  static ::keel::Task<void> keel_test_body_##suite##_##name()

#define KEEL_ASSERT_TRUE(cond)                    \
  do {                                            \
    if (!(cond)) {                                \
      ADD_FAILURE() << "expected true: " #cond;   \
      co_return;                                  \
    }                                             \
  } while (0)

#define KEEL_ASSERT_OK(expr)                                           \
  do {                                                                 \
    const auto& keel_status_ = (expr);                                 \
    if (!keel_status_.ok()) {                                          \
      ADD_FAILURE() << #expr " failed: " << ::keel::testing::status_of(keel_status_); \
      co_return;                                                       \
    }                                                                  \
  } while (0)

namespace keel::testing {

// Yields until pred() holds and returns true; false if it still does not hold after
// `give_up` of real time (a bound for a broken runtime only: a correct one is far quicker).
// Tests wait this way, never by sleeping, so they stay deterministic on the paused clock.
// `pred` may refer to the caller's frame: await the result at once.
template <class Pred>
Task<bool> eventually(Pred pred, Duration give_up = std::chrono::seconds(60)) {
  auto until = std::chrono::steady_clock::now() + give_up;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    co_await yield_now();
  }
  co_return true;
}

// Waits until the task behind `h` is parked on `what` (as the runtime's task dump shows it,
// "waiting on <what>"): its awaiter is then linked, so that whatever the test does next
// happens to a waiting task. The dump reads task states with relaxed loads; is_finished()
// then loads the task's state with acquire, which orders everything the task did before it
// suspended before what the caller does next. Await at once (it borrows `h`).
template <class T>
Task<bool> parked_on(const JoinHandle<T>& h, const char* what) {
  // This task's own entry in the dump (entries start with "task <id> "), not any task's.
  std::string entry = "\ntask " + std::to_string(h.id()) + " ";
  std::string needle = std::string("waiting on ") + what;
  co_return co_await eventually([&] {
    std::string dump = Handle::current().dump();
    std::size_t at = dump.find(entry);
    if (at == std::string::npos) return false;
    std::size_t end = dump.find("\ntask ", at + 1);
    return dump.substr(at, end == std::string::npos ? std::string::npos : end - at)
                   .find(needle) != std::string::npos &&
           !h.is_finished();
  });
}

// Yields `yields` times, so that whatever was going to happen (wrongly) gets the chance.
inline Task<void> settle(int yields = 200) {
  for (int i = 0; i < yields; ++i) co_await yield_now();
}

inline std::string status_of(const absl::Status& s) { return s.ToString(); }
template <class T>
std::string status_of(const absl::StatusOr<T>& s) {
  return s.status().ToString();
}
}  // namespace keel::testing

#endif  // KEEL_RUNTIME_TEST_KEEL_TEST_H_
