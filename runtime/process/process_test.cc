// Tests of keel::process on every flavour: echo and cat round trips through pipes, 4 MiB
// through cat with concurrent write and read, exit codes and signals, environment and working
// directory, spawn errors naming the program, output() with a large stderr, kill, kill_on_drop
// (the child is killed and reaped), reaping of dropped children, and cancellation of a
// pending wait() (the child is still reaped later).

#include "runtime/process/process.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "runtime/io/traits.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::process {
namespace {

static_assert(io::AsyncWrite<ChildStdin>);
static_assert(io::AsyncRead<ChildStdout>);
static_assert(io::AsyncRead<ChildStderr>);

using keel::testing::eventually;

template <class R>
Task<absl::StatusOr<std::string>> read_all(R* r) {
  std::string out;
  std::string buf(16 * 1024, '\0');
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf.data(), *n);
  }
}

Task<absl::Status> write_all_and_close(ChildStdin in, std::string data) {
  std::size_t off = 0;
  while (off < data.size()) {
    absl::StatusOr<std::size_t> n =
        co_await in.write(std::span<const char>(data.data() + off, data.size() - off));
    if (!n.ok()) co_return n.status();
    off += *n;
  }
  co_return co_await in.shutdown();
}

Task<absl::StatusOr<std::string>> read_all_owned(ChildStdout out) {
  Task<absl::StatusOr<std::string>> t = read_all(&out);
  co_return co_await std::move(t);
}

Task<absl::StatusOr<ExitStatus>> wait_task(Child* c) { co_return co_await c->wait(); }
Task<int> ready_now() { co_return 1; }

// Whether `pid` is gone: killed and reaped (a zombie still answers kill(pid, 0)).
bool gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

std::string fresh_dir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/keel_proc_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  char* real = ::realpath(tmpl.c_str(), nullptr);
  std::string out(real);
  ::free(real);
  return out;
}

KEEL_TEST(Process, EchoThroughPipedStdout) {
  absl::StatusOr<Child> child =
      Command("echo").arg("hello").arg("keel").stdout(Stdio::piped()).spawn();
  KEEL_ASSERT_OK(child);
  EXPECT_GT(child->id(), 0);
  EXPECT_EQ(child->stdin(), nullptr);
  EXPECT_EQ(child->stderr(), nullptr);
  KEEL_ASSERT_TRUE(child->stdout() != nullptr);
  absl::StatusOr<std::string> out = co_await read_all(child->stdout());
  KEEL_ASSERT_OK(out);
  EXPECT_EQ(*out, "hello keel\n");
  absl::StatusOr<ExitStatus> st = co_await child->wait();
  KEEL_ASSERT_OK(st);
  EXPECT_TRUE(st->success());
  EXPECT_EQ(st->code(), 0);
  // Waiting again gives the same status.
  absl::StatusOr<ExitStatus> again = co_await child->wait();
  KEEL_ASSERT_OK(again);
  EXPECT_EQ(*again, *st);
}

KEEL_TEST(Process, CatRoundTrip) {
  absl::StatusOr<Child> child = Command("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn();
  KEEL_ASSERT_OK(child);
  ChildStdin* in = child->stdin();
  KEEL_ASSERT_TRUE(in != nullptr);
  std::string line = "ping\n";
  absl::StatusOr<std::size_t> n = co_await in->write(std::span<const char>(line));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 5u);
  KEEL_ASSERT_OK(co_await in->flush());
  // cat echoes the line before stdin is closed.
  std::string buf(16, '\0');
  std::string got;
  while (got.size() < 5) {
    absl::StatusOr<std::size_t> r = co_await child->stdout()->read(std::span<char>(buf));
    KEEL_ASSERT_OK(r);
    KEEL_ASSERT_TRUE(*r > 0);
    got.append(buf.data(), *r);
  }
  EXPECT_EQ(got, "ping\n");
  KEEL_ASSERT_OK(co_await in->shutdown());
  absl::StatusOr<std::size_t> after = co_await in->write(std::span<const char>(line));
  EXPECT_TRUE(absl::IsFailedPrecondition(after.status())) << after.status();
  absl::StatusOr<std::string> rest = co_await read_all(child->stdout());
  KEEL_ASSERT_OK(rest);
  EXPECT_EQ(*rest, "");
  absl::StatusOr<ExitStatus> st = co_await child->wait();
  KEEL_ASSERT_OK(st);
  EXPECT_TRUE(st->success());
}

