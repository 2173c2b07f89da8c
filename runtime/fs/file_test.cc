// Tests of keel::fs::File on every flavour, each in a fresh temporary directory: write then
// read back (several MiB, past the 2 MiB chunk), OpenOptions (append, create_new, truncate,
// validation), seek then read, set_len, metadata and sync, errors naming the path, a failed
// background write reported by flush(), and cancellation of pending reads and writes (made
// certain to be pending by using a FIFO, whose reads block until the test writes).

#include "runtime/fs/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "runtime/fs/fs_test_util.h"
#include "runtime/io/traits.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::fs {
namespace {

static_assert(io::AsyncRead<File>);
static_assert(io::AsyncWrite<File>);

using testing::fresh_dir;
using testing::get;
using testing::put;

Task<absl::Status> write_all(File* f, std::string data) {
  std::size_t off = 0;
  while (off < data.size()) {
    absl::StatusOr<std::size_t> n =
        co_await f->write(std::span<const char>(data.data() + off, data.size() - off));
    if (!n.ok()) co_return n.status();
    off += *n;
  }
  co_return co_await f->flush();
}

Task<absl::StatusOr<std::string>> read_all(File* f, std::size_t chunk = 64 * 1024) {
  std::string out;
  std::string buf(chunk, '\0');
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await f->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf.data(), *n);
  }
}

Task<absl::StatusOr<std::size_t>> read_into(File* f, std::string* buf) {
  co_return co_await f->read(std::span<char>(*buf));
}
Task<absl::StatusOr<std::size_t>> write_str(File* f, std::string data) {
  co_return co_await f->write(std::span<const char>(data));
}
Task<int> ready_now() { co_return 1; }

