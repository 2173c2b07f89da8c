// Awaitable<A> and await_result_t<A>: what `co_await a` accepts and what it gives.
//
// Generic code (the io concepts, stream adapters, codecs) names "anything awaitable that
// yields T" with these, so an API may hand back a Task, a hand-written awaiter or any type with
// `operator co_await`.
//
//   template <class A> requires AwaitableOf<A, absl::Status>
//   Task<void> check(A a) { absl::Status s = co_await std::move(a); ... }
//
// Thread-safety: compile-time only.
#ifndef KEEL_RUNTIME_TASK_AWAITABLE_H_
#define KEEL_RUNTIME_TASK_AWAITABLE_H_

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace keel {
namespace detail {

template <class A>
concept HasMemberCoAwait = requires(A&& a) { std::forward<A>(a).operator co_await(); };
template <class A>
concept HasFreeCoAwait = requires(A&& a) { operator co_await(std::forward<A>(a)); };
template <class A>
concept IsAwaiter = requires(A& a, std::coroutine_handle<> h) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_suspend(h);
  a.await_resume();
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (HasMemberCoAwait<A>) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (HasFreeCoAwait<A>) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

}  // namespace detail

// A type that `co_await` accepts when passed as an rvalue (how Keel's APIs are awaited).
template <class A>
concept Awaitable = detail::HasMemberCoAwait<A> || detail::HasFreeCoAwait<A> ||
                    detail::IsAwaiter<std::remove_reference_t<A>>;

// The type of `co_await std::declval<A>()`.
template <class A>
  requires Awaitable<A>
using await_result_t = decltype(std::declval<std::remove_reference_t<decltype(
                                    detail::get_awaiter(std::declval<A>()))>&>()
                                    .await_resume());

// An awaitable whose result converts to T.
template <class A, class T>
concept AwaitableOf = Awaitable<A> && std::convertible_to<await_result_t<A>, T>;

}  // namespace keel

#endif  // KEEL_RUNTIME_TASK_AWAITABLE_H_
