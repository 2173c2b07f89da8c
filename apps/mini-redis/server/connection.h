// One client connection of mini-redis: the read → parse → execute → write loop, and the
// connection commands (PING, AUTH, SELECT, COMMAND, CONFIG, INFO, CLIENT, pub/sub, SHUTDOWN...).
//
//   keel::spawn(serve_tcp_connection(std::move(stream), state, std::move(permit)));
//
// The loop reads into a BytesMut (kReadChunk at a time, growing for big requests), parses every
// complete request in it (zero-copy: arguments view the read buffer), executes each, appends
// every reply to one string and writes it with one write. With appendfsync always it first
// waits until the batch's writes are durable. A protocol error gets "-ERR Protocol error: ..."
// and closes this connection only. A subscribed connection also waits on its mailbox and
// writes published messages as they come.
//
// dispatch() is the synchronous core (one request in, exactly one reply out, except SHUTDOWN,
// which closes without a reply as Redis does): tests drive it without sockets.
//
// Thread-safety: a Session belongs to its connection's task; dispatch may run on any number
// of sessions at once over one ServerState.
#ifndef KEEL_APPS_MINI_REDIS_SERVER_CONNECTION_H_
#define KEEL_APPS_MINI_REDIS_SERVER_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "apps/mini-redis/commands/commands.h"
#include "apps/mini-redis/protocol/reply.h"
#include "apps/mini-redis/server/pubsub.h"
#include "apps/mini-redis/server/server_state.h"
#include "net/tcp_stream.h"
#include "net/unix_stream.h"
#include "runtime/sync/semaphore.h"
#include "runtime/task/task.h"

namespace mini_redis {

// Bytes a connection asks the kernel for per read: a window of pipelined requests
// (redis-benchmark -P 16 SET batches are ~1 KiB; 16 KiB holds any realistic pipeline, as
// Redis's own PROTO_IOBUF_LEN). Bigger requests grow the buffer as they arrive.
inline constexpr std::size_t kReadChunk = 16 * 1024;
// A read buffer grown past this (a big bulk) is given back once it is empty, so an idle
// connection never pins megabytes.
inline constexpr std::size_t kMaxIdleReadBuffer = 256 * 1024;
// A reply string grown past this is released after its write, for the same reason.
inline constexpr std::size_t kMaxIdleReplyBuffer = 256 * 1024;

// Per-connection state the commands see.
struct Session {
  Session(ServerState& s, std::uint64_t client_id);

  ServerState& state;
  ExecContext ctx;
  std::uint64_t id;
  std::string name;                         // CLIENT SETNAME
  bool authenticated;                       // true when no requirepass
  std::unique_ptr<Subscriber> subscriber;   // set while subscribed to anything
  bool close_after_reply = false;           // QUIT, protocol error
  bool close_now = false;                   // SHUTDOWN: close without a reply
  std::uint64_t commands = 0;               // executed this batch (flushed into stats)

  bool in_pubsub() const { return subscriber != nullptr && subscriber->count() > 0; }
};

// Redis's refusal of a write the append-only file cannot take: "MISCONF Errors writing to the
// AOF file: <why>" (`why`: the writer's error, or that the file is closed).
std::string aof_write_error(const absl::Status& why);

// Runs one request (args not empty) for `session`, appending its reply. With the append-only
// file stopped (a write or fsync failed), write commands and PING get aof_write_error() and
// are not executed, as Redis refuses them.
void dispatch(Session& session, std::span<const std::string_view> args, resp::Reply& reply);

// Serves a connection until the client leaves, errs, is killed (pub/sub limit), idles out, or
// the server shuts down. Holds `permit` (the --maxclients slot) until it ends.
keel::Task<void> serve_tcp_connection(keel::net::TcpStream conn, std::shared_ptr<ServerState> state,
                                      keel::sync::OwnedSemaphorePermit permit);
keel::Task<void> serve_unix_connection(keel::net::UnixStream conn,
                                       std::shared_ptr<ServerState> state,
                                       keel::sync::OwnedSemaphorePermit permit);

// INFO's text for `section` ("" or "default" or "all": every section), as Redis formats it.
std::string render_info(ServerState& state, std::string_view section);

}  // namespace mini_redis

#endif  // KEEL_APPS_MINI_REDIS_SERVER_CONNECTION_H_
