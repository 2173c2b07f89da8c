// The connection loop: one read, every complete request parsed and executed, one write.
//
// Why it looks the way it does (the performance targets are redis-server's own numbers):
//   - requests are parsed in place (argument views into the read buffer) and the read buffer,
//     the Request's argument vector and the reply string are reused for the connection's
//     life, so a GET or SET allocates nothing once the connection is warm;
//   - every reply of a read's worth of pipelined requests goes out in one write;
//   - reads and writes are awaited directly on the socket (no helper coroutine frame) unless
//     an idle timeout or a subscription needs a select;
//   - counters for INFO are added once per batch, to a per-thread stripe.

#include "apps/mini-redis/server/connection.h"

#include <sys/socket.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "apps/mini-redis/protocol/request.h"
#include "runtime/bytes/bytes.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"

namespace mini_redis {
namespace {

using keel::Task;

// Room below which the read buffer is grown (or compacted) before the next read: a read into
// a sliver of spare space would just cost another syscall.
constexpr std::size_t kMinReadRoom = kReadChunk / 4;

template <class Stream>
Task<absl::StatusOr<std::size_t>> read_some(Stream& conn, std::span<char> buf) {
  co_return co_await conn.read(buf);
}

Task<std::optional<keel::Bytes>> next_message(Mailbox& mailbox) {
  co_return co_await mailbox.receiver().recv();
}

Task<void> until_cancelled(keel::sync::CancellationToken token) { co_await token.cancelled(); }

// Moves every message waiting in the mailbox onto `out`; returns their bytes.
std::size_t drain_mailbox(Mailbox& mailbox, std::string& out) {
  std::size_t bytes = 0;
  for (;;) {
    auto r = mailbox.receiver().try_recv();
    if (!r.ok()) break;
    out.append(r.value().view());
    bytes += r.value().size();
  }
  return bytes;
}

// Replaces the replies from `mark` on (the `count` replies of a batch's writes and what
// followed them) by an error: the writes were applied but are not durable, so the client must
// not see OK (as Redis's MISCONF refusal after a failed fsync).
void replace_with_errors(std::string& out, std::size_t mark, std::size_t count,
                         const absl::Status& why) {
  out.resize(mark);
  resp::Reply reply(out);
  std::string text = aof_write_error(why);
  for (std::size_t i = 0; i < count; ++i) reply.error(text);
}

template <class Stream>
Task<void> connection_loop(Stream& conn, Session& s) {
  ServerState& st = s.state;
  keel::BytesMut in(kReadChunk);
  std::string out;
  out.reserve(kReadChunk);
  resp::Request req;
  const std::chrono::seconds idle = st.config.timeout;
  const bool fsync_always = st.aof != nullptr && st.aof->fsync_always();

  for (;;) {
    if (in.capacity() - in.size() < kMinReadRoom) in.reserve(kReadChunk);
    std::span<char> spare = in.spare();
    std::size_t mailbox_bytes = 0;  // bytes in `out` that came from the mailbox
    absl::StatusOr<std::size_t> n = std::size_t{0};

    if (s.in_pubsub()) {
      // Subscribed: wait for a request, a published message, or the kill (output limit).
      Mailbox& mailbox = s.subscriber->mailbox();
      Task<absl::StatusOr<std::size_t>> reading = read_some(conn, spare);
      Task<std::optional<keel::Bytes>> receiving = next_message(mailbox);
      Task<void> killing = until_cancelled(mailbox.killed());
      auto woke = co_await keel::select(std::move(reading), std::move(receiving),
                                        std::move(killing));
      if (woke.index() == 2) break;
      if (woke.index() == 1) {
        std::optional<keel::Bytes>& msg = std::get<1>(woke);
        if (!msg.has_value()) break;
        out.append(msg->view());
        mailbox_bytes = msg->size() + drain_mailbox(mailbox, out);
        Task<absl::Status> writing = keel::io::write_all(conn, std::string_view(out));
        Task<void> killed = until_cancelled(mailbox.killed());
        auto wrote = co_await keel::select(std::move(writing), std::move(killed));
        if (wrote.index() == 1 || !std::get<0>(wrote).ok()) break;
        mailbox.written(mailbox_bytes);
        st.stats.batches.add(0, 0, out.size());
        out.clear();
        continue;
      }
      n = std::move(std::get<0>(woke));
    } else if (idle.count() > 0) {
      Task<absl::StatusOr<std::size_t>> reading = read_some(conn, spare);
      n = co_await keel::timeout(idle, std::move(reading));
      // A timed-out client is closed without a word, as Redis does.
    } else {
      n = co_await conn.read(spare);
    }
    if (!n.ok() || *n == 0) break;
    in.commit(*n);

    // Execute every complete request in the buffer.
    std::size_t pos = 0;
    std::uint64_t seq_before = s.ctx.last_write_seq;
    std::size_t write_mark = std::string::npos;  // where the batch's first write reply starts
    std::size_t replies_since_mark = 0;
    resp::Reply reply(out);
    std::string_view buf = in.view();
    while (pos < buf.size() && !s.close_after_reply && !s.close_now) {
      resp::ParseResult r = resp::parse_request(buf.substr(pos), req);
      if (r.kind == resp::ParseResult::kIncomplete) break;
      if (r.kind == resp::ParseResult::kError) {
        reply.error(absl::StrCat("ERR Protocol error: ", r.error));
        s.close_after_reply = true;
        break;
      }
      // A RESP array's own bytes go with it, for the AOF (commands/commands.h's ExecContext).
      std::string_view request_resp =
          buf[pos] == '*' ? buf.substr(pos, r.consumed) : std::string_view();
      pos += r.consumed;
      if (req.args.empty()) continue;
      if (s.in_pubsub()) {
        // Messages published before this command go out before its reply.
        mailbox_bytes += drain_mailbox(s.subscriber->mailbox(), out);
      }
      std::size_t mark = out.size();
      std::uint64_t seq = s.ctx.last_write_seq;
      s.ctx.request_args = req.args;
      s.ctx.request_resp = request_resp;
      dispatch(s, req.args, reply);
      if (write_mark != std::string::npos) {
        ++replies_since_mark;
      } else if (s.ctx.last_write_seq != seq) {
        write_mark = mark;
        replies_since_mark = 1;
      }
    }
    // The request bytes the context points into go away with the advance.
    s.ctx.request_args = {};
    s.ctx.request_resp = {};
    in.advance(pos);

    if (fsync_always && s.ctx.last_write_seq != seq_before) {
      absl::Status durable = co_await st.aof->wait_durable(s.ctx.last_write_seq);
      if (!durable.ok() && write_mark != std::string::npos) {
        replace_with_errors(out, write_mark, replies_since_mark, durable);
      }
    }
    if (s.in_pubsub()) mailbox_bytes += drain_mailbox(s.subscriber->mailbox(), out);

    if (!out.empty()) {
      absl::Status wrote;
      if (s.subscriber != nullptr) {
        Task<absl::Status> writing = keel::io::write_all(conn, std::string_view(out));
        Task<void> killed = until_cancelled(s.subscriber->mailbox().killed());
        auto w = co_await keel::select(std::move(writing), std::move(killed));
        wrote = w.index() == 0 ? std::get<0>(w) : absl::CancelledError("killed");
        if (wrote.ok()) s.subscriber->mailbox().written(mailbox_bytes);
      } else {
        // The hot path: a plain loop over write(), no helper frame.
        std::size_t done = 0;
        while (done < out.size()) {
          absl::StatusOr<std::size_t> w =
              co_await conn.write(std::span<const char>(out.data() + done, out.size() - done));
          if (!w.ok() || *w == 0) {
            wrote = w.ok() ? absl::UnavailableError("write: no progress") : w.status();
            break;
          }
          done += *w;
        }
      }
      if (!wrote.ok()) break;
    }
    st.stats.batches.add(s.commands, *n, out.size());
    s.commands = 0;
    if (s.close_after_reply || s.close_now) {
      // The client reads the last reply, then end of stream.
      (void)conn.shutdown_now(SHUT_WR);
      break;
    }
    // Give back buffers a big request or reply grew, once they are idle.
    if (out.capacity() > kMaxIdleReplyBuffer) {
      std::string().swap(out);
      out.reserve(kReadChunk);
    } else {
      out.clear();
    }
    if (in.empty() && in.capacity() > kMaxIdleReadBuffer) in = keel::BytesMut(kReadChunk);
  }
}

template <class Stream>
Task<void> serve(Stream conn, std::shared_ptr<ServerState> state,
                 keel::sync::OwnedSemaphorePermit permit) {
  const int fd = conn.fd();
  if (!state->open.add(fd)) co_return;  // the server is shutting down
  // ORDERING: relaxed; a gauge for INFO.
  state->stats.connected_clients.fetch_add(1, std::memory_order_relaxed);
  {
    // ORDERING: relaxed; an id only needs to be unique.
    Session session(*state, state->next_client_id.fetch_add(1, std::memory_order_relaxed));
    co_await connection_loop(conn, session);
    // The session (and its subscriptions) go before the descriptor is closed.
  }
  state->open.remove(fd);
  // ORDERING: relaxed; a gauge for INFO.
  state->stats.connected_clients.fetch_sub(1, std::memory_order_relaxed);
  (void)permit;
}

}  // namespace

Session::Session(ServerState& s, std::uint64_t client_id)
    : state(s),
      ctx{s.db, s.aof.get(), 0},
      id(client_id),
      authenticated(s.config.requirepass.empty()) {}

keel::Task<void> serve_tcp_connection(keel::net::TcpStream conn,
                                      std::shared_ptr<ServerState> state,
                                      keel::sync::OwnedSemaphorePermit permit) {
  // Replies are small and each batch is one write: never wait to coalesce (Nagle).
  (void)conn.set_nodelay(true);
  return serve(std::move(conn), std::move(state), std::move(permit));
}

keel::Task<void> serve_unix_connection(keel::net::UnixStream conn,
                                       std::shared_ptr<ServerState> state,
                                       keel::sync::OwnedSemaphorePermit permit) {
  return serve(std::move(conn), std::move(state), std::move(permit));
}

}  // namespace mini_redis
