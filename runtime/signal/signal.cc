#include "runtime/signal/signal.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/detail/concurrency.h"
#include "runtime/io/async_fd.h"
#include "runtime/runtime.h"

namespace keel::signal {
namespace detail {

// One listener. Its fields are guarded by the registry's mutex.
struct Listener {
  explicit Listener(int s) : signo(s) {}
  const int signo;
  std::uint64_t pending = 0;     // deliveries not yet consumed by recv()
  Waker waker;                   // the task waiting in recv(), if any
  const void* waiter = nullptr;  // the RecvAwaiter that stored `waker`
};

namespace {

using keel::detail::LockGuard;
using keel::detail::Mutex;

std::string signal_name(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  if (abbrev != nullptr) return absl::StrCat("SIG", abbrev);
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) return absl::StrCat("SIGRTMIN+", signo - SIGRTMIN);
  return absl::StrCat("signal ", signo);
}

absl::Status check_signal(int signo) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP || signo == SIGSEGV ||
      signo == SIGBUS || signo == SIGILL || signo == SIGFPE || (signo > 31 && signo < SIGRTMIN)) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal ", signo, ": this signal cannot be listened to"));
  }
  return absl::OkStatus();
}

// Runs in a thread that caught a listened signal because it did not block it: blocks the
// signal in this thread for good (both now, and in the mask the kernel restores when the
// handler returns) and sends it again to the process, where it stays pending for the
// signalfd. Only async-signal-safe calls.
void forward_handler(int signo, siginfo_t*, void* context) {
  int saved_errno = errno;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  // For sanitizers that run the handler later, outside the real signal frame.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (context != nullptr) sigaddset(&static_cast<ucontext_t*>(context)->uc_sigmask, signo);
  kill(getpid(), signo);
  errno = saved_errno;
}

class Registry {
 public:
  static Registry& instance() {
    static Registry* const registry = new Registry();  // never destroyed: used by handlers
    return *registry;
  }

