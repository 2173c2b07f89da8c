// Responder: a scripted RESP server for the client tests, so that they do not depend on the
// real server. It accepts one connection (TCP on 127.0.0.1:0, or a Unix socket) and plays a
// list of steps: expect a request (parsed with resp::parse_request), answer with raw bytes;
// or push bytes unasked (pub/sub); hold an answer until the test releases it; close.
//
//   std::shared_ptr<Responder> r = *Responder::start_tcp({
//       {.expect = {"GET", "k"}, .reply = "$1\r\nv\r\n"},
//   });
//   absl::StatusOr<Client> c = co_await Client::connect(r->address());
//
// After the last step it reads (and records) until the client closes.
// Scripts are built in plain functions, not inside coroutine bodies (GCC 12 mishandles braced
// initializer lists there).
// Thread-safety: release(), requests() and wait_received() from any task or thread.
#ifndef KEEL_APPS_MINI_REDIS_CLIENT_TEST_RESPONDER_H_
#define KEEL_APPS_MINI_REDIS_CLIENT_TEST_RESPONDER_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "apps/mini-redis/protocol/request.h"
#include "gtest/gtest.h"
#include "net/net.h"
#include "runtime/io/util.h"
#include "runtime/keel.h"
#include "runtime/sync/notify.h"

namespace mini_redis::testing {

struct Step {
  std::vector<std::string> expect = {};  // the request to expect; with push, none is read
  std::string reply = {};                // raw bytes sent in answer (or pushed)
  bool push = false;                     // send `reply` without waiting for a request
  bool hold_reads = false;  // wait for release() before reading this step's request
  bool hold = false;        // send `reply`, then wait for release(), then `later`
  std::string later = {};
  bool close = false;  // close the connection instead of answering
};

class Responder {
 public:
  static absl::StatusOr<std::shared_ptr<Responder>> start_tcp(std::vector<Step> steps) {
    absl::StatusOr<keel::net::TcpListener> l = keel::net::TcpListener::bind("127.0.0.1:0");
    if (!l.ok()) return l.status();
    absl::StatusOr<keel::net::SocketAddr> a = l->local_addr();
    if (!a.ok()) return a.status();
    auto r = std::make_shared<Responder>();
    r->steps_ = std::move(steps);
    r->address_ = a->to_string();
    r->task_ = keel::spawn(serve_tcp(std::move(*l), r));
    return r;
  }

  static absl::StatusOr<std::shared_ptr<Responder>> start_unix(std::string path,
                                                              std::vector<Step> steps) {
    absl::StatusOr<keel::net::UnixListener> l = keel::net::UnixListener::bind(path);
    if (!l.ok()) return l.status();
    auto r = std::make_shared<Responder>();
    r->steps_ = std::move(steps);
    r->address_ = path;
    r->task_ = keel::spawn(serve_unix(std::move(*l), r));
    return r;
  }

  const std::string& address() const { return address_; }
  void release() { release_.notify_one(); }

  std::vector<std::vector<std::string>> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  // Completes once `n` requests have been received.
  keel::Task<void> wait_received(std::size_t n) {
    while (true) {
      auto changed = progress_.notified();
      {
        std::lock_guard lock(mu_);
        if (requests_.size() >= n) co_return;
      }
      co_await changed;
    }
  }

 private:
  static keel::Task<void> serve_tcp(keel::net::TcpListener l, std::shared_ptr<Responder> r) {
    auto accepted = co_await l.accept();
    if (!accepted.ok()) {
      ADD_FAILURE() << accepted.status();
      co_return;
    }
    keel::net::TcpStream s = std::move(accepted->first);
    keel::Task<void> t = serve(s, r);
    co_await std::move(t);
  }

  static keel::Task<void> serve_unix(keel::net::UnixListener l, std::shared_ptr<Responder> r) {
    auto accepted = co_await l.accept();
    if (!accepted.ok()) {
      ADD_FAILURE() << accepted.status();
      co_return;
    }
    keel::net::UnixStream s = std::move(accepted->first);
    keel::Task<void> t = serve(s, r);
    co_await std::move(t);
  }

  // Reads until one request is complete; false at end of stream or on an error.
  template <class S>
  static keel::Task<bool> next_request(S& s, std::string& buf, std::vector<std::string>& out) {
    resp::Request req;
    while (true) {
      resp::ParseResult p = resp::parse_request(buf, req);
      if (p.kind == resp::ParseResult::kError) {
        ADD_FAILURE() << "responder: bad request: " << p.error;
        co_return false;
      }
      if (p.kind == resp::ParseResult::kComplete) {
        out.assign(req.args.begin(), req.args.end());
        buf.erase(0, p.consumed);
        co_return true;
      }
      char chunk[64 * 1024];
      absl::StatusOr<std::size_t> n = co_await s.read(std::span<char>(chunk));
      if (!n.ok() || *n == 0) co_return false;
      buf.append(chunk, *n);
    }
  }

  template <class S>
  static keel::Task<void> serve(S& s, std::shared_ptr<Responder> r) {
    std::string buf;
    for (const Step& step : r->steps_) {
      if (step.hold_reads) co_await r->release_.notified();
      if (!step.push) {
        std::vector<std::string> args;
        keel::Task<bool> t = next_request(s, buf, args);
        bool got = co_await std::move(t);
        if (!got) co_return;
        r->record(args);
        EXPECT_EQ(args, step.expect);
      }
      if (step.close) co_return;
      if (!step.reply.empty()) {
        absl::Status st = co_await keel::io::write_all(s, std::string_view(step.reply));
        if (!st.ok()) co_return;
      }
      if (step.hold) {
        co_await r->release_.notified();
        absl::Status st = co_await keel::io::write_all(s, std::string_view(step.later));
        if (!st.ok()) co_return;
      }
    }
    while (true) {
      std::vector<std::string> args;
      keel::Task<bool> t = next_request(s, buf, args);
      bool got = co_await std::move(t);
      if (!got) co_return;
      r->record(args);
    }
  }

  void record(std::vector<std::string> args) {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(std::move(args));
    }
    progress_.notify_waiters();
  }

  std::vector<Step> steps_;
  std::string address_;
  keel::JoinHandle<void> task_;
  keel::sync::Notify release_;
  keel::sync::Notify progress_;
  mutable std::mutex mu_;
  std::vector<std::vector<std::string>> requests_;
};

}  // namespace mini_redis::testing

#endif  // KEEL_APPS_MINI_REDIS_CLIENT_TEST_RESPONDER_H_
