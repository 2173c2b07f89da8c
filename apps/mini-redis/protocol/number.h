// parse_int64: Redis's string2ll (util.c), the strict integer syntax of RESP headers, integer
// replies and every integer argument (EX, INCRBY, LRANGE, SELECT, HELLO...): the protocol,
// the commands and the server all parse with it.
//
//   std::int64_t n;
//   if (mini_redis::resp::parse_int64("42", 2, n)) { ... }
//
// Thread-safety: a pure function.
#ifndef KEEL_APPS_MINI_REDIS_PROTOCOL_NUMBER_H_
#define KEEL_APPS_MINI_REDIS_PROTOCOL_NUMBER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace mini_redis::resp {

// Redis's string2ll (util.c): an optional '-', then "0" or a digit 1-9 followed by digits; no
// '+', no spaces, no leading zeros, no overflow. Anything else is not a number.
inline bool parse_int64(const char* p, std::size_t len, std::int64_t& out) {
  if (len == 0 || len > 20) return false;
  if (len == 1 && p[0] == '0') {
    out = 0;
    return true;
  }
  bool negative = false;
  std::size_t i = 0;
  if (p[0] == '-') {
    negative = true;
    i = 1;
    if (len == 1) return false;
  }
  if (p[i] < '1' || p[i] > '9') return false;
  std::uint64_t v = static_cast<std::uint64_t>(p[i] - '0');
  ++i;
  for (; i < len; ++i) {
    char c = p[i];
    if (c < '0' || c > '9') return false;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) return false;
    out = static_cast<std::int64_t>(0 - v);
  } else {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

inline bool parse_int64(std::string_view s, std::int64_t& out) {
  return parse_int64(s.data(), s.size(), out);
}

}  // namespace mini_redis::resp

#endif  // KEEL_APPS_MINI_REDIS_PROTOCOL_NUMBER_H_
