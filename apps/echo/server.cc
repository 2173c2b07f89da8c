// The echo server binary.
//
//   bazel run //apps/echo:server -- --listen 127.0.0.1:7000 --proto tcp --threads 2
//
// Flags are in config.cc (kServerUsage); the serving code is in echo_server.cc. SIGINT and
// SIGTERM start a graceful shutdown; a second signal is not needed (the grace period is
// bounded by --shutdown-timeout).

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/echo/config.h"
#include "apps/echo/echo_server.h"
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
  std::fprintf(stderr, "echo server: %s received\n", which.index() == 0 ? "SIGINT" : "SIGTERM");
  stop.cancel();
}

void print_listening(const std::string& address, const echo::ServerConfig& config) {
  std::fprintf(stderr, "echo server listening on %s (%s, %zu threads, at most %zu connections)\n",
               address.c_str(), std::string(echo::proto_name(config.proto)).c_str(),
               config.threads, config.max_connections);
}

keel::Task<int> serve(echo::ServerConfig config) {
  absl::StatusOr<keel::signal::Signal> interrupt = keel::signal::signal(SIGINT);
  absl::StatusOr<keel::signal::Signal> terminate = keel::signal::signal(SIGTERM);
  if (!interrupt.ok() || !terminate.ok()) {
    std::fprintf(stderr, "echo server: cannot listen for signals: %s\n",
                 std::string((interrupt.ok() ? terminate : interrupt).status().message()).c_str());
    co_return 1;
  }
  keel::sync::CancellationToken stop;
  keel::JoinHandle<void> watcher =
      keel::spawn(stop_on_signal(std::move(*interrupt), std::move(*terminate), stop));
  // Set by run_server's own task (which this one awaits), read after it returned.
  auto address = std::make_shared<std::string>(config.listen);
  echo::OnListening on_listening = [config, address](const std::string& a) {
    *address = a;
    print_listening(a, config);
  };
  keel::Task<absl::Status> serving = echo::run_server(config, stop, on_listening);
  absl::Status st = co_await std::move(serving);
  watcher.abort();
  if (!st.ok()) {
    std::fprintf(stderr, "echo server: %s\n", std::string(st.message()).c_str());
    co_return 1;
  }
  std::fprintf(stderr, "echo server stopped (%s)\n", address->c_str());
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<echo::ServerConfig> config = echo::parse_server_flags(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "echo server: %s\n\n%s", std::string(config.status().message()).c_str(),
                 echo::kServerUsage);
    return 2;
  }
  // Before any thread starts: the signals must be blocked in every thread to reach signalfd.
  if (absl::Status st = keel::signal::block_for_listening({SIGINT, SIGTERM}); !st.ok()) {
    std::fprintf(stderr, "echo server: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  absl::StatusOr<keel::Runtime> rt =
      keel::Runtime::new_multi_thread().worker_threads(config->threads).enable_all().build();
  if (!rt.ok()) {
    std::fprintf(stderr, "echo server: cannot start the runtime: %s\n",
                 std::string(rt.status().message()).c_str());
    return 1;
  }
  return rt->block_on(serve(*config));
}
