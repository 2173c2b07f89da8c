// Aof: the append-only file. It records every write the keyspace reports (it is the Db's
// WriteLog), replays the file into a Db at startup, and rewrites it in the background
// (BGREWRITEAOF) without blocking clients.
//
//   mini_redis::AofOptions opts;
//   opts.dir = "/var/lib/mini-redis";
//   opts.fsync = mini_redis::AppendFsync::kAlways;
//   absl::StatusOr<std::shared_ptr<mini_redis::Aof>> aof =
//       co_await mini_redis::Aof::open(opts, db);
//   if (!aof.ok()) { ... aof.status() ... }   // "open /var/lib/mini-redis/appendonly.aof: ..."
//   mini_redis::ExecContext ctx{db, aof->get()};
//   mini_redis::execute(*cmd, ctx, args, reply);                 // appends under the shard lock
//   if ((*aof)->fsync_always() && ctx.last_write_seq != 0) {
//     absl::Status s = co_await (*aof)->wait_durable(ctx.last_write_seq);  // then reply OK
//   }
//   ...
//   absl::Status s = co_await (*aof)->close();                   // shutdown: all on disk
//
// File format: Redis's (a sequence of RESP arrays of bulk strings, one per record), so
// `redis-check-aof` and Redis itself can read it.
//
// How it works:
//   - append() runs under the lock of the shard it records (db/write_log.h), so it puts the
//     record (the client's own bytes when the record is its request, else encoded) into that
//     shard's own buffer with no lock of its own: workers writing to
//     different shards never meet. A kAllShards record (FLUSHALL) holds every shard lock: it
//     moves every shard's buffer into one ordered buffer, then appends itself there. append()
//     takes a sequence number (an atomic counter) and, when the buffer was empty, wakes the
//     writer task (a Notify permit: never waits). It never touches the disk.
//   - One writer task (spawned by open() on the current runtime) takes a consistent cut: with
//     every shard lock held (briefly: it swaps buffers, copies nothing) it takes the ordered
//     buffer, then each shard's. Records of one shard stay in order; records of different
//     shards commute (they touch different keys); a kAllShards record sits between what came
//     before and after it. The batch is written on the blocking pool. kAlways: the write and
//     an fdatasync run as one blocking call per batch, then the durable sequence number is
//     published and every wait_durable() waiting on it wakes: group commit (records that
//     arrive during an fsync form the next batch). kEverySec: records gather for
//     kWriteCoalesceDelay, are written in one batch, and fdatasync runs at most once per
//     second (kEverySecInterval) on the writer (never on a client's path: clients never
//     wait). kNo: never fsync (the kernel decides), except in close().
//   - A write error under kEverySec or kNo (a full disk, a file-size limit) is recoverable,
//     as in Redis: the writer cuts the file back to its size before the batch (a partial
//     write leaves no torn record), puts the batch back in front of the newer records,
//     reports the error (accepting_writes() false, so the server refuses writes) and tries
//     again every kWriteRetryInterval; the first write that succeeds clears the error.
//     Nothing is dropped meanwhile. Any other error stops the writer for good: a write error
//     under kAlways, an fsync error (after a failed fsync the page cache cannot be trusted),
//     a file that could not be cut back, or an error while closing. wait_durable() then
//     returns the error and write_status() reports it, so the server can refuse writes.
//   - Rewrite (start_rewrite): a background task writes `<filename>.rewrite` from
//     Db::dump_shard, shard by shard, on the blocking pool. The cut per shard is exact:
//     dump_shard calls back with the shard's lock held, and from then on append() also copies
//     that shard's records into the shard's rewrite tail. A kAllShards record (FLUSHALL) while
//     some shards are not dumped yet restarts the dump. When every shard is dumped the task
//     writes most of the tail and fsyncs; then the writer task, with every shard lock held,
//     takes the rest of the tail and drops its own pending buffers (every record in them is in
//     the new file: in a shard's dump or in the tail), writes the rest, fsyncs, renames the
//     new file over the live one and carries on appending to it. Nothing is lost or written
//     twice.
//
// Thread-safety: append(), wait_durable(), start_rewrite(), wait_rewrite(), stats() and
// write_status() may be called from any thread or task at once. close() is for shutdown (a
// second call gives the same result). The Db given to open() must outlive the Aof's
// background tasks: await close() before destroying it.
#ifndef KEEL_APPS_MINI_REDIS_PERSISTENCE_AOF_H_
#define KEEL_APPS_MINI_REDIS_PERSISTENCE_AOF_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "apps/mini-redis/db/db.h"
#include "apps/mini-redis/db/write_log.h"
#include "runtime/runtime.h"
#include "runtime/sync/notify.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"

