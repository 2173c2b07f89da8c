#include "benchmarks/loadgen/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/loadgen/absl_compat.h"

namespace keel::loadgen {

void ErrorCounts::add(ErrorKind kind, std::uint64_t n) {
  switch (kind) {
    case ErrorKind::kRefused:
      refused += n;
      break;
    case ErrorKind::kReset:
      reset += n;
      break;
    case ErrorKind::kTimeout:
      timeout += n;
      break;
    case ErrorKind::kProtocol:
      protocol += n;
      break;
    case ErrorKind::kServerError:
      server_error += n;
      break;
    case ErrorKind::kOther:
      other += n;
      break;
  }
}

void ErrorCounts::merge(const ErrorCounts& o) {
  refused += o.refused;
  reset += o.reset;
  timeout += o.timeout;
  protocol += o.protocol;
  server_error += o.server_error;
  other += o.other;
}

namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

struct Summary {
  double min, p50, p90, p99, p999, max, mean;
};

Summary summarize(const Histogram& h) {
  return Summary{us(h.min()),           us(h.percentile(50)), us(h.percentile(90)),
                 us(h.percentile(99)),  us(h.percentile(99.9)), us(h.max()),
                 h.mean() / 1000.0};
}

double throughput(const Results& r) {
  return r.duration_s > 0 ? static_cast<double>(r.requests) / r.duration_s : 0.0;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(ch));
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string render_text(const Config& c, const Results& r) {
  Summary s = summarize(r.latency);
  std::string out = absl::StrFormat(
      "loadgen %s over %s to %s: %d connections, pipeline %d, %s, %.2f s measured\n",
      c.protocol, av(transport_name(c.transport)), c.connect, c.connections, c.pipeline,
      c.rate > 0 ? absl::StrFormat("open loop at %.0f req/s", c.rate) : std::string("closed loop"),
      r.duration_s);
  if (c.protocol == "redis") absl::StrAppend(&out, "  command: ", c.command, "\n");
  absl::StrAppendFormat(&out, "  requests     %d\n", r.requests);
  absl::StrAppendFormat(&out,
                        "  errors       %d (refused %d, reset %d, timeout %d, protocol %d, "
                        "server_error %d, other %d)\n",
                        r.errors.total(), r.errors.refused, r.errors.reset, r.errors.timeout,
                        r.errors.protocol, r.errors.server_error, r.errors.other);
  if (!r.first_error.empty()) absl::StrAppend(&out, "  first error  ", r.first_error, "\n");
  absl::StrAppendFormat(&out, "  throughput   %.1f requests/s\n", throughput(r));
  absl::StrAppendFormat(&out,
                        "  latency (us) min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
                        "max %.1f  mean %.1f\n",
                        s.min, s.p50, s.p90, s.p99, s.p999, s.max, s.mean);
  return out;
}

std::string render_json(const Config& c, const Results& r) {
  Summary s = summarize(r.latency);
  return absl::StrFormat(
      "{\"protocol\": \"%s\", \"transport\": \"%s\", \"connect\": \"%s\", \"connections\": %d, "
      "\"pipeline\": %d, \"rate\": %.3f, \"duration_s\": %.6f, \"requests\": %d, "
      "\"errors\": {\"total\": %d, \"refused\": %d, \"reset\": %d, \"timeout\": %d, "
      "\"protocol\": %d, \"server_error\": %d, \"other\": %d}, "
      "\"throughput_rps\": %.3f, "
      "\"latency_us\": {\"min\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
      "\"p999\": %.3f, \"max\": %.3f, \"mean\": %.3f}}\n",
      json_escape(c.protocol), av(transport_name(c.transport)), json_escape(c.connect),
      c.connections, c.pipeline, c.rate, r.duration_s, r.requests, r.errors.total(),
      r.errors.refused, r.errors.reset, r.errors.timeout, r.errors.protocol,
      r.errors.server_error, r.errors.other, throughput(r), s.min, s.p50, s.p90, s.p99, s.p999,
      s.max, s.mean);
}

}  // namespace keel::loadgen
