// Recycling allocator for coroutine frames and task cells.
//
// Every spawned task costs a cell and at least one coroutine frame. On this class of machine a
// first-touch page fault costs ~6 µs, so handing freed blocks straight back to the next
// allocation of the same size (instead of letting malloc trim and re-fault them) decides the
// spawn rate. Blocks are cached per thread in size classes of 16 bytes up to 2 KiB; larger
// blocks go to operator new directly.
//
// Sanitizer builds (KEEL_SANITIZER) bypass the cache so that ASan sees every use-after-free.
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
