// classify: which error kind of the report a failed connect, read or write is.
//
//   ErrorKind k = classify(status);   // "connect 127.0.0.1:6379: Connection refused" -> kRefused
//
// By the errno the status carries (keel::net::errno_of) when it has one, else by its code and
// message: refused (ECONNREFUSED), reset (ECONNRESET, EPIPE, ECONNABORTED, a peer that closed
// or dropped its end), timeout (ETIMEDOUT, DEADLINE_EXCEEDED), anything else is other.
//
// Thread-safety: a pure function.
#ifndef KEEL_BENCHMARKS_LOADGEN_CLASSIFY_H_
#define KEEL_BENCHMARKS_LOADGEN_CLASSIFY_H_

#include "absl/status/status.h"
#include "benchmarks/loadgen/report.h"

namespace keel::loadgen {

ErrorKind classify(const absl::Status& status);

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_CLASSIFY_H_
