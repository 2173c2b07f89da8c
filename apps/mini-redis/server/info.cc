// INFO: Redis's sections (server, clients, memory, persistence, stats, keyspace) plus
// "# Runtime", Keel's scheduler and driver metrics for the runtime serving the call.

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/server/connection.h"
#include "runtime/runtime.h"

namespace mini_redis {
namespace {

// Resident set size from /proc/self/statm (pages), 0 if unreadable.
std::uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(n));
  } else if (n < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fK", n / 1024.0);
  } else if (n < 1024ULL * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fM", n / (1024.0 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fG", n / (1024.0 * 1024 * 1024));
  }
  return buf;
}

void server_section(ServerState& st, std::string& out) {
  std::int64_t uptime_s = (wall_clock_ms() - st.start_unix_ms) / 1000;
  absl::StrAppend(&out, "# Server\r\n", "redis_version:7.0.15\r\n", "redis_mode:standalone\r\n",
                  "mini_redis:1\r\n", "os:Linux\r\n", "multiplexing_api:epoll\r\n",
                  "process_id:", ::getpid(), "\r\n", "tcp_port:", st.tcp_port, "\r\n",
                  "uptime_in_seconds:", uptime_s, "\r\n", "uptime_in_days:", uptime_s / 86400,
                  "\r\n", "executable:mini-redis-server\r\n", "\r\n");
}

void clients_section(ServerState& st, std::string& out) {
  // ORDERING: relaxed loads; gauges.
  absl::StrAppend(&out, "# Clients\r\n", "connected_clients:",
                  st.stats.connected_clients.load(std::memory_order_relaxed), "\r\n",
                  "maxclients:", st.config.maxclients, "\r\n", "\r\n");
}

// Bytes the allocator handed out and not yet freed (glibc's count over every arena, mmapped
// blocks included): Redis's used_memory, which counts its allocator's live bytes too.
// mallinfo2 walks the arenas under their locks: fine for INFO, not for a hot path.
std::uint64_t allocated_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<std::uint64_t>(mi.uordblks) + static_cast<std::uint64_t>(mi.hblkhd);
}

void memory_section(std::string& out) {
  std::uint64_t used = allocated_bytes();
  std::uint64_t rss = rss_bytes();
  absl::StrAppend(&out, "# Memory\r\n", "used_memory:", used, "\r\n",
                  "used_memory_human:", human_bytes(used), "\r\n", "used_memory_rss:", rss,
                  "\r\n", "used_memory_rss_human:", human_bytes(rss), "\r\n",
                  "maxmemory:0\r\n", "maxmemory_policy:noeviction\r\n", "\r\n");
}

void persistence_section(ServerState& st, std::string& out) {
  absl::StrAppend(&out, "# Persistence\r\n", "loading:0\r\n", "rdb_changes_since_last_save:0\r\n",
                  "rdb_bgsave_in_progress:0\r\n", "aof_enabled:", st.aof ? 1 : 0, "\r\n");
  if (st.aof == nullptr) {
    absl::StrAppend(&out, "aof_rewrite_in_progress:0\r\n", "aof_rewrites:0\r\n",
                    "aof_last_bgrewrite_status:ok\r\n", "aof_last_write_status:ok\r\n", "\r\n");
    return;
  }
  Aof::AofStats a = st.aof->stats();
  absl::StrAppend(&out, "aof_rewrite_in_progress:", a.rewrite_in_progress ? 1 : 0, "\r\n",
                  "aof_rewrites:", a.rewrites, "\r\n",
                  "aof_last_bgrewrite_status:", a.last_bgrewrite_ok ? "ok" : "err", "\r\n",
                  "aof_last_write_status:", a.last_write_ok ? "ok" : "err", "\r\n",
                  "aof_current_size:", a.current_size, "\r\n", "aof_base_size:", a.base_size,
                  "\r\n", "aof_pending_bytes:", a.pending_bytes, "\r\n",
                  "aof_appendfsync:", std::string(fsync_policy_name(st.config.appendfsync)),
                  "\r\n", "\r\n");
}

