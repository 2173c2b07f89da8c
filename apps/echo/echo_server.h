// The echo server as a library: run_server() serves one listener until `shutdown` is
// cancelled, then shuts down gracefully. server.cc wires it to flags and signals; tests run it
// in-process.
//
//   keel::sync::CancellationToken stop;
//   keel::JoinHandle<absl::Status> h = keel::spawn(echo::run_server(config, stop, on_listening));
//   ...
//   stop.cancel();                       // what SIGINT/SIGTERM do in server.cc
//   absl::Status done = *co_await h;
//
// Thread-safety: run_server may run on any runtime flavour; `shutdown` may be cancelled from
// any thread.
#ifndef KEEL_APPS_ECHO_ECHO_SERVER_H_
#define KEEL_APPS_ECHO_ECHO_SERVER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "apps/echo/config.h"
#include "runtime/sync/cancellation_token.h"
#include "runtime/task/task.h"

namespace echo {

// Called once the listener is bound, with its address ("127.0.0.1:7000", or the unix path).
using OnListening = std::function<void(const std::string& address)>;

// Serves `config.proto` on `config.listen` until `shutdown` is cancelled. Stream protocols:
// stop accepting, let open connections finish for up to config.shutdown_timeout, then close
// them. UDP: stop receiving. Returns an error only when the listener cannot be set up or fails.
keel::Task<absl::Status> run_server(ServerConfig config, keel::sync::CancellationToken shutdown,
                                    OnListening on_listening);

}  // namespace echo

#endif  // KEEL_APPS_ECHO_ECHO_SERVER_H_
