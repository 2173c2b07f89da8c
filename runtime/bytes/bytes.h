// Bytes and BytesMut: Keel's byte buffers, the analogue of Rust's `bytes` crate. Every codec,
// parser and io utility passes bytes around with these.
//
//   keel::BytesMut buf;                       // empty, no allocation yet
//   buf.reserve(4096);                        // room for a read
//   auto n = co_await sock.read(buf.spare()); // read into the unused capacity...
//   buf.commit(*n);                           // ...and mark what was filled
//   while (auto nl = buf.view().find('\n'); nl != std::string_view::npos) {
//     keel::Bytes line = buf.split_to(nl + 1).freeze();  // O(1): shares the storage
//     handle(line.slice(0, line.size() - 1));            // O(1) too
//   }
//
// - `Bytes` is an immutable view of bytes in a reference-counted storage: copying it, `clone()`
//   and `slice()` are O(1) and share the storage, which lives until the last Bytes (or BytesMut)
//   referring to it is gone. A default Bytes, `Bytes::from_static` and every empty slice
//   allocate nothing. `Bytes::from(std::string)` adopts the string's buffer without a copy.
// - `BytesMut` is a growable, uniquely owned buffer. It views the region [data(), data() +
//   capacity()) of a storage; `size()` bytes of it are filled. `advance(n)` drops n bytes from
//   the front in O(1); `split_to(n)` hands the first n bytes to a new BytesMut in O(1) (both
//   now refer to the same storage, each to its own disjoint region, so they are independent);
//   `freeze()` turns it into a Bytes without copying. `reserve(n)` makes room for n more
//   bytes: when this BytesMut is the only user of its storage it first takes back the room in
//   front of data() (left by advance/split_to) if at least size() bytes were dropped there (so
//   moving the data costs no more than what was dropped), and otherwise allocates a larger
//   storage (at least double) and copies size() bytes: amortized O(1) per byte.
//
// Invariants: within one storage, the regions viewed by live BytesMut values are disjoint; a
// Bytes only views bytes that no BytesMut will write again (a BytesMut writes only inside its
// own region, and it only widens its region over the whole storage when it is the storage's
// only user). Storage is released when the reference count drops to zero.
//
// Bounds: indexes and lengths past the end (slice, split_to, advance, commit, operator[]) are
// bugs: the process aborts with a message naming the operation (never UB, never an exception).
// `truncate(n)` with n >= size() is a no-op, as in Rust.
//
// Thread-safety: a Bytes may be copied, read and destroyed from any threads at once (the
// reference count is atomic; the bytes are immutable). A BytesMut belongs to one owner at a
// time (it may move between threads); distinct BytesMut values, and the Bytes frozen from
// them, may be used from different threads even when they share a storage.
#ifndef KEEL_RUNTIME_BYTES_BYTES_H_
#define KEEL_RUNTIME_BYTES_BYTES_H_

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/detail/concurrency.h"

namespace keel {

namespace detail {

// Prints "keel::<op>: <what> (<a> vs <b>)" to stderr and aborts.
[[noreturn]] void bytes_bounds_failure(const char* op, const char* what, std::size_t a,
                                       std::size_t b);

// The shared, reference-counted storage behind Bytes and BytesMut. Either one allocation
// holding this header followed by `cap` bytes, or an adopted std::string.
class BytesStorage {
 public:
  // A storage of `cap` bytes (cap > 0), with one reference.
  static BytesStorage* allocate(std::size_t cap);
  // A storage that owns `s` (moved in, no copy), with one reference.
  static BytesStorage* adopt(std::string&& s);