KEEL_TEST(Process, FourMiBThroughCatConcurrently) {
  absl::StatusOr<Child> child = Command("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn();
  KEEL_ASSERT_OK(child);
  std::string data(4 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 31) ^ (i >> 9));
  std::optional<ChildStdin> in = child->take_stdin();
  std::optional<ChildStdout> out = child->take_stdout();
  KEEL_ASSERT_TRUE(in.has_value() && out.has_value());
  EXPECT_EQ(child->stdin(), nullptr);
  // Written and read concurrently: neither pipe's 64 KiB could hold it all.
  Task<absl::Status> writer = write_all_and_close(std::move(*in), data);
  Task<absl::StatusOr<std::string>> reader = read_all_owned(std::move(*out));
  auto [w, r] = co_await join(std::move(writer), std::move(reader));
  KEEL_ASSERT_OK(w);
  KEEL_ASSERT_OK(r);
  EXPECT_EQ(r->size(), data.size());
  EXPECT_TRUE(*r == data);
  absl::StatusOr<ExitStatus> st = co_await child->wait();
  KEEL_ASSERT_OK(st);
  EXPECT_TRUE(st->success());
}

KEEL_TEST(Process, ExitCodesAndSignals) {
  Task<absl::StatusOr<ExitStatus>> t1 = Command("sh").args({"-c", "exit 3"}).status();
  absl::StatusOr<ExitStatus> st = co_await std::move(t1);
  KEEL_ASSERT_OK(st);
  EXPECT_FALSE(st->success());
  EXPECT_EQ(st->code(), 3);
  EXPECT_EQ(st->signal(), std::nullopt);
  EXPECT_EQ(st->to_string(), "exit status: 3");
  Task<absl::StatusOr<ExitStatus>> t2 = Command("sh").args({"-c", "kill -9 $$"}).status();
  st = co_await std::move(t2);
  KEEL_ASSERT_OK(st);
  EXPECT_FALSE(st->success());
  EXPECT_EQ(st->code(), std::nullopt);
  EXPECT_EQ(st->signal(), SIGKILL);
  EXPECT_EQ(st->to_string(), "signal: 9 (SIGKILL)");
  Task<absl::StatusOr<ExitStatus>> t3 = Command("true").status();
  st = co_await std::move(t3);
  KEEL_ASSERT_OK(st);
  EXPECT_TRUE(st->success());
}

KEEL_TEST(Process, EnvAndCurrentDir) {
  std::string dir = fresh_dir();
  ::setenv("KEEL_PROCESS_TEST_PARENT", "inherited", 1);
  Command cmd("sh");
  cmd.args({"-c", "echo \"$FOO|${KEEL_PROCESS_TEST_PARENT}|${HOME-unset}|$(pwd)\""})
      .env("FOO", "bar")
      .env_remove("HOME")
      .current_dir(dir);
  Task<absl::StatusOr<Output>> t0 = cmd.output();
  absl::StatusOr<Output> out = co_await std::move(t0);
  KEEL_ASSERT_OK(out);
  EXPECT_TRUE(out->status.success()) << out->status.to_string() << " " << out->stderr;
  EXPECT_EQ(out->stdout, "bar|inherited|unset|" + dir + "\n");
  // env_clear: only what is set afterwards (PATH is gone, so give the path).
  Task<absl::StatusOr<Output>> t4 =
      Command("/usr/bin/env").env("DROPPED", "x").env_clear().env("A", "1").output();
  out = co_await std::move(t4);
  KEEL_ASSERT_OK(out);
  EXPECT_EQ(out->stdout, "A=1\n");
  // A program name without '/' is looked up in the child's PATH when it is set.
  Task<absl::StatusOr<Output>> t5 =
      Command("env").env_clear().env("PATH", "/usr/bin:/bin").output();
  out = co_await std::move(t5);
  KEEL_ASSERT_OK(out);
  EXPECT_EQ(out->stdout, "PATH=/usr/bin:/bin\n");
  absl::StatusOr<Child> c = Command("env").env_clear().spawn();
  EXPECT_TRUE(absl::IsNotFound(c.status())) << c.status();
}

