// Child: waiting through a pidfd, killing, reaping dropped children, and the pipe ends.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/process/process.h"
#include "runtime/task/combinators.h"

namespace keel::process {
namespace {

// Reaps the child if it has exited (waitid with WNOHANG, on the pidfd when there is one).
absl::StatusOr<std::optional<ExitStatus>> reap_now(pid_t pid, int pidfd) {
  siginfo_t info{};
  int r;
  do {
    r = pidfd >= 0 ? ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG)
                   : ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return absl::ErrnoToStatus(errno, absl::StrCat("wait child ", pid));
  if (info.si_pid == 0) return std::nullopt;  // still running
  switch (info.si_code) {
    case CLD_EXITED:
      return ExitStatus::exited(info.si_status);
    case CLD_KILLED:
      return ExitStatus::signaled(info.si_status, false);
    case CLD_DUMPED:
      return ExitStatus::signaled(info.si_status, true);
    default:  // stopped or continued: WEXITED does not report these
      return std::nullopt;
  }
}

// Reaps a killed child when the background reaper is destroyed before it could (runtime
// shutdown): SIGKILL makes the blocking waitpid short.
struct ReapGuard {
  ReapGuard(pid_t p, bool k) : pid(p), killed(k) {}
  ReapGuard(const ReapGuard&) = delete;
  ReapGuard& operator=(const ReapGuard&) = delete;
  ~ReapGuard() {
    if (!done && killed) ::waitpid(pid, nullptr, 0);
  }
  pid_t pid;
  bool killed;
  bool done = false;
};

// The reaper of a dropped Child: waits on the pidfd, then reaps.
Task<void> reap_in_background(AsyncFd pidfd, pid_t pid, bool killed) {
  ReapGuard guard(pid, killed);
  for (;;) {
    absl::StatusOr<std::optional<ExitStatus>> r = reap_now(pid, pidfd.fd());
    if (!r.ok() || r->has_value()) {
      guard.done = true;
      co_return;
    }
    ReadyGuard ready = co_await pidfd.readable();
    if (ready.is_shutdown()) co_return;
    r = reap_now(pid, pidfd.fd());
    if (!r.ok() || r->has_value()) {
      guard.done = true;
      co_return;
    }
    ready.clear_ready();
  }
}

// write(2) that reports EPIPE without raising SIGPIPE: the signal is blocked in this thread
// around the write and, if the write raised it, consumed before unblocking.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = ::write(fd, data, size);
  int err = errno;
  if (r < 0 && err == EPIPE && !was_pending) {
    struct timespec zero {};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return r;
}

template <class Pipe>
Task<absl::StatusOr<std::string>> read_to_end(std::optional<Pipe> pipe) {
  std::string out;
  if (!pipe.has_value()) co_return out;
  std::string buf(64 * 1024, '\0');
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await pipe->read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return out;
    out.append(buf.data(), *n);
  }
}

}  // namespace

namespace detail {

Task<absl::StatusOr<std::size_t>> PipeEnd::read(std::span<char> buf) {
  if (!fd_.has_value())
    co_return absl::FailedPreconditionError(absl::StrCat("read ", name_, ": closed"));
  if (buf.empty()) co_return 0;
  int fd = fd_->fd();
  int err = 0;
  auto op = [fd, buf, &err] {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0) err = errno;
    return r;
  };
  Task<ssize_t> t = fd_->async_io(Interest::kReadable, op);
  ssize_t n = co_await std::move(t);
  if (n < 0)
    co_return absl::ErrnoToStatus(err != 0 ? err : ECANCELED, absl::StrCat("read ", name_));
  co_return static_cast<std::size_t>(n);
}

Task<absl::StatusOr<std::size_t>> PipeEnd::write(std::span<const char> buf) {
  if (!fd_.has_value())
    co_return absl::FailedPreconditionError(absl::StrCat("write ", name_, ": closed"));
  if (buf.empty()) co_return 0;
  int fd = fd_->fd();
  int err = 0;
  auto op = [fd, buf, &err] {
    ssize_t r = write_no_sigpipe(fd, buf.data(), buf.size());
    if (r < 0) err = errno;
    return r;
  };
  Task<ssize_t> t = fd_->async_io(Interest::kWritable, op);
  ssize_t n = co_await std::move(t);
  if (n < 0)
    co_return absl::ErrnoToStatus(err != 0 ? err : ECANCELED, absl::StrCat("write ", name_));
  co_return static_cast<std::size_t>(n);
}

}  // namespace detail

Task<absl::Status> ChildStdin::flush() { co_return absl::OkStatus(); }

Task<absl::Status> ChildStdin::shutdown() {
  pipe_.close();
  co_return absl::OkStatus();
}

