// memory_probe: inserts N string keys "key:%012d" with 16-byte values through the SET command
// (as redis-benchmark / redis-cli --pipe would) and prints the resident memory per key, to
// compare with Redis 7 (~130 bytes/key for 1M such keys).
//
//   ./bazelw run -c opt //apps/mini-redis/db:memory_probe -- 1000000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "apps/mini-redis/commands/commands.h"

namespace {

// Default key count: Redis's documented figure is for one million keys.
constexpr long kDefaultKeys = 1000000;

long rss_kb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kb;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : kDefaultKeys;
  if (n <= 0) {
    std::fprintf(stderr, "usage: memory_probe [KEYS]\n");
    return 2;
  }
  mini_redis::Db db;
  const mini_redis::CommandSpec* set = mini_redis::find_command("SET");
  std::string out;
  mini_redis::resp::Reply reply(out);
  mini_redis::ExecContext ctx{db, nullptr};
  const long before = rss_kb();
  const auto t0 = std::chrono::steady_clock::now();
  char key[32];
  char value[32];
  for (long i = 0; i < n; ++i) {
    std::snprintf(key, sizeof key, "key:%012ld", i);
    std::snprintf(value, sizeof value, "val:%012ld", i);  // 16 bytes below 10^12 keys
    const std::string_view args[3] = {"SET", key, std::string_view(value, 16)};
    out.clear();
    mini_redis::execute(*set, ctx, args, reply);
  }
  const auto t1 = std::chrono::steady_clock::now();
  const long after = rss_kb();
  // Then GET every key once: the read path's cost per command (one thread, no network).
  const mini_redis::CommandSpec* get = mini_redis::find_command("GET");
  for (long i = 0; i < n; ++i) {
    std::snprintf(key, sizeof key, "key:%012ld", i);
    const std::string_view args[2] = {"GET", key};
    out.clear();
    mini_redis::execute(*get, ctx, args, reply);
  }
  const auto t2 = std::chrono::steady_clock::now();
  const auto ns = [n](auto d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
           static_cast<double>(n);
  };
  std::printf("keys: %zu\n", db.size());
  std::printf("rss before: %ld kB, after: %ld kB\n", before, after);
  std::printf("bytes/key: %.1f\n", static_cast<double>(after - before) * 1024.0 / static_cast<double>(n));
  std::printf("SET (new key): %.0f ns/op, GET: %.0f ns/op (snprintf of the key included)\n",
              ns(t1 - t0), ns(t2 - t1));
  return 0;
}
