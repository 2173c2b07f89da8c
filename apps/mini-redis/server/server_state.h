// ServerState: what every connection of one mini-redis server shares (the keyspace, the
// append-only file, the pub/sub hub, counters for INFO, the shutdown token), and OpenConnections,
// the registry that lets shutdown close idle connections.
//
//   auto state = std::make_shared<ServerState>(config);
//   keel::spawn(serve_connection(std::move(stream), state, std::move(permit)));
//
// Thread-safety: every member may be used from any thread: Db, PubSubHub and Aof lock
// internally, the counters are atomics (relaxed: statistics only), OpenConnections has a mutex.
// `aof` is set once before the first connection is accepted and not changed afterwards.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_SERVER_STATE_H_
#define KEEL_APPS_MINI_REDIS_SERVER_SERVER_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "apps/mini-redis/db/db.h"
#include "apps/mini-redis/persistence/aof.h"
#include "apps/mini-redis/server/config.h"
#include "apps/mini-redis/server/pubsub.h"
#include "runtime/sync/cancellation_token.h"

namespace mini_redis {

// Per-batch counters (commands, bytes in and out), striped over cache lines so that connections
// on different workers do not bounce one line: each thread adds to its own stripe (picked once
// per thread), INFO sums the stripes.
class BatchCounters {
 public:
  void add(std::uint64_t commands, std::uint64_t in, std::uint64_t out);
  std::uint64_t commands() const;
  std::uint64_t net_input_bytes() const;
  std::uint64_t net_output_bytes() const;
  void reset();

 private:
  // More stripes than the worker threads of any machine this is benchmarked on; a collision
  // only costs some sharing.
  static constexpr std::size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> commands{0}, in{0}, out{0};
  };
  Stripe stripes_[kStripes];
};

// Counters for INFO stats/clients. Relaxed atomics: nothing is published through them.
struct ServerStats {
  std::atomic<std::uint64_t> connections_received{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::int64_t> connected_clients{0};
  BatchCounters batches;

  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
    // ORDERING: relaxed; a statistic.
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static std::uint64_t get(const std::atomic<std::uint64_t>& c) {
    // ORDERING: relaxed; a statistic.
    return c.load(std::memory_order_relaxed);
  }
  void reset();  // CONFIG RESETSTAT: the counters, not the gauges
};

// The descriptors of open connections, so that shutdown can end their reads: shutdown(SHUT_RD)
// makes a pending read return end of stream, and the connection finishes like a client that
// left, after writing the replies of the batch it was executing. Costs nothing per request.
class OpenConnections {
 public:
  // False once close_reads() has run: the caller must close at once.
  bool add(int fd);
  // Called before the descriptor is closed, so no shutdown ever touches a reused number.
  void remove(int fd);
  // Ends every current and future connection's reads (shutdown(SHUT_RD)).
  void close_reads();
  // Ends reads and writes (the grace period is over: a client that does not read its replies
  // must not hold the shutdown).
  void close_all();
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  bool closing_ = false;                 // guarded by mu_
  absl::flat_hash_set<int> fds_;         // guarded by mu_
};

struct ServerState {
  explicit ServerState(ServerConfig c);

  const ServerConfig config;
  Db db;
  std::shared_ptr<Aof> aof;        // null unless --appendonly yes
  PubSubHub hub;
  ServerStats stats;
  OpenConnections open;
  // Cancelled by SHUTDOWN (and by run_server's own token): the server stops gracefully.
  keel::sync::CancellationToken shutdown;
  std::atomic<std::uint64_t> next_client_id{1};
  const std::int64_t start_unix_ms;  // for INFO uptime
  // Set by run_server once bound, before the first connection is accepted.
  int tcp_port = 0;                  // the bound port (0: no TCP listener)
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_SERVER_SERVER_STATE_H_
