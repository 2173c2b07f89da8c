// The hot path allocates nothing: GET, and SET / INCR over an existing key of the same value
// size, run without a single heap allocation once the reply string has capacity.
#include <cstdlib>
#include <new>
#include <string>

#include "apps/mini-redis/commands/test_util.h"
#include "gtest/gtest.h"

namespace {
thread_local long allocations = 0;
}  // namespace

// Counting replacements of the global allocation functions (this test binary only).
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace mini_redis {
namespace {

TEST(Alloc, GetAndSameSizeSetDoNotAllocate) {
#if defined(KEEL_SANITIZER)
  GTEST_SKIP() << "sanitizers allocate on their own";
#endif
  Db db;
  std::string out;
  out.reserve(4096);
  resp::Reply reply(out);
  ExecContext ctx{db, nullptr};
  const std::string_view set1[3] = {"SET", "key:000000000001", "value-0000000001"};
  const std::string_view set2[3] = {"set", "key:000000000001", "value-0000000002"};
  const std::string_view get[2] = {"GET", "key:000000000001"};
  const std::string_view miss[2] = {"GET", "key:000000000002"};
  const std::string_view incr[2] = {"INCR", "counter"};
  const CommandSpec* set_cmd = find_command("SET");
  execute(*set_cmd, ctx, set1, reply);  // creates the entry: one allocation
  execute(*find_command("INCR"), ctx, incr, reply);
  out.clear();

  const long before = allocations;
  for (int i = 0; i < 100; ++i) {
    execute(*find_command(set2[0]), ctx, set2, reply);
    execute(*find_command(get[0]), ctx, get, reply);
    execute(*find_command(miss[0]), ctx, miss, reply);
    execute(*find_command(incr[0]), ctx, incr, reply);  // 1..9 then 10..: one size change
    out.clear();
  }
  EXPECT_EQ(allocations - before, 2);  // only INCR crossing 9 → 10 and 99 → 100 resize the entry
}

}  // namespace
}  // namespace mini_redis
