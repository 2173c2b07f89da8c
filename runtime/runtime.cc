#include "runtime/runtime.h"

#include "runtime/scheduler/current_thread/current_thread.h"
#include "runtime/scheduler/multi_thread/worker.h"

namespace keel {

namespace {
// Shutdown's default wait for running blocking tasks, as Tokio's drop: long enough for a
// file write to finish, short enough that a stuck syscall does not hang the process forever.
constexpr Duration kDefaultShutdownTimeout = std::chrono::seconds(10);
}  // namespace

Instant Instant::now() {
  detail::RuntimeCore* core = detail::current_core;
  if (core != nullptr && core->driver().time_enabled()) return core->driver().time().clock().now();
  return now_unpaused();
}

Handle Handle::current() { return Handle(&detail::require_core("keel::Handle::current()")); }

std::optional<Handle> Handle::try_current() {
  if (detail::current_core == nullptr) return std::nullopt;
  return Handle(detail::current_core);
}

Handle::Handle(detail::RuntimeCore* core) : core_(core) { core_->add_ref(); }
Handle::Handle(const Handle& other) : core_(other.core_) {
  if (core_) core_->add_ref();
}
Handle::Handle(Handle&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
Handle& Handle::operator=(Handle other) noexcept {
  std::swap(core_, other.core_);
  return *this;
}
Handle::~Handle() {
  if (core_) core_->drop_ref();
}

Runtime::Builder Runtime::new_current_thread() { return Builder(false); }
Runtime::Builder Runtime::new_multi_thread() { return Builder(true); }

Runtime::Runtime(Runtime&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
Runtime& Runtime::operator=(Runtime&& other) noexcept {
  if (this != &other) {
    if (core_) {
      core_->shutdown(kDefaultShutdownTimeout);
      core_->drop_ref();
    }
    core_ = std::exchange(other.core_, nullptr);
  }
  return *this;
}

Runtime::~Runtime() {
  if (core_ == nullptr) return;
  core_->shutdown(kDefaultShutdownTimeout);
  core_->drop_ref();
}

void Runtime::shutdown_timeout(Duration timeout) { core_->shutdown(timeout); }

using Builder = Runtime::Builder;

Builder& Builder::worker_threads(std::size_t n) {
  config_.worker_threads = n;
  return *this;
}
Builder& Builder::thread_name(std::string name) {
  config_.thread_name = std::move(name);
  return *this;
}
Builder& Builder::max_blocking_threads(std::size_t n) {
  config_.max_blocking_threads = n;
  return *this;
}
Builder& Builder::thread_keep_alive(Duration d) {
  config_.thread_keep_alive = d;
  return *this;
}
Builder& Builder::event_interval(std::uint32_t n) {
  config_.event_interval = n;
  return *this;
}
Builder& Builder::global_queue_interval(std::uint32_t n) {
  config_.global_queue_interval = n;
  return *this;
}
Builder& Builder::enable_io() {
  config_.enable_io = true;
  return *this;
}
Builder& Builder::enable_time() {
  config_.enable_time = true;
  return *this;
}
Builder& Builder::enable_all() {
  config_.enable_io = true;
  config_.enable_time = true;
  return *this;
}
Builder& Builder::busy_poll(Duration d) {
  config_.busy_poll = d;
  return *this;
}
Builder& Builder::start_paused(bool paused) {
  config_.start_paused = paused;
  return *this;
}
Builder& Builder::on_thread_start(std::function<void()> fn) {
  config_.on_thread_start = std::move(fn);
  return *this;
}
Builder& Builder::on_thread_stop(std::function<void()> fn) {
  config_.on_thread_stop = std::move(fn);
  return *this;
}
Builder& Builder::slow_poll_threshold(Duration threshold) {
  config_.slow_poll_threshold = threshold;
  return *this;
}
Builder& Builder::on_slow_poll(SlowPollHandler handler) {
  config_.on_slow_poll = std::move(handler);
  return *this;
}

absl::StatusOr<Runtime> Builder::build() {
  if (config_.event_interval == 0) {
    return absl::InvalidArgumentError("Runtime::Builder: event_interval must be at least 1");
  }
  if (config_.global_queue_interval == 0) {
    return absl::InvalidArgumentError(
        "Runtime::Builder: global_queue_interval must be at least 1");
  }
  if (config_.max_blocking_threads == 0) {
    return absl::InvalidArgumentError("Runtime::Builder: max_blocking_threads must be at least 1");
  }
  if (config_.start_paused && !config_.enable_time) {
    return absl::InvalidArgumentError(
        "Runtime::Builder: start_paused needs timers: call enable_time() or enable_all()");
  }
  if (config_.busy_poll < Duration::zero() || config_.busy_poll > std::chrono::seconds(1)) {
    return absl::InvalidArgumentError(
        "Runtime::Builder: busy_poll must be between zero and one second");
  }
  absl::StatusOr<std::unique_ptr<detail::Driver>> driver = detail::Driver::create(
      {config_.enable_io, config_.enable_time, config_.start_paused, config_.busy_poll});
  if (!driver.ok()) {
    return absl::Status(driver.status().code(),
                        absl::StrCat("Runtime::Builder::build: ", driver.status().message()));
  }
  detail::RuntimeCore* core;
  if (config_.multi_thread) {
    core = new detail::MultiThreadScheduler(config_, std::move(*driver));
  } else {
    core = new detail::CurrentThreadScheduler(config_, std::move(*driver));
  }
  return Runtime(core);
}

}  // namespace keel
