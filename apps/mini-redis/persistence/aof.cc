// Aof: opening and replaying the file, appending, the writer task and close(). The
// background rewrite is in aof_rewrite.cc, the blocking file operations in file_io.h.
#include "apps/mini-redis/persistence/aof.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/persistence/file_io.h"
#include "apps/mini-redis/protocol/reply.h"
#include "apps/mini-redis/protocol/request.h"
#include "runtime/blocking/run_blocking.h"
#include "runtime/fs/file.h"
#include "runtime/fs/fs.h"
#include "runtime/time/sleep.h"
#include "runtime/time/timeout.h"

namespace mini_redis {

namespace {

// Waits for a notify_one() on `n` (a Task, for timeout_at).
keel::Task<void> wait_notified(keel::sync::Notify* n) { co_await n->notified(); }

// A batch's write (and fsync), run on the blocking pool; gives the buffers back so that their
// capacity is reused.
struct BatchResult {
  absl::Status status;
  std::vector<std::string> pieces;  // emptied if written, else as they were
  bool cut_back = false;            // failed, and the file is back to its size before the batch
};

// Appends the record: the client's bytes when the command logs its request unchanged (a copy
// instead of an encoding: with the AOF on, re-encoding every SET cost about 5% of a busy
// server's CPU), else `args` encoded.
void put_record(std::string& out, std::span<const std::string_view> args,
                std::string_view encoded) {
  if (!encoded.empty()) {
    out.append(encoded);
  } else {
    resp::Reply(out).command(args);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Open and replay

Aof::Aof(AofOptions options, Db& db, std::string path, keel::Handle handle)
    : options_(std::move(options)),
      db_(db),
      path_(std::move(path)),
      rewrite_path_(path_ + ".rewrite"),
      shards_(db.shard_count()),
      handle_(std::move(handle)),
      shard_logs_(new ShardLog[shards_]) {}

Aof::~Aof() = default;

keel::Task<absl::StatusOr<std::shared_ptr<Aof>>> Aof::open(AofOptions options, Db& db) {
  std::string dir = options.dir.empty() ? std::string(".") : options.dir;
  std::string path = absl::StrCat(dir, "/", options.filename);
  absl::Status s = co_await keel::fs::create_dir_all(dir);
  if (!s.ok()) co_return s;
  std::shared_ptr<Aof> aof(new Aof(std::move(options), db, path, keel::Handle::current()));

  // A crash mid-rewrite leaves the temporary file: it never became the live one.
  s = co_await keel::fs::remove_file(aof->rewrite_path_);
  if (!s.ok() && !absl::IsNotFound(s)) co_return s;

  // Open (creating) first, so that "cannot open" is reported as such, before any replay.
  bool existed = co_await keel::fs::exists(path);
  std::string open_path = path;
  auto open_fn = [open_path]() -> absl::Status {
    absl::StatusOr<int> fd = file_io::open_append(open_path, false);
    if (!fd.ok()) return fd.status();
    ::close(*fd);
    return absl::OkStatus();
  };
  keel::Task<absl::Status> create_task = keel::run_blocking(std::move(open_fn));
  s = co_await std::move(create_task);
  if (!s.ok()) co_return s;

  absl::StatusOr<std::uint64_t> good = co_await aof->replay();
  if (!good.ok()) co_return good.status();

  // Reopen for appending, cutting a torn last record off (replay logged it).
  std::uint64_t good_len = *good;
  auto reopen_fn = [open_path, good_len]() -> absl::StatusOr<std::shared_ptr<Fd>> {
    absl::StatusOr<int> f = file_io::open_append(open_path, false);
    if (!f.ok()) return f.status();
    auto holder = std::make_shared<Fd>(*f, open_path);
    struct stat st {};
    if (::fstat(holder->fd, &st) != 0) return file_io::errno_status(errno, "fstat", open_path);
    if (static_cast<std::uint64_t>(st.st_size) != good_len) {
      if (::ftruncate(holder->fd, static_cast<off_t>(good_len)) != 0) {
        return file_io::errno_status(errno, "ftruncate", open_path);
      }
      absl::Status synced = file_io::sync_fd(holder->fd, open_path);
      if (!synced.ok()) return synced;
    }
    return holder;
  };
  keel::Task<absl::StatusOr<std::shared_ptr<Fd>>> reopen_task =
      keel::run_blocking(std::move(reopen_fn));
  absl::StatusOr<std::shared_ptr<Fd>> fd = co_await std::move(reopen_task);
  if (!fd.ok()) co_return fd.status();
  if (!existed) {
    auto sync_dir_fn = [dir]() { return file_io::sync_dir(dir); };
    keel::Task<absl::Status> sync_dir_task = keel::run_blocking(std::move(sync_dir_fn));
    s = co_await std::move(sync_dir_task);
    if (!s.ok()) co_return s;
  }
  {
    std::lock_guard lock(aof->mu_);
    aof->fd_ = std::move(*fd);
    aof->base_size_ = good_len;
  }
  // ORDERING: relaxed: published to other threads by the spawn below (and only statistics).
  aof->current_size_.store(good_len, std::memory_order_relaxed);
  keel::JoinHandle<void> writer = aof->handle_.spawn(writer_main(aof));  // detached
  co_return aof;
}

keel::Task<absl::StatusOr<std::uint64_t>> Aof::replay() {
  absl::StatusOr<keel::fs::File> file = co_await keel::fs::File::open(path_);
  if (!file.ok()) co_return file.status();
  std::string buf;  // bytes read and not yet replayed start at buf[start]
  std::size_t start = 0;
  std::uint64_t buf_offset = 0;  // file offset of buf[0]
  bool eof = false;
  resp::Request req;
  std::string out;
  ExecContext ctx{db_, nullptr};
  for (;;) {
    while (start < buf.size()) {
      std::uint64_t at = buf_offset + start;
      if (buf[start] != '*') {
        co_return absl::DataLossError(absl::StrCat("Bad file format reading the append only file ",
                                                   path_, " at offset ", at, ": expected '*'"));
      }
      resp::ParseResult r = resp::parse_request(std::string_view(buf).substr(start), req);
      if (r.kind == resp::ParseResult::kIncomplete) break;
      if (r.kind == resp::ParseResult::kError) {
        co_return absl::DataLossError(absl::StrCat("Bad file format reading the append only file ",
                                                   path_, " at offset ", at, ": ", r.error));
      }
      if (req.args.empty()) {
        co_return absl::DataLossError(absl::StrCat("Bad file format reading the append only file ",
                                                   path_, " at offset ", at, ": empty record"));
      }
      const CommandSpec* cmd = find_command(req.args[0]);
      if (cmd == nullptr) {
        co_return absl::DataLossError(absl::StrCat("Unknown command '", std::string(req.args[0]),
                                                   "' reading the append only file ", path_,
                                                   " at offset ", at));
      }
      out.clear();
      resp::Reply reply(out);
      execute(*cmd, ctx, req.args, reply);
      start += r.consumed;
    }
    if (eof) break;
    if (start > 0) {
      buf.erase(0, start);
      buf_offset += start;
      start = 0;
    }
    std::size_t old = buf.size();
    buf.resize(old + kReplayReadChunk);
    absl::StatusOr<std::size_t> n =
        co_await file->read(std::span<char>(buf.data() + old, kReplayReadChunk));
    if (!n.ok()) co_return n.status();
    buf.resize(old + *n);
    if (*n == 0) eof = true;
  }
  std::uint64_t good = buf_offset + start;
  if (start < buf.size()) {
    std::fprintf(stderr,
                 "mini-redis: !!! Warning: short read while loading the AOF file %s !!!\n"
                 "mini-redis: AOF loaded anyway (as aof-load-truncated): the torn last record "
                 "(%zu bytes at offset %llu) was dropped and the file truncated to %llu bytes\n",
                 path_.c_str(), buf.size() - start, static_cast<unsigned long long>(good),
                 static_cast<unsigned long long>(good));
  }
  co_return good;
}

// ---------------------------------------------------------------------------------------------
// Appending

std::uint64_t Aof::append(int shard, std::span<const std::string_view> args,
                          std::string_view encoded) {
  // ORDERING: relaxed; the shard lock the caller holds orders this with the writer's cut.
  const std::uint64_t seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  // ORDERING: acquire; pairs with the release store in close()/fail().
  if (dropping_.load(std::memory_order_acquire)) return seq;
  bool wake;
  if (shard >= 0 && static_cast<std::size_t>(shard) < shards_) {
    // The caller holds this shard's lock: its buffers are ours.
    ShardLog& log = shard_logs_[static_cast<std::size_t>(shard)];
    wake = log.pending.empty();
    std::size_t before = log.pending.size();
    put_record(log.pending, args, encoded);
    if (log.snapshotted) log.tail.append(log.pending, before, std::string::npos);
  } else {
    // The caller holds every shard lock. What the shards buffered came before this record.
    wake = true;
    gather_pending(pending_);
    std::size_t before = pending_.size();
    put_record(pending_, args, encoded);
    if (rewrite_active_) {
      bool all_dumped = true;
      for (std::size_t i = 0; i < shards_; ++i) {
        all_dumped = all_dumped && shard_logs_[i].snapshotted;
      }
      if (all_dumped) {
        gather_tail(tail_);
        tail_.append(pending_, before, std::string::npos);
      } else {
        // The shards dumped so far no longer describe the state the rest will be dumped in:
        // dump again (run_rewrite starts a new pass).
        reset_rewrite_cut();
        rewrite_active_ = true;
        // ORDERING: release; the rewrite task's acquire load after a shard's dump.
        rewrite_restart_.store(true, std::memory_order_release);
      }
    }
  }
  if (wake) wake_writer_.notify_one();
  return seq;
}

void Aof::gather_pending(std::string& out) {
  for (std::size_t i = 0; i < shards_; ++i) {
    out.append(shard_logs_[i].pending);
    shard_logs_[i].pending.clear();
  }
}

void Aof::gather_tail(std::string& out) {
  for (std::size_t i = 0; i < shards_; ++i) {
    out.append(shard_logs_[i].tail);
    shard_logs_[i].tail.clear();
  }
}

void Aof::requeue_in_front(std::string records) {
  // A cut writes the ordered buffer first, then the shards': in front of pending_ is in front
  // of everything appended since.
  records.append(pending_);
  pending_.swap(records);
}

void Aof::reset_rewrite_cut() {
  rewrite_active_ = false;
  tail_.clear();
  for (std::size_t i = 0; i < shards_; ++i) {
    shard_logs_[i].snapshotted = false;
    shard_logs_[i].tail.clear();
  }
}

keel::Task<absl::Status> Aof::wait_durable(std::uint64_t seq) {
  const bool always = fsync_always();
  for (;;) {
    keel::sync::Notify::Notified n = progress_.notified();  // registered before the check
    // ORDERING: acquire pairs with the writer's release store after the write/fsync.
    std::uint64_t have = always ? durable_seq_.load(std::memory_order_acquire)
                                : written_seq_.load(std::memory_order_acquire);
    if (have >= seq) co_return absl::OkStatus();
    // ORDERING: acquire pairs with the release store in fail()/the writer's exit.
    if (halted_.load(std::memory_order_acquire)) {
      absl::Status why;
      {
        std::lock_guard lock(mu_);
        why = stopped_ ? write_status_
                       : absl::FailedPreconditionError(
                             absl::StrCat("append only file ", path_, " is closed"));
      }
      co_return why;
    }
    co_await n;
  }
}

absl::Status Aof::write_status() const {
  std::lock_guard lock(mu_);
  return write_status_;
}

Aof::AofStats Aof::stats() const {
  AofStats st;
  Db::AllShardsLock shards(db_);  // for the pending byte count: INFO is rare
  st.pending_bytes = pending_.size();
  for (std::size_t i = 0; i < shards_; ++i) st.pending_bytes += shard_logs_[i].pending.size();
  std::lock_guard lock(mu_);
  st.rewrite_in_progress = rewrite_running_;
  st.rewrites = rewrites_;
  st.last_bgrewrite_ok = last_rewrite_status_.ok();
  st.last_write_ok = write_status_.ok();
  // ORDERING: relaxed: statistics.
  st.current_size = current_size_.load(std::memory_order_relaxed);
  st.base_size = base_size_;
  // ORDERING: relaxed: statistics.
  st.appended_seq = seq_.load(std::memory_order_relaxed);
  st.written_seq = written_seq_.load(std::memory_order_relaxed);
  st.durable_seq = durable_seq_.load(std::memory_order_relaxed);
  return st;
}

void Aof::fail(absl::Status s) {
  std::fprintf(stderr, "mini-redis: writing the append only file failed, writes stop: %s\n",
               std::string(s.message()).c_str());
  {
    Db::AllShardsLock shards(db_);
    std::lock_guard lock(mu_);
    // ORDERING: release; pairs with append()'s acquire load.
    dropping_.store(true, std::memory_order_release);
    stopped_ = true;
    write_status_ = std::move(s);
    pending_ = std::string();
    for (std::size_t i = 0; i < shards_; ++i) shard_logs_[i].pending = std::string();
  }
  // ORDERING: release: a waiter that sees it finds stopped_ under mu_.
  halted_.store(true, std::memory_order_release);
  progress_.notify_waiters();
}

void Aof::start_write_retry(absl::Status s, std::vector<std::string>& pieces) {
  if (!retrying_) {
    std::fprintf(stderr,
                 "mini-redis: writing the append only file failed, writes are refused until a "
                 "retry succeeds (once a second): %s\n",
                 std::string(s.message()).c_str());
  }
  retrying_ = true;
  std::string failed;
  for (std::string& piece : pieces) {
    failed.append(piece);
    piece.clear();
  }
  Db::AllShardsLock shards(db_);
  requeue_in_front(std::move(failed));
  std::lock_guard lock(mu_);
  write_status_ = std::move(s);
  // ORDERING: release; pairs with accepting_writes()' acquire load.
  write_error_.store(true, std::memory_order_release);
}

void Aof::end_write_retry() {
  retrying_ = false;
  std::fprintf(stderr, "mini-redis: the append only file is written again, writes resume\n");
  std::lock_guard lock(mu_);
  write_status_ = absl::OkStatus();
  // ORDERING: release; as in start_write_retry().
  write_error_.store(false, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// The writer task

keel::Task<void> Aof::writer_main(std::shared_ptr<Aof> self) { co_await self->run_writer(); }

keel::Task<void> Aof::run_writer() {
  const bool always = options_.fsync == AppendFsync::kAlways;
  const bool everysec = options_.fsync == AppendFsync::kEverySec;
  std::shared_ptr<Aof> self = shared_from_this();
  // A cut: [0] the ordered buffer, [1 + i] shard i's. Written in this order with one writev.
  std::vector<std::string> batch(shards_ + 1);
  keel::Instant next_sync = keel::Instant::now() + kEverySecInterval;
  for (;;) {
    std::shared_ptr<RewriteReady> ready;
    std::shared_ptr<Fd> fd;
    std::uint64_t upto = 0;
    bool closing = false;
    {
      Db::AllShardsLock shards(db_);
      std::lock_guard lock(mu_);
      ready = std::move(rewrite_ready_);
      rewrite_ready_.reset();
      if (!ready) {
        // Swaps only, no copy: the shards keep appending into the emptied buffers of the
        // previous batch.
        batch[0].swap(pending_);
        for (std::size_t i = 0; i < shards_; ++i) batch[1 + i].swap(shard_logs_[i].pending);
      }
      // ORDERING: relaxed; every append that took a number did so under a lock we hold.
      upto = seq_.load(std::memory_order_relaxed);
      closing = closing_;
      fd = fd_;
    }
    if (ready) {
      keel::Task<absl::Status> finish = finish_rewrite(std::move(ready));
      absl::Status switched = co_await std::move(finish);
      if (!switched.ok()) {
        fail(std::move(switched));
        break;
      }
      continue;
    }
    std::size_t bytes = 0;
    for (const std::string& piece : batch) bytes += piece.size();
    const bool wrote = bytes > 0;
    if (wrote) {
      // ORDERING: relaxed; only this task and the rewrite hand-off (also this task) store it.
      const auto file_size = static_cast<off_t>(current_size_.load(std::memory_order_relaxed));
      auto job = [self, fd, always, file_size, b = std::move(batch)]() mutable -> BatchResult {
        BatchResult r;
        if (self->options_.write_hook) r.status = self->options_.write_hook();
        if (r.status.ok()) r.status = file_io::write_all(fd->fd, b, fd->path);
        if (r.status.ok() && always) r.status = file_io::sync_fd(fd->fd, fd->path);
        if (r.status.ok()) {
          for (std::string& piece : b) piece.clear();  // keeps the capacity for the next cut
        } else if (!always) {
          // Undo a partial write, so that the batch can be written again whole and the file
          // never holds a torn record followed by good ones.
          r.cut_back = ::ftruncate(fd->fd, file_size) == 0;
        }
        r.pieces = std::move(b);
        return r;
      };
      keel::JoinHandle<BatchResult> h = keel::spawn_blocking(std::move(job));
      absl::StatusOr<BatchResult> r = co_await std::move(h);
      if (!r.ok()) {
        fail(r.status());
        break;
      }
      batch = std::move(r->pieces);
      if (!r->status.ok()) {
        if (!r->cut_back || closing) {
          fail(std::move(r->status));
          break;
        }
        start_write_retry(std::move(r->status), batch);
        keel::Sleep pause = keel::sleep(kWriteRetryInterval);
        co_await pause;
        continue;
      }
      if (retrying_) end_write_retry();
      // ORDERING: relaxed: statistics.
      current_size_.fetch_add(bytes, std::memory_order_relaxed);
      // ORDERING: release: the bytes (and with kAlways the fsync) happen-before a waiter's
      // acquire load that sees `upto`.
      written_seq_.store(upto, std::memory_order_release);
      if (always) {
        durable_seq_.store(upto, std::memory_order_release);
      } else {
        unsynced_ = true;
      }
      progress_.notify_waiters();
    }
    bool sync_now = unsynced_ && (closing && !wrote);
    if (everysec && unsynced_ && keel::Instant::now() >= next_sync) sync_now = true;
    if (sync_now) {
      // ORDERING: relaxed: only the writer stores written_seq_.
      std::uint64_t synced = written_seq_.load(std::memory_order_relaxed);
      std::shared_ptr<Fd> f = fd;
      auto sync_fn = [f]() { return file_io::sync_fd(f->fd, f->path); };
      keel::Task<absl::Status> sync_task = keel::run_blocking(std::move(sync_fn));
      absl::Status s = co_await std::move(sync_task);
      if (!s.ok()) {
        fail(std::move(s));
        break;
      }
      unsynced_ = false;
      next_sync = keel::Instant::now() + kEverySecInterval;
      // ORDERING: release pairs with wait_durable's acquire.
      durable_seq_.store(synced, std::memory_order_release);
      progress_.notify_waiters();
    }
    if (closing && !wrote) break;  // everything appended before close() is written and synced
    if (wrote) {                   // more may have arrived meanwhile
      if (!always && !closing) {
        keel::Sleep coalesce = keel::sleep(kWriteCoalesceDelay);
        co_await coalesce;
      }
      continue;
    }
    if (everysec && unsynced_) {
      keel::Task<void> w = wait_notified(&wake_writer_);
      keel::Task<absl::Status> timed_wait = keel::timeout_at(next_sync, std::move(w));
      absl::Status timed = co_await std::move(timed_wait);
      (void)timed;  // a deadline means: time to fsync
    } else {
      co_await wake_writer_.notified();
    }
    if (!always) {
      keel::Sleep coalesce = keel::sleep(kWriteCoalesceDelay);
      co_await coalesce;
    }
  }
  // Exit: stopped by close() or by an error. A rewrite handed over meanwhile is abandoned.
  std::shared_ptr<RewriteReady> orphan;
  {
    std::lock_guard lock(mu_);
    writer_exited_ = true;
    orphan = std::move(rewrite_ready_);
    rewrite_ready_.reset();
    fd_.reset();
  }
  // ORDERING: release: pairs with wait_durable's acquire.
  halted_.store(true, std::memory_order_release);
  progress_.notify_waiters();
  if (orphan) {
    keel::Task<void> abandon =
        abandon_rewrite(absl::CancelledError("append only file closed during the rewrite"));
    co_await std::move(abandon);
  }
}

keel::Task<absl::Status> Aof::close() {
  {
    std::lock_guard lock(mu_);
    // ORDERING: release; pairs with append()'s acquire load.
    dropping_.store(true, std::memory_order_release);
    closing_ = true;
  }
  wake_writer_.notify_one();
  for (;;) {
    keel::sync::Notify::Notified n = progress_.notified();
    bool exited;
    {
      std::lock_guard lock(mu_);
      exited = writer_exited_;
    }
    if (exited) break;
    co_await n;
  }
  absl::Status s = co_await wait_rewrite();
  (void)s;  // a rewrite stopped by close() is no error of close()
  absl::Status result;
  {
    std::lock_guard lock(mu_);
    result = write_status_;
  }
  co_return result;
}

}  // namespace mini_redis
