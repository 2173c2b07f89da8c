// Keel's runtime in one include: tasks, spawning, runtimes, timers, combinators, AsyncFd.
//
//   #include "runtime/keel.h"
//
//   keel::Task<void> serve() {
//     auto h = keel::spawn(worker());
//     co_await keel::sleep(std::chrono::milliseconds(10));
//     absl::Status s = co_await h;
//   }
//   KEEL_MAIN(...)   // see main.h
#ifndef KEEL_RUNTIME_KEEL_H_
#define KEEL_RUNTIME_KEEL_H_

#include "runtime/io/async_fd.h"
#include "runtime/runtime.h"
#include "runtime/task/combinators.h"
#include "runtime/task/join_handle.h"
#include "runtime/task/task.h"
#include "runtime/task/task_local.h"
#include "runtime/task/yield.h"
#include "runtime/time/instant.h"
#include "runtime/time/sleep.h"
#include "runtime/time/timeout.h"

#endif  // KEEL_RUNTIME_KEEL_H_
