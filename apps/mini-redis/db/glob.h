// Redis's glob-style matching (util.c stringmatchlen), for KEYS and PSUBSCRIBE:
// `*` any run, `?` any byte, `[abc]` a set, `[^a]` a negated set, `[a-z]`
// ranges, `\x` a literal x.
//
//   mini_redis::glob_match("h?llo*", "hello world");   // true
//
// Thread-safety: a pure function.
#ifndef KEEL_APPS_MINI_REDIS_DB_GLOB_H_
#define KEEL_APPS_MINI_REDIS_DB_GLOB_H_

#include <string_view>

namespace mini_redis {

// True if `text` matches `pattern`; with `nocase`, ASCII letters compare case-insensitively.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_DB_GLOB_H_
