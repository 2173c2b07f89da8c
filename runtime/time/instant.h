// Instant and Duration: Keel's points and spans of monotonic time.
//
// `Instant::now()` reads the clock of the runtime the calling thread belongs to, which a test
// may pause and advance (time/clock.h); outside any runtime it reads the steady clock.
//
//   keel::Instant start = keel::Instant::now();
//   co_await keel::sleep(std::chrono::milliseconds(5));
//   keel::Duration took = start.elapsed();
//
// Thread-safety: values; now() is safe from any thread.
#ifndef KEEL_RUNTIME_TIME_INSTANT_H_
#define KEEL_RUNTIME_TIME_INSTANT_H_

#include <chrono>
#include <compare>

namespace keel {

using Duration = std::chrono::nanoseconds;

class Instant {
 public:
  using Clock = std::chrono::steady_clock;

  constexpr Instant() = default;
  constexpr explicit Instant(Clock::time_point t) : t_(t) {}

  // The current instant on the current runtime's clock (paused or not).
  static Instant now();
  // The real steady clock, ignoring any paused runtime clock.
  static Instant now_unpaused() { return Instant(Clock::now()); }

  Clock::time_point time_point() const { return t_; }
  Duration duration_since(Instant earlier) const {
    return t_ > earlier.t_ ? std::chrono::duration_cast<Duration>(t_ - earlier.t_) : Duration(0);
  }
  Duration elapsed() const { return now().duration_since(*this); }

  template <class Rep, class Period>
  Instant& operator+=(std::chrono::duration<Rep, Period> d) {
    t_ += std::chrono::duration_cast<Clock::duration>(d);
    return *this;
  }
  template <class Rep, class Period>
  friend Instant operator+(Instant a, std::chrono::duration<Rep, Period> d) {
    return a += d;
  }
  template <class Rep, class Period>
  friend Instant operator-(Instant a, std::chrono::duration<Rep, Period> d) {
    return Instant(a.t_ - std::chrono::duration_cast<Clock::duration>(d));
  }
  friend Duration operator-(Instant a, Instant b) {
    return std::chrono::duration_cast<Duration>(a.t_ - b.t_);
  }
  friend auto operator<=>(const Instant&, const Instant&) = default;

 private:
  Clock::time_point t_{};
};

}  // namespace keel

#endif  // KEEL_RUNTIME_TIME_INSTANT_H_
