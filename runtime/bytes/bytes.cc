#include "runtime/bytes/bytes.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <ostream>

namespace keel {
namespace detail {

// The smallest storage reserve() allocates: tiny buffers would only grow again at once.
inline constexpr std::size_t kMinBytesCapacity = 64;

void bytes_bounds_failure(const char* op, const char* what, std::size_t a, std::size_t b) {
  std::fprintf(stderr, "keel::%s: out of bounds: %s (%zu vs %zu)\n", op, what, a, b);
  std::fflush(stderr);
  std::abort();
}

BytesStorage* BytesStorage::allocate(std::size_t cap) {
  void* mem = ::operator new(sizeof(BytesStorage) + cap);
  auto* st = new (mem) BytesStorage();
  st->buf_ = reinterpret_cast<char*>(st + 1);
  st->cap_ = cap;
  return st;
}

BytesStorage* BytesStorage::adopt(std::string&& s) {
  void* mem = ::operator new(sizeof(BytesStorage));
  auto* st = new (mem) BytesStorage();
  st->str_ = std::move(s);
  st->buf_ = st->str_.data();
  st->cap_ = st->str_.size();
  st->adopted_ = true;
  return st;
}

void BytesStorage::destroy() noexcept {
  this->~BytesStorage();
  ::operator delete(static_cast<void*>(this));
}

}  // namespace detail

Bytes Bytes::copy_from(std::string_view s) {
  if (s.empty()) return Bytes();
  detail::BytesStorage* st = detail::BytesStorage::allocate(s.size());
  std::memcpy(st->buf(), s.data(), s.size());
  return Bytes(st, st->buf(), s.size());
}

Bytes Bytes::from(std::string s) {
  if (s.empty()) return Bytes();
  detail::BytesStorage* st = detail::BytesStorage::adopt(std::move(s));
  return Bytes(st, st->buf(), st->cap());
}

Bytes Bytes::slice(std::size_t begin, std::size_t end) const {
  if (end > len_) detail::bytes_bounds_failure("Bytes::slice", "end > size", end, len_);
  if (begin > end) detail::bytes_bounds_failure("Bytes::slice", "begin > end", begin, end);
  if (begin == end) return Bytes();
  if (st_ != nullptr) st_->add_ref();
  return Bytes(st_, ptr_ + begin, end - begin);
}

Bytes Bytes::split_to(std::size_t n) {
  if (n > len_) detail::bytes_bounds_failure("Bytes::split_to", "n > size", n, len_);
  Bytes front = slice(0, n);
  advance(n);
  return front;
}

Bytes Bytes::split_off(std::size_t at) {
  if (at > len_) detail::bytes_bounds_failure("Bytes::split_off", "at > size", at, len_);
  Bytes back = slice(at, len_);
  len_ = at;
  return back;
}

void Bytes::advance(std::size_t n) {
  if (n > len_) detail::bytes_bounds_failure("Bytes::advance", "n > size", n, len_);
  ptr_ += n;
  len_ -= n;
}

std::ostream& operator<<(std::ostream& os, const Bytes& b) { return os << b.view(); }
std::ostream& operator<<(std::ostream& os, const BytesMut& b) { return os << b.view(); }

BytesMut BytesMut::split_to(std::size_t n) {
  if (n > len_) detail::bytes_bounds_failure("BytesMut::split_to", "n > size", n, len_);
  if (n == 0) return BytesMut();
  st_->add_ref();
  BytesMut front(st_, ptr_, n, n);
  ptr_ += n;
  len_ -= n;
  cap_ -= n;
  return front;
}

BytesMut BytesMut::split_off(std::size_t at) {
  if (at > len_) detail::bytes_bounds_failure("BytesMut::split_off", "at > size", at, len_);
  if (at == cap_) return BytesMut();  // nothing filled or spare past `at`
  st_->add_ref();
  BytesMut back(st_, ptr_ + at, len_ - at, cap_ - at);
  len_ = at;
  cap_ = at;
  return back;
}

void BytesMut::reserve_slow(std::size_t additional) {
  if (st_ != nullptr && st_->reusable() && st_->unique()) {
    // The only user of the storage: every byte of it is ours, in front of ptr_ (left by
    // advance or by split halves since dropped) and past our region (a dropped split_off).
    char* base = st_->buf();
    std::size_t off = static_cast<std::size_t>(ptr_ - base);
    cap_ = st_->cap() - off;
    if (cap_ - len_ >= additional) return;
    // Move the data to the front when that frees enough room and costs no more than what was
    // dropped there (off >= len_), so each byte is moved at most once per byte consumed.
    if (off >= len_ && st_->cap() - len_ >= additional) {
      if (len_ > 0) std::memmove(base, ptr_, len_);
      ptr_ = base;
      cap_ = st_->cap();
      return;
    }
  }
  // Grow: at least double the current region, so that appends are amortized O(1).
  std::size_t needed = len_ + additional;
  if (needed < len_) detail::bytes_bounds_failure("BytesMut::reserve", "overflow", len_, additional);
  std::size_t new_cap = std::max({needed, cap_ * 2, detail::kMinBytesCapacity});
  detail::BytesStorage* st = detail::BytesStorage::allocate(new_cap);
  if (len_ > 0) std::memcpy(st->buf(), ptr_, len_);
  if (st_ != nullptr) st_->drop_ref();
  st_ = st;
  ptr_ = st->buf();
  cap_ = new_cap;
}

}  // namespace keel
