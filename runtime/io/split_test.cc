// Tests of io::split / io::unsplit on every flavour: the halves work in different tasks (and,
// on multi_thread, on different threads at once), the stream lives until both halves are gone,
// and unsplit gives the stream back (aborting on halves of different splits).

#include "runtime/io/split.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "runtime/io/duplex.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::io {
namespace {

static_assert(AsyncRead<ReadHalf<DuplexStream>> && !AsyncWrite<ReadHalf<DuplexStream>>);
static_assert(AsyncWrite<WriteHalf<DuplexStream>> && !AsyncRead<WriteHalf<DuplexStream>>);

template <class T>
T flatten(absl::StatusOr<T> r) {
  if (!r.ok()) return T(r.status());
  return std::move(*r);
}

Task<absl::Status> echo_server(DuplexStream s) {
  char buf[64];
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await s.read(std::span<char>(buf));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return co_await s.shutdown();
    absl::Status w = co_await write_all(s, std::string_view(buf, *n));
    if (!w.ok()) co_return w;
  }
}

Task<absl::StatusOr<std::string>> read_all_half(ReadHalf<DuplexStream> rd) {
  absl::StatusOr<std::string> s = co_await read_to_string(rd);
  co_return s;
}

Task<absl::Status> write_all_half(WriteHalf<DuplexStream> wr, std::size_t n) {
  std::string data(n, '\0');
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>('a' + i % 26);
  absl::Status s = co_await write_all(wr, data);
  if (!s.ok()) co_return s;
  co_return co_await wr.shutdown();
}

KEEL_TEST(Split, HalvesInDifferentTasks) {
  constexpr std::size_t kBytes = 200 * 1024;
  auto [client, server] = duplex(128);
  auto hs = spawn(echo_server(std::move(server)));
  auto [rd, wr] = split(std::move(client));
  EXPECT_TRUE(rd.is_pair_of(wr));
  auto hr = spawn(read_all_half(std::move(rd)));
  auto hw = spawn(write_all_half(std::move(wr), kBytes));
  absl::Status ws = flatten(co_await std::move(hw));
  KEEL_ASSERT_OK(ws);
  absl::StatusOr<std::string> got = flatten(co_await std::move(hr));
  KEEL_ASSERT_OK(got);
  KEEL_ASSERT_TRUE(got->size() == kBytes);
  for (std::size_t i = 0; i < kBytes; ++i) {
    if ((*got)[i] != static_cast<char>('a' + i % 26)) {
      ADD_FAILURE() << "byte " << i << " differs";
      break;
    }
  }
  absl::Status ss = flatten(co_await std::move(hs));
  KEEL_ASSERT_OK(ss);
}

KEEL_TEST(Split, UnsplitGivesTheStreamBack) {
  auto [a, b] = duplex(16);
  auto [rd, wr] = split(std::move(a));
  KEEL_ASSERT_OK(co_await write_all(wr, "via half"));
  DuplexStream again = unsplit(std::move(rd), std::move(wr));
  KEEL_ASSERT_OK(co_await write_all(again, "!"));
  KEEL_ASSERT_OK(co_await again.shutdown());
  absl::StatusOr<std::string> got = co_await read_to_string(b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "via half!");
}

KEEL_TEST(Split, StreamLivesUntilBothHalvesAreGone) {
  auto [a, b] = duplex(16);
  auto [rd, wr] = split(std::move(a));
  { ReadHalf<DuplexStream> gone = std::move(rd); }
  // The write half still works: the stream is alive.
  KEEL_ASSERT_OK(co_await write_all(wr, "still here"));
  { WriteHalf<DuplexStream> gone = std::move(wr); }
  // Now the stream is dropped: the peer reads what was sent, then end of stream.
  absl::StatusOr<std::string> got = co_await read_to_string(b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "still here");
}

TEST(SplitDeathTest, UnsplitOfDifferentPairsAborts) {
  auto body = [] {
    auto [a, b] = duplex(4);
    auto [c, d] = duplex(4);
    auto [ra, wa] = split(std::move(a));
    auto [rc, wc] = split(std::move(c));
    (void)unsplit(std::move(ra), std::move(wc));
  };
  EXPECT_DEATH(body(), "unsplit: the halves do not come from the same split");
}

}  // namespace
}  // namespace keel::io
