#include "runtime/task/branches.h"

#include <utility>

namespace keel::detail {

class BranchGroup {
 public:
  BranchGroup(std::size_t n, Waker parent)
      : parent_(std::move(parent)), flags_(n, 0), wakers_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      wakers_[i].group = this;
      wakers_[i].index = i;
    }
  }

  struct BranchWaker final : Wakeable {
    BranchGroup* group = nullptr;
    std::size_t index = 0;
    void wake_by_ref() override { group->notify(index); }
    void add_ref() override { group->add_ref(); }
    void drop_ref() override { group->drop_ref(); }
  };

  Wakeable* waker(std::size_t i) { return &wakers_[i]; }

  void notify(std::size_t i) {
    {
      LockGuard lock(mu_);
      if (flags_[i]) return;
      flags_[i] = 1;
      ready_.push_back(i);
    }
    parent_.wake_by_ref();
  }

  std::vector<std::size_t> take_ready() {
    std::vector<std::size_t> out;
    LockGuard lock(mu_);
    out.swap(ready_);
    for (std::size_t i : out) flags_[i] = 0;
    return out;
  }

  void add_ref() {
    // ORDERING: relaxed; a new reference from an existing one.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() {
    // ORDERING: acq_rel; the last owner deletes.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  Atomic<std::size_t> refs_{1};
  const Waker parent_;
  Mutex mu_;
  std::vector<char> flags_;
  std::vector<std::size_t> ready_;
  std::vector<BranchWaker> wakers_;
};

BranchPoller::BranchPoller(Mode mode, const char* what, std::source_location where)
    : mode_(mode) {
  await_point = {what, where};
}

BranchPoller::~BranchPoller() {
  if (group_) group_->drop_ref();
}

bool BranchPoller::start(std::coroutine_handle<> parent,
                         std::vector<std::coroutine_handle<>> branches) {
  PollContext* cx = current_poll;
  if (cx == nullptr) no_poll_context(await_point.what);
  handles_ = std::move(branches);
  std::size_t n = handles_.size();
  resume_.resize(n);
  done_.assign(n, false);
  task_ = cx->task;
  for (std::size_t i = 0; i < n; ++i) resume_[i] = ResumePoint{handles_[i], nullptr, cx->locals};
  group_ = new BranchGroup(n, Waker::clone_from(cx->waker));
  for (std::size_t i = 0; i < n && !decided(); ++i) poll_branch(i);
  // Branch polls replaced the current context while they ran; restore the parent's.
  current_poll = cx;
  if (decided() || n == 0) return false;
  park_current(parent, this);
  return true;
}

void BranchPoller::poll_branch(std::size_t i) {
  if (done_[i]) return;
  PollContext bcx{group_->waker(i), &resume_[i], task_, resume_[i].locals};
  poll_resume_point(bcx, resume_[i]);
  if (handles_[i].done()) {
    done_[i] = true;
    ++done_count_;
    if (winner_ == SIZE_MAX) winner_ = i;
  }
}

bool BranchPoller::decided() const {
  return mode_ == Mode::kAny ? done_count_ > 0 : done_count_ == handles_.size();
}

bool BranchPoller::poll_ready() {
  PollContext* saved = current_poll;
  for (std::size_t i : group_->take_ready()) {
    if (decided()) break;
    poll_branch(i);
  }
  current_poll = saved;
  return decided();
}

}  // namespace keel::detail
