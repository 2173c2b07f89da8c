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

}  // namespace

void Reply::simple(std::string_view s) {
  out_->push_back('+');
  std::size_t start = out_->size();
  out_->append(s);
  for (std::size_t i = start; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n");
}

void Reply::error(std::string_view s) {
  out_->push_back('-');
  std::size_t start = out_->size();
  out_->append(s);
  // As Redis's addReplyErrorLength: a newline inside an error would split the reply in two.
  for (std::size_t i = start; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n");
}

void Reply::integer(std::int64_t n) { append_header(*out_, ':', n); }

void Reply::bulk(std::string_view s) {
  append_header(*out_, '$', static_cast<std::int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void Reply::array(std::size_t n) { append_header(*out_, '*', static_cast<std::int64_t>(n)); }

}  // namespace mini_redis::resp