namespace mini_redis {

namespace file_io {
struct OpenFile;  // file_io.h
}  // namespace file_io

enum class AppendFsync { kAlways, kEverySec, kNo };

// How often appendfsync everysec fsyncs (Redis's value: at most one second of writes lost).
inline constexpr keel::Duration kEverySecInterval = std::chrono::seconds(1);

// With kEverySec and kNo the writer lets records gather this long before each write: clients
// never wait for it (only kAlways waits), and one write(2) per 10 ms instead of one per few
// records saves the blocking-pool round trips and syscalls that otherwise cost a busy server
// CPU its clients need (SET -P 16 with everysec measured 0.76-0.90x of in-memory with 1 ms,
// 0.79-1.07x with 10 ms, on a machine whose noise is about ±15%). It adds at most this much to
// the writes a crash of the process can lose (everysec already allows a second).
inline constexpr keel::Duration kWriteCoalesceDelay = std::chrono::milliseconds(10);

// With kEverySec and kNo, how long the writer waits before it writes a batch again after a
// write failed (Redis retries once a second too).
inline constexpr keel::Duration kWriteRetryInterval = std::chrono::seconds(1);

// The rewrite task hands the rest of the tail to the writer (which writes it while appends
// keep going into a fresh buffer) once a drained piece is smaller than this: small enough
// that the final step (write + fsync + rename) is short, big enough to stop chasing a busy
// writer.
inline constexpr std::size_t kRewriteHandoffBytes = 1 << 20;

// Bytes read per blocking call while replaying (1 MiB: few pool round trips, little memory).
inline constexpr std::size_t kReplayReadChunk = 1 << 20;

struct AofOptions {
  std::string dir;  // created if missing
  std::string filename = "appendonly.aof";
  AppendFsync fsync = AppendFsync::kEverySec;
  // Test hook: runs on the blocking thread before each batch is written to the live file; a
  // non-OK status is taken as the write's failure. Empty in production.
  std::function<absl::Status()> write_hook;
  // Test hook: runs on the blocking thread of a rewrite after shard `shard` was dumped (its
  // lock released). Empty in production.
  std::function<void(std::size_t shard)> rewrite_hook;
};

class Aof final : public WriteLog, public std::enable_shared_from_this<Aof> {
 public:
  // For INFO persistence.
  struct AofStats {
    bool enabled = true;               // aof_enabled
    bool rewrite_in_progress = false;  // aof_rewrite_in_progress
    std::uint64_t rewrites = 0;        // aof_rewrites (completed)
    bool last_bgrewrite_ok = true;     // aof_last_bgrewrite_status ok|err
    bool last_write_ok = true;         // aof_last_write_status ok|err
    std::uint64_t current_size = 0;    // aof_current_size: bytes in the live file
    std::uint64_t base_size = 0;       // aof_base_size: size after open or the last rewrite
    std::uint64_t pending_bytes = 0;   // aof_pending_bytes: appended, not yet written
    std::uint64_t appended_seq = 0;    // the last sequence number append() returned
    std::uint64_t written_seq = 0;     // records up to here reached the kernel
    std::uint64_t durable_seq = 0;     // records up to here were fsynced
  };

  // Opens dir/filename (creating it), replays it into `db` with mini_redis::execute (log =
  // nullptr). A torn last record (the file ends inside a record: a crash mid-write) is
  // dropped: the file is truncated to the last whole record and a line is logged to stderr,
  // as Redis's aof-load-truncated; any other damage is a DATA_LOSS error naming the file and
  // offset ("Bad file format reading the append only file /d/appendonly.aof at offset 120:
  // invalid bulk length", "Unknown command 'FOO' reading the append only file ... at offset
  // 0"), and the file is left as it is. A stale `<filename>.rewrite` (a crash mid-rewrite)
  // is removed. Then starts the writer task on the current runtime.
  static keel::Task<absl::StatusOr<std::shared_ptr<Aof>>> open(AofOptions options, Db& db);