  // Starts listening to `signo` (first time: block, handler, signalfd mask) and registers
  // `l`. Returns the signalfd.
  absl::Status add(Listener* l) {
    LockGuard lock(mu_);
    int signo = l->signo;
    if (!sigismember(&mask_, signo)) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, signo);
      int err = pthread_sigmask(SIG_BLOCK, &one, nullptr);
      if (err != 0) {
        return absl::ErrnoToStatus(err, absl::StrCat("pthread_sigmask ", signal_name(signo)));
      }
      struct sigaction sa {};
      sa.sa_sigaction = &forward_handler;
      sa.sa_flags = SA_SIGINFO | SA_RESTART;
      sigemptyset(&sa.sa_mask);
      if (sigaction(signo, &sa, nullptr) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("sigaction ", signal_name(signo)));
      }
      sigset_t next = mask_;
      sigaddset(&next, signo);
      int fd = ::signalfd(sfd_, &next, SFD_NONBLOCK | SFD_CLOEXEC);
      if (fd < 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("signalfd ", signal_name(signo)));
      }
      sfd_ = fd;
      mask_ = next;
    }
    listeners_[signo].push_back(l);
    return absl::OkStatus();
  }

  void remove(Listener* l) {
    LockGuard lock(mu_);
    std::vector<Listener*>& v = listeners_[l->signo];
    v.erase(std::remove(v.begin(), v.end(), l), v.end());
  }

  std::size_t count(int signo) {
    LockGuard lock(mu_);
    auto it = listeners_.find(signo);
    return it == listeners_.end() ? 0 : it->second.size();
  }

  // Makes sure the current runtime runs a pump. Called without the lock held.
  absl::Status ensure_pump();

  // Reads every pending siginfo from the signalfd and hands each delivery to the listeners
  // of its signal; wakes their waiting recv() after unlocking.
  void drain() {
    std::vector<Waker> to_wake;
    {
      LockGuard lock(mu_);
      if (sfd_ < 0) return;
      signalfd_siginfo info[16];
      for (;;) {
        ssize_t n = ::read(sfd_, info, sizeof info);
        if (n <= 0) break;  // EAGAIN: nothing pending (EINTR cannot leave the loop stuck)
        std::size_t count = static_cast<std::size_t>(n) / sizeof(signalfd_siginfo);
        for (std::size_t i = 0; i < count; ++i) {
          auto it = listeners_.find(static_cast<int>(info[i].ssi_signo));
          if (it == listeners_.end()) continue;
          for (Listener* l : it->second) {
            ++l->pending;
            if (l->waker) to_wake.push_back(std::move(l->waker));
            l->waiter = nullptr;
          }
        }
      }
    }
    for (Waker& w : to_wake) std::move(w).wake();
  }

  // Consumes the listener's deliveries; true when there were any.
  bool take(Listener* l) {
    LockGuard lock(mu_);
    if (l->pending == 0) return false;
    l->pending = 0;
    return true;
  }
  bool has_pending(Listener* l) {
    LockGuard lock(mu_);
    return l->pending > 0;
  }
  // Stores the waiter's waker unless a delivery is pending (then returns false).
  bool park(Listener* l, const void* waiter, Waker w) {
    Waker old;
    LockGuard lock(mu_);
    if (l->pending > 0) return false;
    old = std::exchange(l->waker, std::move(w));
    l->waiter = waiter;
    return true;
  }
  void unpark(Listener* l, const void* waiter) {
    Waker old;
    LockGuard lock(mu_);
    if (l->waiter != waiter) return;
    old = std::move(l->waker);
    l->waiter = nullptr;
  }

  void pump_stopped(keel::detail::RuntimeCore* core) {
    LockGuard lock(mu_);
    pumps_.erase(core);
  }

 private:
  Registry() { sigemptyset(&mask_); }

  Mutex mu_;
  int sfd_ = -1;
  sigset_t mask_;
  std::map<int, std::vector<Listener*>> listeners_;
  std::set<keel::detail::RuntimeCore*> pumps_;  // runtimes running a pump
};

// Forgets the pump when its task is destroyed (runtime shutdown).
struct PumpGuard {
  explicit PumpGuard(keel::detail::RuntimeCore* c) : core(c) {}
  keel::detail::RuntimeCore* core;
  PumpGuard(const PumpGuard&) = delete;
  PumpGuard& operator=(const PumpGuard&) = delete;
  ~PumpGuard() { Registry::instance().pump_stopped(core); }
};

Task<void> pump(AsyncFd fd, keel::detail::RuntimeCore* core) {
  PumpGuard guard{core};
  for (;;) {
    ReadyGuard ready = co_await fd.readable();
    if (ready.is_shutdown()) co_return;
    // Reads until EAGAIN, so clearing afterwards cannot drop a later edge (clear_ready keeps
    // readiness that arrived after the guard was taken).
    Registry::instance().drain();
    ready.clear_ready();
  }
}

absl::Status Registry::ensure_pump() {
  std::optional<Handle> handle = Handle::try_current();
  if (!handle.has_value()) {
    return absl::FailedPreconditionError("signal: must be called inside a Keel runtime");
  }
  keel::detail::RuntimeCore* core = handle->core();
  int dup = -1;
  {
    LockGuard lock(mu_);
    if (pumps_.count(core) != 0) return absl::OkStatus();
    dup = ::fcntl(sfd_, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return absl::ErrnoToStatus(errno, "signal: dup of the signalfd");
    pumps_.insert(core);
  }
  absl::StatusOr<AsyncFd> fd = AsyncFd::create(dup);  // closes `dup` on failure
  if (!fd.ok()) {
    pump_stopped(core);
    return absl::Status(fd.status().code(),
                        absl::StrCat("signal: registering the signalfd: ", fd.status().message()));
  }
  Task<void> t = pump(std::move(*fd), core);
  // Detached: it runs until the runtime shuts down.
  JoinHandle<void> detached = handle->spawn(std::move(t), SpawnOptions{"signal pump"});
  return absl::OkStatus();
}

}  // namespace

