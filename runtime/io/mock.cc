#include "runtime/io/mock.h"

#include <algorithm>
#include <coroutine>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "runtime/detail/concurrency.h"
#include "runtime/detail/intrusive_list.h"
#include "runtime/task/context.h"
#include "runtime/time/sleep.h"

namespace keel::io {
namespace detail {

namespace {

// Bytes quoted and escaped for a message, cut at kShown bytes: enough to see where a
// protocol exchange went wrong without flooding the test log.
constexpr std::size_t kShown = 80;

std::string quote(std::string_view s) {
  std::string out = "\"";
  out += absl::CHexEscape(absl::string_view(s.data(), std::min(s.size(), kShown)));
  out += "\"";
  if (s.size() > kShown) absl::StrAppend(&out, "... (", s.size(), " bytes)");
  return out;
}

std::string describe(const MockAction& a) {
  switch (a.kind) {
    case MockAction::Kind::kRead:
      return "read " + quote(a.data);
    case MockAction::Kind::kWrite:
      return "write " + quote(a.data);
    case MockAction::Kind::kReadError:
      return "read_error " + a.status.ToString();
    case MockAction::Kind::kWriteError:
      return "write_error " + a.status.ToString();
    case MockAction::Kind::kWait:
      return absl::StrCat("wait ", std::chrono::duration_cast<std::chrono::milliseconds>(a.wait).count(),
                          " ms");
  }
  return "?";
}

}  // namespace

struct MockWaiter {
  MockWaiter* prev = nullptr;
  MockWaiter* next = nullptr;
  Waker waker;
  bool linked = false;  // guarded by MockState::mu_
};

// What one step of a read or write decided, under the lock.
struct MockStep {
  enum class Kind { kDone, kWait, kBlocked } kind;
  absl::StatusOr<std::size_t> result{std::size_t{0}};  // kDone
  Duration wait{};                                     // kWait
  std::uint64_t version = 0;  // kWait: the item's index; kBlocked: the script's version
};

// The script and the read waiters, under one mutex. `version_` counts consumed items (the
// index of the front item); it changes whenever the front changes, which is what a blocked
// read waits for.
class MockState {
 public:
  explicit MockState(std::deque<MockAction> actions) : actions_(std::move(actions)) {}

  MockStep step_read(std::span<char> buf) {
    MockStep s = step_read_locked(buf);
    wake_pending();
    return s;
  }
  MockStep step_write(std::span<const char> buf) {
    MockStep s = step_write_locked(buf);
    wake_pending();
    return s;
  }

  MockStep step_read_locked(std::span<char> buf) {
    ::keel::detail::LockGuard lock(mu_);
    if (actions_.empty()) return done(std::size_t{0});
    MockAction& a = actions_.front();
    switch (a.kind) {
      case MockAction::Kind::kRead: {
        if (buf.empty()) return done(std::size_t{0});
        std::size_t n = std::min(buf.size(), a.data.size());
        std::memcpy(buf.data(), a.data.data(), n);
        if (n == a.data.size()) {
          pop_locked();
        } else {
          a.data.erase(0, n);
        }
        return done(n);
      }
      case MockAction::Kind::kReadError: {
        absl::Status s = std::move(a.status);
        pop_locked();
        return done(std::move(s));
      }
      case MockAction::Kind::kWait:
        return MockStep{MockStep::Kind::kWait, std::size_t{0}, a.wait, version_};
      case MockAction::Kind::kWrite:
      case MockAction::Kind::kWriteError:
        return MockStep{MockStep::Kind::kBlocked, std::size_t{0}, {}, version_};
    }
    return done(std::size_t{0});
  }

