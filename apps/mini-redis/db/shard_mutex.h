// ShardMutex: the lock of one keyspace shard. A mutex that spins briefly before it sleeps
// (glibc's adaptive mutex, PTHREAD_MUTEX_ADAPTIVE_NP).
//
//   std::lock_guard lock(db.shard(i).mutex());
//
// Why not std::mutex: a shard's critical section is a few hundred nanoseconds (a lookup and an
// insert, plus the AOF record's encoding), yet every worker takes one for every command, and
// the AOF writer holds all of them at once for each batch's cut. A std::mutex puts a contender
// to sleep in the kernel at once: a futex wait, a futex wake from the holder, and a cross-core
// wake-up, which on this project's VM costs far more than the section. Under
// `SET -P 16` with appendfsync everysec, workers blocked in futex waits on shard locks ~560
// times a second (6x the in-memory server's rate), and the machine sat idle meanwhile. The
// adaptive mutex retries for a bounded number of rounds (glibc's tunable
// glibc.pthread.mutex_spin_count, 100 by default) before it sleeps, so a contender that meets
// a short section gets the lock without a system call, and one that meets a long one
// (a rewrite's dump, a FLUSHALL) still sleeps.
//
// Thread-safety: as std::mutex (it meets the Lockable requirements; ThreadSanitizer sees it
// through its pthread interceptors).
#ifndef KEEL_APPS_MINI_REDIS_DB_SHARD_MUTEX_H_
#define KEEL_APPS_MINI_REDIS_DB_SHARD_MUTEX_H_

#include <pthread.h>

namespace mini_redis {

class ShardMutex {
 public:
  ShardMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mu_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~ShardMutex() { pthread_mutex_destroy(&mu_); }
  ShardMutex(const ShardMutex&) = delete;
  ShardMutex& operator=(const ShardMutex&) = delete;

  void lock() { pthread_mutex_lock(&mu_); }
  bool try_lock() { return pthread_mutex_trylock(&mu_) == 0; }
  void unlock() { pthread_mutex_unlock(&mu_); }

 private:
  pthread_mutex_t mu_;
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_DB_SHARD_MUTEX_H_
