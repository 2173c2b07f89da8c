#include "apps/mini-redis/protocol/request.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mini_redis::resp {
namespace {

using Args = std::vector<std::string>;

Args args_of(const Request& req) { return Args(req.args.begin(), req.args.end()); }

// Parses `in` expecting one complete request; returns its arguments and checks `consumed`.
Args parse_ok(std::string_view in, std::size_t consumed) {
  Request req;
  ParseResult r = parse_request(in, req);
  EXPECT_EQ(r.kind, ParseResult::kComplete) << "input: " << in << " error: " << r.error;
  EXPECT_EQ(r.consumed, consumed) << "input: " << in;
  return args_of(req);
}

Args parse_ok(std::string_view in) { return parse_ok(in, in.size()); }

std::string parse_error(std::string_view in) {
  Request req;
  ParseResult r = parse_request(in, req);
  EXPECT_EQ(r.kind, ParseResult::kError) << "input: " << in;
  EXPECT_TRUE(req.args.empty());
  return r.error;
}

bool incomplete(std::string_view in) {
  Request req;
  ParseResult r = parse_request(in, req);
  return r.kind == ParseResult::kIncomplete && req.args.empty();
}

std::string resp(const Args& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

TEST(ParseRequest, EmptyBufferIsIncomplete) { EXPECT_TRUE(incomplete("")); }

TEST(ParseRequest, RespArray) {
  EXPECT_EQ(parse_ok("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"), (Args{"GET", "foo"}));
  EXPECT_EQ(parse_ok("*1\r\n$0\r\n\r\n"), (Args{""}));
  std::string binary("a\r\nb\0c$*\n", 9);
  EXPECT_EQ(parse_ok(resp({"SET", "k", binary})), (Args{"SET", "k", binary}));
}

TEST(ParseRequest, RespArgsAreViewsIntoTheBuffer) {
  std::string in = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
  Request req;
  ASSERT_EQ(parse_request(in, req).kind, ParseResult::kComplete);
  ASSERT_EQ(req.args.size(), 2u);
  EXPECT_EQ(req.args[0].data(), in.data() + 8);
  EXPECT_EQ(req.args[1].data(), in.data() + 17);
}

TEST(ParseRequest, PipelinedRequestsOneAtATime) {
  std::string in = resp({"SET", "a", "1"}) + resp({"GET", "a"}) + "PING\r\n";
  Request req;
  ParseResult r = parse_request(in, req);
  ASSERT_EQ(r.kind, ParseResult::kComplete);
  EXPECT_EQ(args_of(req), (Args{"SET", "a", "1"}));
  std::string_view rest = std::string_view(in).substr(r.consumed);
  r = parse_request(rest, req);
  ASSERT_EQ(r.kind, ParseResult::kComplete);
  EXPECT_EQ(args_of(req), (Args{"GET", "a"}));
  rest = rest.substr(r.consumed);
  r = parse_request(rest, req);
  ASSERT_EQ(r.kind, ParseResult::kComplete);
  EXPECT_EQ(args_of(req), (Args{"PING"}));
  EXPECT_EQ(r.consumed, rest.size());
}

TEST(ParseRequest, EmptyArraysAreCompleteWithNoArgs) {
  EXPECT_EQ(parse_ok("*0\r\n"), Args{});
  EXPECT_EQ(parse_ok("*-1\r\n"), Args{});
  EXPECT_EQ(parse_ok("*-5\r\nPING\r\n", 5), Args{});
}

TEST(ParseRequest, EveryPrefixOfAValidRequestIsIncomplete) {
  std::vector<std::string> inputs = {
      resp({"SET", "key:000000000001", "value-0123456789"}),
      resp({"X"}),
      resp({""}),
      resp({std::string(300, 'v'), "a\r\nb"}),
      "PING\r\n",
      "set \"a b\" 'c'\n",
      "*0\r\n",
  };
  for (const std::string& in : inputs) {
    for (std::size_t n = 0; n < in.size(); ++n) {
      EXPECT_TRUE(incomplete(std::string_view(in).substr(0, n))) << in << " prefix " << n;
    }
    Request req;
    ParseResult r = parse_request(in, req);
    EXPECT_EQ(r.kind, ParseResult::kComplete) << in;
    EXPECT_EQ(r.consumed, in.size()) << in;
  }
}

// A stream of mixed requests fed in two pieces split at every byte: the consumer loop (parse,
// advance, read more) yields the same requests in order whatever the split.
TEST(ParseRequest, StreamSplitAtEveryByteBoundary) {
  std::vector<Args> expected = {{"SET", "a", "x y"}, {"GET", "a"}, {"PING"}, {},
                                {"ECHO", "hi there"}, {"DEL", "a", "b", "c"}};
  std::string stream = resp(expected[0]) + resp(expected[1]) + "PING\r\n" + "*0\r\n" +
                       "ECHO \"hi there\"\n" + resp(expected[5]);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    std::string buf;
    std::vector<Args> got;
    Request req;
    for (int piece = 0; piece < 2; ++piece) {
      buf += piece == 0 ? stream.substr(0, split) : stream.substr(split);
      while (true) {
        ParseResult r = parse_request(buf, req);
        ASSERT_NE(r.kind, ParseResult::kError) << r.error;
        if (r.kind == ParseResult::kIncomplete) break;
        got.push_back(args_of(req));
        buf.erase(0, r.consumed);
      }
    }
    EXPECT_EQ(got, expected) << "split at " << split;
    EXPECT_TRUE(buf.empty());
  }
}

TEST(ParseRequest, MultibulkLengthErrors) {
  EXPECT_EQ(parse_error("*abc\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*+1\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*01\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*1 \r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*-0\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*99999999999999999999\r\n"), "invalid multibulk length");
  EXPECT_EQ(parse_error("*" + std::to_string(kMaxMultibulkLen + 1) + "\r\n"),
            "invalid multibulk length");
  // At the limit the request is just waiting for its arguments.
  EXPECT_TRUE(incomplete("*" + std::to_string(kMaxMultibulkLen) + "\r\n"));
  // No '\r' in more than kMaxInlineLen bytes.
  EXPECT_EQ(parse_error("*" + std::string(kMaxInlineLen, '1')), "too big mbulk count string");
  EXPECT_TRUE(incomplete("*" + std::string(kMaxInlineLen - 1, '1')));
  // The count line needs one byte after '\r'.
  EXPECT_TRUE(incomplete("*1\r"));
}

TEST(ParseRequest, BulkLengthErrors) {
  EXPECT_EQ(parse_error("*1\r\n$-1\r\n"), "invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$\r\n"), "invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$x\r\n"), "invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$03\r\nabc\r\n"), "invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$" + std::to_string(kMaxBulkLen + 1) + "\r\n"),
            "invalid bulk length");
  EXPECT_EQ(parse_error("*1\r\n$600000000\r\n"), "invalid bulk length");
  // A huge bulk within the limit is fine: incomplete until it arrives.
  EXPECT_TRUE(incomplete("*1\r\n$" + std::to_string(kMaxBulkLen) + "\r\n"));
  EXPECT_TRUE(incomplete("*2\r\n$536870912\r\nabc"));
  EXPECT_EQ(parse_error("*1\r\n$" + std::string(kMaxInlineLen, '1')),
            "too big bulk count string");
  EXPECT_TRUE(incomplete("*1\r\n$" + std::string(kMaxInlineLen - 1, '1')));
}

