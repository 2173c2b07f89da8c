#include "apps/mini-redis/protocol/frame.h"

#include <ostream>
#include <utility>

#include "apps/mini-redis/protocol/reply.h"

namespace mini_redis::resp {
namespace {

void append_lines(const Frame& f, const std::string& indent, std::string& out);

void append_item(const Frame& f, const std::string& indent, std::string& out) {
  if (f.kind == Frame::Kind::kArray && !f.array.empty()) {
    append_lines(f, indent, out);
  } else {
    out += f.to_string();
  }
}

// redis-cli's array layout: "1) a\n2) b"; a nested array starts on the same line as its
// number and its following lines are indented past it.
void append_lines(const Frame& f, const std::string& indent, std::string& out) {
  const std::string width_probe = std::to_string(f.array.size());
  for (std::size_t i = 0; i < f.array.size(); ++i) {
    std::string num = std::to_string(i + 1);
    std::string prefix = std::string(width_probe.size() - num.size(), ' ') + num + ") ";
    if (i > 0) out += "\n" + indent;
    out += prefix;
    append_item(f.array[i], indent + std::string(prefix.size(), ' '), out);
  }
}

}  // namespace

Frame Frame::simple(std::string s) {
  Frame f;
  f.kind = Kind::kSimple;
  f.str = std::move(s);
  return f;
}

Frame Frame::error(std::string s) {
  Frame f;
  f.kind = Kind::kError;
  f.str = std::move(s);
  return f;
}

Frame Frame::integer(std::int64_t n) {
  Frame f;
  f.kind = Kind::kInteger;
  f.integer_value = n;
  return f;
}

Frame Frame::bulk(std::string s) {
  Frame f;
  f.kind = Kind::kBulk;
  f.str = std::move(s);
  return f;
}

Frame Frame::null() { return Frame(); }

Frame Frame::null_array() {
  Frame f;
  f.kind = Kind::kNullArray;
  return f;
}

Frame Frame::array_of(std::vector<Frame> items) {
  Frame f;
  f.kind = Kind::kArray;
  f.array = std::move(items);
  return f;
}

Frame Frame::command(const std::vector<std::string>& args) {
  Frame f;
  f.kind = Kind::kArray;
  f.array.reserve(args.size());
  for (const std::string& a : args) f.array.push_back(bulk(a));
  return f;
}

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      default: {
        unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
          out.push_back(c);
        } else {
          out += "\\x";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        }
      }
    }
  }
  out.push_back('"');
  return out;
}

std::string Frame::to_string() const {
  switch (kind) {
    case Kind::kSimple: return str;
    case Kind::kError: return "(error) " + str;
    case Kind::kInteger: return "(integer) " + std::to_string(integer_value);
    case Kind::kBulk: return quote(str);
    case Kind::kNull:
    case Kind::kNullArray: return "(nil)";
    case Kind::kArray: {
      if (array.empty()) return "(empty array)";
      std::string out;
      append_lines(*this, "", out);
      return out;
    }
  }
  return "";
}

void encode(const Frame& f, std::string& out) {
  switch (f.kind) {
    case Frame::Kind::kSimple:
      out.push_back('+');
      out += f.str;
      out += "\r\n";
      break;
    case Frame::Kind::kError:
      out.push_back('-');
      out += f.str;
      out += "\r\n";
      break;
    // The rest as the server's replies; simple strings and errors above go out verbatim (the
    // codec's encoder rejects those holding CR or LF; Reply would rewrite them).
    case Frame::Kind::kInteger: Reply(out).integer(f.integer_value); break;
    case Frame::Kind::kBulk: Reply(out).bulk(f.str); break;
    case Frame::Kind::kNull: Reply(out).null(); break;
    case Frame::Kind::kNullArray: Reply(out).null_array(); break;
    case Frame::Kind::kArray:
      Reply(out).array(f.array.size());
      for (const Frame& item : f.array) encode(item, out);
      break;
  }
}

const char* kind_name(Frame::Kind kind) {
  switch (kind) {
    case Frame::Kind::kSimple: return "simple string";
    case Frame::Kind::kError: return "error";
    case Frame::Kind::kInteger: return "integer";
    case Frame::Kind::kBulk: return "bulk string";
    case Frame::Kind::kNull: return "null";
    case Frame::Kind::kArray: return "array";
    case Frame::Kind::kNullArray: return "null array";
  }
  return "?";
}

void PrintTo(const Frame& f, std::ostream* os) {
  std::string wire;
  encode(f, wire);
  *os << kind_name(f.kind) << " " << quote(wire);
}

}  // namespace mini_redis::resp
