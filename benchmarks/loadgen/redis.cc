#include "benchmarks/loadgen/redis.h"

#include <array>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/loadgen/absl_compat.h"

namespace keel::loadgen {
namespace {

constexpr std::string_view kRandInt = "__rand_int__";
constexpr std::string_view kData = "__data__";
// Type byte, sign, 19 digits and CRLF: the longest valid integer or length line.
constexpr std::size_t kMaxNumberLine = 23;

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Splits on spaces and tabs; "..." groups an argument with spaces (no escapes).
absl::StatusOr<std::vector<std::string>> split_args(std::string_view text) {
  std::vector<std::string> args;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    std::string arg;
    if (text[i] == '"') {
      std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--command: unterminated quote in \"", av(text), "\""));
      }
      arg = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      std::size_t end = i;
      while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
      arg = std::string(text.substr(i, end - i));
      i = end;
    }
    args.push_back(std::move(arg));
  }
  if (args.empty()) return absl::InvalidArgumentError("--command: the template is empty");
  return args;
}

// The result of scanning one line ending in CRLF at `pos`.
enum class LineResult { kOk, kNeedMore, kBad };

LineResult find_line(std::string_view in, std::size_t pos, std::size_t& line_end) {
  const void* nl = std::memchr(in.data() + pos, '\n', in.size() - pos);
  if (nl == nullptr) return LineResult::kNeedMore;
  std::size_t at = static_cast<const char*>(nl) - in.data();
  if (at == pos || in[at - 1] != '\r') return LineResult::kBad;
  line_end = at - 1;  // index of '\r'
  return LineResult::kOk;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  bool neg = s[0] == '-';
  std::size_t i = neg ? 1 : 0;
  if (i == s.size()) return false;
  std::int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    if (v > (INT64_MAX - (s[i] - '0')) / 10) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = neg ? -v : v;
  return true;
}

Decoded bad(std::string why) {
  Decoded d;
  d.status = DecodeStatus::kError;
  d.error = absl::StrCat("resp: ", why);
  return d;
}

class RedisSession final : public Session {
 public:
  RedisSession(const CommandTemplate* command, std::uint64_t seed)
      : command_(command), rng_(seed) {}
  void encode(std::uint64_t id, std::string& out) override {
    (void)id;
    command_->expand(rng_, out);
  }
  Decoded decode(std::string_view in, std::uint64_t oldest_id) override {
    (void)oldest_id;
    return parse_reply(in);
  }

 private:
  const CommandTemplate* command_;
  std::uint64_t rng_;
};

}  // namespace

absl::StatusOr<CommandTemplate> CommandTemplate::parse(std::string_view text,
                                                       std::uint64_t keyspace,
                                                       std::size_t data_size) {
  if (keyspace == 0) return absl::InvalidArgumentError("--keyspace must be at least 1");
  absl::StatusOr<std::vector<std::string>> raw = split_args(text);
  if (!raw.ok()) return raw.status();
  CommandTemplate t;
  t.keyspace_ = keyspace;
  const std::string data(data_size, 'x');
  t.encoded_ = absl::StrCat("*", raw->size(), "\r\n");
  for (const std::string& arg : *raw) {
    // Expand into the argument, remembering where random digits go within it.
    std::string expanded;
    std::vector<std::size_t> rand_at;
    for (std::size_t i = 0; i < arg.size();) {
      if (arg.compare(i, kRandInt.size(), kRandInt) == 0) {
        rand_at.push_back(expanded.size());
        expanded.append(kRandIntDigits, '0');
        i += kRandInt.size();
      } else if (arg.compare(i, kData.size(), kData) == 0) {
        expanded += data;
        i += kData.size();
      } else {
        expanded += arg[i++];
      }
    }
    absl::StrAppend(&t.encoded_, "$", expanded.size(), "\r\n");
    for (std::size_t at : rand_at) t.rand_offsets_.push_back(t.encoded_.size() + at);
    absl::StrAppend(&t.encoded_, expanded, "\r\n");
    t.args_.push_back(std::move(expanded));
  }
  return t;
}

