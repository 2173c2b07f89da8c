#include "runtime/task/frame_allocator.h"

#include <cstdint>
#include <new>

namespace keel::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxCachedSize = 2048;
constexpr std::size_t kClasses = kMaxCachedSize / kGranule;
// Bytes one thread keeps per size class. 1 MiB a class bounds the cache (a thread only fills
// the classes its tasks use) while letting a burst of thousands of short tasks recycle fully.
constexpr std::size_t kMaxCachedBytesPerClass = std::size_t{1} << 20;

struct FreeBlock {
  FreeBlock* next;
};

struct ClassCache {
  FreeBlock* head = nullptr;
  std::size_t count = 0;
};

struct ThreadCache {
  ClassCache classes[kClasses];
  bool alive = true;
  ~ThreadCache() {
    alive = false;
    for (std::size_t c = 0; c < kClasses; ++c) {
      for (FreeBlock* b = classes[c].head; b != nullptr;) {
        FreeBlock* next = b->next;
        ::operator delete(b);
        b = next;
      }
      classes[c] = {};
    }
  }
};

}  // namespace

#if defined(KEEL_SANITIZER)

void* frame_allocate(std::size_t size) { return ::operator new(size); }
void frame_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }

#else

namespace {
thread_local ThreadCache cache;
std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }
}  // namespace

void* frame_allocate(std::size_t size) {
  if (size == 0 || size > kMaxCachedSize) return ::operator new(size);
  std::size_t c = class_of(size);
  ClassCache& cls = cache.classes[c];
  if (FreeBlock* b = cls.head) {
    cls.head = b->next;
    --cls.count;
    return b;
  }
  // Allocate the class's full size so that any block of the class can serve any request.
  return ::operator new((c + 1) * kGranule);
}

void frame_deallocate(void* p, std::size_t size) noexcept {
  if (size == 0 || size > kMaxCachedSize || !cache.alive) {
    ::operator delete(p);
    return;
  }
  std::size_t c = class_of(size);
  ClassCache& cls = cache.classes[c];
  if (cls.count * (c + 1) * kGranule >= kMaxCachedBytesPerClass) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = cls.head;
  cls.head = b;
  ++cls.count;
}

#endif

}  // namespace keel::detail
