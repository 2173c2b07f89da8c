// Results of a run and their two renderings: a human report and the JSON scripts read.
//
//   Results r;  r.requests = ...;  r.latency.merge(h);  r.errors.timeout += 1;
//   std::cout << render_text(config, r);
//   std::string json = render_json(config, r);
//
// JSON schema (scripts depend on these keys; add keys, never rename):
//   {"protocol": "echo", "transport": "tcp", "connections": 50, "pipeline": 1,
//    "duration_s": 10.0, "requests": 123,
//    "errors": {"total": 0, "refused": 0, "reset": 0, "timeout": 0, "protocol": 0,
//               "server_error": 0, "other": 0},
//    "throughput_rps": 12.3,
//    "latency_us": {"min": .., "p50": .., "p90": .., "p99": .., "p999": .., "max": .., "mean": ..},
//    "rate": 0, "connect": "127.0.0.1:7000"}
// `requests` counts successful responses; `server_error` (a RESP "-ERR" reply) is counted
// apart from `protocol` (malformed or mismatching bytes) and is part of `total`.
//
// Thread-safety: values.
#ifndef KEEL_BENCHMARKS_LOADGEN_REPORT_H_
#define KEEL_BENCHMARKS_LOADGEN_REPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "benchmarks/loadgen/config.h"
#include "benchmarks/loadgen/histogram.h"

namespace keel::loadgen {

enum class ErrorKind { kRefused, kReset, kTimeout, kProtocol, kServerError, kOther };

struct ErrorCounts {
  std::uint64_t refused = 0;
  std::uint64_t reset = 0;
  std::uint64_t timeout = 0;
  std::uint64_t protocol = 0;
  std::uint64_t server_error = 0;
  std::uint64_t other = 0;

  std::uint64_t total() const {
    return refused + reset + timeout + protocol + server_error + other;
  }
  void add(ErrorKind kind, std::uint64_t n = 1);
  void merge(const ErrorCounts& o);
};

struct Results {
  std::uint64_t requests = 0;  // successful responses in the measured window
  ErrorCounts errors;
  double duration_s = 0;       // the measured window
  Histogram latency;           // nanoseconds
  std::string first_error;     // the first error message seen, to show the user why
};

std::string render_text(const Config& config, const Results& r);
std::string render_json(const Config& config, const Results& r);

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_REPORT_H_
