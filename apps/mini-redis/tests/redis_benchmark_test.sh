#!/usr/bin/env bash
# Drives the server with the real redis-benchmark (Debian's redis-tools, Redis 7): every
# command family it knows (ping, set, get, incr, lpush, rpush, lpop, rpop, lrange, mset, hset),
# then SET/GET with 16 requests pipelined per connection over random keys. redis-benchmark
# exits non-zero on the first error reply ("Error from server: ..."); each run must exit 0
# and print a result line per test. Nothing about speed is checked.
#
#   bazel test //apps/mini-redis/tests:redis_benchmark_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/redis_benchmark_test.sh
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

command -v redis-benchmark >/dev/null || fail "redis-benchmark is not installed (./bazelw installs redis-tools)"

# Requests per test: enough to cross every code path, small enough for a sanitizer build.
readonly kRequests=2000
# redis-benchmark retries a refused connection forever; this bounds a run (it takes ~1 s).
readonly kRunTimeoutSecs=120

# bench NAME EXPECTED_TESTS ARGS...: runs redis-benchmark --csv ARGS against the server; checks
# the exit status, that no error was printed, and that each expected test has a result row.
bench() {
  local name=$1 expected=$2 status=0
  shift 2
  log "redis-benchmark $*"
  timeout "$kRunTimeoutSecs" redis-benchmark -p "${server_port[main]}" --csv "$@" \
    >"$work/$name.csv" 2>"$work/$name.err" || status=$?
  ((status == 0)) || fail "redis-benchmark $* exited with status $status:
$(cat "$work/$name.err" "$work/$name.csv")"
  # The CONFIG warning is redis-benchmark's, when a server has no CONFIG GET: not an error.
  if grep -v 'WARNING: Could not fetch server CONFIG' "$work/$name.err" | grep -qi 'error'; then
    fail "redis-benchmark $* printed errors: $(cat "$work/$name.err")"
  fi
  local test
  for test in $expected; do
    # A row: "LRANGE_100 (first 100 elements)","12345.67",... (the rate must be > 0).
    grep -Eq "^\"$test( \([^\"]*\))?\",\"[0-9]*[1-9][0-9]*(\.[0-9]*)?\"," "$work/$name.csv" ||
      fail "redis-benchmark $*: no result for $test in:
$(cat "$work/$name.csv")"
  done
}

start_server main

bench all "PING_INLINE PING_MBULK SET GET INCR LPUSH RPUSH LPOP RPOP LRANGE_100 LRANGE_300 LRANGE_500 LRANGE_600 MSET HSET" \
  -t ping,set,get,incr,lpush,rpush,lpop,rpop,lrange,mset,hset -n "$kRequests" -c 20
# LRANGE_600 read back 600 elements each time: the list was really built.
llen=$(raw_cli main llen mylist)
((llen >= 600)) || fail "LLEN mylist after redis-benchmark's lpush is $llen, want >= 600"

bench pipelined "SET GET" -t set,get -n $((kRequests * 10)) -c 50 -P 16 -r 100000 -d 16
keys=$(raw_cli main dbsize)
((keys > 1000)) || fail "DBSIZE after 20,000 SETs of random keys is $keys"
keys_list=$(raw_cli main keys 'key:0*')
key=${keys_list%%$'\n'*}
len=$(raw_cli main strlen "$key")
[[ $len == 16 ]] || fail "STRLEN $key is '$len', want 16 (-d 16)"

expect main 'PONG' ping
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"
pass
