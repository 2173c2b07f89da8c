// keel::signal: receiving Unix signals as async events (Tokio's tokio::signal::unix).
//
//   int main() {
//     // Before the runtime starts any thread: every thread created later inherits the mask.
//     keel::signal::block_for_listening({SIGINT, SIGTERM}).IgnoreError();
//     ...
//   }
//   keel::Task<void> serve() {
//     absl::StatusOr<keel::signal::Signal> term = keel::signal::signal(SIGTERM);
//     if (!term.ok()) co_return;
//     while (std::optional<int> sig = co_await term->recv()) {   // one per delivery (burst)
//       reload_config();
//     }
//   }
//   // or just: absl::Status s = co_await keel::signal::ctrl_c();
//
// What it offers:
//   - signal(signo) gives a Signal listener; `co_await s.recv()` completes at the next
//     delivery of `signo` and gives the signal number. Every listener of a signal gets every
//     delivery (fan-out): two listeners of SIGTERM both wake.
//   - Bursts coalesce per listener, as in Tokio: deliveries that arrive while nobody calls
//     recv() are counted in the listener and the next recv() consumes them all at once (the
//     kernel coalesces a standard signal that is already pending, too).
//   - A listener created now receives deliveries from now on. A signal blocked with
//     block_for_listening() that arrived before any listener existed stays pending in the
//     kernel and goes to the first listener.
//   - `std::move(s).into_stream()` is a Stream<int> of deliveries; ctrl_c() waits for SIGINT.
//
// How it works: one process-wide registry owns one signalfd for every signal ever listened
// to, created lazily. Listening to a signal for the first time (1) blocks it in the calling
// thread, (2) installs a forwarding handler (see below), and (3) adds it to the signalfd's
// mask. Each runtime that has listeners runs one small "signal pump" task that awaits the
// signalfd's readability (through AsyncFd on a dup of it), reads every pending siginfo and
// hands each delivery to all listeners of that signal, waking their waiting recv().
//
// Invariants: the registry's mutex guards its signal set, the signalfd, the listener lists,
// and each listener's pending count and waker. A delivery read from the signalfd increments
// the pending count of every listener of that signal and takes its waker; the wakers are
// woken after the mutex is released (so a waker never runs under it). recv() consumes the
// pending count only in await_resume, i.e. only when it completes; its destructor only
// removes its own waker. One pump per runtime (a set keyed by the runtime, cleared by the
// pump's destructor at shutdown); pumps of several runtimes share the signalfd and read it
// under the mutex. No atomics are involved.
//
// The signal mask. A signalfd only sees a process-directed signal that every thread blocks;
// a thread that does not block it would run the signal's disposition instead. Threads
// inherit the mask of the thread that created them, so the robust setup is to call
// block_for_listening() with every signal the program will listen to early in main, before
// the runtime (or anything else) starts threads: the runtime's workers and blocking threads
// are then all created with the signals blocked. For threads that were created earlier and
// do not block the signal (the runtime's own, when signal() is first called from inside a
// running runtime), the registry installs a forwarding handler: when such a thread catches
// the signal, the handler blocks the signal in that thread for good and re-sends it to the
// process (kill(getpid(), signo)), where it stays pending until the signalfd reads it. So a
// process-directed signal (kill(pid, sig), a terminal's Ctrl-C) always arrives, whatever the
// masks. A thread-directed signal (raise(), pthread_kill(), tgkill()) aimed at a thread that
// already blocks it stays pending on that thread and is only seen by a signalfd read on that
// thread: send signals to the process, not to a thread.
//
// Like Tokio, Keel never undoes what listening did: dropping the last listener leaves the
// signal blocked and its handler installed (later deliveries are read and dropped). A blocked
// signal nobody listens to is ignored, so a program that calls block_for_listening({SIGINT})
// and never listens to SIGINT cannot be interrupted with Ctrl-C. Children spawned with
// keel::process get an empty signal mask and default dispositions; other ways of starting
// programs (std::system, a hand-written fork/exec) inherit the blocked mask.
//
// Forbidden signals (INVALID_ARGUMENT): SIGKILL and SIGSTOP (cannot be caught), SIGSEGV,
// SIGBUS, SIGILL, SIGFPE (synchronous faults), and the signals glibc reserves between 31 and
// SIGRTMIN.
//
// Cancellation: recv() is cancellation-safe. A recv() destroyed mid-wait (lost a select, a
// timeout expired, its task was aborted) consumes nothing: a delivery that arrived meanwhile
// stays counted in the listener and the next recv() returns it.
//
// Thread-safety: signal(), ctrl_c() and block_for_listening() may be called from any thread.
// A Signal is used by one task at a time (one recv() pending at once); it may move between
// tasks and threads between calls. Signals must be listened to from inside a runtime with I/O
// enabled (signal() fails otherwise); a Signal may outlive its runtime, but then receives
// only what another runtime's pump reads.
#ifndef KEEL_RUNTIME_SIGNAL_SIGNAL_H_
#define KEEL_RUNTIME_SIGNAL_SIGNAL_H_

