// RedisProtocol: RESP2 commands built from a redis-benchmark style template, and a decoder
// that validates every RESP2 reply.
//
//   absl::StatusOr<CommandTemplate> t =
//       CommandTemplate::parse("SET key:__rand_int__ __data__", /*keyspace=*/1000000,
//                              /*data_size=*/3);
//   RedisProtocol redis(*std::move(t));
//   auto s = redis.new_session(seed);
//   s->encode(0, out);   // *3\r\n$3\r\nSET\r\n$16\r\nkey:000000482913\r\n$3\r\nxxx\r\n
//
// Template: arguments split on spaces (a "double-quoted" argument may hold spaces). In each
// argument, every __rand_int__ becomes a random integer in [0, keyspace) zero-padded to 12
// digits (as redis-benchmark does; each occurrence draws its own number) and __data__ becomes
// data_size bytes of 'x'. The RESP encoding is built once; encoding a request copies it and
// patches the digits in place, with no allocation once `out` has grown.
//
// parse_reply(in) decodes one complete RESP2 reply (simple string, error, integer, bulk string
// including null, arrays including nested and null arrays) without recursion. It never reads
// past `in` and rejects malformed input (unknown type byte, bad length, missing CRLF, a bulk
// larger than 512 MiB, nesting deeper than kMaxNesting).
//
// Thread-safety: CommandTemplate and RedisProtocol are immutable; a session belongs to one
// connection.
#ifndef KEEL_BENCHMARKS_LOADGEN_REDIS_H_
#define KEEL_BENCHMARKS_LOADGEN_REDIS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/loadgen/protocol.h"

namespace keel::loadgen {

// Digits of an expanded __rand_int__ (redis-benchmark's width).
inline constexpr std::size_t kRandIntDigits = 12;
// Redis's default proto-max-bulk-len: a longer bulk string is malformed.
inline constexpr std::int64_t kMaxBulkLength = 512LL * 1024 * 1024;
// Elements of one array we accept; Redis replies stay far below (a large LRANGE is 10^5).
inline constexpr std::int64_t kMaxArrayLength = 64LL * 1024 * 1024;
// Arrays nested deeper than this are rejected: real replies nest 2-3 levels (hiredis stops
// at 9), and the decoder keeps one counter per level on the stack.
inline constexpr std::size_t kMaxNesting = 64;

class CommandTemplate {
 public:
  static absl::StatusOr<CommandTemplate> parse(std::string_view text, std::uint64_t keyspace,
                                               std::size_t data_size);

  // The arguments after expansion, with every __rand_int__ shown as 12 zeros (for tests and
  // the report).
  const std::vector<std::string>& args() const { return args_; }
  // The RESP encoding with zeros in place of random digits, and where the digits go.
  const std::string& encoded() const { return encoded_; }
  const std::vector<std::size_t>& rand_offsets() const { return rand_offsets_; }
  std::uint64_t keyspace() const { return keyspace_; }

  // Appends one request to `out`, drawing random numbers from `rng_state` (splitmix64).
  void expand(std::uint64_t& rng_state, std::string& out) const;

 private:
  std::vector<std::string> args_;
  std::string encoded_;
  std::vector<std::size_t> rand_offsets_;
  std::uint64_t keyspace_ = 1;
};

// Decodes one RESP2 reply at the front of `in` (see the file comment). kResponse or
// kServerError (a top-level "-..." error reply) with `consumed` set, kNeedMore, or kError.
Decoded parse_reply(std::string_view in);

class RedisProtocol final : public Protocol {
 public:
  explicit RedisProtocol(CommandTemplate command) : command_(std::move(command)) {}
  std::string_view name() const override { return "redis"; }
  std::unique_ptr<Session> new_session(std::uint64_t seed) const override;
  const CommandTemplate& command() const { return command_; }

 private:
  CommandTemplate command_;
};

}  // namespace keel::loadgen

#endif  // KEEL_BENCHMARKS_LOADGEN_REDIS_H_
