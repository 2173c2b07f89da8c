// Streams over keel::sync channels: from_mpsc is just from_receiver (adapters.h); this file adds
// the two receivers whose recv() does not give std::optional<T>.
//
//   auto [tx, rx] = keel::sync::broadcast::channel<Event>(64);
//   keel::Stream<absl::StatusOr<Event>> events = keel::stream::from_broadcast(std::move(rx));
//   while (auto e = co_await events.next()) {
//     if (!e->ok()) { log(e->status()); continue; }  // lagged: values were skipped; go on
//     handle(**e);
//   }
//
//   auto [cfg_tx, cfg_rx] = keel::sync::watch::channel<Config>(initial);
//   keel::Stream<Config> configs = keel::stream::from_watch(std::move(cfg_rx));
//   // yields the current value first, then each new value (changes in between coalesce)
//
// - from_broadcast(rx): yields every value the receiver gets; when it fell behind, one
//   DATA_LOSS status naming how many values were skipped (then it continues from the oldest
//   value still kept, as tokio-stream's BroadcastStream); ends when the channel is closed
//   (every sender gone and every value seen).
// - from_watch(rx): yields a copy of the current value at once (as tokio-stream's
//   WatchStream), then a copy of the latest value after each change; ends when the sender is
//   gone and the last value was yielded.
// The streams own their receivers. next() is cancellation-safe (see stream.h; the channels'
// own awaiters consume nothing when destroyed mid-wait).
//
// Thread-safety: as Stream: one task at a time.
#ifndef KEEL_RUNTIME_STREAM_SYNC_STREAMS_H_
#define KEEL_RUNTIME_STREAM_SYNC_STREAMS_H_

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/stream/adapters.h"
#include "runtime/stream/stream.h"
#include "runtime/sync/broadcast.h"
#include "runtime/sync/watch.h"

namespace keel::stream {

template <class T>
Stream<absl::StatusOr<T>> from_broadcast(sync::broadcast::Receiver<T> rx) {
  for (;;) {
    sync::broadcast::RecvResult<T> r = co_await rx.recv();
    if (r.ok()) {
      co_yield absl::StatusOr<T>(r.take_value());
    } else if (r.is_lagged()) {
      co_yield absl::StatusOr<T>(absl::DataLossError(absl::StrCat(
          "stream::from_broadcast: the receiver lagged; ", r.lagged(), " values were skipped")));
    } else {
      co_return;  // closed
    }
  }
}

template <class T>
Stream<T> from_watch(sync::watch::Receiver<T> rx) {
  {
    T current = *rx.borrow_and_update();
    co_yield std::move(current);
  }
  for (;;) {
    absl::Status changed = co_await rx.changed();
    if (!changed.ok()) co_return;
    T latest = *rx.borrow_and_update();
    co_yield std::move(latest);
  }
}

}  // namespace keel::stream

#endif  // KEEL_RUNTIME_STREAM_SYNC_STREAMS_H_
