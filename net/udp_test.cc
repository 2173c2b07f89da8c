// Tests of UdpSocket on every scheduler flavour, over real loopback traffic: send_to and
// recv_from both ways, connected send/recv, truncation and peek_size, errors that name the
// operation and the peer, broadcast, multicast join/leave with traffic on the loopback
// interface, TTL options, and cancellation of a pending recv, recv_from and peek_from (a
// receive destroyed by keel::timeout on the paused clock loses no datagram).

#include "net/udp.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "net/datagram_test_util.h"
#include "net/error.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::net {
namespace {

using testing::parked_on;
using datagram_test::bytes;
using datagram_test::recv_from_string;
using datagram_test::recv_string;
using datagram_test::send_string_to;

using std::chrono::seconds;







// A loopback socket on a free port.
absl::StatusOr<UdpSocket> loopback() { return UdpSocket::bind("127.0.0.1:0"); }

// A port nobody listens on (bound, then released).
absl::StatusOr<SocketAddr> closed_port() {
  absl::StatusOr<UdpSocket> s = loopback();
  if (!s.ok()) return s.status();
  return s->local_addr();
}

KEEL_TEST(Udp, SendToRecvFromBothWays) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  absl::StatusOr<SocketAddr> a_addr = a->local_addr();
  absl::StatusOr<SocketAddr> b_addr = b->local_addr();
  KEEL_ASSERT_OK(a_addr);
  KEEL_ASSERT_OK(b_addr);
  EXPECT_NE(b_addr->port(), 0);
  EXPECT_EQ(b->name(), b_addr->to_string());

  KEEL_ASSERT_OK(co_await send_string_to(&*a, "hello", *b_addr));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "hello");
  EXPECT_EQ(got->second, *a_addr);

  KEEL_ASSERT_OK(co_await send_string_to(&*b, "world", got->second));
  absl::StatusOr<std::pair<std::string, SocketAddr>> back = co_await recv_from_string(&*a);
  KEEL_ASSERT_OK(back);
  EXPECT_EQ(back->first, "world");
  EXPECT_EQ(back->second, *b_addr);

  // An empty datagram is a datagram.
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "", *b_addr));
  absl::StatusOr<std::pair<std::string, SocketAddr>> empty = co_await recv_from_string(&*b);
  KEEL_ASSERT_OK(empty);
  EXPECT_EQ(empty->first, "");
}

// A receive that waits: the datagram arrives while it is parked.
KEEL_TEST(Udp, RecvFromWaitsForTheDatagram) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  JoinHandle<absl::StatusOr<std::pair<std::string, SocketAddr>>> h = spawn(recv_from_string(&*b));
  KEEL_ASSERT_TRUE(co_await parked_on(h, "UdpSocket::recv_from"));
  SocketAddr b_addr = *b->local_addr();
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "late", b_addr));
  absl::StatusOr<absl::StatusOr<std::pair<std::string, SocketAddr>>> got = co_await h;
  KEEL_ASSERT_OK(got);
  KEEL_ASSERT_OK(*got);
  EXPECT_EQ((*got)->first, "late");
  EXPECT_EQ((*got)->second, *a->local_addr());
}

KEEL_TEST(Udp, IPv6SendToRecvFrom) {
  absl::StatusOr<UdpSocket> a = UdpSocket::bind("[::1]:0");
  if (!a.ok()) {
    GTEST_LOG_(INFO) << "no IPv6 loopback here, skipped: " << a.status();
    co_return;
  }
  absl::StatusOr<UdpSocket> b = UdpSocket::bind("[::1]:0");
  KEEL_ASSERT_OK(b);
  SocketAddr b_addr = *b->local_addr();
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "six", b_addr));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "six");
  EXPECT_TRUE(got->second.is_ipv6());
  EXPECT_EQ(got->second, *a->local_addr());
  KEEL_ASSERT_OK(b->set_ttl(9));
  EXPECT_EQ(b->ttl().value_or(-1), 9);
}

