#include "runtime/io/duplex.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace keel::io {
namespace detail {

// Wakers collected under the pipe's mutex, woken once it is released (a woken task must not
// find the mutex held, and waking never runs under it). Two inline slots cover the io
// contract's one reader and one writer; more spill to the heap.
class WakeBatch {
 public:
  WakeBatch() = default;
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  ~WakeBatch() {
    for (std::size_t i = 0; i < size_; ++i) std::move(inline_[i]).wake();
    for (Waker& w : overflow_) std::move(w).wake();
  }
  void push(Waker w) {
    if (size_ < kInline) {
      inline_[size_++] = std::move(w);
    } else {
      overflow_.push_back(std::move(w));
    }
  }

 private:
  static constexpr std::size_t kInline = 2;
  Waker inline_[kInline];
  std::size_t size_ = 0;
  std::vector<Waker> overflow_;
};

DuplexPipe::DuplexPipe(std::size_t capacity)
    : ring_(std::make_unique_for_overwrite<char[]>(capacity)), cap_(capacity) {}

void DuplexPipe::take_all(List& list, WakeBatch& out) {
  while (DuplexWaiter* w = list.pop_front()) {
    w->linked = false;
    out.push(std::move(w->waker));
  }
}

namespace {
void link(::keel::detail::IntrusiveList<DuplexWaiter, &DuplexWaiter::prev, &DuplexWaiter::next>& list,
          DuplexWaiter* w, bool reader, const char* what) {
  if (w->linked) return;  // still registered from an earlier poll; its waker is current
  w->waker = ::keel::detail::current_waker(what);
  w->reader = reader;
  list.push_front(w);
  w->linked = true;
}
}  // namespace

std::optional<absl::StatusOr<std::size_t>> DuplexPipe::try_read(std::span<char> buf,
                                                                DuplexWaiter* waiter) {
  WakeBatch wakes;  // declared first: destroyed (woken) after the lock is released
  ::keel::detail::LockGuard lock(mu_);
  if (len_ > 0 && !buf.empty()) {
    std::size_t n = std::min(buf.size(), len_);
    std::size_t first = std::min(n, cap_ - head_);
    std::memcpy(buf.data(), ring_.get() + head_, first);
    if (n > first) std::memcpy(buf.data() + first, ring_.get(), n - first);
    head_ = (head_ + n) % cap_;
    len_ -= n;
    if (len_ == 0) head_ = 0;
    if (waiter != nullptr && waiter->linked) {
      readers_.remove(waiter);
      waiter->linked = false;
    }
    take_all(writers_, wakes);  // room freed
    return absl::StatusOr<std::size_t>(n);
  }
  if (buf.empty() || write_closed_) {
    if (waiter != nullptr && waiter->linked) {
      readers_.remove(waiter);
      waiter->linked = false;
    }
    return absl::StatusOr<std::size_t>(0);
  }
  if (waiter != nullptr) link(readers_, waiter, true, "duplex read");
  return std::nullopt;
}

std::optional<absl::StatusOr<std::size_t>> DuplexPipe::try_write(std::span<const char> buf,
                                                                 DuplexWaiter* waiter) {
  WakeBatch wakes;
  ::keel::detail::LockGuard lock(mu_);
  auto done = [&](absl::StatusOr<std::size_t> r) {
    if (waiter != nullptr && waiter->linked) {
      writers_.remove(waiter);
      waiter->linked = false;
    }
    return std::optional<absl::StatusOr<std::size_t>>(std::move(r));
  };
  if (write_closed_) {
    return done(absl::FailedPreconditionError("write duplex: the stream was shut down"));
  }
  if (reader_dropped_) return done(absl::ErrnoToStatus(EPIPE, "write duplex: the other end was dropped"));
  if (buf.empty()) return done(std::size_t{0});
  if (len_ < cap_) {
    std::size_t n = std::min(buf.size(), cap_ - len_);
    std::size_t tail = (head_ + len_) % cap_;
    std::size_t first = std::min(n, cap_ - tail);
    std::memcpy(ring_.get() + tail, buf.data(), first);
    if (n > first) std::memcpy(ring_.get(), buf.data() + first, n - first);
    len_ += n;
    take_all(readers_, wakes);  // bytes arrived
    return done(n);
  }
  if (waiter != nullptr) link(writers_, waiter, false, "duplex write");
  return std::nullopt;
}

void DuplexPipe::cancel(DuplexWaiter* waiter) {
  Waker dropped;  // released after the lock
  ::keel::detail::LockGuard lock(mu_);
  if (!waiter->linked) return;
  (waiter->reader ? readers_ : writers_).remove(waiter);
  waiter->linked = false;
  dropped.swap(waiter->waker);
}

void DuplexPipe::close_write() {
  WakeBatch wakes;
  ::keel::detail::LockGuard lock(mu_);
  write_closed_ = true;
  take_all(readers_, wakes);
  take_all(writers_, wakes);  // a pending write on the closing end now fails
}

void DuplexPipe::drop_reader() {
  WakeBatch wakes;
  ::keel::detail::LockGuard lock(mu_);
  reader_dropped_ = true;
  len_ = 0;
  head_ = 0;
  take_all(writers_, wakes);
}

}  // namespace detail

DuplexStream& DuplexStream::operator=(DuplexStream&& other) noexcept {
  if (this != &other) {
    release();
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
  }
  return *this;
}

DuplexStream::~DuplexStream() { release(); }

void DuplexStream::release() {
  if (out_ != nullptr) out_->close_write();
  if (in_ != nullptr) in_->drop_reader();
  out_.reset();
  in_.reset();
}

detail::DuplexPipe& DuplexStream::checked_in(const char* op) {
  if (in_ == nullptr) {
    std::fprintf(stderr, "keel::io::DuplexStream::%s on a moved-from stream\n", op);
    std::abort();
  }
  return *in_;
}

detail::DuplexPipe& DuplexStream::checked_out(const char* op) {
  if (out_ == nullptr) {
    std::fprintf(stderr, "keel::io::DuplexStream::%s on a moved-from stream\n", op);
    std::abort();
  }
  return *out_;
}

std::pair<DuplexStream, DuplexStream> duplex(std::size_t capacity) {
  if (capacity == 0) {
    std::fprintf(stderr, "keel::io::duplex: capacity must be positive\n");
    std::abort();
  }
  auto a_to_b = std::make_shared<detail::DuplexPipe>(capacity);
  auto b_to_a = std::make_shared<detail::DuplexPipe>(capacity);
  return {DuplexStream(b_to_a, a_to_b), DuplexStream(a_to_b, b_to_a)};
}

}  // namespace keel::io
