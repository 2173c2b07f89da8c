#include "apps/mini-redis/protocol/resp_codec.h"

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "apps/mini-redis/protocol/number.h"
#include "apps/mini-redis/protocol/request.h"

namespace mini_redis::resp {
namespace {

absl::Status invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("resp: ", std::string(what)));
}

// What checking one element header at `pos` found.
struct Step {
  enum Kind { kNeedMore, kElement, kArrayOpen } kind = kNeedMore;
  std::size_t end = 0;      // kElement: one past the element; kArrayOpen: past the header
  std::int64_t count = 0;   // kArrayOpen: elements expected (> 0)
  std::size_t missing = 0;  // kNeedMore in a bulk's data: bytes still to come
};

// Checks the element starting at buf[pos]; never reads past buf.
absl::StatusOr<Step> check_element(std::string_view buf, std::size_t pos) {
  Step step;
  const std::size_t size = buf.size();
  if (pos >= size) return step;
  const char type = buf[pos];
  if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
    std::string what = "invalid type byte '";
    what.push_back(type);
    what += "'";
    return invalid(what);
  }
  // The line after the type byte, up to "\r\n", bounded by kMaxInlineLen.
  const std::size_t line_start = pos + 1;
  const std::size_t search = std::min(size - line_start, kMaxInlineLen + 1);
  const void* cr = std::memchr(buf.data() + line_start, '\r', search);
  if (cr == nullptr) {
    if (search > kMaxInlineLen) return invalid("line too long");
    return step;
  }
  const std::size_t line_end = static_cast<std::size_t>(static_cast<const char*>(cr) - buf.data());
  if (line_end + 1 >= size) return step;
  if (buf[line_end + 1] != '\n') return invalid("expected \"\\r\\n\" at the end of a line");
  const std::size_t after = line_end + 2;
  if (type == '+' || type == '-') {
    if (std::memchr(buf.data() + line_start, '\n', line_end - line_start) != nullptr) {
      return invalid("'\\n' inside a simple string or error");
    }
    step.kind = Step::kElement;
    step.end = after;
    return step;
  }
  std::int64_t n = 0;
  if (!parse_int64(buf.data() + line_start, line_end - line_start, n)) {
    return invalid(type == ':' ? "invalid integer" : type == '$' ? "invalid bulk length"
                                                                 : "invalid multibulk length");
  }
  if (type == ':') {
    step.kind = Step::kElement;
    step.end = after;
    return step;
  }
  if (type == '$') {
    if (n == -1) {
      step.kind = Step::kElement;
      step.end = after;
      return step;
    }
    if (n < 0 || n > kMaxBulkLen) return invalid("invalid bulk length");
    const std::size_t need = after + static_cast<std::size_t>(n) + 2;
    if (size < need) {
      step.missing = need - size;
      return step;
    }
    if (buf[need - 2] != '\r' || buf[need - 1] != '\n') {
      return invalid("bulk string not followed by \"\\r\\n\"");
    }
    step.kind = Step::kElement;
    step.end = need;
    return step;
  }
  // '*'
  if (n == -1 || n == 0) {
    step.kind = Step::kElement;
    step.end = after;
    return step;
  }
  if (n < 0 || n > kMaxMultibulkLen) return invalid("invalid multibulk length");
  step.kind = Step::kArrayOpen;
  step.end = after;
  step.count = n;
  return step;
}

// Builds the (already checked) value starting at buf[pos]; advances pos past it.
Frame build(std::string_view buf, std::size_t& pos) {
  const char type = buf[pos];
  const std::size_t line_start = pos + 1;
  const std::size_t line_end = buf.find('\r', line_start);
  std::string_view line = buf.substr(line_start, line_end - line_start);
  pos = line_end + 2;
  if (type == '+') return Frame::simple(std::string(line));
  if (type == '-') return Frame::error(std::string(line));
  std::int64_t n = 0;
  parse_int64(line.data(), line.size(), n);
  if (type == ':') return Frame::integer(n);
  if (type == '$') {
    if (n < 0) return Frame::null();
    Frame f = Frame::bulk(std::string(buf.substr(pos, static_cast<std::size_t>(n))));
    pos += static_cast<std::size_t>(n) + 2;
    return f;
  }
  if (n < 0) return Frame::null_array();
  Frame f = Frame::array_of({});
  f.array.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) f.array.push_back(build(buf, pos));
  return f;
}

bool encodable(const Frame& f) {
  if (f.kind == Frame::Kind::kSimple || f.kind == Frame::Kind::kError) {
    return f.str.find_first_of("\r\n") == std::string::npos;
  }
  if (f.kind == Frame::Kind::kArray) {
    for (const Frame& item : f.array) {
      if (!encodable(item)) return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::optional<Frame>> RespCodec::decode(keel::BytesMut& src) {
  const std::string_view buf = src.view();
  while (true) {
    absl::StatusOr<Step> step = check_element(buf, scanned_);
    if (!step.ok()) return step.status();
    if (step->kind == Step::kNeedMore) {
      if (step->missing > 0) src.reserve(step->missing);
      return std::nullopt;
    }
    scanned_ = step->end;
    if (step->kind == Step::kArrayOpen) {
      if (pending_.size() >= kMaxDepth) return invalid("arrays nested too deep");
      pending_.push_back(step->count);
      continue;
    }
    // An element completed: it may complete its array, and that array its parent, ...
    while (!pending_.empty() && --pending_.back() == 0) pending_.pop_back();
    if (pending_.empty()) break;
  }
  std::size_t pos = 0;
  Frame frame = build(buf, pos);
  src.advance(scanned_);
  scanned_ = 0;
  return std::optional<Frame>(std::move(frame));
}

absl::Status RespCodec::encode(const Frame& frame, keel::BytesMut& dst) {
  if (!encodable(frame)) return invalid("a simple string or error cannot contain '\\r' or '\\n'");
  std::string out;
  resp::encode(frame, out);
  dst.append(out);
  return absl::OkStatus();
}

}  // namespace mini_redis::resp
