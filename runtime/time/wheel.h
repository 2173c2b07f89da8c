// A hierarchical timing wheel: 6 levels of 64 slots at 1 ms resolution.
//
// Level 0 slots are single ticks (1 ms); each higher level's slot spans 64 slots of the level
// below, so six levels cover 64^6 ms (about 2.2 years); later deadlines are clamped to the
// last slot and simply re-cascade. Entries are intrusive (the awaiter owns its entry), so
// insert and remove are O(1) with no allocation. Advancing finds the next occupied slot from a
// 64-bit occupancy mask per level; an expired higher-level slot cascades its entries into
// lower levels, and a level-0 slot fires them.
//
// Invariant: every entry in the wheel has deadline > elapsed(); entry (level L, slot s)
// satisfies: deadline and elapsed agree on all bits above level L, and s is the deadline's
// level-L digit.
//
// Thread-safety: none; the time driver guards its wheel with a mutex.
#ifndef KEEL_RUNTIME_TIME_WHEEL_H_
#define KEEL_RUNTIME_TIME_WHEEL_H_

#include <cstdint>
#include <optional>

#include "runtime/detail/intrusive_list.h"

namespace keel::detail {

struct TimerEntry {
  std::uint64_t deadline = 0;  // tick
  TimerEntry* prev = nullptr;
  TimerEntry* next = nullptr;
  std::uint8_t level = 0;
  std::uint8_t slot = 0;
  bool in_wheel = false;
};

class Wheel {
 public:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr std::uint64_t kMaxDuration = (std::uint64_t{1} << (kLevels * kSlotBits)) - 1;

  explicit Wheel(std::uint64_t elapsed = 0) : elapsed_(elapsed) {}
  Wheel(const Wheel&) = delete;
  Wheel& operator=(const Wheel&) = delete;

  std::uint64_t elapsed() const { return elapsed_; }
  std::size_t size() const { return size_; }

  // Inserts the entry; false (not inserted) when its deadline is not after elapsed().
  bool insert(TimerEntry* entry);
  void remove(TimerEntry* entry);

  // The tick at which the next entry is due (or cascades), if any.
  std::optional<std::uint64_t> next_expiration() const;

  // Moves time to `now`, calling fire(entry) for every entry whose deadline <= now, in
  // deadline order across slots. Each entry is out of the wheel when fire sees it.
  template <class F>
  void advance(std::uint64_t now, F&& fire) {
    for (;;) {
      std::optional<Expiration> exp = next_expiration_detail();
      if (!exp || exp->deadline > now) break;
      elapsed_ = exp->deadline;
      TimerEntry* list = take_slot(exp->level, exp->slot);
      // One pass over the detached slot: each entry is touched once (they are scattered
      // across task frames, so every touch is a likely cache miss).
      while (list != nullptr) {
        TimerEntry* e = list;
        list = e->next;
        e->prev = e->next = nullptr;
        e->in_wheel = false;
        --size_;
        if (e->deadline <= elapsed_) {
          fire(e);
        } else {
          insert(e);  // cascade to a lower level
        }
      }
    }
    if (now > elapsed_) elapsed_ = now;
  }

 private:
  struct Expiration {
    int level;
    int slot;
    std::uint64_t deadline;
  };
  std::optional<Expiration> next_expiration_detail() const;
  // Detaches a slot's list; the caller marks each entry out of the wheel as it visits it.
  TimerEntry* take_slot(int level, int slot);
  static int level_for(std::uint64_t elapsed, std::uint64_t deadline);

  std::uint64_t elapsed_;
  std::size_t size_ = 0;
  std::uint64_t occupied_[kLevels] = {};
  using Slot = IntrusiveList<TimerEntry, &TimerEntry::prev, &TimerEntry::next>;
  Slot slots_[kLevels][kSlots];
};

}  // namespace keel::detail

#endif  // KEEL_RUNTIME_TIME_WHEEL_H_