  void add_ref() noexcept {
    // ORDERING: taking another reference needs no ordering: the caller already holds one,
    // so the storage cannot go away concurrently.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void drop_ref() noexcept {
    // ORDERING: acq_rel: release publishes this holder's reads and writes of the bytes;
    // the acquire half (on the last drop) orders every holder's accesses before the free.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }
  // True when the caller holds the only reference: no one else can read or write the bytes.
  bool unique() const noexcept {
    // ORDERING: acquire pairs with the release in other holders' drop_ref(), so their
    // accesses to the bytes happen before the caller reuses the regions they viewed.
    return refs_.load(std::memory_order_acquire) == 1;
  }
  // A storage from allocate() (whose bytes a unique BytesMut may reuse), not an adopted string.
  bool reusable() const noexcept { return !adopted_; }

  char* buf() const noexcept { return buf_; }
  std::size_t cap() const noexcept { return cap_; }

 private:
  BytesStorage() = default;
  void destroy() noexcept;

  Atomic<std::size_t> refs_{1};
  char* buf_ = nullptr;
  std::size_t cap_ = 0;
  bool adopted_ = false;
  std::string str_;  // the adopted string (empty otherwise)
};

inline constexpr char kEmptyBytes[1] = {0};

}  // namespace detail

class BytesMut;

// An immutable, cheaply shareable run of bytes. See the file comment.
class Bytes {
 public:
  // Empty, without allocation.
  Bytes() noexcept = default;
  Bytes(const Bytes& other) noexcept : st_(other.st_), ptr_(other.ptr_), len_(other.len_) {
    if (st_ != nullptr) st_->add_ref();
  }
  Bytes(Bytes&& other) noexcept
      : st_(std::exchange(other.st_, nullptr)),
        ptr_(std::exchange(other.ptr_, detail::kEmptyBytes)),
        len_(std::exchange(other.len_, 0)) {}
  Bytes& operator=(const Bytes& other) noexcept {
    Bytes copy(other);
    swap(copy);
    return *this;
  }
  Bytes& operator=(Bytes&& other) noexcept {
    Bytes moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~Bytes() {
    if (st_ != nullptr) st_->drop_ref();
  }

  // A copy of `s` in a new storage (no allocation when `s` is empty).
  static Bytes copy_from(std::string_view s);
  // Adopts `s`'s buffer: no copy of the bytes.
  static Bytes from(std::string s);
  // Views bytes that outlive every use (a string literal): no allocation, no reference count.
  static Bytes from_static(std::string_view s) noexcept { return Bytes(nullptr, s.data(), s.size()); }

  // Another reference to the same bytes (O(1); same as copying).
  Bytes clone() const noexcept { return *this; }
  // Bytes [begin, end) of this, sharing the storage. Aborts unless begin <= end <= size().
  Bytes slice(std::size_t begin, std::size_t end) const;
  // Bytes [begin, size()).
  Bytes slice_from(std::size_t begin) const { return slice(begin, len_); }
  // Removes and returns the first n bytes (O(1)). Aborts if n > size().
  Bytes split_to(std::size_t n);
  // Removes and returns bytes [at, size()) (O(1)). Aborts if at > size().
  Bytes split_off(std::size_t at);
  // Drops the first n bytes (O(1)). Aborts if n > size().
  void advance(std::size_t n);
  // Keeps the first n bytes; no-op when n >= size().
  void truncate(std::size_t n) noexcept {
    if (n < len_) len_ = n;
  }
  void clear() noexcept { *this = Bytes(); }

  std::size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  const char* data() const noexcept { return ptr_; }
  std::string_view view() const noexcept { return std::string_view(ptr_, len_); }
  std::span<const char> span() const noexcept { return std::span<const char>(ptr_, len_); }
  std::string to_string() const { return std::string(ptr_, len_); }
  const char* begin() const noexcept { return ptr_; }
  const char* end() const noexcept { return ptr_ + len_; }
  // Aborts if i >= size().
  char operator[](std::size_t i) const {
    if (i >= len_) detail::bytes_bounds_failure("Bytes::operator[]", "index >= size", i, len_);
    return ptr_[i];
  }

  void swap(Bytes& other) noexcept {
    std::swap(st_, other.st_);
    std::swap(ptr_, other.ptr_);
    std::swap(len_, other.len_);
  }

  friend bool operator==(const Bytes& a, const Bytes& b) noexcept { return a.view() == b.view(); }
  friend std::strong_ordering operator<=>(const Bytes& a, const Bytes& b) noexcept {
    return a.view() <=> b.view();
  }
  friend bool operator==(const Bytes& a, std::string_view b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const Bytes& a, std::string_view b) noexcept {
    return a.view() <=> b;
  }
  template <class H>
  friend H AbslHashValue(H h, const Bytes& b) {
    return H::combine(std::move(h), b.view());
  }

 private:
  friend class BytesMut;
  // Takes over one reference to `st` (which may be null for static or empty bytes).
  Bytes(detail::BytesStorage* st, const char* ptr, std::size_t len) noexcept
      : st_(st), ptr_(len == 0 && ptr == nullptr ? detail::kEmptyBytes : ptr), len_(len) {}

  detail::BytesStorage* st_ = nullptr;
  const char* ptr_ = detail::kEmptyBytes;
  std::size_t len_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Bytes& b);

// A growable, uniquely owned byte buffer. See the file comment.
class BytesMut {
 public:
  // Empty, without allocation.
  BytesMut() noexcept = default;
  // Empty, with room for `capacity` bytes.
  explicit BytesMut(std::size_t capacity) { reserve(capacity); }
  static BytesMut with_capacity(std::size_t capacity) { return BytesMut(capacity); }
  // A copy of `s`.
  static BytesMut copy_from(std::string_view s) {
    BytesMut b(s.size());
    b.append(s);
    return b;
  }

