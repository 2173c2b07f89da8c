// The README's "taste of each family", compiled and run: if an API changes, this test (and
// so the README) must change with it. Each block matches a block of the README.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "runtime/codec/framed.h"
#include "runtime/codec/length_delimited.h"
#include "runtime/fs/fs.h"
#include "runtime/io/buf_reader.h"
#include "runtime/io/duplex.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/process/process.h"
#include "runtime/signal/signal.h"
#include "runtime/stream/adapters.h"
#include "runtime/sync/cancellation_token.h"
#include "runtime/sync/mpsc.h"
#include "runtime/sync/mutex.h"
#include "runtime/test/keel_test.h"

namespace {

keel::Task<void> produce(keel::sync::mpsc::Sender<std::string> tx) {
  for (const char* m : {"a", "b"}) EXPECT_TRUE((co_await tx.send(m)).ok());
}

keel::Task<int> work() { co_return 7; }

keel::Stream<int> numbers(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

KEEL_TEST(ReadmeTaste, Sync) {
  keel::sync::Mutex<std::map<std::string, int>> counts;
  {
    auto guard = co_await counts.lock();
    ++(*guard)["hits"];
  }
  EXPECT_EQ(counts.get_mut()["hits"], 1);

  auto [tx, rx] = keel::sync::mpsc::channel<std::string>(1024);
  auto producer = keel::spawn(produce(std::move(tx)));  // Senders are copyable
  std::vector<std::string> got;
  while (std::optional<std::string> msg = co_await rx.recv()) got.push_back(*msg);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
  KEEL_ASSERT_OK(co_await producer);

  keel::sync::CancellationToken shutdown;
  std::optional<int> r = co_await shutdown.run_until_cancelled(work());
  EXPECT_EQ(r, 7);
}

KEEL_TEST(ReadmeTaste, IoCodecStreams) {
  auto [a, b] = keel::io::duplex(64 * 1024);
  KEEL_ASSERT_OK(co_await keel::io::write_all(b, std::string_view("one\r\ntwo\n")));
  KEEL_ASSERT_OK(co_await keel::io::shutdown(b));
  keel::io::BufReader reader(std::move(a));
  auto lines = keel::io::lines(reader);  // Stream<absl::StatusOr<std::string>>
  std::vector<std::string> seen;
  while (auto line = co_await lines.next()) {
    if (!line->ok()) break;
    seen.push_back(**line);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two"}));

  auto [c, d] = keel::io::duplex(64 * 1024);
  keel::codec::Framed conn(std::move(c), keel::codec::LengthDelimitedCodec());
  keel::codec::Framed peer(std::move(d), keel::codec::LengthDelimitedCodec());
  absl::Status sent = co_await conn.send(std::string_view("hello"));
  KEEL_ASSERT_OK(sent);
  std::optional<absl::StatusOr<keel::BytesMut>> frame = co_await peer.next();
  KEEL_ASSERT_TRUE(frame.has_value() && frame->ok());
  EXPECT_EQ((*frame)->view(), "hello");

  auto evens = keel::stream::filter(numbers(10), [](int x) { return x % 2 == 0; });
  std::vector<int> v = co_await keel::stream::collect(std::move(evens));
  EXPECT_EQ(v, (std::vector<int>{0, 2, 4, 6, 8}));
}

KEEL_TEST(ReadmeTaste, FilesAndProcesses) {
  absl::StatusOr<std::string> text = co_await keel::fs::read_to_string("/proc/sys/kernel/ostype");
  KEEL_ASSERT_OK(text.status());
  EXPECT_EQ(*text, "Linux\n");
  absl::StatusOr<keel::process::Output> out =
      co_await keel::process::Command("uname").arg("-s").output();
  KEEL_ASSERT_OK(out.status());
  EXPECT_TRUE(out->status.success());
  EXPECT_EQ(out->stdout, "Linux\n");
}

// Sends SIGINT to the process once ctrl_c() listens.
keel::Task<void> interrupt_when_listening(std::size_t before) {
  EXPECT_TRUE(co_await keel::testing::eventually(
      [before] { return keel::signal::detail::listener_count(SIGINT) > before; }));
  ::kill(::getpid(), SIGINT);
}

KEEL_TEST(ReadmeTaste, CtrlC) {
  std::size_t before = keel::signal::detail::listener_count(SIGINT);
  auto interrupt = interrupt_when_listening(before);
  auto interrupted = keel::signal::ctrl_c();
  auto [status, sent] = co_await keel::join(std::move(interrupted), std::move(interrupt));
  (void)sent;
  KEEL_ASSERT_OK(status);
}

// As a program would, early in main: SIGINT is blocked in every thread the runtimes start, so
// only the signalfd sees it.
const bool kSignalsBlocked = keel::signal::block_for_listening({SIGINT}).ok();

}  // namespace