void CommandTemplate::expand(std::uint64_t& rng_state, std::string& out) const {
  std::size_t base = out.size();
  out.append(encoded_);
  char* p = out.data() + base;
  for (std::size_t at : rand_offsets_) {
    std::uint64_t v = splitmix64(rng_state) % keyspace_;
    for (std::size_t d = kRandIntDigits; d > 0; --d) {
      p[at + d - 1] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  }
}

Decoded parse_reply(std::string_view in) {
  // stack[depth]: elements still to read at that level; level 0 is the reply itself.
  std::array<std::uint64_t, kMaxNesting + 1> stack;
  std::size_t depth = 0;
  stack[0] = 1;
  std::size_t pos = 0;
  bool top_error = false;
  while (depth > 0 || stack[0] > 0) {
    if (pos >= in.size()) return Decoded{};
    char type = in[pos];
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') {
      return bad(absl::StrCat("unknown reply type byte 0x",
                              absl::Hex(static_cast<unsigned char>(type))));
    }
    std::size_t line_end = 0;
    LineResult lr = find_line(in, pos + 1, line_end);
    if (lr == LineResult::kNeedMore) {
      // A length or integer line is at most 21 bytes plus CRLF; more without a CRLF is garbage.
      if (type != '+' && type != '-' && in.size() - pos > kMaxNumberLine) {
        return bad("a length or integer line is too long");
      }
      return Decoded{};
    }
    if (lr == LineResult::kBad) return bad("a line does not end in CRLF");
    std::string_view line = in.substr(pos + 1, line_end - pos - 1);
    std::size_t next = line_end + 2;
    std::uint64_t children = 0;
    if ((type == '+' || type == '-') && line.find('\r') != std::string_view::npos) {
      return bad("a CR inside a simple string or error");
    }
    switch (type) {
      case '-':
        if (pos == 0) top_error = true;
        break;
      case ':': {
        std::int64_t v;
        if (!parse_int(line, v)) return bad(absl::StrCat("bad integer \"", av(line), "\""));
        break;
      }
      case '$': {
        std::int64_t len;
        if (!parse_int(line, len) || len < -1) {
          return bad(absl::StrCat("bad bulk length \"", av(line), "\""));
        }
        if (len > kMaxBulkLength) return bad(absl::StrCat("bulk length ", len, " too large"));
        if (len >= 0) {
          std::size_t need = next + static_cast<std::size_t>(len) + 2;
          if (in.size() < need) return Decoded{};
          if (in[need - 2] != '\r' || in[need - 1] != '\n') {
            return bad("a bulk string does not end in CRLF");
          }
          next = need;
        }
        break;
      }
      case '*': {
        std::int64_t len;
        if (!parse_int(line, len) || len < -1) {
          return bad(absl::StrCat("bad array length \"", av(line), "\""));
        }
        if (len > kMaxArrayLength) return bad(absl::StrCat("array length ", len, " too large"));
        if (len > 0) children = static_cast<std::uint64_t>(len);
        break;
      }
      default:  // '+': any text
        break;
    }
    pos = next;
    --stack[depth];
    if (children > 0) {
      if (depth == kMaxNesting) return bad("arrays nested too deeply");
      stack[++depth] = children;
    }
    while (depth > 0 && stack[depth] == 0) --depth;
  }
  Decoded d;
  d.status = top_error ? DecodeStatus::kServerError : DecodeStatus::kResponse;
  d.consumed = pos;
  if (top_error) d.error = std::string(in.substr(1, in.find('\r') - 1));
  return d;
}

std::unique_ptr<Session> RedisProtocol::new_session(std::uint64_t seed) const {
  return std::make_unique<RedisSession>(&command_, seed);
}

}  // namespace keel::loadgen
