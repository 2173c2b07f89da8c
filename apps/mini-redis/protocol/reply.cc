// Reply: RESP2 encoding with integers formatted by std::to_chars (no locale, no allocation
// beyond the output string's growth).
#include "apps/mini-redis/protocol/reply.h"

#include <charconv>

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

}  // namespace

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