std::size_t listener_count(int signo) { return Registry::instance().count(signo); }

}  // namespace detail

using detail::Registry;

absl::Status block_for_listening(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : signals) {
    absl::Status s = detail::check_signal(signo);
    if (!s.ok()) return s;
    sigaddset(&set, signo);
  }
  int err = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (err != 0) return absl::ErrnoToStatus(err, "block_for_listening: pthread_sigmask");
  return absl::OkStatus();
}

absl::StatusOr<Signal> signal(int signo) {
  absl::Status s = detail::check_signal(signo);
  if (!s.ok()) return s;
  auto listener = std::make_unique<detail::Listener>(signo);
  Registry& r = Registry::instance();
  s = r.add(listener.get());
  if (!s.ok()) return s;
  Signal out(std::move(listener));  // unregisters on failure below
  s = r.ensure_pump();
  if (!s.ok()) return s;
  // A signal that was already pending (blocked before anyone listened) made no edge on the
  // signalfd if it was added to the mask just now: read it here.
  r.drain();
  return out;
}

Signal::Signal(std::unique_ptr<detail::Listener> listener) : listener_(std::move(listener)) {}
Signal::Signal(Signal&& other) noexcept : listener_(std::move(other.listener_)) {}
Signal& Signal::operator=(Signal&& other) noexcept {
  if (this != &other) {
    reset();
    listener_ = std::move(other.listener_);
  }
  return *this;
}
Signal::~Signal() { reset(); }

void Signal::reset() {
  if (listener_) {
    Registry::instance().remove(listener_.get());
    listener_.reset();
  }
}

int Signal::signo() const { return listener_ ? listener_->signo : 0; }

Signal::RecvAwaiter Signal::recv(std::source_location where) {
  return RecvAwaiter(listener_.get(), where);
}

namespace {
Stream<int> deliveries(Signal s) {
  while (std::optional<int> v = co_await s.recv()) co_yield *v;
}
}  // namespace

Stream<int> Signal::into_stream() && { return deliveries(std::move(*this)); }

Signal::RecvAwaiter::RecvAwaiter(detail::Listener* listener, std::source_location where)
    : listener_(listener) {
  await_point = {"signal::recv", where};
}

Signal::RecvAwaiter::~RecvAwaiter() {
  // Leaves any delivery counted in the listener for the next recv(): nothing is lost.
  if (listener_ != nullptr) Registry::instance().unpark(listener_, this);
}

bool Signal::RecvAwaiter::await_ready() {
  return listener_ == nullptr || Registry::instance().has_pending(listener_);
}

bool Signal::RecvAwaiter::await_suspend(std::coroutine_handle<> h) {
  // The Signal may have moved to a runtime that has no pump yet (an error leaves the wait to
  // other runtimes' pumps).
  Registry::instance().ensure_pump().IgnoreError();
  Waker w = keel::detail::current_waker("signal::recv");
  if (!Registry::instance().park(listener_, this, std::move(w))) return false;
  keel::detail::park_current(h, this);
  return true;
}

bool Signal::RecvAwaiter::poll_ready() { return Registry::instance().has_pending(listener_); }

std::optional<int> Signal::RecvAwaiter::await_resume() {
  if (listener_ == nullptr) return std::nullopt;
  Registry::instance().unpark(listener_, this);
  Registry::instance().take(listener_);
  return listener_->signo;
}

Task<absl::Status> ctrl_c() {
  absl::StatusOr<Signal> s = signal(SIGINT);
  if (!s.ok()) co_return s.status();
  co_await s->recv();
  co_return absl::OkStatus();
}

}  // namespace keel::signal