// The line end is found wherever it falls: in the bytes scanned one by one (the first 16 of a
// line) or in the rest (memchr), and right at the edge between them.
TEST(ParseRequest, LineEndAtEveryOffset) {
  for (std::size_t digits = 12; digits <= 20; ++digits) {
    SCOPED_TRACE(digits);
    const std::string count_line = "*" + std::string(digits, '9');  // too many arguments
    EXPECT_EQ(parse_error(count_line + "\r\n"), "invalid multibulk length");
    EXPECT_TRUE(incomplete(count_line));
    EXPECT_TRUE(incomplete(count_line + "\r"));
    const std::string bulk_line = "*1\r\n$" + std::string(digits, '9');  // too long a bulk
    EXPECT_EQ(parse_error(bulk_line + "\r\n"), "invalid bulk length");
    EXPECT_TRUE(incomplete(bulk_line));
    EXPECT_TRUE(incomplete(bulk_line + "\r"));
  }
  // A bulk line of leading zeros is refused whatever its length, as in Redis.
  const std::string padded = "*1\r\n$" + std::string(17, '0') + "3\r\nabc\r\n";
  EXPECT_EQ(parse_error(padded), "invalid bulk length");
}

TEST(ParseRequest, ExpectedDollar) {
  EXPECT_EQ(parse_error("*1\r\n:1\r\n"), "expected '$', got ':'");
  EXPECT_EQ(parse_error("*2\r\n$1\r\na\r\n*1\r\n"), "expected '$', got '*'");
  EXPECT_EQ(parse_error("*1\r\nGET\r\n"), "expected '$', got 'G'");
}

TEST(ParseRequest, BulkTerminatorIsSkippedUnchecked) {
  // Redis does not look at the two bytes after the data; neither do we.
  EXPECT_EQ(parse_ok("*1\r\n$1\r\naXY"), (Args{"a"}));
}

