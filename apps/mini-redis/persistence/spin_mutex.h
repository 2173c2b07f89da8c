// SpinThenBlockMutex: a std::mutex that spins briefly before it sleeps, for locks whose critical
// section is a few hundred nanoseconds and that every worker takes for every write (the AOF's
// append buffer). A plain std::mutex puts a contender to sleep in the kernel (futex wait, then
// a futex wake on unlock) each time two workers meet; spinning for about as long as the holder
// needs gets the lock without either system call. After kSpins tries it blocks as std::mutex
// does, so a holder that was preempted costs a sleeper nothing.
//
//   SpinThenBlockMutex mu;
//   { std::lock_guard lock(mu); buffer.append(record); }
//
// Thread-safety: as std::mutex (it meets the Lockable requirements).
#ifndef KEEL_APPS_MINI_REDIS_PERSISTENCE_SPIN_MUTEX_H_
#define KEEL_APPS_MINI_REDIS_PERSISTENCE_SPIN_MUTEX_H_

#include <mutex>

namespace mini_redis {

class SpinThenBlockMutex {
 public:
  // About 1-2 µs of spinning: longer than append()'s critical section, far shorter than a
  // futex sleep and wake.
  static constexpr int kSpins = 64;

  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_PERSISTENCE_SPIN_MUTEX_H_
