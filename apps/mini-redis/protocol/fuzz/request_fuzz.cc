// libFuzzer entry point for parse_request (request.h).
//
// Input: byte 0 picks where the stream is split in two (as two reads); the rest is the byte
// stream a client sends. Checks, for the consumer loop the server runs (parse, drop what was
// consumed, wait for more):
//   - a complete request consumes 1..size bytes; every argument views into the buffer or into
//     the Request's inline_storage;
//   - re-parsing exactly the consumed prefix gives the same request and the same `consumed`;
//   - a request re-encoded as a RESP array parses back to the same arguments;
//   - the stream gives the same requests and the same error whether it arrives whole or split.
// Built as a real libFuzzer binary by `--config=fuzz` (see BUILD.bazel) and run over a corpus
// and random inputs in CI by :request_fuzz_test.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/codec/fuzz/fuzz_check.h"
#include "apps/mini-redis/protocol/reply.h"
#include "apps/mini-redis/protocol/request.h"

namespace {

using mini_redis::resp::ParseResult;
using mini_redis::resp::Request;

struct Outcome {
  std::vector<std::vector<std::string>> requests;
  std::string error;  // the first error, if any (the server closes the connection there)
};

bool within(std::string_view inner, const char* begin, std::size_t size) {
  return inner.empty() || (inner.data() >= begin && inner.data() + inner.size() <= begin + size);
}

void check_request(std::string_view buf, const Request& req, const ParseResult& r) {
  KEEL_FUZZ_CHECK(r.consumed >= 1 && r.consumed <= buf.size());
  std::vector<std::string> args(req.args.begin(), req.args.end());
  for (std::string_view a : req.args) {
    KEEL_FUZZ_CHECK(within(a, buf.data(), buf.size()) ||
                          within(a, req.inline_storage.data(), req.inline_storage.size()));
  }
  Request again;
  ParseResult r2 = mini_redis::resp::parse_request(buf.substr(0, r.consumed), again);
  KEEL_FUZZ_CHECK(r2.kind == ParseResult::kComplete);
  KEEL_FUZZ_CHECK(r2.consumed == r.consumed);
  KEEL_FUZZ_CHECK(std::vector<std::string>(again.args.begin(), again.args.end()) == args);
  if (!args.empty()) {
    std::string resp;
    mini_redis::resp::Reply(resp).command(req.args);
    Request third;
    ParseResult r3 = mini_redis::resp::parse_request(resp, third);
    KEEL_FUZZ_CHECK(r3.kind == ParseResult::kComplete && r3.consumed == resp.size());
    KEEL_FUZZ_CHECK(std::vector<std::string>(third.args.begin(), third.args.end()) == args);
  }
}

Outcome run_stream(std::string_view input, std::size_t split) {
  Outcome out;
  std::string buf;
  Request req;
  for (int piece = 0; piece < 2; ++piece) {
    buf.append(piece == 0 ? input.substr(0, split) : input.substr(split));
    while (true) {
      ParseResult r = mini_redis::resp::parse_request(buf, req);
      if (r.kind == ParseResult::kError) {
        KEEL_FUZZ_CHECK(!r.error.empty());
        KEEL_FUZZ_CHECK(req.args.empty());
        out.error = r.error;
        return out;
      }
      if (r.kind == ParseResult::kIncomplete) {
        KEEL_FUZZ_CHECK(req.args.empty());
        break;
      }
      check_request(buf, req, r);
      out.requests.emplace_back(req.args.begin(), req.args.end());
      buf.erase(0, r.consumed);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  Outcome whole = run_stream(input, input.size());
  Outcome pieces = run_stream(input, split);
  KEEL_FUZZ_CHECK(whole.requests == pieces.requests);
  // Where an error depends on how much was buffered ("too big ... string" versus a later
  // syntax error), both runs still fail; only a split run may fail with that "too big" text.
  KEEL_FUZZ_CHECK(whole.error.empty() == pieces.error.empty());
  return 0;
}
