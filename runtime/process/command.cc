// Command: building the child's argv/envp/stdio and spawning it with posix_spawn.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/process/process.h"

extern char** environ;

namespace keel::process {
namespace {

absl::Status spawn_error(int err, const std::string& program) {
  return absl::ErrnoToStatus(err, absl::StrCat("spawn ", program));
}

// Closes the fds it holds on scope exit unless released.
struct FdSet {
  std::vector<int> fds;
  ~FdSet() {
    for (int fd : fds) ::close(fd);
  }
  void add(int fd) { fds.push_back(fd); }
  void release(int fd) {
    for (int& f : fds) {
      if (f == fd) f = -1;
    }
    std::erase(fds, -1);
  }
};

bool is_executable_file(const std::string& path, int* err) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = EACCES;
    return false;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

struct PosixSpawnState {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  PosixSpawnState() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~PosixSpawnState() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  PosixSpawnState(const PosixSpawnState&) = delete;
  PosixSpawnState& operator=(const PosixSpawnState&) = delete;
};

Task<absl::StatusOr<Output>> output_of(Command cmd) {
  absl::StatusOr<Child> child = cmd.spawn();
  if (!child.ok()) co_return child.status();
  Task<absl::StatusOr<Output>> t = child->wait_with_output();
  co_return co_await std::move(t);
}

Task<absl::StatusOr<ExitStatus>> status_of(Command cmd) {
  absl::StatusOr<Child> child = cmd.spawn();
  if (!child.ok()) co_return child.status();
  Task<absl::StatusOr<ExitStatus>> t = child->wait();
  co_return co_await std::move(t);
}

}  // namespace

std::string ExitStatus::to_string() const {
  if (signal_ == 0) return absl::StrCat("exit status: ", code_);
  const char* abbrev = sigabbrev_np(signal_);
  std::string out = absl::StrCat("signal: ", signal_);
  if (abbrev != nullptr) absl::StrAppend(&out, " (SIG", abbrev, ")");
  if (core_dumped_) absl::StrAppend(&out, " (core dumped)");
  return out;
}

Command::Command(std::string program) : program_(std::move(program)) {}

Command& Command::arg(std::string a) {
  args_.push_back(std::move(a));
  return *this;
}
Command& Command::args(std::initializer_list<std::string> as) {
  for (const std::string& a : as) args_.push_back(a);
  return *this;
}
Command& Command::args(const std::vector<std::string>& as) {
  for (const std::string& a : as) args_.push_back(a);
  return *this;
}
Command& Command::env(std::string key, std::string value) {
  env_[std::move(key)] = std::move(value);
  return *this;
}
Command& Command::env_remove(std::string key) {
  env_[std::move(key)] = std::nullopt;
  return *this;
}
Command& Command::env_clear() {
  env_.clear();
  env_clear_ = true;
  return *this;
}
Command& Command::current_dir(std::string dir) {
  cwd_ = std::move(dir);
  return *this;
}
Command& Command::stdin(Stdio s) {
  stdin_ = s.kind();
  return *this;
}
Command& Command::stdout(Stdio s) {
  stdout_ = s.kind();
  return *this;
}
Command& Command::stderr(Stdio s) {
  stderr_ = s.kind();
  return *this;
}
Command& Command::kill_on_drop(bool on) {
  kill_on_drop_ = on;
  return *this;
}

absl::StatusOr<Child> Command::spawn() const {
  return spawn_with(Stdio::Kind::kInherit, Stdio::Kind::kInherit, Stdio::Kind::kInherit);
}

Task<absl::StatusOr<Output>> Command::output() const {
  Command cmd = *this;
  if (!cmd.stdin_) cmd.stdin_ = Stdio::Kind::kNull;
  if (!cmd.stdout_) cmd.stdout_ = Stdio::Kind::kPiped;
  if (!cmd.stderr_) cmd.stderr_ = Stdio::Kind::kPiped;
  return output_of(std::move(cmd));
}

Task<absl::StatusOr<ExitStatus>> Command::status() const { return status_of(*this); }

absl::StatusOr<Child> Command::spawn_with(Stdio::Kind in, Stdio::Kind out, Stdio::Kind err) const {
  std::optional<Handle> handle = Handle::try_current();
  if (!handle.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("spawn ", program_, ": must be called inside a Keel runtime"));
  }
  Stdio::Kind kinds[3] = {stdin_.value_or(in), stdout_.value_or(out), stderr_.value_or(err)};