  BytesMut(BytesMut&& other) noexcept
      : st_(std::exchange(other.st_, nullptr)),
        ptr_(std::exchange(other.ptr_, nullptr)),
        len_(std::exchange(other.len_, 0)),
        cap_(std::exchange(other.cap_, 0)) {}
  BytesMut& operator=(BytesMut&& other) noexcept {
    BytesMut moved(std::move(other));
    swap(moved);
    return *this;
  }
  BytesMut(const BytesMut&) = delete;
  BytesMut& operator=(const BytesMut&) = delete;
  ~BytesMut() {
    if (st_ != nullptr) st_->drop_ref();
  }

  std::size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  // Bytes this buffer can hold without reallocating (filled ones included).
  std::size_t capacity() const noexcept { return cap_; }
  char* data() noexcept { return ptr_; }
  const char* data() const noexcept { return ptr_; }
  std::string_view view() const noexcept {
    return len_ == 0 ? std::string_view() : std::string_view(ptr_, len_);
  }
  std::span<char> span() noexcept { return std::span<char>(ptr_, len_); }
  std::span<const char> span() const noexcept { return std::span<const char>(ptr_, len_); }
  std::string to_string() const { return std::string(view()); }
  // Aborts if i >= size().
  char& operator[](std::size_t i) {
    if (i >= len_) detail::bytes_bounds_failure("BytesMut::operator[]", "index >= size", i, len_);
    return ptr_[i];
  }
  char operator[](std::size_t i) const {
    if (i >= len_) detail::bytes_bounds_failure("BytesMut::operator[]", "index >= size", i, len_);
    return ptr_[i];
  }