TEST(ParseRequest, InlineCommands) {
  EXPECT_EQ(parse_ok("PING\r\n"), (Args{"PING"}));
  EXPECT_EQ(parse_ok("PING\n"), (Args{"PING"}));
  EXPECT_EQ(parse_ok("  set  a \t b  \r\n"), (Args{"set", "a", "b"}));
  EXPECT_EQ(parse_ok("get a\r\nget b\r\n", 7), (Args{"get", "a"}));
  EXPECT_EQ(parse_ok("a\rb\n"), (Args{"a", "b"}));
  // '\v' and '\f' separate leading blanks but do not end an argument (sdssplitargs).
  EXPECT_EQ(parse_ok("\va\vb c\n"), (Args{"a\vb", "c"}));
}

TEST(ParseRequest, InlineArgsAreViewsIntoTheBufferWhenUnquoted) {
  std::string in = "GET foo\r\n";
  Request req;
  ASSERT_EQ(parse_request(in, req).kind, ParseResult::kComplete);
  ASSERT_EQ(req.args.size(), 2u);
  EXPECT_EQ(req.args[1].data(), in.data() + 4);
}

TEST(ParseRequest, InlineQuotes) {
  EXPECT_EQ(parse_ok("set \"a b\" 'c d'\n"), (Args{"set", "a b", "c d"}));
  EXPECT_EQ(parse_ok("x \"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n"),
            (Args{"x", "AJ\n\r\t\b\a\\\"q"}));
  EXPECT_EQ(parse_ok("x \"\\x4\"\n"), (Args{"x", "x4"}));  // not a full hex escape
  EXPECT_EQ(parse_ok("x 'it\\'s' 'a\\nb'\n"), (Args{"x", "it's", "a\\nb"}));
  EXPECT_EQ(parse_ok("x \"\" ''\n"), (Args{"x", "", ""}));
  EXPECT_EQ(parse_ok("ab\"c d\" e\n"), (Args{"abc d", "e"}));  // a quote inside an argument
  EXPECT_EQ(parse_ok("x \"a\"\tb\n"), (Args{"x", "a", "b"}));
  // Mixed quoted and unquoted arguments keep their values (storage never reallocates).
  EXPECT_EQ(parse_ok("\"1\" 2 '3' \"" + std::string(200, 'z') + "\" 5\n"),
            (Args{"1", "2", "3", std::string(200, 'z'), "5"}));
}

TEST(ParseRequest, InlineUnbalancedQuotes) {
  EXPECT_EQ(parse_error("set \"abc\r\n"), "unbalanced quotes in request");
  EXPECT_EQ(parse_error("set 'abc\n"), "unbalanced quotes in request");
  EXPECT_EQ(parse_error("set \"a\"b\n"), "unbalanced quotes in request");
  EXPECT_EQ(parse_error("set 'a'b\n"), "unbalanced quotes in request");
  EXPECT_EQ(parse_error("set \"a\\\"\n"), "unbalanced quotes in request");
}

TEST(ParseRequest, InlineNulEndsTheLine) {
  std::string in("get a\0 b\n", 9);
  EXPECT_EQ(parse_ok(in), (Args{"get", "a"}));
  std::string quoted("x \"a\0\"\n", 7);
  EXPECT_EQ(parse_error(quoted), "unbalanced quotes in request");
}

TEST(ParseRequest, EmptyInlineLines) {
  EXPECT_EQ(parse_ok("\r\n"), Args{});
  EXPECT_EQ(parse_ok("\n"), Args{});
  EXPECT_EQ(parse_ok("   \t \r\n"), Args{});
}

TEST(ParseRequest, InlineLimit) {
  EXPECT_TRUE(incomplete(std::string(kMaxInlineLen, 'a')));
  EXPECT_EQ(parse_error(std::string(kMaxInlineLen + 1, 'a')), "too big inline request");
  // A complete line over the limit is refused too, whatever the reads were.
  EXPECT_EQ(parse_error(std::string(kMaxInlineLen + 1, 'a') + "\n"), "too big inline request");
  EXPECT_EQ(parse_ok(std::string(kMaxInlineLen, 'a') + "\r\n").size(), 1u);
}

TEST(ParseRequest, ArgsCapacityIsReused) {
  Request req;
  std::string wide = resp(Args(8, "v"));
  ASSERT_EQ(parse_request(wide, req).kind, ParseResult::kComplete);
  const std::string_view* data = req.args.data();
  std::string narrow = resp({"GET", "k"});
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(parse_request(narrow, req).kind, ParseResult::kComplete);
    EXPECT_EQ(req.args.data(), data);
  }
}

TEST(ParseRequest, ErrorAndIncompleteLeaveNoArgs) {
  Request req;
  ASSERT_EQ(parse_request("*2\r\n$1\r\na\r\n$1\r\n", req).kind, ParseResult::kIncomplete);
  EXPECT_TRUE(req.args.empty());
  ASSERT_EQ(parse_request("*2\r\n$1\r\na\r\n:1\r\n", req).kind, ParseResult::kError);
  EXPECT_TRUE(req.args.empty());
}

}  // namespace
}  // namespace mini_redis::resp