  Aof(const Aof&) = delete;
  Aof& operator=(const Aof&) = delete;
  ~Aof() override;

  // WriteLog: puts the record into the shard's pending buffer (copies `encoded` when given,
  // encodes `args` as RESP otherwise); never blocks on I/O. The caller holds the shard's lock
  // (every shard's for kAllShards), as db/write_log.h requires.
  std::uint64_t append(int shard, std::span<const std::string_view> args,
                       std::string_view encoded) override;

  // Completes once every record up to `seq` is written and fsynced (kAlways; with kEverySec
  // and kNo: written to the kernel), or with the error that stopped the writer (or
  // FAILED_PRECONDITION once closed with `seq` not written). Cancellable.
  keel::Task<absl::Status> wait_durable(std::uint64_t seq);

  bool fsync_always() const { return options_.fsync == AppendFsync::kAlways; }
  AppendFsync fsync_policy() const { return options_.fsync; }
  // dir/filename.
  const std::string& path() const { return path_; }

  // BGREWRITEAOF: starts the rewrite in the background. While one runs, FAILED_PRECONDITION
  // with Redis's whole error text ("ERR Background append only file rewriting already in
  // progress", ready for resp::Reply::error).
  absl::Status start_rewrite();
  // Completes when no rewrite is running; gives the last rewrite's result (OK if none ran).
  keel::Task<absl::Status> wait_rewrite();

  // Flushes and fsyncs everything appended so far, stops the writer (and a running rewrite,
  // whose temporary file is removed) and closes the file. For shutdown: append() after it
  // still returns sequence numbers but the records are dropped.
  keel::Task<absl::Status> close();

  // OK, or the write/fsync error that stopped the writer or that it is retrying after
  // ("write /d/appendonly.aof: No space left on device").
  absl::Status write_status() const;
  // False while the last write failed (until a retry succeeds), once the writer stopped on an
  // error, and once close() was called: the server must refuse writes (Redis's MISCONF).
  // Two loads of one cache line: for every write command.
  bool accepting_writes() const {
    // ORDERING: acquire; pairs with the release stores in close()/fail()/the writer.
    return !dropping_.load(std::memory_order_acquire) &&
           !write_error_.load(std::memory_order_acquire);
  }

  AofStats stats() const;

 private:
  using Fd = file_io::OpenFile;  // an open file descriptor, closed by its destructor
  struct RewriteReady;  // a rewritten file waiting for the writer to switch to it (aof_rewrite.cc)

  Aof(AofOptions options, Db& db, std::string path, keel::Handle handle);

  static keel::Task<void> writer_main(std::shared_ptr<Aof> self);
  static keel::Task<void> rewrite_main(std::shared_ptr<Aof> self);
  keel::Task<void> run_writer();
  keel::Task<absl::Status> run_rewrite();
  // Replays the live file into db_; gives the length of its whole records.
  keel::Task<absl::StatusOr<std::uint64_t>> replay();
  // The writer's half of the rewrite: the final tail, fsync, rename, switch files. A failure
  // before the rename abandons the rewrite (the old file stays live); an error after it (the
  // directory fsync) is returned: the writer must stop.
  keel::Task<absl::Status> finish_rewrite(std::shared_ptr<RewriteReady> ready);
  // Ends a rewrite that will not reach the writer: drops the tail, removes the temporary file.
  keel::Task<void> abandon_rewrite(absl::Status why);
  // Marks the writer stopped with `s` and wakes every waiter.
  void fail(absl::Status s);
  // A failed batch under kEverySec/kNo, the file cut back to before it: puts `pieces` back in
  // front of every newer record and refuses writes until a write succeeds.
  void start_write_retry(absl::Status s, std::vector<std::string>& pieces);
  // The first successful write after start_write_retry(): writes are accepted again.
  void end_write_retry();

