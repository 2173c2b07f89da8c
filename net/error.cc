#include "net/error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace keel::net {
namespace {
constexpr const char* kErrnoPayload = "keel.net/errno";
}

absl::Status io_error(int err, std::string_view op, std::string_view target) {
  std::string message;
  message.reserve(op.size() + 1 + target.size());
  message.append(op).append(" ").append(target);
  absl::Status s = absl::ErrnoToStatus(err, message);
  s.SetPayload(kErrnoPayload, absl::Cord(std::to_string(err)));
  return s;
}

int errno_of(const absl::Status& status) {
  auto p = status.GetPayload(kErrnoPayload);
  int err = 0;
  if (!p.has_value() || !absl::SimpleAtoi(std::string(*p), &err)) return 0;
  return err;
}

}  // namespace keel::net
