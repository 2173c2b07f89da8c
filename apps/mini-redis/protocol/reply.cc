// Reply: RESP2 encoding with integers formatted by std::to_chars (no locale, no allocation
// beyond the output string's growth).
#include "apps/mini-redis/protocol/reply.h"

#include <charconv>
#include <cstring>

namespace mini_redis::resp {
namespace {

// Appends `prefix`, the decimal `n` and "\r\n" in one append.
void append_header(std::string& out, char prefix, std::int64_t n) {
  char buf[24];
  buf[0] = prefix;
  std::to_chars_result r = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  out.append(buf, static_cast<std::size_t>(r.ptr + 2 - buf));
}

// Appends `prefix`, `s` with CR and LF replaced by spaces (as Redis's addReplyErrorLength: a
// newline inside a simple string or error would split the reply in two), and "\r\n".
void append_line(std::string& out, char prefix, std::string_view s) {
  out.push_back(prefix);
  std::size_t start = out.size();
  out.append(s);
  for (std::size_t i = start; i < out.size(); ++i) {
    char& c = out[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out.append("\r\n");
}

// The number of decimal digits of n.
std::size_t decimal_digits(std::size_t n) {
  std::size_t digits = 1;
  for (; n >= 10; n /= 10) ++digits;
  return digits;
}

// Writes `prefix`, n and "\r\n" at p, which has room for them before `end`; returns the next
// byte.
char* put_header(char* p, char* end, char prefix, std::size_t n) {
  *p++ = prefix;
  p = std::to_chars(p, end, n).ptr;
  p[0] = '\r';
  p[1] = '\n';
  return p + 2;
}

}  // namespace

void Reply::command(std::span<const std::string_view> args) {
  // Headers: "*N\r\n", then "$len\r\n" before and "\r\n" after each argument.
  std::size_t size = 3 + decimal_digits(args.size());
  for (std::string_view a : args) size += 5 + decimal_digits(a.size()) + a.size();
  std::string& out = *out_;
  std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  char* const end = out.data() + out.size();
  p = put_header(p, end, '*', args.size());
  for (std::string_view a : args) {
    p = put_header(p, end, '$', a.size());
    std::memcpy(p, a.data(), a.size());
    p += a.size();
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
  }
}

void Reply::simple(std::string_view s) { append_line(*out_, '+', s); }

void Reply::error(std::string_view s) { append_line(*out_, '-', s); }

void Reply::integer(std::int64_t n) { append_header(*out_, ':', n); }

void Reply::bulk(std::string_view s) {
  append_header(*out_, '$', static_cast<std::int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void Reply::array(std::size_t n) { append_header(*out_, '*', static_cast<std::int64_t>(n)); }

}  // namespace mini_redis::resp
