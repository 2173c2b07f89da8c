#include "apps/mini-redis/db/glob.h"

#include <cctype>

namespace mini_redis {
namespace {

// Redis bounds the recursion on '*' (stringmatchlen_impl's nesting limit) so a pattern like
// "a*a*a*a*...b" cannot take exponential time; past it the match fails.
constexpr int kMaxGlobNesting = 1000;

char fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// A port of Redis 7's stringmatchlen_impl. `skip_longer` short-cuts '*' backtracking: once a
// nested '*' failed on every suffix, no shorter prefix can succeed either.
bool match_impl(const char* p, int plen, const char* s, int slen, bool nocase, bool* skip_longer,
                int nesting) {
  if (nesting > kMaxGlobNesting) return false;
  while (plen && slen) {
    switch (p[0]) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          ++p;
          --plen;
        }
        if (plen == 1) return true;
        while (slen) {
          if (match_impl(p + 1, plen - 1, s, slen, nocase, skip_longer, nesting + 1)) return true;
          if (*skip_longer) return false;
          ++s;
          --slen;
        }
        *skip_longer = true;
        return false;
      case '?':
        ++s;
        --slen;
        break;
      case '[': {
        ++p;
        --plen;
        const bool negate = plen > 0 && p[0] == '^';
        if (negate) {
          ++p;
          --plen;
        }
        bool match = false;
        while (true) {
          if (plen == 0) {
            // An unterminated set: Redis steps back onto the last char.
            --p;
            ++plen;
            break;
          }
          if (p[0] == '\\' && plen >= 2) {
            ++p;
            --plen;
            if (p[0] == s[0]) match = true;
          } else if (p[0] == ']') {
            break;
          } else if (plen >= 3 && p[1] == '-') {
            char start = fold(p[0], nocase);
            char end = fold(p[2], nocase);
            const char c = fold(s[0], nocase);
            if (start > end) {
              const char t = start;
              start = end;
              end = t;
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
            match = true;
          }
          ++p;
          --plen;
        }
        if (negate) match = !match;
        if (!match) return false;
        ++s;
        --slen;
        break;
      }
      case '\\':
        if (plen >= 2) {
          ++p;
          --plen;
        }
        [[fallthrough]];
      default:
        if (fold(p[0], nocase) != fold(s[0], nocase)) return false;
        ++s;
        --slen;
        break;
    }
    ++p;
    --plen;
    if (slen == 0) {
      while (plen && *p == '*') {
        ++p;
        --plen;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
  bool skip_longer = false;
  return match_impl(pattern.data(), static_cast<int>(pattern.size()), text.data(),
                    static_cast<int>(text.size()), nocase, &skip_longer, 0);
}

}  // namespace mini_redis