KEEL_TEST(Process, SpawnErrorsNameTheProgram) {
  absl::StatusOr<Child> c = Command("/no/such").spawn();
  EXPECT_TRUE(absl::IsNotFound(c.status()));
  EXPECT_EQ(c.status().message(), "spawn /no/such: No such file or directory");
  c = Command("keel-no-such-program").arg("x").spawn();
  EXPECT_EQ(c.status().message(), "spawn keel-no-such-program: No such file or directory");
  std::string dir = fresh_dir();
  c = Command(dir).spawn();  // a directory is not executable
  EXPECT_TRUE(absl::IsPermissionDenied(c.status())) << c.status();
  EXPECT_EQ(c.status().message(), "spawn " + dir + ": Permission denied");
  c = Command("true").current_dir(dir + "/missing").spawn();
  EXPECT_EQ(c.status().message(),
            "spawn true: current_dir " + dir + "/missing: No such file or directory");
  Task<absl::StatusOr<Output>> t6 = Command("/no/such").output();
  absl::StatusOr<Output> out = co_await std::move(t6);
  EXPECT_TRUE(absl::IsNotFound(out.status()));
}

KEEL_TEST(Process, OutputReadsBothPipesConcurrently) {
  // 1 MB to stderr first: reading stdout alone until EOF would deadlock.
  Task<absl::StatusOr<Output>> t0 =
      Command("sh").args({"-c", "head -c 1000000 /dev/zero >&2; echo out"}).output();
  absl::StatusOr<Output> out = co_await std::move(t0);
  KEEL_ASSERT_OK(out);
  EXPECT_TRUE(out->status.success());
  EXPECT_EQ(out->stdout, "out\n");
  EXPECT_EQ(out->stderr.size(), 1000000u);
  // stdin is /dev/null for output(): cat ends at once.
  Task<absl::StatusOr<Output>> t7 = Command("cat").output();
  out = co_await std::move(t7);
  KEEL_ASSERT_OK(out);
  EXPECT_TRUE(out->status.success());
  EXPECT_EQ(out->stdout, "");
  // Stdio::null() for a stream output() would pipe.
  Task<absl::StatusOr<Output>> t8 =
      Command("sh").args({"-c", "echo gone; echo err >&2"}).stdout(Stdio::null()).output();
  out = co_await std::move(t8);
  KEEL_ASSERT_OK(out);
  EXPECT_EQ(out->stdout, "");
  EXPECT_EQ(out->stderr, "err\n");
}

KEEL_TEST(Process, ChildStartsWithAnEmptySignalMask) {
  // Block a signal in this thread, as keel::signal does; the child must not inherit it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  absl::StatusOr<Child> c =
      Command("grep").args({"^SigBlk", "/proc/self/status"}).stdout(Stdio::piped()).spawn();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::string> out = co_await read_all(c->stdout());
  KEEL_ASSERT_OK(out);
  EXPECT_EQ(*out, "SigBlk:\t0000000000000000\n");
  KEEL_ASSERT_OK(co_await c->wait());
}

