// BusyPollGovernor: decides whether the thread turning the I/O driver spins before it sleeps.
//
// A spin (Builder::busy_poll) pays when the next event arrives within the budget: the thread
// is still running when the peer's request lands, so neither the thread nor the sender pays
// for a wake-up (a few microseconds each, more in a VM where waking another CPU exits to the
// hypervisor). A spin that runs out pays nothing and burns a CPU for the whole budget. When
// the machine's CPUs are all wanted (a co-located load client, another service, a busy
// neighbour), that CPU is taken from threads waiting for it, the senders among them, and the
// spin slows the very traffic it waits for: measured with a CPU-bound process beside
// mini-redis and redis-benchmark on two cores, spins caught the next request 50-70% of the
// time (97-99% on an otherwise idle machine) and the server served 0.85x of Redis's rate,
// against 1.0x without spinning.
//
// So the governor keeps a moving average of how often the next event came within the budget
// and spins only while that share is high. Parks that do not spin still count: the sleep is
// timed (two clock reads), and an event within the budget is one a spin would have caught,
// so a governor that stopped spinning starts again when traffic becomes dense enough. The
// thresholds follow from the costs above: with a 50 us budget and a wake-up worth a few
// microseconds, a spin pays only when it hits about nine times in ten. The same idea as KVM's
// adaptive halt-polling, which grows and shrinks a vCPU's poll window by whether polls caught
// the wake-up.
//
// Thread-safety: none; only the thread holding the driver's turn lock uses it. Counters for
// metrics are read elsewhere through Driver.
#ifndef KEEL_RUNTIME_IO_BUSY_POLL_H_
#define KEEL_RUNTIME_IO_BUSY_POLL_H_

#include <cstdint>

namespace keel::detail {

class BusyPollGovernor {
 public:
  // The share of parks whose next event came within the budget, in 1/65536ths: spinning
  // starts at or above kSpinFrom and stops below kStopBelow (apart, so that a share near one
  // threshold does not flip the decision at every park).
  static constexpr std::uint32_t kOne = 1u << 16;
  static constexpr std::uint32_t kSpinFrom = kOne * 9 / 10;
  static constexpr std::uint32_t kStopBelow = kOne * 8 / 10;
  // Each outcome moves the average 1/32 of the way: a change in traffic shows within a few
  // dozen parks (microseconds to milliseconds under load), one stray outcome does not.
  static constexpr int kWeightShift = 5;

  // Whether the next park should spin before it sleeps.
  bool should_spin() const { return spinning_; }

  // Records one park: whether its next event came within the budget (caught by the spin, or
  // within the budget of the start of a sleep).
  void record(bool within_budget) {
    const std::uint32_t target = within_budget ? kOne : 0;
    if (target >= share_) {
      share_ += (target - share_) >> kWeightShift;
    } else {
      share_ -= (share_ - target) >> kWeightShift;
    }
    if (spinning_ && share_ < kStopBelow) spinning_ = false;
    if (!spinning_ && share_ >= kSpinFrom) spinning_ = true;
  }

 private:
  // Starts optimistic: a server under load spins from its first request; one whose parks
  // mostly time out stops within a few dozen of them.
  std::uint32_t share_ = kOne;
  bool spinning_ = true;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_IO_BUSY_POLL_H_