KEEL_TEST(Udp, ConnectedSendRecvBothWays) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  absl::StatusOr<UdpSocket> stranger = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  KEEL_ASSERT_OK(stranger);
  SocketAddr a_addr = *a->local_addr();
  SocketAddr b_addr = *b->local_addr();

  absl::StatusOr<SocketAddr> none = a->peer_addr();
  EXPECT_EQ(errno_of(none.status()), ENOTCONN) << none.status();

  KEEL_ASSERT_OK(a->connect(b_addr));
  KEEL_ASSERT_OK(b->connect(a_addr));
  EXPECT_EQ(a->peer_addr().value_or(SocketAddr()), b_addr);
  EXPECT_EQ(a->name(), b_addr.to_string());

  // A connected socket ignores datagrams from anyone else.
  KEEL_ASSERT_OK(co_await send_string_to(&*stranger, "noise", a_addr));

  absl::StatusOr<std::size_t> n = co_await a->send(bytes("ping"));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);
  absl::StatusOr<std::string> got = co_await recv_string(&*b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(*got, "ping");

  n = co_await b->send(bytes("pong"));
  KEEL_ASSERT_OK(n);
  absl::StatusOr<std::string> back = co_await recv_string(&*a);
  KEEL_ASSERT_OK(back);
  EXPECT_EQ(*back, "pong");  // not "noise"
}

// A connected socket learns from ICMP that nobody listens, and says so on the next receive.
KEEL_TEST(Udp, ConnectedToAClosedPortIsRefused) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<SocketAddr> dead = closed_port();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(dead);
  KEEL_ASSERT_OK(a->connect(*dead));
  absl::StatusOr<std::size_t> n = co_await a->send(bytes("anyone?"));
  KEEL_ASSERT_OK(n);
  absl::StatusOr<std::string> got = co_await recv_string(&*a);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(errno_of(got.status()), ECONNREFUSED) << got.status();
  EXPECT_EQ(got.status().message(), "recv " + dead->to_string() + ": Connection refused");
}

KEEL_TEST(Udp, TruncatesALongDatagramToTheBuffer) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  SocketAddr b_addr = *b->local_addr();
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "0123456789", b_addr));
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "next", b_addr));

  absl::StatusOr<std::size_t> size = co_await b->peek_size();
  KEEL_ASSERT_OK(size);
  EXPECT_EQ(*size, 10u);
  char small[4];
  absl::StatusOr<std::pair<std::size_t, SocketAddr>> peeked =
      co_await b->peek_from(std::span<char>(small));
  KEEL_ASSERT_OK(peeked);
  EXPECT_EQ(peeked->first, 4u);
  absl::StatusOr<std::size_t> n = co_await b->recv(std::span<char>(small));
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 4u);  // the bytes that fit; the rest of the datagram is gone
  EXPECT_EQ(std::string_view(small, 4), "0123");
  absl::StatusOr<std::string> next = co_await recv_string(&*b);
  KEEL_ASSERT_OK(next);
  EXPECT_EQ(*next, "next");
}

KEEL_TEST(Udp, ErrorsNameTheOperationAndThePeer) {
  absl::StatusOr<UdpSocket> taken = loopback();
  KEEL_ASSERT_OK(taken);
  SocketAddr addr = *taken->local_addr();
  absl::StatusOr<UdpSocket> again = UdpSocket::bind(addr);
  EXPECT_EQ(errno_of(again.status()), EADDRINUSE);
  EXPECT_EQ(again.status().message(), "bind " + addr.to_string() + ": Address already in use");

  absl::StatusOr<UdpSocket> bad = UdpSocket::bind("127.0.0.1");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();

  // An IPv6 destination from an IPv4 socket.
  absl::StatusOr<SocketAddr> v6 = SocketAddr::parse("[::1]:9");
  KEEL_ASSERT_OK(v6);
  absl::StatusOr<std::size_t> n = co_await taken->send_to(bytes("x"), *v6);
  EXPECT_FALSE(n.ok());
  EXPECT_TRUE(absl::StartsWith(n.status().message(), "send_to [::1]:9: ")) << n.status();
  EXPECT_NE(errno_of(n.status()), 0);
}

