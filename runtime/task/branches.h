// BranchPoller: runs several coroutines concurrently inside one task (the engine of join and
// select; see combinators.h for the API).
//
// Each branch is a lazy Task with its own ResumePoint and its own Waker. A branch waker marks
// its branch ready in a shared, counted BranchGroup and wakes the parent; when the parent task
// is polled, the poller (a Leaf) resumes only the branches marked ready. Nesting works because
// a branch's leaves record themselves in the branch's context, whatever they are.
//
// The group is counted because a branch waker may outlive the awaiter (a timer firing on
// another thread just as the select completes); such a late wake finds the group alive and
// only wakes the parent spuriously, which leaves re-check.
//
// Thread-safety: the poller belongs to one task; branch wakers may fire from any thread.
#ifndef KEEL_RUNTIME_TASK_BRANCHES_H_
#define KEEL_RUNTIME_TASK_BRANCHES_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/detail/concurrency.h"
#include "runtime/task/context.h"
#include "runtime/task/waker.h"

namespace keel::detail {

class BranchGroup;

class BranchPoller : public Leaf {
 public:
  enum class Mode { kAll, kAny };

  BranchPoller(Mode mode, const char* what, std::source_location where);
  BranchPoller(const BranchPoller&) = delete;
  BranchPoller& operator=(const BranchPoller&) = delete;

  // Starts the branches and polls them once; true when the parent must suspend.
  bool start(std::coroutine_handle<> parent, std::vector<std::coroutine_handle<>> branches);
  bool poll_ready() override;

  // The first branch to finish (kAny), in the order they finished within a poll.
  std::size_t winner() const { return winner_; }

 protected:
  ~BranchPoller();

 private:
  void poll_branch(std::size_t i);
  bool decided() const;

  const Mode mode_;
  std::vector<std::coroutine_handle<>> handles_;
  std::vector<ResumePoint> resume_;
  std::vector<bool> done_;
  std::size_t done_count_ = 0;
  std::size_t winner_ = SIZE_MAX;
  BranchGroup* group_ = nullptr;
  TaskHeader* task_ = nullptr;
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TASK_BRANCHES_H_