KEEL_TEST(Process, WritingToAClosedStdinIsAnError) {
  absl::StatusOr<Child> c = Command("true").stdin(Stdio::piped()).spawn();
  KEEL_ASSERT_OK(c);
  std::optional<ChildStdin> in = c->take_stdin();
  absl::StatusOr<ExitStatus> st = co_await c->wait();  // the child has exited: no reader left
  KEEL_ASSERT_OK(st);
  std::string data(1000, 'x');
  absl::StatusOr<std::size_t> n = co_await in->write(std::span<const char>(data));
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(n.status().message(),
            "write stdin of child " + std::to_string(c->id()) + ": Broken pipe");
}

KEEL_TEST(Process, KillAndTryWait) {
  absl::StatusOr<Child> c = Command("sleep").arg("1000").spawn();
  KEEL_ASSERT_OK(c);
  absl::StatusOr<std::optional<ExitStatus>> now = c->try_wait();
  KEEL_ASSERT_OK(now);
  EXPECT_FALSE(now->has_value());
  KEEL_ASSERT_OK(co_await c->kill());
  now = c->try_wait();
  KEEL_ASSERT_OK(now);
  KEEL_ASSERT_TRUE(now->has_value());
  EXPECT_EQ((*now)->signal(), SIGKILL);
  EXPECT_TRUE(gone(c->id()));
  EXPECT_TRUE(absl::IsFailedPrecondition(c->start_kill()));
  KEEL_ASSERT_OK(co_await c->kill());  // already exited: fine
}

KEEL_TEST(Process, KillOnDropKillsAndReaps) {
  pid_t pid;
  {
    absl::StatusOr<Child> c = Command("sleep").arg("1000").kill_on_drop(true).spawn();
    KEEL_ASSERT_OK(c);
    pid = c->id();
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  // Killed, then reaped (in the background or at once): no zombie is left.
  EXPECT_TRUE(co_await eventually([pid] { return gone(pid); }));
}

KEEL_TEST(Process, DroppedChildIsReapedWhenItExits) {
  pid_t pid;
  {
    absl::StatusOr<Child> c = Command("sleep").arg("1000").spawn();  // no kill_on_drop
    KEEL_ASSERT_OK(c);
    pid = c->id();
  }
  co_await keel::testing::settle(20);
  EXPECT_EQ(::kill(pid, 0), 0);  // still running: not killed
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(co_await eventually([pid] { return gone(pid); }));  // reaped by the reaper
}

KEEL_TEST(Process, CancelledWaitLeavesTheChildToTheNextWait) {
  absl::StatusOr<Child> c = Command("sleep").arg("1000").spawn();
  KEEL_ASSERT_OK(c);
  auto waiting = wait_task(&*c);
  auto r = co_await select(std::move(waiting), ready_now());
  EXPECT_EQ(r.index(), 1u);
  absl::StatusOr<std::optional<ExitStatus>> now = c->try_wait();
  KEEL_ASSERT_OK(now);
  EXPECT_FALSE(now->has_value());
  // A wait cancelled after the child exited (its pidfd readable) reaps nothing either.
  KEEL_ASSERT_OK(c->start_kill());
  auto waiting2 = wait_task(&*c);
  auto r2 = co_await select(ready_now(), std::move(waiting2));
  EXPECT_EQ(r2.index(), 0u);
  absl::StatusOr<ExitStatus> st = co_await c->wait();
  KEEL_ASSERT_OK(st);
  EXPECT_EQ(st->signal(), SIGKILL);
  EXPECT_TRUE(gone(c->id()));

  // A wait in a task aborted mid-wait; the dropped Child is then reaped in the background.
  pid_t pid;
  {
    absl::StatusOr<Child> d = Command("sleep").arg("1000").kill_on_drop(true).spawn();
    KEEL_ASSERT_OK(d);
    pid = d->id();
    auto h = spawn(wait_task(&*d));
    co_await keel::testing::settle(10);
    h.abort();
    absl::StatusOr<absl::StatusOr<ExitStatus>> aborted = co_await h;
    EXPECT_TRUE(absl::IsCancelled(aborted.status()));
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_TRUE(co_await eventually([pid] { return gone(pid); }));
}

}  // namespace
}  // namespace keel::process
