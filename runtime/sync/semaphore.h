// sync::Semaphore: an asynchronous counting semaphore, FIFO and closable.
//
//   keel::sync::Semaphore limit(100);                     // at most 100 at once
//   absl::StatusOr<keel::sync::SemaphorePermit> p = co_await limit.acquire();
//   if (!p.ok()) co_return p.status();                    // FAILED_PRECONDITION: closed
//   ...                                                   // the permit returns on destruction
//
//   // A permit that travels into a spawned task keeps the semaphore alive:
//   auto sem = std::make_shared<keel::sync::Semaphore>(8);
//   absl::StatusOr<keel::sync::OwnedSemaphorePermit> owned =
//       co_await keel::sync::acquire_owned(sem);
//   keel::spawn(handle_connection(std::move(conn), std::move(*owned)));
//
// Semantics (as Tokio's):
//   - acquire()/acquire_many(n) wait in FIFO order; a large request at the head of the queue
//     is not overtaken by small ones (permits released meanwhile are set aside for it).
//   - try_acquire()/try_acquire_many(n) never wait: RESOURCE_EXHAUSTED when the permits are
//     not free (or someone is queued), FAILED_PRECONDITION once closed.
//   - close() fails every queued and future acquire with FAILED_PRECONDITION; permits already
//     held stay valid and are still returned on destruction.
//   - add_permits(n) adds new permits; permit.forget() drops a permit without returning it.
//
// State machine and invariants: see detail/batch_semaphore.h. Uncontended acquire and release
// are one CAS each. Cancellation: an acquire destroyed mid-wait leaves the queue, and permits
// handed to it before it resumed go to the next waiter.
//
// Thread-safety: every member from any thread. A permit belongs to one owner at a time; a
// (non-owned) SemaphorePermit must not outlive its Semaphore.
#ifndef KEEL_RUNTIME_SYNC_SEMAPHORE_H_
#define KEEL_RUNTIME_SYNC_SEMAPHORE_H_

#include <cstddef>
#include <memory>
#include <source_location>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/sync/detail/batch_semaphore.h"
#include "runtime/task/task.h"

