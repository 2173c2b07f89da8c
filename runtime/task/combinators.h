// join, join_all and select: run several tasks concurrently inside the current task.
//
//   auto [a, b] = co_await keel::join(fetch_a(), fetch_b());          // both, concurrently
//   std::vector<int> all = co_await keel::join_all(std::move(tasks));  // every one
//   auto first = co_await keel::select(read_reply(), keel::sleep_task(1s));
//   if (first.index() == 1) { ... timed out ... }
//
// The branches are not spawned: they run on the awaiting task's thread, interleaved at their
// suspension points, with no scheduler round trip. `select` gives a std::variant holding the
// result of the first branch to finish (std::monostate for Task<void>); the other branches are
// destroyed at their suspension points before `select` returns (cancellation is destruction).
// If several finish in the same poll, the lowest index wins. `join` waits for all branches;
// if any threw, it rethrows the first exception (in branch order) after all have finished.
//
// The combinators own the Tasks passed in; await them at once (they are prvalues).
//
// Thread-safety: an awaiter belongs to one task.
#ifndef KEEL_RUNTIME_TASK_COMBINATORS_H_
#define KEEL_RUNTIME_TASK_COMBINATORS_H_

#include <coroutine>
#include <exception>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/task/branches.h"
#include "runtime/task/task.h"

namespace keel {

namespace detail {

template <class T>
using ValueOrMonostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
ValueOrMonostate<T> take_value(Task<T>& task) {
  if constexpr (std::is_void_v<T>) {
    task.take_result();
    return std::monostate{};
  } else {
    return task.take_result();
  }
}

template <class... Ts>
class [[nodiscard]] JoinAwaiter final : public BranchPoller {
 public:
  JoinAwaiter(std::source_location where, Task<Ts>... tasks)
      : BranchPoller(Mode::kAll, "join", where), tasks_(std::move(tasks)...) {}

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    return start(h, std::apply([](auto&... t) { return std::vector<std::coroutine_handle<>>{t.handle()...}; },
                               tasks_));
  }
  std::tuple<ValueOrMonostate<Ts>...> await_resume() {
    // Take every result; rethrow the first exception only once all are taken.
    std::exception_ptr first;
    auto take = [&first](auto& task) {
      using T = typename std::remove_reference_t<decltype(task)>::value_type;
      try {
        return take_value(task);
      } catch (...) {
        if (!first) first = std::current_exception();
        return ValueOrMonostate<T>{};
      }
    };
    auto out = std::apply([&](auto&... t) { return std::tuple<ValueOrMonostate<Ts>...>{take(t)...}; },
                          tasks_);
    if (first) std::rethrow_exception(first);
    return out;
  }

 private:
  std::tuple<Task<Ts>...> tasks_;
};

template <class T>
class [[nodiscard]] JoinAllAwaiter final : public BranchPoller {
 public:
  JoinAllAwaiter(std::source_location where, std::vector<Task<T>> tasks)
      : BranchPoller(Mode::kAll, "join_all", where), tasks_(std::move(tasks)) {}

  bool await_ready() const noexcept { return tasks_.empty(); }
  bool await_suspend(std::coroutine_handle<> h) {
    std::vector<std::coroutine_handle<>> handles;
    handles.reserve(tasks_.size());
    for (auto& t : tasks_) handles.push_back(t.handle());
    return start(h, std::move(handles));
  }
  auto await_resume() {
    std::exception_ptr first;
    if constexpr (std::is_void_v<T>) {
      for (auto& t : tasks_) {
        try {
          t.take_result();
        } catch (...) {
          if (!first) first = std::current_exception();
        }
      }
      if (first) std::rethrow_exception(first);
    } else {
      std::vector<T> out;
      out.reserve(tasks_.size());
      for (auto& t : tasks_) {
        try {
          out.push_back(t.take_result());
        } catch (...) {
          if (!first) first = std::current_exception();
        }
      }
      if (first) std::rethrow_exception(first);
      return out;
    }
  }

 private:
  std::vector<Task<T>> tasks_;
};

template <class... Ts>
class [[nodiscard]] SelectAwaiter final : public BranchPoller {
 public:
  using Result = std::variant<ValueOrMonostate<Ts>...>;

  SelectAwaiter(std::source_location where, Task<Ts>... tasks)
      : BranchPoller(Mode::kAny, "select", where), tasks_(std::move(tasks)...) {}

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    return start(h, std::apply([](auto&... t) { return std::vector<std::coroutine_handle<>>{t.handle()...}; },
                               tasks_));
  }
  Result await_resume() {
    std::size_t w = winner();
    // Destroy the losers first, at their suspension points.
    destroy_losers(w, std::index_sequence_for<Ts...>{});
    return take_winner(w, std::index_sequence_for<Ts...>{});
  }

 private:
  template <std::size_t... I>
  void destroy_losers(std::size_t w, std::index_sequence<I...>) {
    ((I != w ? (void)(std::get<I>(tasks_) = Task<Ts>()) : (void)0), ...);
  }
  template <std::size_t I = 0>
  Result take_winner_at(std::size_t w) {
    if constexpr (I < sizeof...(Ts)) {
      if (I == w) return Result(std::in_place_index<I>, take_value(std::get<I>(tasks_)));
      return take_winner_at<I + 1>(w);
    } else {
      std::abort();  // unreachable: some branch won
    }
  }
  template <std::size_t... I>
  Result take_winner(std::size_t w, std::index_sequence<I...>) {
    return take_winner_at<0>(w);
  }

  std::tuple<Task<Ts>...> tasks_;
};

}  // namespace detail

template <class... Ts>
detail::JoinAwaiter<Ts...> join(Task<Ts>... tasks) {
  return detail::JoinAwaiter<Ts...>(std::source_location::current(), std::move(tasks)...);
}

template <class T>
detail::JoinAllAwaiter<T> join_all(std::vector<Task<T>> tasks,
                                   std::source_location where = std::source_location::current()) {
  return detail::JoinAllAwaiter<T>(where, std::move(tasks));
}

template <class... Ts>
  requires(sizeof...(Ts) >= 1)
detail::SelectAwaiter<Ts...> select(Task<Ts>... tasks) {
  return detail::SelectAwaiter<Ts...>(std::source_location::current(), std::move(tasks)...);
}

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_COMBINATORS_H_