KEEL_TEST(File, WriteThenReadBack) {
  std::string dir = fresh_dir();
  std::string p = dir + "/data";
  std::string data(5 * 1024 * 1024 + 3, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  {
    absl::StatusOr<File> f = co_await File::create(p);
    KEEL_ASSERT_OK(f);
    EXPECT_EQ(f->path(), p);
    KEEL_ASSERT_OK(co_await write_all(&*f, data));
    KEEL_ASSERT_OK(co_await f->sync_all());
    KEEL_ASSERT_OK(co_await f->sync_data());
    absl::StatusOr<Metadata> md = co_await f->metadata();
    KEEL_ASSERT_OK(md);
    EXPECT_EQ(md->len(), data.size());
  }
  EXPECT_TRUE(get(p) == data);
  absl::StatusOr<File> r = co_await File::open(p);
  KEEL_ASSERT_OK(r);
  absl::StatusOr<std::string> back = co_await read_all(&*r, 3 * 1024 * 1024);
  KEEL_ASSERT_OK(back);
  EXPECT_TRUE(*back == data);
  // At end of file, reads keep giving 0.
  std::string buf(10, '\0');
  absl::StatusOr<std::size_t> n = co_await r->read(std::span<char>(buf));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
}

KEEL_TEST(File, OpenErrorsNameThePath) {
  std::string dir = fresh_dir();
  std::string missing = dir + "/missing";
  absl::StatusOr<File> f = co_await File::open(missing);
  EXPECT_TRUE(absl::IsNotFound(f.status()));
  EXPECT_EQ(f.status().message(), "open " + missing + ": No such file or directory");
  put(dir + "/exists", "x");
  f = co_await OpenOptions().write(true).create_new(true).open(dir + "/exists");
  EXPECT_TRUE(absl::IsAlreadyExists(f.status()));
  EXPECT_EQ(f.status().message(), "open " + dir + "/exists: File exists");
  f = co_await OpenOptions().open(dir + "/exists");
  EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
  f = co_await OpenOptions().read(true).truncate(true).open(dir + "/exists");
  EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
  f = co_await OpenOptions().read(true).create(true).open(dir + "/exists");
  EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
  // Reading a directory fails at the read, naming it.
  f = co_await File::open(dir);
  KEEL_ASSERT_OK(f);
  std::string buf(16, '\0');
  absl::StatusOr<std::size_t> n = co_await f->read(std::span<char>(buf));
  EXPECT_EQ(n.status().message(), "read " + dir + ": Is a directory");
}

KEEL_TEST(File, AppendTruncateAndCreateNew) {
  std::string dir = fresh_dir();
  std::string p = dir + "/log";
  {
    absl::StatusOr<File> f = co_await OpenOptions().write(true).create_new(true).mode(0600).open(p);
    KEEL_ASSERT_OK(f);
    KEEL_ASSERT_OK(co_await write_all(&*f, "first\n"));
    absl::StatusOr<Metadata> md = co_await f->metadata();
    KEEL_ASSERT_OK(md);
    EXPECT_EQ(md->permissions(), 0600u);
  }
  {
    absl::StatusOr<File> f = co_await OpenOptions().append(true).open(p);
    KEEL_ASSERT_OK(f);
    // Even after seeking to the start, appends go to the end.
    absl::StatusOr<std::uint64_t> at = co_await f->seek(SeekFrom::start(0));
    KEEL_ASSERT_OK(at);
    KEEL_ASSERT_OK(co_await write_all(&*f, "second\n"));
  }
  EXPECT_EQ(get(p), "first\nsecond\n");
  {
    absl::StatusOr<File> f = co_await OpenOptions().write(true).truncate(true).open(p);
    KEEL_ASSERT_OK(f);
    KEEL_ASSERT_OK(co_await write_all(&*f, "new"));
  }
  EXPECT_EQ(get(p), "new");
}

KEEL_TEST(File, SeekThenRead) {
  std::string dir = fresh_dir();
  std::string p = dir + "/digits";
  put(p, "0123456789");
  absl::StatusOr<File> f = co_await File::open(p);
  KEEL_ASSERT_OK(f);
  absl::StatusOr<std::uint64_t> at = co_await f->seek(SeekFrom::start(5));
  KEEL_ASSERT_OK(at);
  EXPECT_EQ(*at, 5u);
  std::string buf(3, '\0');
  absl::StatusOr<std::size_t> n = co_await f->read(std::span<char>(buf));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(buf.substr(0, *n), "567");
  at = co_await f->seek(SeekFrom::current(-2));
  KEEL_ASSERT_OK(at);
  EXPECT_EQ(*at, 6u);
  at = co_await f->seek(SeekFrom::end(-3));
  KEEL_ASSERT_OK(at);
  EXPECT_EQ(*at, 7u);
  absl::StatusOr<std::string> rest = co_await read_all(&*f);
  KEEL_ASSERT_OK(rest);
  EXPECT_EQ(*rest, "789");
  at = co_await f->seek(SeekFrom::current(-100));
  EXPECT_TRUE(absl::IsInvalidArgument(at.status())) << at.status();
  EXPECT_EQ(at.status().message(), "seek " + p + ": Invalid argument");
}

KEEL_TEST(File, ReadAfterWriteAndSetLen) {
  std::string dir = fresh_dir();
  std::string p = dir + "/rw";
  absl::StatusOr<File> f = co_await OpenOptions().read(true).write(true).create(true).open(p);
  KEEL_ASSERT_OK(f);
  absl::StatusOr<std::size_t> w = co_await write_str(&*f, "abcdef");
  KEEL_ASSERT_OK(w);
  EXPECT_EQ(*w, 6u);
  // The read waits for the write: at the end of the file now.
  std::string buf(8, '\0');
  absl::StatusOr<std::size_t> n = co_await f->read(std::span<char>(buf));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 0u);
  KEEL_ASSERT_OK(co_await f->seek(SeekFrom::start(0)));
  n = co_await f->read(std::span<char>(buf.data(), 2));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(buf.substr(0, *n), "ab");
  // set_len shrinks (the offset stays at 2) and then grows with zeros.
  KEEL_ASSERT_OK(co_await f->set_len(4));
  absl::StatusOr<Metadata> md = co_await f->metadata();
  KEEL_ASSERT_OK(md);
  EXPECT_EQ(md->len(), 4u);
  absl::StatusOr<std::string> rest = co_await read_all(&*f);
  KEEL_ASSERT_OK(rest);
  EXPECT_EQ(*rest, "cd");
  KEEL_ASSERT_OK(co_await f->set_len(6));
  EXPECT_EQ(get(p), std::string("abcd\0\0", 6));
  // A write after a read lands at the logical offset.
  KEEL_ASSERT_OK(co_await f->seek(SeekFrom::start(1)));
  n = co_await f->read(std::span<char>(buf.data(), 1));
  KEEL_ASSERT_OK(n);
  KEEL_ASSERT_OK(co_await write_all(&*f, "XY"));
  EXPECT_EQ(get(p), std::string("abXY\0\0", 6));
}

KEEL_TEST(File, FailedBackgroundWriteIsReportedByFlush) {
  std::string dir = fresh_dir();
  std::string p = dir + "/ro";
  put(p, "x");
  absl::StatusOr<File> f = co_await File::open(p);  // read-only
  KEEL_ASSERT_OK(f);
  absl::StatusOr<std::size_t> w = co_await write_str(&*f, "abc");
  KEEL_ASSERT_OK(w);  // accepted: the write runs in the background
  absl::Status s = co_await f->flush();
  EXPECT_EQ(s.message(), "write " + p + ": Bad file descriptor");
  // Reported once; the File stays usable.
  KEEL_ASSERT_OK(co_await f->flush());
  absl::StatusOr<std::string> all = co_await read_all(&*f);
  KEEL_ASSERT_OK(all);
  EXPECT_EQ(*all, "x");
  // The error also surfaces through the next operation other than flush.
  w = co_await write_str(&*f, "abc");
  KEEL_ASSERT_OK(w);
  absl::StatusOr<std::uint64_t> at = co_await f->seek(SeekFrom::start(0));
  EXPECT_EQ(at.status().message(), "write " + p + ": Bad file descriptor");
}

