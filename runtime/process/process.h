// keel::process: starting programs and talking to them asynchronously (Tokio's
// tokio::process).
//
//   // Run to completion, capturing stdout and stderr:
//   absl::StatusOr<keel::process::Output> out =
//       co_await keel::process::Command("git").args({"rev-parse", "HEAD"}).output();
//   if (out.ok() && out->status.success()) use(out->stdout);
//
//   // Stream through a child:
//   absl::StatusOr<keel::process::Child> child = keel::process::Command("sort")
//       .stdin(keel::process::Stdio::piped())
//       .stdout(keel::process::Stdio::piped())
//       .kill_on_drop(true)
//       .spawn();                                  // "spawn sort: No such file or directory"
//   std::optional<keel::process::ChildStdin> in = child->take_stdin();
//   co_await in->write(std::span<const char>(text));   // AsyncWrite (loop or use write_all)
//   co_await in->shutdown();                        // the child reads end of file
//   ... co_await child->stdout()->read(buf) ...      // AsyncRead
//   absl::StatusOr<keel::process::ExitStatus> st = co_await child->wait();
//
// What it offers:
//   - Command: a builder (program, arguments, environment, working directory, the three
//     standard streams, kill_on_drop); spawn() starts the child, output() runs it to the end
//     capturing stdout and stderr (read concurrently, so a child filling one pipe cannot
//     deadlock), status() runs it to the end with inherited streams.
//   - Child: the running process. Piped streams are non-blocking pipes on the I/O driver:
//     ChildStdin is an AsyncWrite, ChildStdout and ChildStderr are AsyncReads, borrowed with
//     stdin()/stdout()/stderr() or taken out with take_stdin() etc. wait() completes when the
//     child exits, through a pidfd registered with the driver (no SIGCHLD handler, no thread
//     per child); try_wait() asks without waiting; kill() sends SIGKILL and waits.
//
// Spawning: posix_spawn (glibc's vfork-like clone, which reports exec failures), so a missing
// or non-executable program is an error from spawn() naming it ("spawn /no/such: No such file
// or directory"), never a child that exits with 127. A program without '/' is looked up in
// PATH: the child's PATH when the Command sets or clears the environment, the parent's
// otherwise. The child starts with an empty signal mask and SIGPIPE at its default action,
// whatever the parent blocks or ignores (keel::signal blocks the signals it listens to).
// Every fd Keel opens is close-on-exec, so children inherit only their three streams.
//
// Reaping: a child is reaped (its exit status collected, so no zombie is left) by wait(),
// try_wait() or kill(). Dropping a Child that was not reaped hands it to a background task on
// the runtime that spawned it, which reaps it when it exits; with kill_on_drop(true) it is
// killed (SIGKILL) first. A child that outlives its runtime is reaped at the runtime's
// shutdown if it was killed, and otherwise left to the parent process' exit.
//
// State: a Child is running until it is reaped; reaping happens exactly once (waitid on the
// pidfd, which cannot name a recycled pid), stores the ExitStatus in the Child and closes the
// pidfd. After that, wait()/try_wait() give the stored status and start_kill() refuses (the
// pid may belong to another process by then).
//
// Writing to a child that has closed its stdin fails with "write stdin of child <pid>:
// Broken pipe"; the SIGPIPE is swallowed (blocked around the write and consumed), not
// delivered to the process.
//
// Cancellation: wait() is cancellation-safe: destroyed mid-wait, it has reaped nothing; the
// child is still there for the next wait(), try_wait(), kill() or the drop. Reads and writes
// on the pipes follow io/traits.h: a cancelled one transferred nothing.
//
// Thread-safety: a Command is a plain value. A Child is used by one task at a time; its
// taken-out pipes are independent objects (one reader per ChildStdout, one writer per
// ChildStdin). spawn() must run inside a runtime with I/O enabled; the Child and its pipes
// belong to that runtime and must be dropped before it (or on it).
#ifndef KEEL_RUNTIME_PROCESS_PROCESS_H_
#define KEEL_RUNTIME_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/io/async_fd.h"
#include "runtime/runtime.h"
#include "runtime/task/task.h"

