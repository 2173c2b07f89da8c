// Debian's Abseil has its own absl::string_view (not an alias of std::string_view), so
// StrCat, SimpleAtoi and friends do not take a std::string_view. These two helpers convert.
//
//   absl::StrCat("flag ", av(std_view));     std::string_view m = sv(status.message());
//
// Thread-safety: pure functions.
#ifndef KEEL_BENCHMARKS_LOADGEN_ABSL_COMPAT_H_
#define KEEL_BENCHMARKS_LOADGEN_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace keel::loadgen {

inline absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_ABSL_COMPAT_H_
