// RunState: what all connections of one run share (the measured window, the merged results
// and the progress numbers), and ConnectionCore: the bookkeeping of one connection (its
// session, in-flight queue, read buffer, local histogram and error counts) that the
// connection loop in connection.h drives.
//
//   RunState run(config, protocol, keel::Instant::now());
//   ConnectionCore core(&run, /*index=*/0, /*quota=*/0);
//   core.begin_session();
//   while (core.can_send(now)) core.encode_one(now);   // then write core.output()
//   core.commit(n); core.on_stream_data(now);          // after a read into core.read_space()
//
// Hot path: a connection records into its own Histogram and counters with no sharing; every
// kPublishInterval it merges them into the RunState under the RunState's mutex (the touched
// bucket range only) and resets them, and once more when it finishes. The progress line and
// the final report read the merged numbers. So nothing shared is touched per request.
//
// Measured window: [start + warmup, start + warmup + duration] (open-ended with --requests).
// A response or error completing outside it is not counted. Latency runs from the request's
// intended send time: the actual send in closed loop, the scheduled one in open loop
// (coordinated omission corrected: a request delayed by a slow server is charged for the wait).
//
// Thread-safety: RunState is safe from any thread; a ConnectionCore belongs to one task.
#ifndef KEEL_BENCHMARKS_LOADGEN_RUN_STATE_H_
#define KEEL_BENCHMARKS_LOADGEN_RUN_STATE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "benchmarks/loadgen/classify.h"
#include "benchmarks/loadgen/config.h"
#include "benchmarks/loadgen/histogram.h"
#include "benchmarks/loadgen/protocol.h"
#include "benchmarks/loadgen/report.h"
#include "runtime/time/instant.h"

namespace keel::loadgen {

// How often a connection merges its numbers into the shared ones: often enough for a smooth
// once-a-second progress line, rarely enough that the lock is never contended.
inline constexpr Duration kPublishInterval = std::chrono::milliseconds(200);
// Reconnect backoff after a failed connect: short at first (a server restarting), doubling up
// to a ceiling so that a dead server is not hammered.
inline constexpr Duration kReconnectBackoffMin = std::chrono::milliseconds(10);
inline constexpr Duration kReconnectBackoffMax = std::chrono::milliseconds(500);
// Read buffer: at least this much free space per read (a pipeline window of small replies
// arrives in one read).
inline constexpr std::size_t kReadChunk = 64 * 1024;
// A write larger than this may block until the peer reads (socket buffers are a few hundred
// KiB); such writes are bounded by the request timeout instead of waiting forever.
inline constexpr std::size_t kUnguardedWriteBytes = 64 * 1024;

struct ProgressSnapshot {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t p99_ns = 0;
};

class RunState {
 public:
  RunState(const Config& config, const Protocol& protocol, Instant start);

  const Config& config() const { return config_; }
  const Protocol& protocol() const { return protocol_; }
  Instant start() const { return start_; }
  Instant measure_start() const { return measure_start_; }
  // Instant::max-like far future with --requests.
  Instant end() const { return end_; }
  bool measuring(Instant t) const { return t >= measure_start_ && t <= end_; }

  // Merges and resets a connection's local numbers.
  void publish(Histogram& latency, ErrorCounts& errors, std::uint64_t& requests,
               std::string& first_error);
  void connection_finished(Instant at);
  ProgressSnapshot snapshot();
  // The merged results; the measured window ends at `end` or, with --requests, when the last
  // connection finished.
  Results results();

 private:
  const Config& config_;
  const Protocol& protocol_;
  const Instant start_;
  const Instant measure_start_;
  const Instant end_;
  absl::Mutex mu_;
  Results results_ ABSL_GUARDED_BY(mu_);
  Instant last_finish_ ABSL_GUARDED_BY(mu_);
};

class ConnectionCore {
 public:
  ConnectionCore(RunState* run, int index, std::uint64_t quota);

  // Starts a fresh session on a new socket: empties the queue and buffers.
  void begin_session();

  // Whether another request may be sent now (window, quota, rate, end of run).
  bool can_send(Instant now) const;
  // Encodes the next request into output() and queues it as in flight.
  void encode_one(Instant now);
  std::string_view output() const { return out_; }
  void clear_output() { out_.clear(); }
  bool in_flight_empty() const { return live_ == 0; }
  std::size_t in_flight() const { return live_; }

  // When the connection must wake up even without a response: the oldest request's timeout,
  // the next open-loop send time, or the end of the run.
  Instant next_deadline() const;
  // The connection is done: past the end, or its quota used up with nothing in flight.
  bool finished(Instant now) const;

  // Stream transports: free space to read into, then commit(n) and decode.
  std::span<char> read_space();
  void commit(std::size_t n) { tail_ += n; }
  // Decodes every complete response; false when the stream is broken (protocol error).
  bool on_stream_data(Instant now);
  // Datagram transports: one datagram. Never breaks the socket.
  void on_datagram(std::string_view datagram, Instant now);

  // Expires requests past their timeout. On a stream every request in flight behind an
  // expired one is lost too: they all count as timeouts and the caller reconnects (true).
  // On datagrams only the expired ones count and the socket stays (false).
  bool expire(Instant now, bool datagram);
  // Counts every request in flight as failed with `kind` (at least one error is counted, the
  // failure of the connection itself).
  void fail_all(ErrorKind kind, const absl::Status& why, Instant now);
  void on_connect_error(const absl::Status& why, Instant now);
  void maybe_publish(Instant now);
  void finish(Instant now);

  Duration timeout() const { return run_->config().timeout; }
  Instant end() const { return run_->end(); }

 private:
  struct Entry {
    std::uint64_t id;
    Instant intended;
    Instant sent;
    bool done;
  };
  Entry& at(std::size_t i) { return ring_[(head_ + i) % ring_.size()]; }
  const Entry& at(std::size_t i) const { return ring_[(head_ + i) % ring_.size()]; }
  void pop_done();
  void complete(Entry& e, const Decoded& d, Instant now);
  void count_error(ErrorKind kind, std::string_view why, Instant now, std::uint64_t n = 1);

  RunState* run_;
  const bool open_loop_;
  const std::size_t window_;
  const std::uint64_t quota_;  // 0: unbounded
  const Duration interval_;    // open loop: between two sends of this connection
  std::uint64_t seed_;  // connection index << 32 | sessions started
  std::unique_ptr<Session> session_;
  std::uint64_t next_id_ = 0;
  std::uint64_t issued_ = 0;  // measured requests sent (or connects failed), against quota_
  Instant next_send_;
  // In-flight ring: entries [head_, head_ + count_) in send order; `live_` not yet done.
  std::vector<Entry> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t live_ = 0;
  std::string out_;
  std::vector<char> in_;
  std::size_t head_in_ = 0;
  std::size_t tail_ = 0;
  // Local numbers, merged into run_ every kPublishInterval.
  Histogram latency_;
  ErrorCounts errors_;
  std::uint64_t ok_ = 0;
  std::string first_error_;
  Instant next_publish_;
};

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_RUN_STATE_H_