KEEL_TEST(Udp, Broadcast) {
  absl::StatusOr<UdpSocket> rx = UdpSocket::bind("0.0.0.0:0");
  absl::StatusOr<UdpSocket> tx = loopback();
  KEEL_ASSERT_OK(rx);
  KEEL_ASSERT_OK(tx);
  EXPECT_EQ(tx->broadcast().value_or(true), false);
  // The loopback network's broadcast address.
  SocketAddr to = SocketAddr::v4(0x7fffffff, rx->local_addr()->port());
  absl::StatusOr<std::size_t> refused = co_await tx->send_to(bytes("all"), to);
  KEEL_ASSERT_OK(tx->set_broadcast(true));
  EXPECT_EQ(tx->broadcast().value_or(false), true);
  if (errno_of(refused.status()) != EACCES) {
    GTEST_LOG_(INFO) << "127.255.255.255 is not a broadcast address here; traffic skipped: "
                     << refused.status();
    co_return;
  }
  EXPECT_EQ(refused.status().message(),
            "send_to 127.255.255.255:" + std::to_string(to.port()) + ": Permission denied");
  KEEL_ASSERT_OK(co_await send_string_to(&*tx, "all", to));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*rx);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "all");
  EXPECT_EQ(got->second.port(), tx->local_addr()->port());
  KEEL_ASSERT_OK(tx->set_broadcast(false));
  EXPECT_EQ(tx->broadcast().value_or(true), false);
}

KEEL_TEST(Udp, MulticastJoinSendLeave) {
  constexpr std::string_view kGroup = "239.255.77.1";
  absl::StatusOr<UdpSocket> rx = UdpSocket::bind("0.0.0.0:0");
  absl::StatusOr<UdpSocket> tx = loopback();
  KEEL_ASSERT_OK(rx);
  KEEL_ASSERT_OK(tx);
  std::uint16_t port = rx->local_addr()->port();

  absl::Status bad = rx->join_multicast_v4("239.x", "127.0.0.1");
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_TRUE(absl::StrContains(bad.message(), "\"239.x\"")) << bad;

  absl::Status joined = rx->join_multicast_v4(kGroup, "127.0.0.1");
  if (!joined.ok()) {
    // A sandbox without multicast on lo: the error must still be clear.
    EXPECT_TRUE(absl::StartsWith(joined.message(), "join_multicast_v4 239.255.77.1 on 127.0.0.1: "))
        << joined;
    GTEST_LOG_(INFO) << "no multicast on the loopback interface; traffic skipped: " << joined;
    co_return;
  }
  // Joining twice is an error that names the group.
  absl::Status twice = rx->join_multicast_v4(kGroup, "127.0.0.1");
  EXPECT_EQ(errno_of(twice), EADDRINUSE) << twice;

  KEEL_ASSERT_OK(tx->set_multicast_if_v4("127.0.0.1"));
  KEEL_ASSERT_OK(tx->set_multicast_loop_v4(true));
  EXPECT_EQ(tx->multicast_loop_v4().value_or(false), true);
  KEEL_ASSERT_OK(tx->set_multicast_ttl_v4(1));
  SocketAddr group = *SocketAddr::parse(std::string(kGroup) + ":" + std::to_string(port));
  KEEL_ASSERT_OK(co_await send_string_to(&*tx, "to the group", group));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*rx);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "to the group");
  EXPECT_EQ(got->second, *tx->local_addr());

  KEEL_ASSERT_OK(rx->leave_multicast_v4(kGroup, "127.0.0.1"));
  absl::Status left_twice = rx->leave_multicast_v4(kGroup, "127.0.0.1");
  EXPECT_FALSE(left_twice.ok());
  EXPECT_TRUE(
      absl::StartsWith(left_twice.message(), "leave_multicast_v4 239.255.77.1 on 127.0.0.1: "))
      << left_twice;

  // After leaving, group traffic no longer arrives; a unicast datagram sent after it shows
  // that nothing was queued in between.
  KEEL_ASSERT_OK(co_await send_string_to(&*tx, "gone", group));
  SocketAddr direct = SocketAddr::loopback_v4(port);
  KEEL_ASSERT_OK(co_await send_string_to(&*tx, "direct", direct));
  absl::StatusOr<std::pair<std::string, SocketAddr>> after = co_await recv_from_string(&*rx);
  KEEL_ASSERT_OK(after);
  EXPECT_EQ(after->first, "direct");
}

