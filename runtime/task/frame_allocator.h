// Recycling allocator for coroutine frames and task cells.
//
// Every spawned task costs a cell and at least one coroutine frame. On this class of machine a
// first-touch page fault costs ~6 µs and malloc's bookkeeping is a large share of a spawn, so
// small blocks (16-byte size classes up to 1 KiB) come from per-thread free lists refilled
// from a central list in batches, and fresh blocks are carved from 2 MiB chunks faulted in
// with one syscall. Larger blocks go to operator new.
//
// Trade-off: memory given to the small-block lists is reused but never returned to the OS,
// so a process keeps its peak of live tasks' frames (as tcmalloc-style allocators do).
//
// Sanitizer builds (KEEL_SANITIZER) bypass all of this so that ASan sees every
// use-after-free.
//
// Thread-safety: a block may be freed on any thread; it joins that thread's cache.
#ifndef KEEL_RUNTIME_TASK_FRAME_ALLOCATOR_H_
#define KEEL_RUNTIME_TASK_FRAME_ALLOCATOR_H_

#include <cstddef>

namespace keel::detail {

void* frame_allocate(std::size_t size);
void frame_deallocate(void* p, std::size_t size) noexcept;

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TASK_FRAME_ALLOCATOR_H_
