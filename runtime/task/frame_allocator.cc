#include "runtime/task/frame_allocator.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <vector>

#include "runtime/detail/concurrency.h"

namespace keel::detail {

#if defined(KEEL_SANITIZER)

// Sanitizer builds: every block comes from and returns to operator new/delete, so that ASan
// sees each use-after-free and TSan each unsynchronized reuse.
void* frame_allocate(std::size_t size) { return ::operator new(size); }
void frame_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }

#else

namespace {

// Blocks are 16-byte size classes up to 1 KiB (task cells and typical coroutine frames);
// larger requests go to operator new.
constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxSmall = 1024;
constexpr std::size_t kClasses = kMaxSmall / kGranule;
// Fresh blocks are carved from 2 MiB chunks that are faulted in with one madvise call instead
// of one page fault per 4 KiB (a fault costs ~6 µs on this class of VM, which otherwise
// dominates spawning a million tasks).
constexpr std::size_t kChunk = std::size_t{2} << 20;
// A thread keeps up to kLocalMax free blocks per class and hands kBatch at a time to (or
// takes them from) a central list, so that a thread that only frees (a worker completing
// tasks another thread spawned) feeds the thread that only allocates, and neither grows
// without bound. 2048 blocks is 32 KiB-2 MiB per class; a batch of 512 amortizes the central
// lock to one acquisition per 512 operations.
constexpr std::size_t kLocalMax = 2048;
constexpr std::size_t kBatch = 512;

struct FreeBlock {
  FreeBlock* next;
};

struct Central {
  Mutex mu;
  std::vector<FreeBlock*> batches[kClasses];  // each a chain of kBatch blocks
};

Central& central() {
  // Never destroyed: threads may free blocks during process exit.
  static Central* c = new Central;
  return *c;
}

struct ClassCache {
  FreeBlock* head = nullptr;
  std::size_t count = 0;
};

char* new_chunk() {
  void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#if defined(MADV_POPULATE_WRITE)
  // Fault the whole chunk in with one syscall rather than 512 separate page faults. (Asking
  // for transparent huge pages instead made spawn times swing 5x on this VM: zeroing fresh
  // huge pages there is slow and erratic.) On kernels before 5.14 this fails harmlessly and
  // pages fault in on first touch.
  madvise(p, kChunk, MADV_POPULATE_WRITE);
#endif
  return static_cast<char*>(p);
}

class ThreadCache {
 public:
  ~ThreadCache() {
    alive_ = false;
    // Give every cached block to the central lists (in chains of up to kBatch; a short
    // chain is fine, its length is not relied on).
    Central& c = central();
    LockGuard lock(c.mu);
    for (std::size_t k = 0; k < kClasses; ++k) {
      while (classes_[k].head != nullptr) {
        FreeBlock* first = classes_[k].head;
        FreeBlock* last = first;
        for (std::size_t i = 1; i < kBatch && last->next != nullptr; ++i) last = last->next;
        classes_[k].head = last->next;
        last->next = nullptr;
        c.batches[k].push_back(first);
      }
    }
  }

  bool alive() const { return alive_; }

  void* allocate(std::size_t k) {
    ClassCache& cls = classes_[k];
    if (cls.head == nullptr) refill(k);
    if (FreeBlock* b = cls.head) {
      cls.head = b->next;
      --cls.count;
      return b;
    }
    return carve((k + 1) * kGranule);
  }

  void deallocate(void* p, std::size_t k) {
    ClassCache& cls = classes_[k];
    auto* b = static_cast<FreeBlock*>(p);
    b->next = cls.head;
    cls.head = b;
    if (++cls.count >= kLocalMax) spill(k);
  }

 private:
  void refill(std::size_t k) {
    Central& c = central();
    LockGuard lock(c.mu);
    if (c.batches[k].empty()) return;
    FreeBlock* chain = c.batches[k].back();
    c.batches[k].pop_back();
    std::size_t n = 0;
    for (FreeBlock* b = chain; b != nullptr; b = b->next) ++n;
    classes_[k].head = chain;
    classes_[k].count = n;
  }

  void spill(std::size_t k) {
    ClassCache& cls = classes_[k];
    FreeBlock* first = cls.head;
    FreeBlock* last = first;
    for (std::size_t i = 1; i < kBatch; ++i) last = last->next;
    cls.head = last->next;
    cls.count -= kBatch;
    last->next = nullptr;
    Central& c = central();
    LockGuard lock(c.mu);
    c.batches[k].push_back(first);
  }

  void* carve(std::size_t size) {
    if (static_cast<std::size_t>(bump_end_ - bump_) < size) {
      bump_ = new_chunk();
      bump_end_ = bump_ + kChunk;
    }
    void* p = bump_;
    bump_ += size;
    return p;
  }

  ClassCache classes_[kClasses];
  char* bump_ = nullptr;
  char* bump_end_ = nullptr;
  bool alive_ = true;
};

thread_local ThreadCache cache;

std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* frame_allocate(std::size_t size) {
  if (size == 0 || size > kMaxSmall || !cache.alive()) return ::operator new(size);
  return cache.allocate(class_of(size));
}

void frame_deallocate(void* p, std::size_t size) noexcept {
  if (size == 0 || size > kMaxSmall) {
    ::operator delete(p);
    return;
  }
  if (!cache.alive()) {
    // This thread is exiting: hand the block to the central list as a chain of one.
    auto* b = static_cast<FreeBlock*>(p);
    b->next = nullptr;
    Central& c = central();
    LockGuard lock(c.mu);
    c.batches[class_of(size)].push_back(b);
    return;
  }
  cache.deallocate(p, class_of(size));
}

#endif

}  // namespace keel::detail