#include <coroutine>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <source_location>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/stream/stream.h"
#include "runtime/task/context.h"
#include "runtime/task/task.h"
#include "runtime/task/waker.h"

namespace keel::signal {

namespace detail {
struct Listener;
// Listeners of `signo` registered right now (tests wait on it).
std::size_t listener_count(int signo);
}  // namespace detail

// Blocks `signals` in the calling thread's signal mask, so that threads it creates afterwards
// (the runtime's workers and blocking threads) inherit the block. Call it early in main,
// before building the runtime. Fails with INVALID_ARGUMENT on a forbidden signal.
absl::Status block_for_listening(std::initializer_list<int> signals);

// A listener of one signal. Move-only; dropping it unregisters it.
class Signal {
 public:
  Signal(Signal&& other) noexcept;
  Signal& operator=(Signal&& other) noexcept;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  ~Signal();

  // The signal listened to (0 for a moved-from Signal).
  int signo() const;

  // The awaiter of recv(): a leaf that completes when the listener has a delivery.
  class [[nodiscard]] RecvAwaiter final : public keel::detail::Leaf {
   public:
    RecvAwaiter(detail::Listener* listener, std::source_location where);
    RecvAwaiter(const RecvAwaiter&) = delete;
    RecvAwaiter& operator=(const RecvAwaiter&) = delete;
    ~RecvAwaiter();

    bool await_ready();
    bool await_suspend(std::coroutine_handle<> h);
    std::optional<int> await_resume();
    bool poll_ready() override;

   private:
    detail::Listener* listener_;
  };

  // Completes at the next delivery (or at once when deliveries are pending, consuming all of
  // them) and gives the signal number; nullopt only for a moved-from Signal. Await it at once;
  // the Signal must outlive the await.
  RecvAwaiter recv(std::source_location where = std::source_location::current());

  // The deliveries as a stream (ends only for a moved-from Signal).
  Stream<int> into_stream() &&;

 private:
  friend absl::StatusOr<Signal> signal(int signo);
  explicit Signal(std::unique_ptr<detail::Listener> listener);
  void reset();

  std::unique_ptr<detail::Listener> listener_;
};

// Listens to `signo` (see the file comment). Must run inside a runtime with I/O enabled.
// Errors: INVALID_ARGUMENT for a forbidden signal, the OS error when signalfd, sigaction or
// the driver registration fails ("signalfd SIGTERM: Too many open files").
absl::StatusOr<Signal> signal(int signo);

// Completes at the next SIGINT (listening from the moment the Task is first awaited; create a
// Signal earlier with signal(SIGINT) if a SIGINT in between must not be missed).
Task<absl::Status> ctrl_c();

}  // namespace keel::signal

#endif  // KEEL_RUNTIME_SIGNAL_SIGNAL_H_
