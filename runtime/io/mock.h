// io::MockBuilder / io::MockStream: a scripted AsyncRead + AsyncWrite stream for tests, like
// tokio-test's `io::Builder`. Test-only (//runtime:io_mock, which links GoogleTest).
//
//   keel::io::MockStream mock = keel::io::MockBuilder()
//                                   .read("PING\r\n")        // the code under test reads this
//                                   .write("+PONG\r\n")      // ...must write exactly this
//                                   .wait(std::chrono::seconds(5))  // then 5 s pass
//                                   .read_error(absl::UnavailableError("reset"))
//                                   .build();
//   co_await serve_one_connection(mock);   // works with any AsyncRead + AsyncWrite
//
// The script is consumed in order:
//   - read(data): reads return `data` (over several reads if the caller's buffer is smaller).
//   - write(data): writes must match `data` byte for byte; a write may cover it in several
//     pieces, and one that runs past its end is accepted up to there (a short write, which
//     write_all completes against the next item).
//   - read_error(s) / write_error(s): the next read / write fails with `s`.
//   - wait(d): the next read or write first sleeps `d` (on the runtime's clock: instant with
//     the paused clock).
//   - when the script is exhausted, reads give end of stream (0).
// A read that meets a write item waits until a write consumes it (so a reader task may run
// ahead of the writer). A write that meets a read item, a write that does not match, and a
// write after the end of the script fail at once with FAILED_PRECONDITION naming what was
// expected and what came ("mock write: expected \"+PONG\\r\\n\", got \"-ERR\\r\\n\""), and
// record a failure. flush() and shutdown() succeed and are not scripted.
//
// When the MockStream is destroyed, recorded failures (unless clear_failures() acknowledged
// them) and unconsumed script items are reported with ADD_FAILURE(), so a test whose code
// wrote too little, too much or the wrong bytes fails even if it ignored the error.
//
// Cancellation: a cancelled read or write transfers nothing (the script advances only in the
// step that completes an operation); a cancelled wait(d) leaves the item in place (the next
// operation waits the full `d` again).
//
// Thread-safety: one reader and one writer may use the stream at once, from different threads
// (the script is under a mutex), so it can be split(). Movable; not copyable.
#ifndef KEEL_RUNTIME_IO_MOCK_H_
#define KEEL_RUNTIME_IO_MOCK_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/io/ready.h"
#include "runtime/task/task.h"
#include "runtime/time/instant.h"

namespace keel::io {

namespace detail {
struct MockAction {
  enum class Kind { kRead, kWrite, kReadError, kWriteError, kWait };
  Kind kind;
  std::string data;  // kRead, kWrite
  absl::Status status;  // kReadError, kWriteError
  Duration wait{};      // kWait
};
class MockState;
}  // namespace detail

class MockStream {
 public:
  MockStream(MockStream&&) noexcept;
  MockStream& operator=(MockStream&&) noexcept;
  MockStream(const MockStream&) = delete;
  MockStream& operator=(const MockStream&) = delete;
  // Reports unacknowledged failures and unconsumed script items with ADD_FAILURE().
  ~MockStream();

  Task<absl::StatusOr<std::size_t>> read(std::span<char> buf);
  Task<absl::StatusOr<std::size_t>> write(std::span<const char> buf);
  Ready<absl::Status> flush() { return Ready<absl::Status>(absl::OkStatus()); }
  Ready<absl::Status> shutdown() { return Ready<absl::Status>(absl::OkStatus()); }

  // The failures recorded so far (mismatched or unexpected writes), oldest first.
  std::vector<std::string> failures() const;
  // Acknowledges the recorded failures (for tests that expect one): the destructor then does
  // not report them.
  void clear_failures();
  // Script items not consumed yet.
  std::size_t remaining() const;

 private:
  friend class MockBuilder;
  explicit MockStream(std::deque<detail::MockAction> actions);

  std::unique_ptr<detail::MockState> state_;
};

class MockBuilder {
 public:
  MockBuilder& read(std::string_view data);
  MockBuilder& write(std::string_view data);
  MockBuilder& read_error(absl::Status s);
  MockBuilder& write_error(absl::Status s);
  MockBuilder& wait(Duration d);
  MockStream build();

 private:
  std::deque<detail::MockAction> actions_;
};

}  // namespace keel::io

#endif  // KEEL_RUNTIME_IO_MOCK_H_