void stats_section(ServerState& st, std::string& out) {
  DbStats d = st.db.stats();
  absl::StrAppend(&out, "# Stats\r\n", "total_connections_received:",
                  ServerStats::get(st.stats.connections_received), "\r\n",
                  "total_commands_processed:", st.stats.batches.commands(), "\r\n",
                  "total_net_input_bytes:", st.stats.batches.net_input_bytes(), "\r\n",
                  "total_net_output_bytes:", st.stats.batches.net_output_bytes(), "\r\n",
                  "rejected_connections:", ServerStats::get(st.stats.rejected_connections),
                  "\r\n", "expired_keys:", d.expired_keys, "\r\n", "evicted_keys:0\r\n",
                  "keyspace_hits:", d.keyspace_hits, "\r\n", "keyspace_misses:",
                  d.keyspace_misses, "\r\n", "pubsub_channels:", st.hub.channel_count(), "\r\n",
                  "pubsub_patterns:", st.hub.pattern_count(), "\r\n", "\r\n");
}

void keyspace_section(ServerState& st, std::string& out) {
  absl::StrAppend(&out, "# Keyspace\r\n");
  std::size_t keys = st.db.size();
  if (keys > 0) {
    absl::StrAppend(&out, "db0:keys=", keys, ",expires=", st.db.expires_size(),
                    ",avg_ttl=0\r\n");
  }
  absl::StrAppend(&out, "\r\n");
}

void runtime_section(std::string& out) {
  absl::StrAppend(&out, "# Runtime\r\n");
  std::optional<keel::Handle> h = keel::Handle::try_current();
  if (!h.has_value()) {
    absl::StrAppend(&out, "runtime:none\r\n", "\r\n");
    return;
  }
  keel::RuntimeMetrics m = h->metrics();
  keel::WorkerMetrics t = m.total();
  absl::StrAppend(&out, "runtime_flavor:", m.flavor, "\r\n", "runtime_workers:", m.workers.size(),
                  "\r\n", "runtime_polls:", t.polls_total, "\r\n", "runtime_steals:",
                  t.steals_total, "\r\n", "runtime_parks:", t.parks_total, "\r\n",
                  "runtime_overflows:", t.overflows_total, "\r\n", "runtime_busy_ms:",
                  t.busy_ns_total / 1000000, "\r\n", "runtime_local_queue_depth:",
                  t.local_queue_depth, "\r\n", "runtime_global_queue_depth:",
                  m.global_queue_depth, "\r\n", "runtime_remote_schedules:",
                  m.remote_schedules_total, "\r\n", "runtime_spawned_tasks:",
                  m.spawned_tasks_total, "\r\n", "runtime_alive_tasks:", m.alive_tasks, "\r\n",
                  "runtime_io_events:", m.io_events_total, "\r\n", "runtime_busy_poll_caught:",
                  m.busy_poll_caught_total, "\r\n", "runtime_busy_poll_missed:",
                  m.busy_poll_missed_total, "\r\n", "runtime_registered_fds:",
                  m.registered_fds, "\r\n", "runtime_timers_active:", m.timers_active, "\r\n",
                  "runtime_timers_fired:", m.timers_fired_total, "\r\n",
                  "runtime_blocking_threads:", m.blocking_threads, "\r\n",
                  "runtime_blocking_queue_depth:", m.blocking_queue_depth, "\r\n",
                  "runtime_slow_polls:", m.slow_polls_total, "\r\n");
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    const keel::WorkerMetrics& w = m.workers[i];
    absl::StrAppend(&out, "runtime_worker", i, ":polls=", w.polls_total, ",steals=",
                    w.steals_total, ",parks=", w.parks_total, ",local_queue_depth=",
                    w.local_queue_depth, ",busy_ms=", w.busy_ns_total / 1000000, "\r\n");
  }
  absl::StrAppend(&out, "\r\n");
}

}  // namespace

std::string render_info(ServerState& st, std::string_view section) {
  std::string s = absl::AsciiStrToLower(std::string(section));
  bool all = s.empty() || s == "default" || s == "all" || s == "everything";
  std::string out;
  if (all || s == "server") server_section(st, out);
  if (all || s == "clients") clients_section(st, out);
  if (all || s == "memory") memory_section(out);
  if (all || s == "persistence") persistence_section(st, out);
  if (all || s == "stats") stats_section(st, out);
  if (all || s == "keyspace") keyspace_section(st, out);
  if (all || s == "runtime") runtime_section(out);
  // Redis ends the text without the last section's blank line.
  while (out.size() >= 2 && out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  return out;
}

}  // namespace mini_redis
