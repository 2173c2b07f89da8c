// Tests of io::MockStream on every flavour: scripted reads (partial, in order, end of stream),
// matching writes, mismatched and unexpected writes (error status naming both sides, recorded
// failure, reported by the destructor), read and write errors, wait() on the paused clock, a
// read waiting for a scripted write done by another task, cancellation of that wait, and the
// destructor's report of unconsumed items.

#include "runtime/io/mock.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/io/split.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

template <class T>
T flatten(absl::StatusOr<T> r) {
  if (!r.ok()) return T(r.status());
  return std::move(*r);
}

template <class R>
Task<absl::StatusOr<std::string>> read_some(R& r, std::size_t n) {
  std::string buf(n, '\0');
  absl::StatusOr<std::size_t> got = co_await r.read(std::span<char>(buf));
  if (!got.ok()) co_return got.status();
  buf.resize(*got);
  co_return buf;
}

KEEL_TEST(Mock, ReadsInOrderWithPartialReads) {
  MockStream m = MockBuilder().read("hello").read("world").build();
  absl::StatusOr<std::string> s = co_await read_some(m, 3);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(*s, "hel");
  s = co_await read_some(m, 100);
  EXPECT_EQ(*s, "lo");  // one item per read
  s = co_await read_some(m, 100);
  EXPECT_EQ(*s, "world");
  s = co_await read_some(m, 100);
  KEEL_ASSERT_OK(s);
  EXPECT_EQ(*s, "");  // end of the script: end of stream
  EXPECT_EQ(m.remaining(), 0u);
}

KEEL_TEST(Mock, WritesMustMatch) {
  MockStream m = MockBuilder().write("+PONG\r\n").write("+OK\r\n").build();
  KEEL_ASSERT_OK(co_await write_all(m, "+PO"));
  KEEL_ASSERT_OK(co_await write_all(m, "NG\r\n+OK\r\n"));  // across two items (write_all loops)
  EXPECT_TRUE(m.failures().empty());
  EXPECT_EQ(m.remaining(), 0u);
}

KEEL_TEST(Mock, MismatchedWriteFailsAndIsRecorded) {
  MockStream m = MockBuilder().write("+PONG\r\n").build();
  absl::Status s = co_await write_all(m, "-ERR\r\n");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), R"(mock write: expected "+PONG\r\n", got "-ERR\r\n")"))
      << s;
  KEEL_ASSERT_TRUE(m.failures().size() == 1u);
  m.clear_failures();
  // The item was not consumed: the right bytes still match it.
  KEEL_ASSERT_OK(co_await write_all(m, "+PONG\r\n"));
}

KEEL_TEST(Mock, UnexpectedWritesFail) {
  MockStream m = MockBuilder().read("request").build();
  absl::Status s = co_await write_all(m, "too early");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), R"(the script expects read "request" next)")) << s;
  absl::StatusOr<std::string> r = co_await read_some(m, 100);
  EXPECT_EQ(*r, "request");
  s = co_await write_all(m, "after the end");
  EXPECT_TRUE(absl::StrContains(s.message(), "the script has ended")) << s;
  EXPECT_EQ(m.failures().size(), 2u);
  m.clear_failures();
}

KEEL_TEST(Mock, ScriptedErrors) {
  MockStream m = MockBuilder()
                     .read_error(absl::UnavailableError("read mock: reset"))
                     .write_error(absl::AbortedError("write mock: broken"))
                     .build();
  absl::StatusOr<std::string> r = co_await read_some(m, 10);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  absl::Status s = co_await write_all(m, "x");
  EXPECT_TRUE(absl::IsAborted(s)) << s;
  EXPECT_EQ(m.remaining(), 0u);
}

KEEL_TEST(Mock, WaitUsesThePausedClock) {
  time::pause();
  MockStream m = MockBuilder().wait(std::chrono::hours(1)).read("late").build();
  Instant start = Instant::now();
  absl::StatusOr<std::string> r = co_await read_some(m, 10);
  KEEL_ASSERT_OK(r);
  EXPECT_EQ(*r, "late");
  EXPECT_GE(Instant::now().duration_since(start), std::chrono::hours(1));  // virtual time
}

template <class R>
Task<absl::StatusOr<std::string>> read_some_owned(R r, std::size_t n) {
  co_return co_await read_some(r, n);
}

KEEL_TEST(Mock, ReadWaitsForTheScriptedWrite) {
  MockStream m = MockBuilder().write("question").read("answer").build();
  auto [rd, wr] = split(std::move(m));
  auto h = spawn(read_some_owned(std::move(rd), 100));
  co_await ::keel::testing::settle(20);
  EXPECT_FALSE(h.is_finished());  // the write has not happened: the read cannot finish
  KEEL_ASSERT_OK(co_await write_all(wr, "question"));
  absl::StatusOr<std::string> r = flatten(co_await std::move(h));
  KEEL_ASSERT_OK(r);
  EXPECT_EQ(*r, "answer");
}

KEEL_TEST(Mock, CancelledReadConsumesNothing) {
  time::pause();
  MockStream m = MockBuilder().write("q").read("a").build();
  // The read waits for the write item and is cancelled.
  auto r = co_await timeout(std::chrono::milliseconds(5), read_some(m, 10));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  KEEL_ASSERT_OK(co_await write_all(m, "q"));
  absl::StatusOr<std::string> got = co_await read_some(m, 10);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "a");
  // A read cancelled during a wait item: the item stays, the next read waits it again.
  MockStream w = MockBuilder().wait(std::chrono::seconds(10)).read("z").build();
  auto r2 = co_await timeout(std::chrono::seconds(5), read_some(w, 10));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r2.status())) << r2.status();
  EXPECT_EQ(w.remaining(), 2u);
  got = co_await read_some(w, 10);
  EXPECT_EQ(*got, "z");
}

KEEL_TEST(Mock, DestructorReportsLeftoversAndFailures) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    {
      MockStream m = MockBuilder().read("unread").write("unwritten").build();
    }
    {
      MockStream m = MockBuilder().write("abc").build();
      absl::Status s = co_await write_all(m, "xyz");
      EXPECT_FALSE(s.ok());
    }
  }
  KEEL_ASSERT_TRUE(results.size() == 2);
  EXPECT_TRUE(absl::StrContains(results.GetTestPartResult(0).message(),
                                R"(2 unconsumed script item(s); the next is: read "unread")"))
      << results.GetTestPartResult(0).message();
  EXPECT_TRUE(absl::StrContains(results.GetTestPartResult(1).message(),
                                R"(expected "abc", got "xyz")"))
      << results.GetTestPartResult(1).message();
}

}  // namespace
}  // namespace keel::io
