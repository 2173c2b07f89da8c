// Aof's background rewrite (BGREWRITEAOF): the rewrite task dumps every shard into
// `<filename>.rewrite` while clients keep writing (records after a shard's cut go to its
// tail), drains the tail, and hands the file to the writer task, which switches to it
// (finish_rewrite). How the cut stays exact is in aof.h.
#include "apps/mini-redis/persistence/aof.h"

#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/persistence/file_io.h"
#include "apps/mini-redis/protocol/reply.h"
#include "runtime/blocking/run_blocking.h"
#include "runtime/fs/fs.h"

namespace mini_redis {

struct Aof::RewriteReady {
  std::shared_ptr<Fd> fd;     // the new file: dump + drained tail, written and fsynced
  std::uint64_t written = 0;  // its size so far
};

namespace {

// finish_rewrite's switch, run on the blocking pool: an OK result means the new file was
// renamed over the live one; `dir_synced` is the directory fsync's status after it.
struct Renamed {
  absl::Status dir_synced;
};

}  // namespace

absl::Status Aof::start_rewrite() {
  {
    std::lock_guard lock(mu_);
    if (rewrite_running_) {
      return absl::FailedPreconditionError(
          "ERR Background append only file rewriting already in progress");
    }
    if (closing_ || stopped_) {
      return absl::FailedPreconditionError(
          "ERR Background append only file rewriting is not possible: the append only file "
          "is closed or failed");
    }
    rewrite_running_ = true;
  }
  keel::JoinHandle<void> h = handle_.spawn(rewrite_main(shared_from_this()));  // detached
  return absl::OkStatus();
}

keel::Task<absl::Status> Aof::wait_rewrite() {
  for (;;) {
    keel::sync::Notify::Notified n = rewrite_done_.notified();
    bool running;
    absl::Status last;
    {
      std::lock_guard lock(mu_);
      running = rewrite_running_;
      last = last_rewrite_status_;
    }
    if (!running) co_return last;
    co_await n;
  }
}

keel::Task<void> Aof::rewrite_main(std::shared_ptr<Aof> self) {
  absl::Status s = co_await self->run_rewrite();
  if (!s.ok()) co_await self->abandon_rewrite(std::move(s));
}

keel::Task<void> Aof::abandon_rewrite(absl::Status why) {
  if (!absl::IsCancelled(why)) {
    std::fprintf(stderr, "mini-redis: background append only file rewrite failed: %s\n",
                 std::string(why.message()).c_str());
  }
  absl::Status removed = co_await keel::fs::remove_file(rewrite_path_);
  (void)removed;  // best effort: open() removes a leftover too
  {
    Db::AllShardsLock shards(db_);
    std::lock_guard lock(mu_);
    reset_rewrite_cut();
    tail_.shrink_to_fit();
    // ORDERING: relaxed; only the rewrite task reads it, and no rewrite runs now.
    rewrite_restart_.store(false, std::memory_order_relaxed);
    last_rewrite_status_ = std::move(why);
    rewrite_running_ = false;
  }
  rewrite_done_.notify_waiters();
}

keel::Task<absl::Status> Aof::run_rewrite() {
  std::shared_ptr<Aof> self = shared_from_this();
  std::string tmp = rewrite_path_;
  auto open_fn = [tmp]() -> absl::StatusOr<std::shared_ptr<Fd>> {
    absl::StatusOr<int> f = file_io::open_append(tmp, true);
    if (!f.ok()) return f.status();
    return std::make_shared<Fd>(*f, tmp);
  };
  keel::Task<absl::StatusOr<std::shared_ptr<Fd>>> open_task =
      keel::run_blocking(std::move(open_fn));
  absl::StatusOr<std::shared_ptr<Fd>> opened = co_await std::move(open_task);
  if (!opened.ok()) co_return opened.status();
  std::shared_ptr<Fd> fd = std::move(*opened);
  absl::Status s;

  std::uint64_t written = 0;
  for (bool first_pass = true;; first_pass = false) {
    // A pass: dump every shard in turn. Reset under every shard lock, so a record either
    // precedes its shard's cut (and is in the dump) or follows it (and is in the tail), never
    // both.
    {
      Db::AllShardsLock shards(db_);
      reset_rewrite_cut();
      rewrite_active_ = true;
      // ORDERING: relaxed; kAllShards appends store it with every shard lock held, as here.
      rewrite_restart_.store(false, std::memory_order_relaxed);
    }
    if (!first_pass) {
      auto truncate_fn = [fd]() -> absl::Status {
        if (::ftruncate(fd->fd, 0) != 0) return file_io::errno_status(errno, "ftruncate", fd->path);
        return absl::OkStatus();
      };
      keel::Task<absl::Status> truncate_task = keel::run_blocking(std::move(truncate_fn));
      s = co_await std::move(truncate_task);
      if (!s.ok()) co_return s;
      written = 0;
    }
    bool restart = false;
    for (std::size_t i = 0; i < shards_ && !restart; ++i) {
      auto dump_fn = [self, fd, i]() -> absl::StatusOr<std::uint64_t> {
        std::string chunk;
        auto emit = [&chunk](std::span<const std::string_view> args) {
          resp::Reply(chunk).command(args);
        };
        Aof* aof = self.get();
        // With shard i's lock held: its later records also go to its tail.
        auto under_lock = [aof, i]() { aof->shard_logs_[i].snapshotted = true; };
        self->db_.dump_shard(i, emit, under_lock);
        if (self->options_.rewrite_hook) self->options_.rewrite_hook(i);
        absl::Status w = file_io::write_all(fd->fd, chunk, fd->path);
        if (!w.ok()) return w;
        return static_cast<std::uint64_t>(chunk.size());
      };
      keel::Task<absl::StatusOr<std::uint64_t>> dump_task = keel::run_blocking(std::move(dump_fn));
      absl::StatusOr<std::uint64_t> r = co_await std::move(dump_task);
      if (!r.ok()) co_return r.status();
      written += *r;
      bool stop;
      {
        std::lock_guard lock(mu_);
        stop = closing_ || stopped_;
      }
      // ORDERING: acquire; pairs with a kAllShards append's release store.
      restart = rewrite_restart_.load(std::memory_order_acquire);
      if (stop) co_return absl::CancelledError("append only file closed during the rewrite");
    }
    if (!restart) break;
  }

  // Every shard is cut: drain the tail while the writer keeps appending, then hand over.
  for (;;) {
    std::string piece;
    {
      Db::AllShardsLock shards(db_);
      piece.swap(tail_);
      gather_tail(piece);
    }
    std::size_t size = piece.size();
    if (size > 0) {
      auto tail_fn = [fd, p = std::move(piece)]() {
        return file_io::write_all(fd->fd, p, fd->path);
      };
      keel::Task<absl::Status> tail_task = keel::run_blocking(std::move(tail_fn));
      s = co_await std::move(tail_task);
      if (!s.ok()) co_return s;
      written += size;
    }
    if (size < kRewriteHandoffBytes) break;
  }
  auto sync_fn = [fd]() { return file_io::sync_fd(fd->fd, fd->path); };
  keel::Task<absl::Status> sync_task = keel::run_blocking(std::move(sync_fn));
  s = co_await std::move(sync_task);
  if (!s.ok()) co_return s;
  bool handed = false;
  {
    std::lock_guard lock(mu_);
    if (!closing_ && !stopped_ && !writer_exited_) {
      auto ready = std::make_shared<RewriteReady>();
      ready->fd = std::move(fd);
      ready->written = written;
      rewrite_ready_ = std::move(ready);
      handed = true;
    }
  }
  if (!handed) co_return absl::CancelledError("append only file closed during the rewrite");
  wake_writer_.notify_one();
  co_return absl::OkStatus();
}

keel::Task<absl::Status> Aof::finish_rewrite(std::shared_ptr<RewriteReady> ready) {
  // The switch point: from here on records go only to pending_ (for the new file). Every
  // record in the old pending buffer is already in the new file (a dump or the tail).
  std::string old_pending;
  std::string tail;
  std::uint64_t switch_seq;
  {
    Db::AllShardsLock shards(db_);
    old_pending.swap(pending_);
    gather_pending(old_pending);
    tail.swap(tail_);
    gather_tail(tail);
    // ORDERING: relaxed; as in the writer's cut.
    switch_seq = seq_.load(std::memory_order_relaxed);
    reset_rewrite_cut();
  }
  std::shared_ptr<Fd> nfd = ready->fd;
  std::uint64_t size = ready->written + tail.size();
  std::string live = path_, tmp = rewrite_path_;
  std::string dir = options_.dir.empty() ? std::string(".") : options_.dir;
  auto job = [nfd, t = std::move(tail), live, tmp, dir]() -> absl::StatusOr<Renamed> {
    absl::Status s = file_io::write_all(nfd->fd, t, nfd->path);
    if (s.ok()) s = file_io::sync_fd(nfd->fd, nfd->path);
    if (!s.ok()) return s;
    if (::rename(tmp.c_str(), live.c_str()) != 0) {
      return file_io::errno_status(errno, "rename", absl::StrCat(tmp, " -> ", live));
    }
    return Renamed{file_io::sync_dir(dir)};
  };
  keel::Task<absl::StatusOr<Renamed>> switch_task = keel::run_blocking(std::move(job));
  absl::StatusOr<Renamed> renamed = co_await std::move(switch_task);
  if (!renamed.ok()) {
    absl::Status s = renamed.status();
    // The old file stays live: put its pending records back in front of the newer ones (the
    // ordered buffer goes first in a cut, then the shards').
    {
      Db::AllShardsLock shards(db_);
      requeue_in_front(std::move(old_pending));
    }
    keel::Task<void> abandon = abandon_rewrite(std::move(s));
    co_await std::move(abandon);
    co_return absl::OkStatus();
  }
  {
    Db::AllShardsLock shards(db_);
    std::lock_guard lock(mu_);
    fd_ = std::move(nfd);
    base_size_ = size;
    last_rewrite_status_ = absl::OkStatus();
    ++rewrites_;
    rewrite_running_ = false;
    tail_.shrink_to_fit();
  }
  // ORDERING: relaxed: statistics.
  current_size_.store(size, std::memory_order_relaxed);
  unsynced_ = false;
  rewrite_done_.notify_waiters();
  if (!renamed->dir_synced.ok()) {
    // The rename may not survive a crash: nothing more may be acknowledged.
    co_return renamed->dir_synced;
  }
  // Everything up to switch_seq is in the new file, fsynced. ORDERING: release pairs with
  // wait_durable's acquire; only the writer stores these.
  if (written_seq_.load(std::memory_order_relaxed) < switch_seq) {
    written_seq_.store(switch_seq, std::memory_order_release);
  }
  if (durable_seq_.load(std::memory_order_relaxed) < switch_seq) {
    durable_seq_.store(switch_seq, std::memory_order_release);
  }
  progress_.notify_waiters();
  // The new file holds every record a failed batch had (in a shard's dump or the tail),
  // written and fsynced: the disk takes writes again.
  if (retrying_) end_write_retry();
  co_return absl::OkStatus();
}

}  // namespace mini_redis