  // Makes room for at least `additional` more bytes (capacity() - size() >= additional).
  // Pointers into the buffer (data(), spare()) are invalidated when it moves.
  void reserve(std::size_t additional) {
    if (cap_ - len_ < additional) reserve_slow(additional);
  }
  void append(std::string_view s) {
    if (s.empty()) return;
    reserve(s.size());
    std::memcpy(ptr_ + len_, s.data(), s.size());
    len_ += s.size();
  }
  // Spans of char or const char (a template, so that strings and literals pick the
  // string_view overload instead of being ambiguous).
  template <class Span>
    requires std::same_as<Span, std::span<const char>> || std::same_as<Span, std::span<char>>
  void append(Span s) {
    append(std::string_view(s.data(), s.size()));
  }
  void append(const Bytes& b) { append(b.view()); }
  void push_back(char c) {
    reserve(1);
    ptr_[len_++] = c;
  }
  // Grows (with `fill`) or shrinks to n bytes.
  void resize(std::size_t n, char fill = 0) {
    if (n <= len_) {
      len_ = n;
      return;
    }
    reserve(n - len_);
    std::memset(ptr_ + len_, fill, n - len_);
    len_ = n;
  }

  // The unused capacity, for reading into; then commit() how many bytes were filled.
  // Empty when capacity() == size(): reserve() first.
  std::span<char> spare() noexcept { return std::span<char>(ptr_ + len_, cap_ - len_); }
  // Marks the first n bytes of spare() as filled. Aborts if n > spare().size().
  void commit(std::size_t n) {
    if (n > cap_ - len_) {
      detail::bytes_bounds_failure("BytesMut::commit", "n > spare capacity", n, cap_ - len_);
    }
    len_ += n;
  }

  // Drops the first n bytes in O(1) (the room stays with the storage; reserve() may reclaim
  // it). Aborts if n > size().
  void advance(std::size_t n) {
    if (n > len_) detail::bytes_bounds_failure("BytesMut::advance", "n > size", n, len_);
    if (n == 0) return;
    ptr_ += n;
    len_ -= n;
    cap_ -= n;
  }
  // Removes the first n bytes and returns them as a new BytesMut, in O(1): both refer to the
  // same storage, each to its own region (the returned one has capacity n). Aborts if
  // n > size().
  BytesMut split_to(std::size_t n);
  // Removes bytes [at, capacity()) (the filled ones from `at` and the spare room) and
  // returns them, in O(1). Aborts if at > size().
  BytesMut split_off(std::size_t at);
  // Removes and returns every filled byte (O(1)); this keeps the spare capacity.
  BytesMut split() { return split_to(len_); }
  // Keeps the first n bytes; no-op when n >= size().
  void truncate(std::size_t n) noexcept {
    if (n < len_) len_ = n;
  }
  // Drops every byte, keeping the capacity.
  void clear() noexcept { len_ = 0; }

  // The filled bytes as an immutable Bytes, without copying; this becomes empty.
  Bytes freeze() && noexcept {
    detail::BytesStorage* st = std::exchange(st_, nullptr);
    const char* p = std::exchange(ptr_, nullptr);
    std::size_t n = std::exchange(len_, 0);
    cap_ = 0;
    if (n == 0 && st != nullptr) {
      st->drop_ref();
      return Bytes();
    }
    return Bytes(st, p, n);
  }

  void swap(BytesMut& other) noexcept {
    std::swap(st_, other.st_);
    std::swap(ptr_, other.ptr_);
    std::swap(len_, other.len_);
    std::swap(cap_, other.cap_);
  }

  friend bool operator==(const BytesMut& a, const BytesMut& b) noexcept {
    return a.view() == b.view();
  }
  friend bool operator==(const BytesMut& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  BytesMut(detail::BytesStorage* st, char* ptr, std::size_t len, std::size_t cap) noexcept
      : st_(st), ptr_(ptr), len_(len), cap_(cap) {}
  void reserve_slow(std::size_t additional);

  detail::BytesStorage* st_ = nullptr;  // null until the first reservation
  char* ptr_ = nullptr;                 // start of this buffer's region in st_
  std::size_t len_ = 0;                 // filled bytes at ptr_
  std::size_t cap_ = 0;                 // size of the region at ptr_
};

std::ostream& operator<<(std::ostream& os, const BytesMut& b);

}  // namespace keel

#endif  // KEEL_RUNTIME_BYTES_BYTES_H_
