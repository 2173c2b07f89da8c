#include "apps/mini-redis/server/server_state.h"

#include <sys/socket.h>

#include <functional>
#include <thread>

namespace mini_redis {
namespace {

std::size_t this_thread_stripe(std::size_t stripes) {
  thread_local const std::size_t stripe =
      std::hash<std::thread::id>()(std::this_thread::get_id()) % stripes;
  return stripe;
}

}  // namespace

// ---- BatchCounters ----
// ORDERING (all): relaxed; statistics, nothing is published through them.

void BatchCounters::add(std::uint64_t commands, std::uint64_t in, std::uint64_t out) {
  Stripe& s = stripes_[this_thread_stripe(kStripes)];
  // ORDERING: relaxed everywhere in BatchCounters: INFO statistics, summed on read; no other
  // memory is published through them.
  s.commands.fetch_add(commands, std::memory_order_relaxed);
  s.in.fetch_add(in, std::memory_order_relaxed);
  s.out.fetch_add(out, std::memory_order_relaxed);
}

std::uint64_t BatchCounters::commands() const {
  std::uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.commands.load(std::memory_order_relaxed);
  return n;
}

std::uint64_t BatchCounters::net_input_bytes() const {
  std::uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.in.load(std::memory_order_relaxed);
  return n;
}

std::uint64_t BatchCounters::net_output_bytes() const {
  std::uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.out.load(std::memory_order_relaxed);
  return n;
}

void BatchCounters::reset() {
  for (Stripe& s : stripes_) {
    s.commands.store(0, std::memory_order_relaxed);
    s.in.store(0, std::memory_order_relaxed);
    s.out.store(0, std::memory_order_relaxed);
  }
}

// ---- OpenConnections ----

bool OpenConnections::add(int fd) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  fds_.insert(fd);
  return true;
}

void OpenConnections::remove(int fd) {
  std::lock_guard lock(mu_);
  fds_.erase(fd);
}

void OpenConnections::close_reads() {
  std::lock_guard lock(mu_);
  closing_ = true;
  for (int fd : fds_) ::shutdown(fd, SHUT_RD);
}

void OpenConnections::close_all() {
  std::lock_guard lock(mu_);
  closing_ = true;
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

std::size_t OpenConnections::size() const {
  std::lock_guard lock(mu_);
  return fds_.size();
}

// ---- ServerState ----

namespace {
DbOptions db_options() { return DbOptions{}; }
}  // namespace

ServerState::ServerState(ServerConfig c)
    : config(std::move(c)),
      db(db_options()),
      hub(config.pubsub_output_limit),
      start_unix_ms(wall_clock_ms()) {}

}  // namespace mini_redis