  // The environment: the parent's (unless cleared) with the overrides applied.
  std::vector<std::string> env_strings;
  if (!env_clear_) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string kv = *e;
      std::size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      if (env_.count(key) != 0) continue;
      env_strings.push_back(std::move(kv));
    }
  }
  for (const auto& [key, value] : env_) {
    if (value.has_value()) env_strings.push_back(key + "=" + *value);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  // The executable: as given when it has a '/', else searched in PATH.
  std::string path;
  if (program_.find('/') != std::string::npos) {
    path = program_;
  } else if (program_.empty()) {
    return spawn_error(ENOENT, program_);
  } else {
    std::string search;
    auto it = env_.find("PATH");
    if (it != env_.end() || env_clear_) {
      search = it != env_.end() && it->second.has_value() ? *it->second : "";
    } else {
      const char* p = std::getenv("PATH");
      search = p != nullptr ? p : "/usr/local/bin:/usr/bin:/bin";
    }
    int first_err = ENOENT;
    std::size_t pos = 0;
    while (path.empty() && pos <= search.size()) {
      std::size_t colon = search.find(':', pos);
      std::string dir =
          search.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
      pos = colon == std::string::npos ? search.size() + 1 : colon + 1;
      std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program_;
      int e = 0;
      if (is_executable_file(candidate, &e)) {
        path = candidate;
      } else if (e == EACCES && first_err == ENOENT) {
        first_err = EACCES;  // found, but not executable: report that
      }
    }
    if (path.empty()) return spawn_error(first_err, program_);
  }
  if (cwd_.has_value()) {
    struct stat st;
    if (::stat(cwd_->c_str(), &st) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("spawn ", program_, ": current_dir ", *cwd_));
    }
  }

  std::vector<std::string> argv_strings;
  argv_strings.push_back(program_);
  for (const std::string& a : args_) argv_strings.push_back(a);
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // Pipes: the parent's end non-blocking, both ends close-on-exec (dup2 in the child clears
  // the flag on the copy it makes for fd 0, 1 or 2).
  FdSet owned;
  int parent_end[3] = {-1, -1, -1};
  int child_end[3] = {-1, -1, -1};
  PosixSpawnState ps;
  for (int i = 0; i < 3; ++i) {
    if (kinds[i] == Stdio::Kind::kPiped) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "spawn: pipe2");
      owned.add(fds[0]);
      owned.add(fds[1]);
      // stdin: the child reads fds[0]; stdout/stderr: the child writes fds[1].
      parent_end[i] = i == 0 ? fds[1] : fds[0];
      child_end[i] = i == 0 ? fds[0] : fds[1];
      int flags = ::fcntl(parent_end[i], F_GETFL);
      if (flags < 0 || ::fcntl(parent_end[i], F_SETFL, flags | O_NONBLOCK) != 0) {
        return absl::ErrnoToStatus(errno, "spawn: fcntl O_NONBLOCK");
      }
      posix_spawn_file_actions_adddup2(&ps.actions, child_end[i], i);
    } else if (kinds[i] == Stdio::Kind::kNull) {
      posix_spawn_file_actions_addopen(&ps.actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY,
                                       0);
    }
  }
  if (cwd_.has_value()) posix_spawn_file_actions_addchdir_np(&ps.actions, cwd_->c_str());

  // An empty signal mask and SIGPIPE at its default, whatever the parent blocks or ignores.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&ps.attr, &empty);
  posix_spawnattr_setsigdefault(&ps.attr, &defaults);
  posix_spawnattr_setflags(&ps.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &ps.actions, &ps.attr, argv.data(), envp.data());
  if (rc != 0) return spawn_error(rc, program_);

  for (int i = 0; i < 3; ++i) {
    if (child_end[i] >= 0) {
      owned.release(child_end[i]);
      ::close(child_end[i]);
    }
  }

  // The pidfd: readable once the child exits.
  std::optional<AsyncFd> pidfd;
  int raw_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (raw_pidfd >= 0) {
    ::fcntl(raw_pidfd, F_SETFD, FD_CLOEXEC);  // pidfd_open sets it already; be explicit
    absl::StatusOr<AsyncFd> fd = AsyncFd::create(raw_pidfd);
    if (!fd.ok()) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return absl::Status(
          fd.status().code(),
          absl::StrCat("spawn ", program_, ": registering the pidfd: ", fd.status().message()));
    }
    pidfd.emplace(std::move(*fd));
  }
  // Without pidfd_open (ENOSYS on kernels before 5.3), wait() falls back to the blocking pool.

  Child child(pid, std::move(pidfd), kill_on_drop_, *handle);
  const char* names[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; ++i) {
    if (parent_end[i] < 0) continue;
    owned.release(parent_end[i]);
    absl::StatusOr<AsyncFd> fd = AsyncFd::create(parent_end[i]);  // closes it on failure
    if (!fd.ok()) {
      return absl::Status(fd.status().code(), absl::StrCat("spawn ", program_, ": registering ",
                                                           names[i], ": ", fd.status().message()));
      // `child` is dropped: with kill_on_drop it is killed; it is reaped in the background.
    }
    detail::PipeEnd end(std::move(*fd), absl::StrCat(names[i], " of child ", pid));
    if (i == 0) child.stdin_.emplace(std::move(end));
    if (i == 1) child.stdout_.emplace(std::move(end));
    if (i == 2) child.stderr_.emplace(std::move(end));
  }
  return child;
}

}  // namespace keel::process