namespace keel::process {

// What to connect a standard stream of the child to.
class Stdio {
 public:
  enum class Kind { kInherit, kPiped, kNull };
  // A new pipe; the parent's end is in the Child (stdin()/stdout()/stderr()).
  static Stdio piped() { return Stdio(Kind::kPiped); }
  // The parent's own stream (the default of spawn() and status()).
  static Stdio inherit() { return Stdio(Kind::kInherit); }
  // /dev/null.
  static Stdio null() { return Stdio(Kind::kNull); }
  Kind kind() const { return kind_; }

 private:
  explicit Stdio(Kind kind) : kind_(kind) {}
  Kind kind_;
};

// How a child ended.
class ExitStatus {
 public:
  static ExitStatus exited(int code) { return ExitStatus(code, 0, false); }
  static ExitStatus signaled(int signo, bool core_dumped) {
    return ExitStatus(0, signo, core_dumped);
  }

  // Exited with code 0.
  bool success() const { return signal_ == 0 && code_ == 0; }
  // The exit code; nullopt when a signal ended the child.
  std::optional<int> code() const {
    return signal_ == 0 ? std::optional<int>(code_) : std::nullopt;
  }
  // The signal that ended the child; nullopt when it exited.
  std::optional<int> signal() const {
    return signal_ != 0 ? std::optional<int>(signal_) : std::nullopt;
  }
  bool core_dumped() const { return core_dumped_; }
  // "exit status: 3", "signal: 9 (SIGKILL)".
  std::string to_string() const;

  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;

 private:
  ExitStatus(int code, int signo, bool core) : code_(code), signal_(signo), core_dumped_(core) {}
  int code_;
  int signal_;
  bool core_dumped_;
};

// What output() gives.
struct Output {
  ExitStatus status;
  std::string stdout;  // NOLINT: named as in Rust/Tokio
  std::string stderr;  // NOLINT
};

namespace detail {
// The parent's end of one pipe: a non-blocking fd on the driver, and its name for errors
// ("stdout of child 1234").
class PipeEnd {
 public:
  PipeEnd(AsyncFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf);
  Task<absl::StatusOr<std::size_t>> write(std::span<const char> buf);
  void close() { fd_.reset(); }
  bool is_open() const { return fd_.has_value(); }
  int fd() const { return fd_ ? fd_->fd() : -1; }
  const std::string& name() const { return name_; }

 private:
  std::optional<AsyncFd> fd_;
  std::string name_;
};
}  // namespace detail

// The parent's end of the child's stdin: an AsyncWrite. shutdown() (or dropping it) closes the
// pipe, so the child reads end of file.
class ChildStdin {
 public:
  explicit ChildStdin(detail::PipeEnd pipe) : pipe_(std::move(pipe)) {}
  Task<absl::StatusOr<std::size_t>> write(std::span<const char> buf) { return pipe_.write(buf); }
  // Nothing is buffered: a no-op.
  Task<absl::Status> flush();
  // Closes the pipe; writing afterwards fails.
  Task<absl::Status> shutdown();
  int fd() const { return pipe_.fd(); }

 private:
  detail::PipeEnd pipe_;
};

// The parent's end of the child's stdout or stderr: an AsyncRead (0 at end of stream, once
// the child and every process it shared the pipe with have closed it).
class ChildStdout {
 public:
  explicit ChildStdout(detail::PipeEnd pipe) : pipe_(std::move(pipe)) {}
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf) { return pipe_.read(buf); }
  int fd() const { return pipe_.fd(); }

 private:
  detail::PipeEnd pipe_;
};

class ChildStderr {
 public:
  explicit ChildStderr(detail::PipeEnd pipe) : pipe_(std::move(pipe)) {}
  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf) { return pipe_.read(buf); }
  int fd() const { return pipe_.fd(); }

 private:
  detail::PipeEnd pipe_;
};

// A spawned child process. Move-only.
class Child {
 public:
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Not reaped yet: kills it if kill_on_drop, and leaves it to a background reaper.
  ~Child();

  // The process id (kept after the child was reaped, when the kernel may reuse it).
  pid_t id() const { return pid_; }

