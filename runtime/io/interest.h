// Interest and Ready: which readiness an I/O resource waits for, and which it has.
//
// Thread-safety: values.
#ifndef KEEL_RUNTIME_IO_INTEREST_H_
#define KEEL_RUNTIME_IO_INTEREST_H_

#include <cstdint>

namespace keel {

// Readiness bits as the driver records them.
struct Ready {
  static constexpr std::uint32_t kReadable = 1u << 0;
  static constexpr std::uint32_t kWritable = 1u << 1;
  static constexpr std::uint32_t kReadClosed = 1u << 2;
  static constexpr std::uint32_t kWriteClosed = 1u << 3;
  static constexpr std::uint32_t kError = 1u << 4;
  static constexpr std::uint32_t kAll = 0x1f;
};

enum class Interest : std::uint32_t {
  kReadable = 1u << 0,
  kWritable = 1u << 1,
  kBoth = (1u << 0) | (1u << 1),
};

// The readiness bits that satisfy an interest: closed and error states wake both directions,
// so that a waiter learns about them through its failing syscall.
inline std::uint32_t ready_mask(Interest interest) {
  std::uint32_t mask = Ready::kError;
  if (static_cast<std::uint32_t>(interest) & static_cast<std::uint32_t>(Interest::kReadable)) {
    mask |= Ready::kReadable | Ready::kReadClosed;
  }
  if (static_cast<std::uint32_t>(interest) & static_cast<std::uint32_t>(Interest::kWritable)) {
    mask |= Ready::kWritable | Ready::kWriteClosed;
  }
  return mask;
}

}  // namespace keel

#endif  // KEEL_RUNTIME_IO_INTEREST_H_
