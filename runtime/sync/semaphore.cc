#include "runtime/sync/semaphore.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace keel::sync {

namespace {

absl::Status closed_error(const char* op) {
  return absl::FailedPreconditionError(absl::StrCat(op, ": the semaphore is closed"));
}

absl::Status exhausted_error(const char* op, std::size_t n, std::size_t available) {
  return absl::ResourceExhaustedError(absl::StrCat(op, ": ", n, " permit(s) requested, ",
                                                   available,
                                                   " available (or other acquirers queued)"));
}

}  // namespace

SemaphorePermit& SemaphorePermit::operator=(SemaphorePermit&& o) noexcept {
  if (this != &o) {
    if (sem_ != nullptr) sem_->sem_.release(n_);
    sem_ = std::exchange(o.sem_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

SemaphorePermit::~SemaphorePermit() {
  if (sem_ != nullptr) sem_->sem_.release(n_);
}

void SemaphorePermit::merge(SemaphorePermit&& other) {
  if (other.sem_ == nullptr) return;
  if (sem_ == nullptr) sem_ = other.sem_;
  if (other.sem_ != sem_) {
    std::fprintf(stderr, "keel: SemaphorePermit::merge: permits of different semaphores\n");
    std::abort();
  }
  n_ += std::exchange(other.n_, 0);
  other.sem_ = nullptr;
}

OwnedSemaphorePermit& OwnedSemaphorePermit::operator=(OwnedSemaphorePermit&& o) noexcept {
  if (this != &o) {
    if (sem_ != nullptr) sem_->sem_.release(n_);
    sem_ = std::move(o.sem_);
    o.sem_ = nullptr;
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

OwnedSemaphorePermit::~OwnedSemaphorePermit() {
  if (sem_ != nullptr) sem_->sem_.release(n_);
}

absl::StatusOr<SemaphorePermit> Semaphore::Acquire::await_resume() {
  if (!finish()) return closed_error("Semaphore::acquire");
  return SemaphorePermit(sem_, permits());
}

absl::StatusOr<SemaphorePermit> Semaphore::try_acquire_many(std::size_t n) {
  switch (sem_.try_acquire(n)) {
    case detail::BatchSemaphore::TryResult::kAcquired:
      return SemaphorePermit(this, n);
    case detail::BatchSemaphore::TryResult::kClosed:
      return closed_error("Semaphore::try_acquire");
    case detail::BatchSemaphore::TryResult::kNoPermits:
      break;
  }
  return exhausted_error("Semaphore::try_acquire", n, sem_.available_permits());
}

absl::StatusOr<OwnedSemaphorePermit> OwnedAcquire::await_resume() {
  if (!finish()) return closed_error("Semaphore::acquire_owned");
  return OwnedSemaphorePermit(SemaphoreRef::sem, permits());
}

OwnedAcquire acquire_owned(std::shared_ptr<Semaphore> sem, std::source_location where) {
  return OwnedAcquire(std::move(sem), 1, where);
}

OwnedAcquire acquire_many_owned(std::shared_ptr<Semaphore> sem, std::size_t n,
                                std::source_location where) {
  return OwnedAcquire(std::move(sem), n, where);
}

absl::StatusOr<OwnedSemaphorePermit> try_acquire_owned(std::shared_ptr<Semaphore> sem) {
  return try_acquire_many_owned(std::move(sem), 1);
}

absl::StatusOr<OwnedSemaphorePermit> try_acquire_many_owned(std::shared_ptr<Semaphore> sem,
                                                            std::size_t n) {
  switch (sem->sem_.try_acquire(n)) {
    case detail::BatchSemaphore::TryResult::kAcquired:
      return OwnedSemaphorePermit(std::move(sem), n);
    case detail::BatchSemaphore::TryResult::kClosed:
      return closed_error("Semaphore::try_acquire_owned");
    case detail::BatchSemaphore::TryResult::kNoPermits:
      break;
  }
  return exhausted_error("Semaphore::try_acquire_owned", n, sem->available_permits());
}

}  // namespace keel::sync
