#include "benchmarks/loadgen/echo.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace keel::loadgen {
namespace {

// The pattern byte at `i` of request `id`: differs between neighbouring requests and
// positions, so a reordered, duplicated or corrupted echo is caught.
inline char pattern(std::uint64_t id, std::size_t i) {
  return static_cast<char>((id * 131 + i * 7 + (id >> 8)) & 0xff);
}

std::uint64_t read_id(const char* p) {
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < EchoProtocol::kIdBytes; ++i) {
    id |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return id;
}

class EchoSession final : public Session {
 public:
  explicit EchoSession(std::size_t size) : size_(size) {}

  void encode(std::uint64_t id, std::string& out) override {
    std::size_t at = out.size();
    out.resize(at + size_);
    EchoProtocol::fill(id, size_, out.data() + at);
  }

  Decoded decode(std::string_view in, std::uint64_t oldest_id) override {
    Decoded d;
    if (in.size() < size_) return d;
    std::uint64_t id = size_ >= EchoProtocol::kIdBytes ? read_id(in.data()) : oldest_id;
    std::size_t from = size_ >= EchoProtocol::kIdBytes ? EchoProtocol::kIdBytes : 0;
    for (std::size_t i = from; i < size_; ++i) {
      if (in[i] != pattern(id, i)) {
        d.status = DecodeStatus::kError;
        d.error = absl::StrCat("echo: byte ", i, " of request ", id, " differs from what was sent");
        return d;
      }
    }
    d.status = DecodeStatus::kResponse;
    d.consumed = size_;
    d.id = id;
    return d;
  }

 private:
  std::size_t size_;
};

}  // namespace

void EchoProtocol::fill(std::uint64_t id, std::size_t size, char* out) {
  std::size_t from = 0;
  if (size >= kIdBytes) {
    for (std::size_t i = 0; i < kIdBytes; ++i) out[i] = static_cast<char>((id >> (8 * i)) & 0xff);
    from = kIdBytes;
  }
  for (std::size_t i = from; i < size; ++i) out[i] = pattern(id, i);
}

std::unique_ptr<Session> EchoProtocol::new_session(std::uint64_t seed) const {
  (void)seed;
  return std::make_unique<EchoSession>(size_);
}

}  // namespace keel::loadgen
