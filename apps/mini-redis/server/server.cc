#include "apps/mini-redis/server/server.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/server/connection.h"
#include "apps/mini-redis/server/server_state.h"
#include "net/net.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/sync/semaphore.h"

namespace mini_redis {
namespace {

using keel::Task;
using keel::sync::CancellationToken;
using keel::sync::Semaphore;

constexpr std::string_view kMaxClientsReached = "-ERR max number of clients reached\r\n";

AppendFsync to_aof(FsyncPolicy p) {
  if (p == FsyncPolicy::kAlways) return AppendFsync::kAlways;
  if (p == FsyncPolicy::kNo) return AppendFsync::kNo;
  return AppendFsync::kEverySec;
}

// Over --maxclients: tell the client why, then close (as Redis).
template <class Stream>
Task<void> reject(Stream conn) {
  absl::Status wrote = co_await keel::io::write_all(conn, kMaxClientsReached);
  (void)wrote;  // the client may be gone already: it is closed either way
  (void)conn.shutdown_now(SHUT_WR);
}

keel::JoinHandle<void> start_connection(keel::net::TcpStream conn, std::shared_ptr<ServerState> st,
                                        keel::sync::OwnedSemaphorePermit permit) {
  return keel::spawn(serve_tcp_connection(std::move(conn), std::move(st), std::move(permit)));
}

keel::JoinHandle<void> start_connection(keel::net::UnixStream conn, std::shared_ptr<ServerState> st,
                                        keel::sync::OwnedSemaphorePermit permit) {
  return keel::spawn(serve_unix_connection(std::move(conn), std::move(st), std::move(permit)));
}

// Accepts (TCP or Unix) until the listener fails (then asks the server to stop) or the task is
// aborted. Each connection holds a --maxclients permit for its life; without one it is refused.
template <class Listener>
Task<absl::Status> accept_loop(Listener listener, std::shared_ptr<ServerState> st,
                               std::shared_ptr<Semaphore> limit) {
  for (;;) {
    auto accepted = co_await listener.accept();
    if (!accepted.ok()) {
      st->shutdown.cancel();
      co_return accepted.status();
    }
    ServerStats::add(st->stats.connections_received, 1);
    absl::StatusOr<keel::sync::OwnedSemaphorePermit> permit = keel::sync::try_acquire_owned(limit);
    if (!permit.ok()) {
      ServerStats::add(st->stats.rejected_connections, 1);
      keel::JoinHandle<void> detached = keel::spawn(reject(std::move(accepted->first)));
      continue;
    }
    keel::JoinHandle<void> detached =
        start_connection(std::move(accepted->first), st, std::move(*permit));
  }
}

Task<void> expire_loop(std::shared_ptr<ServerState> st) {
  for (;;) {
    co_await keel::sleep(kActiveExpirePeriod);
    st->db.active_expire_cycle(st->aof.get(), kActiveExpireSamples);
  }
}

// Waits until all `n` permits are back: every connection has finished.
Task<absl::Status> wait_all_returned(std::shared_ptr<Semaphore> limit, std::size_t n) {
  absl::StatusOr<keel::sync::SemaphorePermit> all = co_await limit->acquire_many(n);
  co_return all.status();
}

std::string tcp_bind_address(const ServerConfig& c) {
  int port = c.port == kEphemeralPort ? 0 : c.port;
  if (c.bind.find(':') != std::string::npos && c.bind.front() != '[') {
    return absl::StrCat("[", c.bind, "]:", port);  // an IPv6 literal
  }
  return absl::StrCat(c.bind, ":", port);
}

// The accept loop's error, if it stopped on one; aborting it is how it normally ends.
Task<absl::Status> accept_result(keel::JoinHandle<absl::Status>& h) {
  absl::StatusOr<absl::Status> r = co_await h;
  if (!r.ok() || absl::IsCancelled(*r)) co_return absl::OkStatus();
  co_return *r;
}

// `report` is released as soon as it is no longer needed (after the listeners are reported,
// or on a start-up error), so that whatever the callback holds does not live as long as the
// server task's frame.
Task<absl::Status> serve(ServerConfig config, CancellationToken shutdown,
                         std::shared_ptr<const OnListening> report) {
  auto st = std::make_shared<ServerState>(config);
  // SHUTDOWN from a client cancels the child; the caller's token cancels both.
  st->shutdown = shutdown.child_token();

  if (config.appendonly) {
    AofOptions options;
    options.dir = config.dir;
    options.fsync = to_aof(config.appendfsync);
    Task<absl::StatusOr<std::shared_ptr<Aof>>> opening = Aof::open(std::move(options), st->db);
    absl::StatusOr<std::shared_ptr<Aof>> aof = co_await std::move(opening);
    if (!aof.ok()) {
      report.reset();
      co_return aof.status();
    }
    st->aof = std::move(*aof);
  }

  // Bind everything before accepting anything: a bad address fails the start-up as a whole.
  std::optional<keel::net::TcpListener> tcp;
  std::optional<keel::net::UnixListener> unix_listener;
  absl::Status bind_error;
  if (config.port != 0) {
    absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind(tcp_bind_address(config));
    if (l.ok()) {
      tcp.emplace(std::move(*l));
      absl::StatusOr<keel::net::SocketAddr> local = tcp->local_addr();
      if (local.ok()) st->tcp_port = local->port();
    } else {
      bind_error = l.status();
    }
  }
  if (bind_error.ok() && !config.unixsocket.empty()) {
    absl::StatusOr<keel::net::UnixListener> l = keel::net::UnixListener::bind(config.unixsocket);
    if (l.ok()) {
      unix_listener.emplace(std::move(*l));
    } else {
      bind_error = l.status();
    }
  }
  if (!bind_error.ok()) {
    report.reset();
    if (st->aof != nullptr) (void)co_await st->aof->close();
    co_return bind_error;
  }

  auto limit = std::make_shared<Semaphore>(config.maxclients);
  std::optional<keel::JoinHandle<absl::Status>> tcp_loop;
  std::optional<keel::JoinHandle<absl::Status>> unix_loop;
  if (tcp.has_value()) {
    std::string address = tcp_bind_address(config);
    if (address.ends_with(":0")) {
      address.resize(address.size() - 1);
      absl::StrAppend(&address, st->tcp_port);
    }
    tcp_loop.emplace(keel::spawn(accept_loop(std::move(*tcp), st, limit)));
    (*report)(address);
  }
  if (unix_listener.has_value()) {
    unix_loop.emplace(keel::spawn(accept_loop(std::move(*unix_listener), st, limit)));
    (*report)(absl::StrCat("unix:", config.unixsocket));
  }
  // The callback (and whatever it holds: a test's channel) is not needed any more.
  report.reset();
  keel::JoinHandle<void> expiry = keel::spawn(expire_loop(st));

  co_await st->shutdown.cancelled();

  // Graceful shutdown: no more accepts (aborting the loops closes the listeners)...
  absl::Status result;
  if (tcp_loop.has_value()) {
    tcp_loop->abort();
    Task<absl::Status> joining = accept_result(*tcp_loop);
    result.Update(co_await std::move(joining));
  }
  if (unix_loop.has_value()) {
    unix_loop->abort();
    Task<absl::Status> joining = accept_result(*unix_loop);
    result.Update(co_await std::move(joining));
    if (!config.unixsocket.empty() && config.unixsocket.front() != '@') {
      ::unlink(config.unixsocket.c_str());
    }
  }
  // ...every connection finishes its batch and sees end of stream...
  std::size_t open = st->open.size();
  if (open > 0) {
    std::fprintf(stderr, "mini-redis: shutting down; waiting up to %llds for %zu client%s\n",
                 static_cast<long long>(config.shutdown_timeout.count()), open,
                 open == 1 ? "" : "s");
  }
  st->open.close_reads();
  Task<absl::Status> draining =
      keel::timeout(config.shutdown_timeout, wait_all_returned(limit, config.maxclients));
  absl::Status idle = co_await std::move(draining);
  if (absl::IsDeadlineExceeded(idle)) {
    std::fprintf(stderr, "mini-redis: grace period over; closing %zu client%s\n",
                 st->open.size(), st->open.size() == 1 ? "" : "s");
    st->open.close_all();
    idle = co_await wait_all_returned(limit, config.maxclients);
  }
  expiry.abort();
  (void)co_await expiry;
  // ...and everything acknowledged is on disk.
  if (st->aof != nullptr) {
    Task<absl::Status> closing = st->aof->close();
    result.Update(co_await std::move(closing));
  }
  co_return result;
}

}  // namespace

keel::Task<absl::Status> run_server(ServerConfig config, CancellationToken shutdown,
                                    OnListening on_listening) {
  auto report = std::make_shared<const OnListening>(std::move(on_listening));
  return serve(std::move(config), std::move(shutdown), std::move(report));
}

}  // namespace mini_redis