  const AofOptions options_;
  Db& db_;
  const std::string path_;
  const std::string rewrite_path_;
  const std::size_t shards_;
  const keel::Handle handle_;  // where rewrites are spawned (start_rewrite may run anywhere)

  // A shard's records, guarded by that shard's lock in db_ (append() runs under it).
  // Cache-line aligned: workers appending to neighbouring shards must not share a line.
  struct alignas(64) ShardLog {
    std::string pending;       // records not yet handed to the writer
    std::string tail;          // records after this shard's rewrite cut, for the new file
    bool snapshotted = false;  // dumped in this rewrite pass
  };
  // Append every shard's pending (tail) records to `out`, emptying the shards' buffers.
  // Need every shard lock.
  void gather_pending(std::string& out);
  void gather_tail(std::string& out);
  // Puts records taken by a cut that did not reach the file (a failed write, an abandoned
  // rewrite switch) back in front of every newer record. Needs every shard lock.
  void requeue_in_front(std::string records);
  // Ends the rewrite state: no shard copies records to a tail any more. Needs every shard lock.
  void reset_rewrite_cut();

  const std::unique_ptr<ShardLog[]> shard_logs_;

  // Guarded by every shard lock (written with all of them held, as by a kAllShards append):
  std::string pending_;          // the ordered buffer: records before the shards' pending ones
  std::string tail_;             // the ordered rewrite tail, before the shards' tails
  bool rewrite_active_ = false;  // a dump pass is under way: shards may be snapshotted

  // Guards the fields below up to the atomics. Lock order: shard locks, then mu_ (the writer
  // takes mu_ inside its cut).
  mutable std::mutex mu_;
  bool closing_ = false;       // close() called: records are dropped from now on
  bool stopped_ = false;       // a write/fsync failed: records are dropped
  absl::Status write_status_;  // why stopped_
  bool writer_exited_ = false;
  bool rewrite_running_ = false;  // a rewrite is under way (task or hand-off)
  std::shared_ptr<RewriteReady> rewrite_ready_;  // set: the writer should switch files
  absl::Status last_rewrite_status_;
  std::uint64_t rewrites_ = 0;
  std::uint64_t base_size_ = 0;
  std::shared_ptr<Fd> fd_;  // the live file (the writer replaces it after a rewrite)

  // The writer task's own state (no lock: only it touches these).
  bool unsynced_ = false;  // written since the last fsync
  bool retrying_ = false;  // a write failed; start_write_retry() ran, end_write_retry() not yet

  // Taken by append() under a shard lock; the writer reads it inside its cut (every shard
  // lock held), so every number it sees belongs to a record already in a buffer.
  // Own cache lines: every write command on every worker increments seq_ and loads
  // dropping_ (accepting_writes()); sharing one line made each load miss after the other
  // worker's increment.
  alignas(64) std::atomic<std::uint64_t> seq_{0};  // the last sequence number given out
  // Set with mu_ held before closing_/stopped_, so an append that comes after the writer's
  // last cut sees it (the cut's shard locks order the two).
  alignas(64) std::atomic<bool> dropping_{false};
  // A write failed and the writer is retrying it (kEverySec/kNo). On dropping_'s line: both
  // are read by every write command, and written only on errors. The writer sets it with mu_
  // held, together with write_status_.
  std::atomic<bool> write_error_{false};
  // Set by a kAllShards append mid-dump, read by the rewrite task after each shard.
  std::atomic<bool> rewrite_restart_{false};
  // ORDERING: release stores by the writer after the bytes are written/fsynced, acquire loads
  // by waiters; the Notify below is the wake-up, these are the truth.
  std::atomic<std::uint64_t> written_seq_{0};
  std::atomic<std::uint64_t> durable_seq_{0};
  std::atomic<std::uint64_t> current_size_{0};
  std::atomic<bool> halted_{false};  // stopped_ or writer_exited_ (fast path of wait_durable)

  keel::sync::Notify wake_writer_;   // appends (empty -> non-empty), close, rewrite hand-off
  keel::sync::Notify progress_;      // written/durable seq moved, writer stopped or exited
  keel::sync::Notify rewrite_done_;  // a rewrite finished (or was abandoned)
};

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_PERSISTENCE_AOF_H_