  MockStep step_write_locked(std::span<const char> buf) {
    ::keel::detail::LockGuard lock(mu_);
    std::string_view got(buf.data(), buf.size());
    if (buf.empty()) return done(std::size_t{0});
    if (actions_.empty()) {
      return fail_locked("mock write: the script has ended, but got a write of " + quote(got));
    }
    MockAction& a = actions_.front();
    switch (a.kind) {
      case MockAction::Kind::kWrite: {
        std::size_t n = std::min(buf.size(), a.data.size());
        if (got.substr(0, n) != std::string_view(a.data).substr(0, n)) {
          return fail_locked("mock write: expected " + quote(a.data) + ", got " + quote(got));
        }
        if (n == a.data.size()) {
          pop_locked();
        } else {
          a.data.erase(0, n);
        }
        return done(n);
      }
      case MockAction::Kind::kWriteError: {
        absl::Status s = std::move(a.status);
        pop_locked();
        return done(std::move(s));
      }
      case MockAction::Kind::kWait:
        return MockStep{MockStep::Kind::kWait, std::size_t{0}, a.wait, version_};
      case MockAction::Kind::kRead:
      case MockAction::Kind::kReadError:
        return fail_locked("mock write: the script expects " + describe(a) + " next, got a write of " +
                           quote(got));
    }
    return done(std::size_t{0});
  }

  // A wait item (at index `index`) has been waited out: consume it unless another operation
  // already did.
  void finish_wait(std::uint64_t index) {
    {
      ::keel::detail::LockGuard lock(mu_);
      if (version_ == index && !actions_.empty() &&
          actions_.front().kind == MockAction::Kind::kWait) {
        pop_locked();
      }
    }
    wake_pending();
  }

  // Whether the script's front moved past `version`; otherwise links `w` (with the current
  // poll's waker) to be woken when it does.
  bool changed_or_link(std::uint64_t version, MockWaiter* w) {
    ::keel::detail::LockGuard lock(mu_);
    if (version_ != version) {
      if (w->linked) unlink_locked(w);
      return true;
    }
    if (!w->linked) {
      w->waker = ::keel::detail::current_waker("mock read");
      waiters_.push_front(w);
      w->linked = true;
    }
    return false;
  }
  void cancel(MockWaiter* w) {
    Waker dropped;  // released after the lock
    ::keel::detail::LockGuard lock(mu_);
    if (w->linked) {
      unlink_locked(w);
      dropped.swap(w->waker);
    }
  }

  std::vector<std::string> failures() const {
    ::keel::detail::LockGuard lock(mu_);
    return failures_;
  }
  void clear_failures() {
    ::keel::detail::LockGuard lock(mu_);
    failures_.clear();
  }
  std::size_t remaining() const {
    ::keel::detail::LockGuard lock(mu_);
    return actions_.size();
  }
  // What the destructor reports (empty: nothing).
  std::string report() const {
    ::keel::detail::LockGuard lock(mu_);
    if (!failures_.empty()) {
      return "MockStream recorded failures:\n  " + absl::StrJoin(failures_, "\n  ");
    }
    if (!actions_.empty()) {
      return absl::StrCat("MockStream dropped with ", actions_.size(),
                          " unconsumed script item(s); the next is: ", describe(actions_.front()));
    }
    return "";
  }

 private:
  MockStep done(absl::StatusOr<std::size_t> r) {
    return MockStep{MockStep::Kind::kDone, std::move(r), {}, 0};
  }
  MockStep fail_locked(std::string msg) {
    failures_.push_back(msg);
    return done(absl::FailedPreconditionError(std::move(msg)));
  }
  void unlink_locked(MockWaiter* w) {
    waiters_.remove(w);
    w->linked = false;
  }
  // Consumes the front item; the blocked reads' wakers go to wakes_, woken by the caller
  // once the lock is released (wake_pending()).
  void pop_locked() {
    actions_.pop_front();
    ++version_;
    while (MockWaiter* w = waiters_.pop_front()) {
      w->linked = false;
      wakes_.push_back(std::move(w->waker));
    }
  }
  // Wakes what pop_locked() collected, outside the lock.
  void wake_pending() {
    std::vector<Waker> wakes;
    {
      ::keel::detail::LockGuard lock(mu_);
      wakes.swap(wakes_);
    }
    for (Waker& w : wakes) std::move(w).wake();
  }

