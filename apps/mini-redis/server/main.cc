// mini-redis-server: the binary.
//
//   ./bazelw run //apps/mini-redis:server -- --port 6380 --appendonly yes --dir /tmp/mr
//
// Prints "mini-redis listening on 127.0.0.1:6379" (and/or "mini-redis listening on
// unix:/path") to stdout once it accepts clients; logs go to stderr prefixed "mini-redis: ".
// SIGINT and SIGTERM start a graceful shutdown (exit 0); a start-up error exits 1, a bad flag 2.

#include <csignal>
#include <cstdio>
#include <string>

#include "apps/mini-redis/server/config.h"
#include "apps/mini-redis/server/server.h"
#include "runtime/keel.h"
#include "runtime/signal/signal.h"
#include "runtime/sync/cancellation_token.h"

namespace {

keel::Task<void> next_delivery(keel::signal::Signal s) { (void)co_await s.recv(); }

// Cancels `stop` at the first SIGINT or SIGTERM.
keel::Task<void> stop_on_signal(keel::signal::Signal interrupt, keel::signal::Signal terminate,
                                keel::sync::CancellationToken stop) {
  keel::Task<void> a = next_delivery(std::move(interrupt));
  keel::Task<void> b = next_delivery(std::move(terminate));
  auto which = co_await keel::select(std::move(a), std::move(b));
  std::fprintf(stderr, "mini-redis: %s received, shutting down\n",
               which.index() == 0 ? "SIGINT" : "SIGTERM");
  stop.cancel();
}

void print_listening(const std::string& address) {
  std::printf("mini-redis listening on %s\n", address.c_str());
  std::fflush(stdout);
}

keel::Task<int> serve(mini_redis::ServerConfig config) {
  absl::StatusOr<keel::signal::Signal> interrupt = keel::signal::signal(SIGINT);
  absl::StatusOr<keel::signal::Signal> terminate = keel::signal::signal(SIGTERM);
  if (!interrupt.ok() || !terminate.ok()) {
    std::fprintf(stderr, "mini-redis: cannot listen for signals: %s\n",
                 std::string((interrupt.ok() ? terminate : interrupt).status().message()).c_str());
    co_return 1;
  }
  keel::sync::CancellationToken stop;
  keel::JoinHandle<void> watcher =
      keel::spawn(stop_on_signal(std::move(*interrupt), std::move(*terminate), stop));
  mini_redis::OnListening on_listening = print_listening;
  keel::Task<absl::Status> serving = mini_redis::run_server(config, stop, on_listening);
  absl::Status st = co_await std::move(serving);
  watcher.abort();
  if (!st.ok()) {
    std::fprintf(stderr, "mini-redis: %s\n", std::string(st.message()).c_str());
    co_return 1;
  }
  std::fprintf(stderr, "mini-redis: bye\n");
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<mini_redis::ServerConfig> config = mini_redis::parse_args(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "mini-redis: %s\n\n%s", std::string(config.status().message()).c_str(),
                 mini_redis::kServerUsage);
    return 2;
  }
  if (config->help) {
    std::fputs(mini_redis::kServerUsage, stdout);
    return 0;
  }
  // Before any thread starts: the signals must be blocked in every thread to reach signalfd.
  if (absl::Status st = keel::signal::block_for_listening({SIGINT, SIGTERM}); !st.ok()) {
    std::fprintf(stderr, "mini-redis: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  absl::StatusOr<keel::Runtime> rt =
      keel::Runtime::new_multi_thread()
          .worker_threads(config->threads)
          .busy_poll(config->busy_poll)
          .enable_all()
          .build();
  if (!rt.ok()) {
    std::fprintf(stderr, "mini-redis: cannot start the runtime: %s\n",
                 std::string(rt.status().message()).c_str());
    return 1;
  }
  return rt->block_on(serve(*config));
}
