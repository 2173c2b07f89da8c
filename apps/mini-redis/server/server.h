// The mini-redis server as a library: run_server() serves TCP and/or unix-socket clients until
// `shutdown` is cancelled (SIGINT/SIGTERM in main.cc) or a client sends SHUTDOWN, then stops
// gracefully. main.cc wires it to flags and signals; tests run it in-process.
//
//   keel::sync::CancellationToken stop;
//   keel::JoinHandle<absl::Status> h = keel::spawn(mini_redis::run_server(config, stop,
//       [](const std::string& addr) { printf("mini-redis listening on %s\n", addr.c_str()); }));
//   ...
//   stop.cancel();
//   absl::Status done = *co_await h;
//
// Start-up: replays the append-only file (--appendonly yes), binds the listeners (an error
// such as "bind 127.0.0.1:6379: Address already in use" is returned), reports each bound
// address through `on_listening` ("127.0.0.1:6379", "unix:/tmp/redis.sock"), then accepts.
// Runs the active expiry cycle every kActiveExpirePeriod.
//
// Shutdown: stop accepting; end every connection's reads (each finishes the batch it is
// executing and writes its replies); wait up to --shutdown-timeout for them, then close the
// rest; flush and fsync the append-only file; remove the unix socket file; return OK.
//
// Thread-safety: run_server may run on any runtime flavour; `shutdown` may be cancelled from
// any thread.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_SERVER_H_
#define KEEL_APPS_MINI_REDIS_SERVER_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "apps/mini-redis/server/config.h"
#include "runtime/sync/cancellation_token.h"
#include "runtime/task/task.h"

namespace mini_redis {

// Redis's hz 10: expired keys nobody reads are collected ten times a second.
inline constexpr std::chrono::milliseconds kActiveExpirePeriod{100};
// Keys sampled per shard per cycle (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
inline constexpr std::size_t kActiveExpireSamples = 20;

// Called once per bound listener: "127.0.0.1:6379" (the real port when kEphemeralPort was
// asked for) or "unix:/path".
using OnListening = std::function<void(const std::string& address)>;

keel::Task<absl::Status> run_server(ServerConfig config, keel::sync::CancellationToken shutdown,
                                    OnListening on_listening);

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_SERVER_SERVER_H_