// A FIFO opened read-write by the File (open does not block) and a non-blocking peer end.
struct Fifo {
  std::string path;
  int peer_write = -1;
  int peer_read = -1;
  ~Fifo() {
    if (peer_write >= 0) ::close(peer_write);
    if (peer_read >= 0) ::close(peer_read);
  }
};

KEEL_TEST(File, CancelledReadKeepsItsData) {
  std::string dir = fresh_dir();
  Fifo fifo{dir + "/fifo"};
  KEEL_ASSERT_TRUE(::mkfifo(fifo.path.c_str(), 0600) == 0);
  absl::StatusOr<File> f = co_await OpenOptions().read(true).write(true).open(fifo.path);
  KEEL_ASSERT_OK(f);
  fifo.peer_write = ::open(fifo.path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  KEEL_ASSERT_TRUE(fifo.peer_write >= 0);

  // The FIFO is empty: the read blocks on the pool, and loses the select.
  std::string big(100, '\0');
  auto pending = read_into(&*f, &big);
  auto r = co_await select(std::move(pending), ready_now());
  EXPECT_EQ(r.index(), 1u);
  // Cancelled again, while waiting for the same blocking read. (Not with a timeout on the
  // paused clock: it does not auto-advance while a blocking task is in flight.)
  auto again = read_into(&*f, &big);
  auto r2 = co_await select(std::move(again), keel::testing::settle(20));
  EXPECT_EQ(r2.index(), 1u);

  // The blocking read completes in the background; its bytes come back, in order, through
  // smaller reads.
  KEEL_ASSERT_TRUE(::write(fifo.peer_write, "hello world", 11) == 11);
  std::string got;
  std::string small(4, '\0');
  while (got.size() < 11) {
    absl::StatusOr<std::size_t> n = co_await f->read(std::span<char>(small));
    KEEL_ASSERT_OK(n);
    KEEL_ASSERT_TRUE(*n > 0);
    got.append(small.data(), *n);
  }
  EXPECT_EQ(got, "hello world");
}

KEEL_TEST(File, CancelledWriteAcceptsNothing) {
  std::string dir = fresh_dir();
  Fifo fifo{dir + "/fifo"};
  KEEL_ASSERT_TRUE(::mkfifo(fifo.path.c_str(), 0600) == 0);
  absl::StatusOr<File> f = co_await OpenOptions().read(true).write(true).open(fifo.path);
  KEEL_ASSERT_OK(f);
  fifo.peer_read = ::open(fifo.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  KEEL_ASSERT_TRUE(fifo.peer_read >= 0);

  // 1 MiB cannot fit in the pipe: the background write blocks until the peer drains it.
  const std::size_t kBig = 1024 * 1024;
  absl::StatusOr<std::size_t> w = co_await write_str(&*f, std::string(kBig, 'a'));
  KEEL_ASSERT_OK(w);
  EXPECT_EQ(*w, kBig);
  // The next write waits for that one, and is cancelled while waiting: it accepts nothing.
  auto second = write_str(&*f, "SHOULD NOT APPEAR");
  auto r = co_await select(std::move(second), ready_now());
  EXPECT_EQ(r.index(), 1u);
  // Drain the pipe until the first write is done, then flush.
  std::size_t drained = 0;
  std::string buf(65536, '\0');
  bool ok = co_await keel::testing::eventually([&] {
    ssize_t n = ::read(fifo.peer_read, buf.data(), buf.size());
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[static_cast<std::size_t>(i)] != 'a') return true;  // wrong byte: stop
      }
      drained += static_cast<std::size_t>(n);
    }
    return drained >= kBig;
  });
  KEEL_ASSERT_TRUE(ok);
  EXPECT_EQ(drained, kBig);
  KEEL_ASSERT_OK(co_await f->flush());
  // Nothing else was written.
  EXPECT_EQ(::read(fifo.peer_read, buf.data(), buf.size()), -1);
  // The File still works.
  KEEL_ASSERT_OK(co_await write_all(&*f, "next"));
  ssize_t n = ::read(fifo.peer_read, buf.data(), buf.size());
  KEEL_ASSERT_TRUE(n == 4);
  EXPECT_EQ(buf.substr(0, 4), "next");
}

KEEL_TEST(File, DroppedWithAWriteInFlightStillWrites) {
  std::string dir = fresh_dir();
  std::string p = dir + "/bg";
  {
    absl::StatusOr<File> f = co_await File::create(p);
    KEEL_ASSERT_OK(f);
    absl::StatusOr<std::size_t> w = co_await write_str(&*f, "background");
    KEEL_ASSERT_OK(w);
  }  // dropped without flush: the write completes, then the fd closes
  bool done = co_await keel::testing::eventually([&] { return get(p) == "background"; });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace keel::fs