  // The piped streams, or nullptr when not piped or taken out.
  ChildStdin* stdin() { return stdin_ ? &*stdin_ : nullptr; }
  ChildStdout* stdout() { return stdout_ ? &*stdout_ : nullptr; }
  ChildStderr* stderr() { return stderr_ ? &*stderr_ : nullptr; }
  std::optional<ChildStdin> take_stdin() { return std::exchange(stdin_, std::nullopt); }
  std::optional<ChildStdout> take_stdout() { return std::exchange(stdout_, std::nullopt); }
  std::optional<ChildStderr> take_stderr() { return std::exchange(stderr_, std::nullopt); }

  // Closes stdin (so a child reading it can finish), then waits for the child to exit and
  // reaps it. Once reaped, gives the same status at once. Cancellation-safe. The Child must
  // outlive the await.
  Task<absl::StatusOr<ExitStatus>> wait();
  // The status if the child has exited (reaping it), nullopt if it still runs.
  absl::StatusOr<std::optional<ExitStatus>> try_wait();
  // Sends SIGKILL without waiting. FAILED_PRECONDITION once the child was reaped.
  absl::Status start_kill();
  // start_kill(), then wait(). OK also when the child had already exited.
  Task<absl::Status> kill();
  // Reads what is left of the piped stdout and stderr (concurrently) and waits. Consumes the
  // pipes; streams that are not piped give empty strings.
  Task<absl::StatusOr<Output>> wait_with_output();

 private:
  friend class Command;
  Child(pid_t pid, std::optional<AsyncFd> pidfd, bool kill_on_drop, Handle handle);

  pid_t pid_ = -1;
  // A pidfd on the driver: readable when the child exits. Empty once reaped, or when the
  // kernel has no pidfd_open (then wait() waits on the blocking pool).
  std::optional<AsyncFd> pidfd_;
  std::optional<ExitStatus> status_;  // set once reaped
  bool kill_on_drop_ = false;
  std::optional<Handle> handle_;  // the runtime that spawned it (for the drop's reaper)
  std::optional<ChildStdin> stdin_;
  std::optional<ChildStdout> stdout_;
  std::optional<ChildStderr> stderr_;
};

// A program to run, as a builder: `Command("ls").arg("-l").current_dir("/tmp").spawn()`.
class Command {
 public:
  explicit Command(std::string program);

  // Appends one argument (argv[1], argv[2], ...; argv[0] is the program as given).
  Command& arg(std::string a);
  Command& args(std::initializer_list<std::string> as);
  Command& args(const std::vector<std::string>& as);
  // Sets a variable in the child's environment (which starts as the parent's).
  Command& env(std::string key, std::string value);
  Command& env_remove(std::string key);
  // Starts the child's environment empty, forgetting earlier env() calls.
  Command& env_clear();
  Command& current_dir(std::string dir);
  Command& stdin(Stdio s);
  Command& stdout(Stdio s);
  Command& stderr(Stdio s);
  // Dropping the Child before it was reaped kills it (SIGKILL). Default false.
  Command& kill_on_drop(bool on);

  // Starts the child (streams default to inherit). Must run inside a runtime with I/O.
  absl::StatusOr<Child> spawn() const;
  // Runs the child to the end: stdout and stderr piped and captured (unless set otherwise),
  // stdin /dev/null unless set. Copies the Command: it need not outlive the Task.
  Task<absl::StatusOr<Output>> output() const;
  // Runs the child to the end with the streams as set (default inherit).
  Task<absl::StatusOr<ExitStatus>> status() const;

  const std::string& program() const { return program_; }
  const std::vector<std::string>& get_args() const { return args_; }

 private:
  absl::StatusOr<Child> spawn_with(Stdio::Kind in, Stdio::Kind out, Stdio::Kind err) const;

  std::string program_;
  std::vector<std::string> args_;
  bool env_clear_ = false;
  std::map<std::string, std::optional<std::string>> env_;  // nullopt: removed
  std::optional<std::string> cwd_;
  std::optional<Stdio::Kind> stdin_, stdout_, stderr_;
  bool kill_on_drop_ = false;
};

}  // namespace keel::process

#endif  // KEEL_RUNTIME_PROCESS_PROCESS_H_
