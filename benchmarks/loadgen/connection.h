// run_connection: one load-generating connection, over any stream or datagram socket.
//
//   struct TcpDialer {
//     using Stream = keel::net::TcpStream;
//     std::string addr;
//     keel::Task<absl::StatusOr<Stream>> dial() const;   // connects (and sets TCP_NODELAY)
//   };
//   keel::spawn(run_connection(&run, TcpDialer{"127.0.0.1:7000"}, index, quota));
//
// The loop: connect (bounded by the request timeout; a failure is counted and retried after a
// backoff of kReconnectBackoffMin doubling to kReconnectBackoffMax), then
//   1. encode every request the window allows (closed loop: up to --pipeline in flight; open
//      loop: also only those whose scheduled time has come) and write them with one write
//      (datagram sockets: one send per request);
//   2. one read, bounded by the next deadline (oldest request's timeout, next scheduled send,
//      end of run); decode every complete response, record its latency, pop it;
//   3. a read error, end of stream with requests in flight, a protocol error or a timeout on a
//      stream counts every request in flight and reconnects.
// So a pipelined window costs one write and usually one read, whatever its depth.
//
// Stream requirements: `read(std::span<char>)` and `write(std::span<const char>)` awaitables of
// absl::StatusOr<std::size_t> (io/traits.h). A type with `static constexpr bool kDatagram =
// true` is a datagram socket: each read is one datagram and each write sends one.
//
// Lifetimes: run_connection takes the dialer by value and borrows `run`, which must outlive
// the task (the caller awaits every connection before destroying it).
// Thread-safety: one task per connection.
#ifndef KEEL_BENCHMARKS_LOADGEN_CONNECTION_H_
#define KEEL_BENCHMARKS_LOADGEN_CONNECTION_H_

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "benchmarks/loadgen/run_state.h"
#include "runtime/io/util.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"
#include "runtime/time/sleep.h"
#include "runtime/time/timeout.h"

namespace keel::loadgen {

template <class S>
inline constexpr bool kIsDatagram = requires { requires S::kDatagram; };

namespace detail {

template <class S>
Task<absl::StatusOr<std::size_t>> read_once(S& s, std::span<char> buf) {
  co_return co_await s.read(buf);
}

template <class S>
Task<absl::Status> send_one(S& s, std::string_view bytes) {
  absl::StatusOr<std::size_t> n = co_await s.write(std::span<const char>(bytes.data(), bytes.size()));
  if (!n.ok()) co_return n.status();
  if (*n != bytes.size()) {
    co_return absl::InternalError("send: the datagram was truncated");
  }
  co_return absl::OkStatus();
}

// Whether `s` is timeout_at's own expiry rather than an error of the operation.
inline bool is_our_deadline(const absl::Status& s) {
  return absl::IsDeadlineExceeded(s) && absl::StartsWith(s.message(), "timeout:");
}

// Sends what the core encoded. False (errors counted) when the connection failed.
template <class S>
Task<bool> send_pending(ConnectionCore& core, S& s, Instant now) {
  std::string_view out = core.output();
  if (out.empty()) co_return true;
  absl::Status w;
  if (out.size() > kUnguardedWriteBytes) {
    Task<absl::Status> write = io::write_all(s, out);
    w = co_await timeout_at(now + core.timeout(), std::move(write));
  } else {
    w = co_await io::write_all(s, out);
  }
  core.clear_output();
  if (!w.ok()) {
    core.fail_all(is_our_deadline(w) ? ErrorKind::kTimeout : classify(w), w, Instant::now());
    co_return false;
  }
  co_return true;
}

// Drives one connected socket until it fails or the connection is finished.
template <class S>
Task<void> drive(ConnectionCore& core, S& s) {
  core.begin_session();
  for (;;) {
    Instant now = Instant::now();
    if (core.finished(now)) co_return;
    if constexpr (kIsDatagram<S>) {
      while (core.can_send(now)) {
        core.encode_one(now);
        absl::Status w = co_await send_one(s, core.output());
        core.clear_output();
        if (!w.ok()) {
          core.fail_all(classify(w), w, now);
          co_return;
        }
      }
    } else {
      while (core.can_send(now)) core.encode_one(now);
      bool ok = co_await send_pending(core, s, now);
      if (!ok) co_return;
    }
    Instant deadline = core.next_deadline();
    if (core.in_flight_empty()) {
      // Nothing to wait for but the clock: the next open-loop send, or the end.
      if (deadline > now) co_await sleep_until(deadline);
      continue;
    }
    std::span<char> space = core.read_space();
    Task<absl::StatusOr<std::size_t>> rd = read_once(s, space);
    absl::StatusOr<std::size_t> n = co_await timeout_at(deadline, std::move(rd));
    now = Instant::now();
    if (!n.ok()) {
      if (is_our_deadline(n.status())) {
        if (core.expire(now, kIsDatagram<S>)) co_return;
        continue;
      }
      core.fail_all(classify(n.status()), n.status(), now);
      co_return;
    }
    if constexpr (kIsDatagram<S>) {
      core.on_datagram(std::string_view(space.data(), *n), now);
    } else {
      if (*n == 0) {
        if (!core.in_flight_empty()) {
          core.fail_all(ErrorKind::kReset,
                        absl::UnavailableError("read: the connection was closed by the peer"),
                        now);
        }
        co_return;
      }
      core.commit(*n);
      if (!core.on_stream_data(now)) co_return;
    }
    core.maybe_publish(now);
  }
}

}  // namespace detail

template <class Dialer>
Task<void> run_connection(RunState* run, Dialer dialer, int index, std::uint64_t quota) {
  using Stream = typename Dialer::Stream;
  ConnectionCore core(run, index, quota);
  Duration backoff = kReconnectBackoffMin;
  for (;;) {
    Instant now = Instant::now();
    if (core.finished(now)) break;
    Task<absl::StatusOr<Stream>> dial = dialer.dial();
    absl::StatusOr<Stream> conn =
        co_await timeout_at(std::min(now + core.timeout(), core.end()), std::move(dial));
    if (!conn.ok()) {
      now = Instant::now();
      if (now >= core.end()) break;
      core.on_connect_error(conn.status(), now);
      core.maybe_publish(now);
      co_await sleep_until(std::min(now + backoff, core.end()));
      backoff = std::min(backoff * 2, kReconnectBackoffMax);
      continue;
    }
    backoff = kReconnectBackoffMin;
    Task<void> driving = detail::drive(core, *conn);
    co_await std::move(driving);
  }
  core.finish(Instant::now());
}

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_CONNECTION_H_