namespace keel::sync {

class Semaphore;

// Permits borrowed from a Semaphore; returned on destruction.
class [[nodiscard]] SemaphorePermit {
 public:
  SemaphorePermit(SemaphorePermit&& o) noexcept
      : sem_(std::exchange(o.sem_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  SemaphorePermit& operator=(SemaphorePermit&& o) noexcept;
  SemaphorePermit(const SemaphorePermit&) = delete;
  SemaphorePermit& operator=(const SemaphorePermit&) = delete;
  ~SemaphorePermit();

  // Drops the permits without returning them to the semaphore.
  void forget() { n_ = 0; }
  std::size_t num_permits() const { return n_; }
  // Absorbs `other`'s permits (both must come from the same semaphore; aborts otherwise).
  void merge(SemaphorePermit&& other);

 private:
  friend class Semaphore;
  SemaphorePermit(Semaphore* sem, std::size_t n) : sem_(sem), n_(n) {}
  Semaphore* sem_;
  std::size_t n_;
};

// Permits that own a reference to their Semaphore, so they can outlive the acquiring scope.
class [[nodiscard]] OwnedSemaphorePermit {
 public:
  OwnedSemaphorePermit(OwnedSemaphorePermit&& o) noexcept = default;
  OwnedSemaphorePermit& operator=(OwnedSemaphorePermit&& o) noexcept;
  OwnedSemaphorePermit(const OwnedSemaphorePermit&) = delete;
  OwnedSemaphorePermit& operator=(const OwnedSemaphorePermit&) = delete;
  ~OwnedSemaphorePermit();

  void forget() { n_ = 0; }
  std::size_t num_permits() const { return n_; }
  const std::shared_ptr<Semaphore>& semaphore() const { return sem_; }

 private:
  friend class Semaphore;
  friend class OwnedAcquire;
  friend absl::StatusOr<OwnedSemaphorePermit> try_acquire_many_owned(std::shared_ptr<Semaphore>,
                                                                     std::size_t);
  OwnedSemaphorePermit(std::shared_ptr<Semaphore> sem, std::size_t n)
      : sem_(std::move(sem)), n_(n) {}
  std::shared_ptr<Semaphore> sem_;
  std::size_t n_;
};

class Semaphore {
 public:
  static constexpr std::size_t kMaxPermits = detail::BatchSemaphore::kMaxPermits;

  explicit Semaphore(std::size_t permits) : sem_(permits) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // The awaiter of acquire()/acquire_many().
  class [[nodiscard]] Acquire final : public detail::BatchSemaphore::Acquire {
   public:
    Acquire(Semaphore& s, std::size_t n, std::source_location where)
        : detail::BatchSemaphore::Acquire(s.sem_, n, "Semaphore::acquire", where), sem_(&s) {}
    absl::StatusOr<SemaphorePermit> await_resume();

   private:
    Semaphore* sem_;
  };

  Acquire acquire(std::source_location where = std::source_location::current()) {
    return Acquire(*this, 1, where);
  }
  // Aborts if n > kMaxPermits (such a request could never be met).
  Acquire acquire_many(std::size_t n,
                       std::source_location where = std::source_location::current()) {
    return Acquire(*this, n, where);
  }
  absl::StatusOr<SemaphorePermit> try_acquire() { return try_acquire_many(1); }
  absl::StatusOr<SemaphorePermit> try_acquire_many(std::size_t n);

  // Adds n new permits (queued waiters first). Aborts if the total would exceed kMaxPermits.
  void add_permits(std::size_t n) { sem_.add_permits(n); }
  // Removes up to n free permits for good; returns how many were removed.
  std::size_t forget_permits(std::size_t n) { return sem_.forget_permits(n); }
  std::size_t available_permits() const { return sem_.available_permits(); }
  void close() { sem_.close(); }
  bool is_closed() const { return sem_.is_closed(); }

 private:
  friend class SemaphorePermit;
  friend class OwnedSemaphorePermit;
  friend class OwnedAcquire;
  friend absl::StatusOr<OwnedSemaphorePermit> try_acquire_many_owned(std::shared_ptr<Semaphore>,
                                                                     std::size_t);
  detail::BatchSemaphore sem_;
};

namespace detail {
// Keeps the semaphore alive for as long as the OwnedAcquire awaiter (constructed before and
// destroyed after the BatchSemaphore::Acquire base, which uses it in its destructor).
struct SemaphoreRef {
  std::shared_ptr<Semaphore> sem;
};
}  // namespace detail

// The awaiter of acquire_owned()/acquire_many_owned(); holds the shared_ptr.
class [[nodiscard]] OwnedAcquire final : private detail::SemaphoreRef,
                                         public detail::BatchSemaphore::Acquire {
 public:
  OwnedAcquire(std::shared_ptr<Semaphore> sem, std::size_t n, std::source_location where)
      : detail::SemaphoreRef{std::move(sem)},
        detail::BatchSemaphore::Acquire(SemaphoreRef::sem->sem_, n, "Semaphore::acquire_owned",
                                        where) {}
  absl::StatusOr<OwnedSemaphorePermit> await_resume();
};

// Acquire permits that hold a reference to `sem` (movable into spawned tasks).
OwnedAcquire acquire_owned(std::shared_ptr<Semaphore> sem,
                           std::source_location where = std::source_location::current());
OwnedAcquire acquire_many_owned(std::shared_ptr<Semaphore> sem, std::size_t n,
                                std::source_location where = std::source_location::current());
absl::StatusOr<OwnedSemaphorePermit> try_acquire_owned(std::shared_ptr<Semaphore> sem);
absl::StatusOr<OwnedSemaphorePermit> try_acquire_many_owned(std::shared_ptr<Semaphore> sem,
                                                            std::size_t n);

}  // namespace keel::sync

#endif  // KEEL_RUNTIME_SYNC_SEMAPHORE_H_
