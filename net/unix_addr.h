// UnixAddr: the address of a Unix-domain socket: a filesystem path, a Linux abstract name, or
// unnamed (an unbound socket, either end of a pair()).
//
//   absl::StatusOr<keel::net::UnixAddr> a = keel::net::UnixAddr::parse("/run/app.sock");
//   absl::StatusOr<keel::net::UnixAddr> b = keel::net::UnixAddr::parse("@app");   // abstract
//   b->is_abstract();   // true
//   b->to_string();     // "@app"
//
// The convention, used by every Unix socket call that takes a string: a leading '@' names an
// abstract address (Linux only: it lives in the network namespace, not the filesystem, and
// vanishes with the last socket bound to it; no file to remove). Anything else is a path.
// The '@' is printed back by to_string(), as ss(8) and systemd print them. A file whose name
// really starts with '@' is reached as "./@name". The abstract name is taken as raw bytes (it
// may hold any byte, even '\0'; only the '@' is stripped) and is not padded.
//
// Limits: sun_path holds 108 bytes. A path may have at most kMaxUnixPathLength bytes (one is
// kept for its terminating NUL), an abstract name the same (one byte is the leading NUL). A
// longer string, an empty one, or a path containing '\0' is an INVALID_ARGUMENT error that
// quotes it.
//
// Thread-safety: a value type.
#ifndef KEEL_NET_UNIX_ADDR_H_
#define KEEL_NET_UNIX_ADDR_H_

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::net {

// sizeof(sockaddr_un::sun_path) minus the byte for the path's NUL (or the abstract marker).
inline constexpr std::size_t kMaxUnixPathLength = sizeof(sockaddr_un::sun_path) - 1;

class UnixAddr {
 public:
  // Unnamed.
  UnixAddr();

  // "@name": abstract; anything else: a filesystem path.
  static absl::StatusOr<UnixAddr> parse(std::string_view text);
  // A filesystem path, taken literally (a leading '@' is part of the file name).
  static absl::StatusOr<UnixAddr> from_path(std::string_view path);
  // An abstract name, without the '@' (or the kernel's leading '\0').
  static absl::StatusOr<UnixAddr> abstract(std::string_view name);
  // From a kernel address (AF_UNIX); a length without a path is unnamed.
  static absl::StatusOr<UnixAddr> from_sockaddr(const sockaddr* sa, socklen_t len);

  bool is_unnamed() const { return kind() == Kind::kUnnamed; }
  bool is_abstract() const { return kind() == Kind::kAbstract; }
  bool is_pathname() const { return kind() == Kind::kPath; }
  // The filesystem path; empty unless is_pathname().
  std::string_view path() const;
  // The abstract name without the '@'; empty unless is_abstract().
  std::string_view abstract_name() const;
  // The path, "@name", or "(unnamed)".
  std::string to_string() const;

  const sockaddr* as_sockaddr() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t sockaddr_len() const { return len_; }

  friend bool operator==(const UnixAddr& a, const UnixAddr& b);
  friend std::ostream& operator<<(std::ostream& os, const UnixAddr& a) {
    return os << a.to_string();
  }

 private:
  enum class Kind { kUnnamed, kPath, kAbstract };
  Kind kind() const;

  sockaddr_un addr_;
  socklen_t len_;  // as the kernel takes it: offsetof(sun_path) + the bytes used
};

}  // namespace keel::net

#endif  // KEEL_NET_UNIX_ADDR_H_