  mutable ::keel::detail::Mutex mu_;
  std::deque<MockAction> actions_;
  std::uint64_t version_ = 0;
  std::vector<std::string> failures_;
  std::vector<Waker> wakes_;  // collected by pop_locked()
  ::keel::detail::IntrusiveList<MockWaiter, &MockWaiter::prev, &MockWaiter::next> waiters_;
};

namespace {

// Waits until the script's front moves past `version` (a read blocked on a write item).
class [[nodiscard]] ChangeAwaiter final : public ::keel::detail::Leaf {
 public:
  ChangeAwaiter(MockState* st, std::uint64_t version) : st_(st), version_(version) {
    await_point = {"mock read (waiting for the scripted write)", {}};
  }
  ChangeAwaiter(const ChangeAwaiter&) = delete;
  ChangeAwaiter& operator=(const ChangeAwaiter&) = delete;
  ~ChangeAwaiter() { st_->cancel(&waiter_); }

  bool await_ready() { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (st_->changed_or_link(version_, &waiter_)) return false;
    ::keel::detail::park_current(h, this);
    return true;
  }
  bool poll_ready() override { return st_->changed_or_link(version_, &waiter_); }
  void await_resume() {}

 private:
  MockState* st_;
  std::uint64_t version_;
  MockWaiter waiter_;
};

}  // namespace
}  // namespace detail

MockStream::MockStream(std::deque<detail::MockAction> actions)
    : state_(std::make_unique<detail::MockState>(std::move(actions))) {}
MockStream::MockStream(MockStream&&) noexcept = default;
MockStream& MockStream::operator=(MockStream&& other) noexcept {
  if (this != &other) {
    MockStream old(std::move(*this));  // reports what the replaced mock left
    state_ = std::move(other.state_);
  }
  return *this;
}

MockStream::~MockStream() {
  if (state_ == nullptr) return;
  std::string report = state_->report();
  if (!report.empty()) ADD_FAILURE() << report;
}

Task<absl::StatusOr<std::size_t>> MockStream::read(std::span<char> buf) {
  for (;;) {
    detail::MockStep step = state_->step_read(buf);
    switch (step.kind) {
      case detail::MockStep::Kind::kDone:
        co_return std::move(step.result);
      case detail::MockStep::Kind::kWait:
        co_await sleep(step.wait);
        state_->finish_wait(step.version);
        break;
      case detail::MockStep::Kind::kBlocked:
        co_await detail::ChangeAwaiter(state_.get(), step.version);
        break;
    }
  }
}

Task<absl::StatusOr<std::size_t>> MockStream::write(std::span<const char> buf) {
  for (;;) {
    detail::MockStep step = state_->step_write(buf);
    if (step.kind == detail::MockStep::Kind::kDone) co_return std::move(step.result);
    // kWait (a write never blocks on a read item: it fails instead).
    co_await sleep(step.wait);
    state_->finish_wait(step.version);
  }
}

std::vector<std::string> MockStream::failures() const { return state_->failures(); }
void MockStream::clear_failures() { state_->clear_failures(); }
std::size_t MockStream::remaining() const { return state_->remaining(); }

MockBuilder& MockBuilder::read(std::string_view data) {
  if (!data.empty()) {
    actions_.push_back({detail::MockAction::Kind::kRead, std::string(data), absl::OkStatus(), {}});
  }
  return *this;
}
MockBuilder& MockBuilder::write(std::string_view data) {
  if (!data.empty()) {
    actions_.push_back({detail::MockAction::Kind::kWrite, std::string(data), absl::OkStatus(), {}});
  }
  return *this;
}
MockBuilder& MockBuilder::read_error(absl::Status s) {
  actions_.push_back({detail::MockAction::Kind::kReadError, "", std::move(s), {}});
  return *this;
}
MockBuilder& MockBuilder::write_error(absl::Status s) {
  actions_.push_back({detail::MockAction::Kind::kWriteError, "", std::move(s), {}});
  return *this;
}
MockBuilder& MockBuilder::wait(Duration d) {
  actions_.push_back({detail::MockAction::Kind::kWait, "", absl::OkStatus(), d});
  return *this;
}
MockStream MockBuilder::build() { return MockStream(std::move(actions_)); }

}  // namespace keel::io
