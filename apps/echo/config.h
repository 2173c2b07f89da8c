// The echo server's and client's command-line flags, parsed into plain structs.
//
//   absl::StatusOr<echo::ServerConfig> c = echo::parse_server_flags(argc, argv);
//   if (!c.ok()) { print c.status().message() and the usage; exit(2); }
//
// Thread-safety: values.
#ifndef KEEL_APPS_ECHO_CONFIG_H_
#define KEEL_APPS_ECHO_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace echo {

enum class Proto { kTcp, kUdp, kUnix };

std::string_view proto_name(Proto p);

struct ServerConfig {
  std::string listen = "127.0.0.1:7000";  // host:port, or a socket path for unix
  Proto proto = Proto::kTcp;
  std::size_t threads = 2;
  std::size_t max_connections = 10000;
  std::chrono::milliseconds shutdown_timeout{5000};
};

struct ClientConfig {
  std::string connect = "127.0.0.1:7000";
  Proto proto = Proto::kTcp;
  std::string message = "hello";
  int count = 1;
};

extern const char kServerUsage[];
extern const char kClientUsage[];

absl::StatusOr<ServerConfig> parse_server_flags(int argc, const char* const* argv);
absl::StatusOr<ClientConfig> parse_client_flags(int argc, const char* const* argv);

// "10s", "500ms", "2m", "1.5s".
absl::StatusOr<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace echo

#endif  // KEEL_APPS_ECHO_CONFIG_H_