Child::Child(pid_t pid, std::optional<AsyncFd> pidfd, bool kill_on_drop, Handle handle)
    : pid_(pid),
      pidfd_(std::move(pidfd)),
      kill_on_drop_(kill_on_drop),
      handle_(std::move(handle)) {}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, std::nullopt)),
      status_(other.status_),
      kill_on_drop_(other.kill_on_drop_),
      handle_(std::exchange(other.handle_, std::nullopt)),
      stdin_(std::exchange(other.stdin_, std::nullopt)),
      stdout_(std::exchange(other.stdout_, std::nullopt)),
      stderr_(std::exchange(other.stderr_, std::nullopt)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    this->~Child();
    new (this) Child(std::move(other));
  }
  return *this;
}

Child::~Child() {
  if (pid_ <= 0 || status_.has_value()) return;  // moved-from, or reaped
  stdin_.reset();
  stdout_.reset();
  stderr_.reset();
  bool killed = false;
  if (kill_on_drop_) killed = start_kill().ok();
  absl::StatusOr<std::optional<ExitStatus>> now = try_wait();
  if (!now.ok() || now->has_value()) return;
  if (pidfd_.has_value() && handle_.has_value()) {
    Task<void> reaper = reap_in_background(std::move(*pidfd_), pid_, killed);
    // Detached: it ends when the child is reaped (or the runtime shuts down).
    JoinHandle<void> detached = handle_->spawn(std::move(reaper), SpawnOptions{"child reaper"});
  } else if (killed) {
    ::waitpid(pid_, nullptr, 0);  // quick: SIGKILL was sent
  } else if (handle_.has_value()) {
    pid_t pid = pid_;
    JoinHandle<void> detached = handle_->spawn_blocking([pid] { ::waitpid(pid, nullptr, 0); });
  }
}

absl::StatusOr<std::optional<ExitStatus>> Child::try_wait() {
  if (status_.has_value()) return status_;
  absl::StatusOr<std::optional<ExitStatus>> r = reap_now(pid_, pidfd_ ? pidfd_->fd() : -1);
  if (r.ok() && r->has_value()) {
    status_ = **r;
    pidfd_.reset();  // deregisters and closes
  }
  return r;
}

Task<absl::StatusOr<ExitStatus>> Child::wait() {
  stdin_.reset();  // a child reading its stdin to the end can finish
  for (;;) {
    absl::StatusOr<std::optional<ExitStatus>> r = try_wait();
    if (!r.ok()) co_return r.status();
    if (r->has_value()) co_return **r;
    if (pidfd_.has_value()) {
      // Cancelled here, nothing was reaped: the pidfd stays readable for the next wait.
      ReadyGuard ready = co_await pidfd_->readable();
      if (ready.is_shutdown()) {
        co_return absl::CancelledError(absl::StrCat("wait child ", pid_, ": runtime shut down"));
      }
      r = try_wait();
      if (!r.ok()) co_return r.status();
      if (r->has_value()) co_return **r;
      ready.clear_ready();
    } else {
      // No pidfd (old kernel): wait on the blocking pool without reaping (WNOWAIT), so that
      // a cancelled wait leaves the child to the next one.
      pid_t pid = pid_;
      JoinHandle<int> h = spawn_blocking([pid] {
        siginfo_t info{};
        int rc;
        do {
          rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
        } while (rc != 0 && errno == EINTR);
        return rc;
      });
      absl::StatusOr<int> done = co_await h;
      if (!done.ok()) co_return done.status();
    }
  }
}

absl::Status Child::start_kill() {
  if (status_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("kill child ", pid_, ": already exited and reaped"));
  }
  int r =
      pidfd_.has_value()
          ? static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd_->fd(), SIGKILL, nullptr, 0))
          : ::kill(pid_, SIGKILL);
  if (r != 0 && errno != ESRCH) {  // ESRCH: it exited (not reaped yet): nothing to kill
    return absl::ErrnoToStatus(errno, absl::StrCat("kill child ", pid_));
  }
  return absl::OkStatus();
}

Task<absl::Status> Child::kill() {
  absl::Status s = start_kill();
  if (!s.ok() && !absl::IsFailedPrecondition(s)) co_return s;
  absl::StatusOr<ExitStatus> st = co_await wait();
  co_return st.status();
}

Task<absl::StatusOr<Output>> Child::wait_with_output() {
  stdin_.reset();
  Task<absl::StatusOr<std::string>> out = read_to_end(take_stdout());
  Task<absl::StatusOr<std::string>> err = read_to_end(take_stderr());
  auto [out_r, err_r] = co_await join(std::move(out), std::move(err));
  absl::StatusOr<ExitStatus> status = co_await wait();
  if (!status.ok()) co_return status.status();
  if (!out_r.ok()) co_return out_r.status();
  if (!err_r.ok()) co_return err_r.status();
  co_return Output{*status, std::move(*out_r), std::move(*err_r)};
}

}  // namespace keel::process
