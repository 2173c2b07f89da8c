#include "runtime/time/clock.h"

#include <chrono>

namespace keel::detail {

Clock::Clock(bool start_paused)
    : origin_(Instant::now_unpaused()), paused_(start_paused), paused_at_(origin_) {}

Instant Clock::now() const {
  if (!paused_.load(std::memory_order_acquire)) {
    // ORDERING: relaxed; see offset_ns_ in the header.
    return Instant::now_unpaused() +
           std::chrono::nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  }
  LockGuard lock(mu_);
  return paused_at_;
}

void Clock::pause() {
  LockGuard lock(mu_);
  if (paused_.load(std::memory_order_relaxed)) return;
  // Start on a tick boundary (rounding up, so time never goes back): a timer set for
  // now + d then fires at exactly now + d when the clock auto-advances to it.
  // ORDERING: relaxed; offset_ns_ only changes under mu_, which we hold.
  Instant now = Instant::now_unpaused() +
                std::chrono::nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - origin_).count();
  paused_at_ = origin_ + std::chrono::milliseconds((ns + 999'999) / 1'000'000);
  // ORDERING: release, paired with now()'s acquire; paused_at_ is read under mu_ anyway.
  paused_.store(true, std::memory_order_release);
}

void Clock::resume() {
  LockGuard lock(mu_);
  if (!paused_.load(std::memory_order_relaxed)) return;
  // Continue from the paused instant, not from the real time: jumping back to the real time
  // would make now() go backwards after an advance, and leave the timer wheel (already at the
  // advanced tick) ahead of the clock, so a new short sleep would wait for the real time to
  // catch up (an hour after advancing an hour).
  // ORDERING: relaxed; published by the release store of paused_ below.
  offset_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       paused_at_ - Instant::now_unpaused())
                       .count(),
                   std::memory_order_relaxed);
  // ORDERING: release; see pause() and offset_ns_.
  paused_.store(false, std::memory_order_release);
}

void Clock::advance(Duration d) {
  LockGuard lock(mu_);
  if (!paused_.load(std::memory_order_relaxed)) return;
  paused_at_ += d;
}

void Clock::advance_to(Instant t) {
  LockGuard lock(mu_);
  if (!paused_.load(std::memory_order_relaxed)) return;
  if (t > paused_at_) paused_at_ = t;
}

std::uint64_t Clock::deadline_tick(Instant t) const {
  if (t <= origin_) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
  return static_cast<std::uint64_t>((ns + 999'999) / 1'000'000);
}

std::uint64_t Clock::now_tick() const {
  Instant t = now();
  if (t <= origin_) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
  return static_cast<std::uint64_t>(ns / 1'000'000);
}

Instant Clock::instant_of_tick(std::uint64_t tick) const {
  return origin_ + std::chrono::milliseconds(tick);
}

}  // namespace keel::detail
