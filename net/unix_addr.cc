#include "net/unix_addr.h"

#include <cstddef>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace keel::net {
namespace {

constexpr socklen_t kPathOffset = offsetof(sockaddr_un, sun_path);

absl::Status bad_address(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad unix address \"", absl::CHexEscape(std::string(text)), "\": ", std::string(why)));
}

}  // namespace

UnixAddr::UnixAddr() : addr_{}, len_(sizeof(sa_family_t)) { addr_.sun_family = AF_UNIX; }

absl::StatusOr<UnixAddr> UnixAddr::parse(std::string_view text) {
  if (!text.empty() && text.front() == '@') return abstract(text.substr(1));
  return from_path(text);
}

absl::StatusOr<UnixAddr> UnixAddr::from_path(std::string_view path) {
  if (path.empty()) return bad_address(path, "empty path");
  if (path.find('\0') != std::string_view::npos) return bad_address(path, "NUL byte in path");
  if (path.size() > kMaxUnixPathLength) {
    return bad_address(path, absl::StrCat(path.size(), " bytes, at most ", kMaxUnixPathLength,
                                          " fit in sun_path"));
  }
  UnixAddr a;
  std::memcpy(a.addr_.sun_path, path.data(), path.size());
  a.addr_.sun_path[path.size()] = '\0';
  a.len_ = static_cast<socklen_t>(kPathOffset + path.size() + 1);
  return a;
}

absl::StatusOr<UnixAddr> UnixAddr::abstract(std::string_view name) {
  if (name.size() > kMaxUnixPathLength) {
    return bad_address(absl::StrCat("@", std::string(name)),
                       absl::StrCat(name.size(), " bytes, at most ", kMaxUnixPathLength,
                                    " fit in an abstract name"));
  }
  UnixAddr a;
  a.addr_.sun_path[0] = '\0';
  std::memcpy(a.addr_.sun_path + 1, name.data(), name.size());
  a.len_ = static_cast<socklen_t>(kPathOffset + 1 + name.size());
  return a;
}

absl::StatusOr<UnixAddr> UnixAddr::from_sockaddr(const sockaddr* sa, socklen_t len) {
  UnixAddr a;
  if (len <= kPathOffset) return a;  // unnamed (the kernel may report a length of 0)
  if (sa->sa_family != AF_UNIX) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a unix address (family ", sa->sa_family, ")"));
  }
  if (len > sizeof a.addr_) len = sizeof a.addr_;
  std::memcpy(&a.addr_, sa, len);
  a.len_ = len;
  if (a.addr_.sun_path[0] != '\0') {
    // A path: the kernel's length may or may not count the NUL; normalize to ours.
    std::size_t max = len - kPathOffset;
    std::size_t n = ::strnlen(a.addr_.sun_path, max);
    if (n == sizeof a.addr_.sun_path) n = sizeof a.addr_.sun_path - 1;  // unterminated: cut
    a.addr_.sun_path[n] = '\0';
    a.len_ = static_cast<socklen_t>(kPathOffset + n + 1);
  }
  return a;
}

UnixAddr::Kind UnixAddr::kind() const {
  if (len_ <= kPathOffset) return Kind::kUnnamed;
  return addr_.sun_path[0] == '\0' ? Kind::kAbstract : Kind::kPath;
}

std::string_view UnixAddr::path() const {
  if (!is_pathname()) return {};
  return std::string_view(addr_.sun_path);
}

std::string_view UnixAddr::abstract_name() const {
  if (!is_abstract()) return {};
  return std::string_view(addr_.sun_path + 1, len_ - kPathOffset - 1);
}

std::string UnixAddr::to_string() const {
  switch (kind()) {
    case Kind::kUnnamed:
      return "(unnamed)";
    case Kind::kPath:
      return std::string(path());
    case Kind::kAbstract:
      return absl::StrCat("@", std::string(abstract_name()));
  }
  return "(unnamed)";
}

bool operator==(const UnixAddr& a, const UnixAddr& b) {
  return a.kind() == b.kind() && a.path() == b.path() && a.abstract_name() == b.abstract_name();
}

}  // namespace keel::net
