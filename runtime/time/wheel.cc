#include "runtime/time/wheel.h"

#include <bit>

namespace keel::detail {

int Wheel::level_for(std::uint64_t elapsed, std::uint64_t deadline) {
  // The highest bit in which the two differ decides the level; bits below 6 are all level 0.
  std::uint64_t masked = (elapsed ^ deadline) | (kSlots - 1);
  if (masked > kMaxDuration) masked = kMaxDuration;
  int significant = 63 - std::countl_zero(masked);
  return significant / kSlotBits;
}

bool Wheel::insert(TimerEntry* e) {
  if (e->deadline <= elapsed_) return false;
  // Deadlines beyond the wheel's span wait in the last slot and cascade from there.
  std::uint64_t deadline = e->deadline;
  if (deadline - elapsed_ > kMaxDuration) deadline = elapsed_ + kMaxDuration;
  int level = level_for(elapsed_, deadline);
  int slot = static_cast<int>((deadline >> (level * kSlotBits)) & (kSlots - 1));
  e->level = static_cast<std::uint8_t>(level);
  e->slot = static_cast<std::uint8_t>(slot);
  slots_[level][slot].push_front(e);
  occupied_[level] |= std::uint64_t{1} << slot;
  e->in_wheel = true;
  ++size_;
  return true;
}

void Wheel::remove(TimerEntry* e) {
  if (!e->in_wheel) return;
  Slot& slot = slots_[e->level][e->slot];
  slot.remove(e);
  if (slot.empty()) occupied_[e->level] &= ~(std::uint64_t{1} << e->slot);
  e->in_wheel = false;
  --size_;
}

TimerEntry* Wheel::take_slot(int level, int slot) {
  TimerEntry* list = slots_[level][slot].take_all();
  occupied_[level] &= ~(std::uint64_t{1} << slot);
  return list;
}

std::optional<Wheel::Expiration> Wheel::next_expiration_detail() const {
  for (int level = 0; level < kLevels; ++level) {
    std::uint64_t occupied = occupied_[level];
    if (occupied == 0) continue;
    int shift = level * kSlotBits;
    std::uint64_t slot_range = std::uint64_t{1} << shift;
    std::uint64_t level_range = slot_range << kSlotBits;
    int now_slot = static_cast<int>((elapsed_ >> shift) & (kSlots - 1));
    // The first occupied slot after the current one, wrapping around, with the current slot
    // itself last. Below the top level the current slot is never occupied (its entries would
    // sit on a lower level). On the top level it holds entries a whole rotation ahead (the
    // clamped far-future ones, and those whose deadline differs from elapsed above bit 36):
    // scanning it first would take that far expiration and skip the earlier slots after it.
    std::uint64_t rotated = std::rotr(occupied, now_slot + 1);
    int slot = (now_slot + 1 + std::countr_zero(rotated)) & (kSlots - 1);
    std::uint64_t level_start = elapsed_ & ~(level_range - 1);
    std::uint64_t deadline = level_start + static_cast<std::uint64_t>(slot) * slot_range;
    // A slot at or behind the current one belongs to the next rotation of this level (only
    // possible on the top level, see above).
    if (deadline <= elapsed_ && level > 0) deadline += level_range;
    if (deadline < elapsed_) deadline += level_range;
    return Expiration{level, slot, deadline};
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Wheel::next_expiration() const {
  std::optional<Expiration> e = next_expiration_detail();
  if (!e) return std::nullopt;
  return e->deadline;
}

}  // namespace keel::detail
