// Tests of SocketAddr parsing and printing, and of lookup_host on literals, names and bad
// strings.

#include "net/socket_addr.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::net {
namespace {

TEST(SocketAddr, ParsesAndPrintsIpv4) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse("127.0.0.1:6379");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_ipv4());
  EXPECT_EQ(a->port(), 6379);
  EXPECT_EQ(a->ip_string(), "127.0.0.1");
  EXPECT_EQ(a->to_string(), "127.0.0.1:6379");
  EXPECT_EQ(*a, SocketAddr::loopback_v4(6379));
  EXPECT_EQ(SocketAddr::parse("0.0.0.0:0")->to_string(), "0.0.0.0:0");
  EXPECT_EQ(SocketAddr::parse("255.255.255.255:65535")->port(), 65535);
}

TEST(SocketAddr, ParsesAndPrintsIpv6) {
  absl::StatusOr<SocketAddr> a = SocketAddr::parse("[::1]:80");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_ipv6());
  EXPECT_EQ(a->port(), 80);
  EXPECT_EQ(a->to_string(), "[::1]:80");
  EXPECT_EQ(SocketAddr::parse("[2001:db8:0:0:0:0:0:1]:443")->to_string(), "[2001:db8::1]:443");
  absl::StatusOr<SocketAddr> scoped = SocketAddr::parse("[fe80::1%1]:22");
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  EXPECT_EQ(scoped->to_string(), "[fe80::1%1]:22");
  EXPECT_FALSE(*scoped == *SocketAddr::parse("[fe80::1]:22"));
}

TEST(SocketAddr, RejectsBadStringsClearly) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "1.2.3:80", "256.0.0.1:80", "::1:80", "[::1]",
                          "[::1:80", "[::1]80", "[zz::1]:80", "localhost:80", ":80", "[]:80"}) {
    absl::StatusOr<SocketAddr> a = SocketAddr::parse(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(a.status())) << a.status();
    EXPECT_TRUE(absl::StrContains(a.status().message(), absl::StrCat("\"", bad, "\"")))
        << a.status();
  }
  EXPECT_TRUE(absl::StrContains(SocketAddr::parse("127.0.0.1:99999").status().message(),
                                "port must be a number"));
  EXPECT_TRUE(absl::StrContains(SocketAddr::parse("::1:80").status().message(), "brackets"));
}

TEST(SocketAddr, SetPortAndFromSockaddr) {
  SocketAddr a = *SocketAddr::parse("[::1]:1");
  a.set_port(9000);
  EXPECT_EQ(a.to_string(), "[::1]:9000");
  absl::StatusOr<SocketAddr> b = SocketAddr::from_sockaddr(a.as_sockaddr(), a.sockaddr_len());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, a);
  sockaddr bad{};
  bad.sa_family = AF_UNIX;
  EXPECT_FALSE(SocketAddr::from_sockaddr(&bad, sizeof bad).ok());
}

KEEL_TEST(LookupHost, LiteralsNeedNoResolver) {
  absl::StatusOr<std::vector<SocketAddr>> r = co_await lookup_host("10.1.2.3:8080");
  KEEL_ASSERT_OK(r);
  KEEL_ASSERT_TRUE(r->size() == 1u);
  EXPECT_EQ((*r)[0].to_string(), "10.1.2.3:8080");
  r = co_await lookup_host("[::1]:53");
  KEEL_ASSERT_OK(r);
  EXPECT_EQ((*r)[0].to_string(), "[::1]:53");
}

KEEL_TEST(LookupHost, ResolvesLocalhost) {
  absl::StatusOr<std::vector<SocketAddr>> r = co_await lookup_host("localhost:6379");
  KEEL_ASSERT_OK(r);
  KEEL_ASSERT_TRUE(!r->empty());
  bool loopback = std::any_of(r->begin(), r->end(), [](const SocketAddr& a) {
    return a == SocketAddr::loopback_v4(6379) || a == *SocketAddr::parse("[::1]:6379");
  });
  EXPECT_TRUE(loopback) << (*r)[0];
  for (const SocketAddr& a : *r) EXPECT_EQ(a.port(), 6379);
}

KEEL_TEST(LookupHost, BadStringsFail) {
  absl::StatusOr<std::vector<SocketAddr>> r = co_await lookup_host("localhost");
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  r = co_await lookup_host("localhost:http");
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

}  // namespace
}  // namespace keel::net
