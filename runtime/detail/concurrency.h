// The one facade through which the runtime reaches atomics, locks and condition variables.
//
// Every concurrent component of the runtime uses these aliases instead of naming std::atomic
// or std::mutex directly, so that a model checker or an instrumented build can swap them in
// one place. The shuffle build (`--config=shuffle`, which defines KEEL_SHUFFLE) makes
// `shuffle_point()` return random answers where the schedulers choose an order (LIFO slot or
// ring, local or global queue first), so tests that silently rely on one order fail there.
//
// Thread-safety: these are the primitives themselves.
#ifndef KEEL_RUNTIME_DETAIL_CONCURRENCY_H_
#define KEEL_RUNTIME_DETAIL_CONCURRENCY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace keel::detail {

template <class T>
using Atomic = std::atomic<T>;
using Mutex = std::mutex;
using CondVar = std::condition_variable;
using LockGuard = std::lock_guard<std::mutex>;
using UniqueLock = std::unique_lock<std::mutex>;

// A hint inside spin loops.
inline void spin_loop_hint() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

#if defined(KEEL_SHUFFLE)
// A coin flip from a per-thread xorshift generator.
inline bool shuffle_point() {
  thread_local std::uint32_t state =
      static_cast<std::uint32_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())) | 1u;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state & 1u;
}
#else
constexpr bool shuffle_point() { return false; }
#endif

// A lock for critical sections of a few dozen instructions that never block inside (the
// waiter queues of the sync primitives). Uncontended it costs one exchange and one store,
// against a pthread mutex's two library calls; under contention it spins briefly, then yields
// the CPU, so a holder preempted on an oversubscribed machine is not spun against for long.
// Satisfies BasicLockable (use SpinGuard).
class SpinMutex {
 public:
  void lock() noexcept {
    // ORDERING: acquire; pairs with unlock()'s release, so the section sees the last holder's
    // writes.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      int spins = 0;
      // ORDERING: relaxed; only a hint to retry the exchange, which re-synchronizes.
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < kSpinsBeforeYield) {
          spin_loop_hint();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    // ORDERING: acquire on success, as lock().
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // ORDERING: release; publishes the section's writes to the next holder.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  // About a microsecond of pause instructions: longer than any section guarded by a SpinMutex.
  static constexpr int kSpinsBeforeYield = 64;
  Atomic<bool> locked_{false};
};
using SpinGuard = std::lock_guard<SpinMutex>;

// Keeps a hot atomic on its own cache line so that unrelated writers do not share it.
inline constexpr std::size_t kCacheLine = 64;

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_DETAIL_CONCURRENCY_H_
