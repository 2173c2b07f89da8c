// The state word of a spawned task: one atomic 64-bit integer.
//
//   bit 0 RUNNING        a thread is polling the task (exclusive access to its frames)
//   bit 1 COMPLETE       the output is stored (or the task was cancelled); frames are gone
//   bit 2 NOTIFIED       the task is in a run queue, or must be re-queued after this poll
//   bit 3 CANCELLED      abort() or shutdown asked for cancellation
//   bit 4 JOIN_INTEREST  a JoinHandle exists and wants the output
//   bit 5 JOIN_WAKER     the JoinHandle stored a waker in the cell; while set, only the runtime
//                        may read that slot, and the JoinHandle must not touch it
//   bits 6.. REFCOUNT    references: the owned-tasks list, the JoinHandle, each Waker, and the
//                        run-queue entry of a NOTIFIED task
//
// Invariants: NOTIFIED without RUNNING means exactly one run-queue entry holds a reference.
// RUNNING and COMPLETE are never set together. Only the thread that set RUNNING may touch the
// task's frames; COMPLETE is published with release order after the output is written.
#ifndef KEEL_RUNTIME_TASK_STATE_H_
#define KEEL_RUNTIME_TASK_STATE_H_

#include <cstdint>

namespace keel::detail::task_state {

inline constexpr std::uint64_t kRunning = 1u << 0;
inline constexpr std::uint64_t kComplete = 1u << 1;
inline constexpr std::uint64_t kNotified = 1u << 2;
inline constexpr std::uint64_t kCancelled = 1u << 3;
inline constexpr std::uint64_t kJoinInterest = 1u << 4;
inline constexpr std::uint64_t kJoinWaker = 1u << 5;
inline constexpr int kRefShift = 6;
inline constexpr std::uint64_t kRefOne = std::uint64_t{1} << kRefShift;
inline constexpr std::uint64_t kFlagMask = kRefOne - 1;

inline std::uint64_t ref_count(std::uint64_t s) { return s >> kRefShift; }

// A new task: one reference each for the owned list, the JoinHandle and the run queue.
inline constexpr std::uint64_t kInitial = 3 * kRefOne | kJoinInterest | kNotified;

}  // namespace keel::detail::task_state

#endif  // KEEL_RUNTIME_TASK_STATE_H_