KEEL_TEST(Udp, MulticastV6JoinLeave) {
  absl::StatusOr<UdpSocket> rx = UdpSocket::bind("[::]:0");
  if (!rx.ok()) {
    GTEST_LOG_(INFO) << "no IPv6 here, skipped: " << rx.status();
    co_return;
  }
  absl::Status bad = rx->join_multicast_v6("ff02::x", 0);
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  absl::Status joined = rx->join_multicast_v6("ff02::1:3", 1);  // interface 1: lo
  if (!joined.ok()) {
    EXPECT_TRUE(absl::StartsWith(joined.message(), "join_multicast_v6 ff02::1:3 on interface 1: "))
        << joined;
    GTEST_LOG_(INFO) << "no IPv6 multicast on lo; skipped: " << joined;
    co_return;
  }
  KEEL_ASSERT_OK(rx->set_multicast_loop_v6(true));
  KEEL_ASSERT_OK(rx->leave_multicast_v6("ff02::1:3", 1));
}

KEEL_TEST(Udp, TtlOptions) {
  absl::StatusOr<UdpSocket> s = loopback();
  KEEL_ASSERT_OK(s);
  KEEL_ASSERT_OK(s->set_ttl(7));
  EXPECT_EQ(s->ttl().value_or(-1), 7);
  KEEL_ASSERT_OK(s->set_multicast_ttl_v4(3));
  EXPECT_EQ(s->multicast_ttl_v4().value_or(-1), 3);
  KEEL_ASSERT_OK(s->set_multicast_loop_v4(false));
  EXPECT_EQ(s->multicast_loop_v4().value_or(true), false);
  absl::Status bad = s->set_ttl(1000);
  EXPECT_EQ(errno_of(bad), EINVAL) << bad;
  EXPECT_TRUE(absl::StartsWith(bad.message(), "setsockopt IP_TTL 127.0.0.1:")) << bad;
}

// Cancellation: receives destroyed mid-wait by keel::timeout on the paused clock take no
// datagram; the next receive gets each one.
KEEL_TEST(Udp, CancelledReceivesLoseNothing) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  SocketAddr b_addr = *b->local_addr();
  time::pause();
  Task<absl::StatusOr<std::string>> r1 = recv_string(&*b);
  absl::StatusOr<std::string> t1 = co_await timeout(seconds(5), std::move(r1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t1.status())) << t1.status();
  Task<absl::StatusOr<std::pair<std::string, SocketAddr>>> r2 = recv_from_string(&*b);
  absl::StatusOr<std::pair<std::string, SocketAddr>> t2 =
      co_await timeout(seconds(5), std::move(r2));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t2.status())) << t2.status();
  Task<absl::StatusOr<std::pair<std::string, SocketAddr>>> r3 = recv_from_string(&*b, /*peek=*/true);
  absl::StatusOr<std::pair<std::string, SocketAddr>> t3 =
      co_await timeout(seconds(5), std::move(r3));
  EXPECT_TRUE(absl::IsDeadlineExceeded(t3.status())) << t3.status();
  time::resume();

  KEEL_ASSERT_OK(co_await send_string_to(&*a, "one", b_addr));
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "two", b_addr));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "one");
  absl::StatusOr<std::string> got2 = co_await recv_string(&*b);
  KEEL_ASSERT_OK(got2);
  EXPECT_EQ(*got2, "two");
}

// A receive parked on the socket and then aborted: the datagram sent after it goes to the
// next receive.
KEEL_TEST(Udp, AbortedParkedRecvFromLosesNothing) {
  absl::StatusOr<UdpSocket> a = loopback();
  absl::StatusOr<UdpSocket> b = loopback();
  KEEL_ASSERT_OK(a);
  KEEL_ASSERT_OK(b);
  JoinHandle<absl::StatusOr<std::pair<std::string, SocketAddr>>> h = spawn(recv_from_string(&*b));
  KEEL_ASSERT_TRUE(co_await parked_on(h, "UdpSocket::recv_from"));
  h.abort();
  absl::StatusOr<absl::StatusOr<std::pair<std::string, SocketAddr>>> aborted = co_await h;
  EXPECT_FALSE(aborted.ok());
  SocketAddr b_addr = *b->local_addr();
  KEEL_ASSERT_OK(co_await send_string_to(&*a, "kept", b_addr));
  absl::StatusOr<std::pair<std::string, SocketAddr>> got = co_await recv_from_string(&*b);
  KEEL_ASSERT_OK(got);
  EXPECT_EQ(got->first, "kept");
}

}  // namespace
}  // namespace keel::net
