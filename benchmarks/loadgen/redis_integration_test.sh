#!/bin/bash
# Runs loadgen against a real redis-server (Debian's package) on a free loopback port: PING and
# a pipelined SET template over TCP, and GET over a Unix socket; each JSON report must show
# requests > 0 and no errors, and redis must have executed the commands.
set -euo pipefail

LOADGEN="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-keel}/benchmarks/loadgen/loadgen"
[[ -x "$LOADGEN" ]] || LOADGEN="$(dirname "$0")/loadgen"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"

command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Unix socket paths must be under 108 bytes; the test's tmpdir is too deep.
SOCK_DIR=$(mktemp -d /tmp/loadgen_redis.XXXXXX)
SOCK="$SOCK_DIR/redis.sock"
redis-server --port "$PORT" --bind 127.0.0.1 --unixsocket "$SOCK" --save '' --appendonly no \
  --dir "$TMP" >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null || true; wait $REDIS_PID 2>/dev/null || true; rm -rf "$SOCK_DIR"' EXIT

for _ in $(seq 1 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.05
done
redis-cli -p "$PORT" ping | grep -q PONG || { echo "redis-server did not start:"; cat "$TMP/redis.log"; exit 1; }

check() {  # check NAME JSON_FILE
  python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
for key in ("protocol", "transport", "connections", "pipeline", "duration_s", "requests",
            "errors", "throughput_rps", "latency_us"):
    assert key in r, f"{name}: missing key {key}: {r}"
for key in ("total", "refused", "reset", "timeout", "protocol", "other"):
    assert key in r["errors"], f"{name}: missing errors.{key}"
for key in ("min", "p50", "p90", "p99", "p999", "max", "mean"):
    assert key in r["latency_us"], f"{name}: missing latency_us.{key}"
assert r["requests"] > 0, f"{name}: no requests: {r}"
assert r["errors"]["total"] == 0, f"{name}: errors: {r}"
lat = r["latency_us"]
assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat
print(f"{name}: {r['requests']} requests, {r['throughput_rps']:.0f}/s, p99 {lat['p99']:.0f} us")
PY
}

"$LOADGEN" redis --connect "127.0.0.1:$PORT" --connections 10 --requests 20000 \
  --json "$TMP/ping.json" >/dev/null
check ping "$TMP/ping.json"

"$LOADGEN" redis --connect "127.0.0.1:$PORT" --connections 8 --pipeline 16 --requests 50000 \
  --command "SET key:__rand_int__ __data__" --keyspace 1000 --data-size 10 \
  --json "$TMP/set.json" >/dev/null
check set "$TMP/set.json"
# The SETs really ran: random keys from the keyspace, values of 10 bytes.
KEYS=$(redis-cli -p "$PORT" dbsize)
(( KEYS > 900 && KEYS <= 1000 )) || { echo "expected ~1000 keys, redis has $KEYS"; exit 1; }
VALUE=$(redis-cli -p "$PORT" get "$(redis-cli -p "$PORT" randomkey)")
[[ "$VALUE" == "xxxxxxxxxx" ]] || { echo "unexpected value '$VALUE'"; exit 1; }

"$LOADGEN" redis --transport unix --connect "$SOCK" --connections 4 --pipeline 4 \
  --requests 10000 --command "GET key:__rand_int__" --keyspace 1000 --warmup 0 \
  --json "$TMP/unix.json" >/dev/null
check unix-get "$TMP/unix.json"

# A command redis rejects is counted as server_error, not a crash.
"$LOADGEN" redis --connect "127.0.0.1:$PORT" --connections 2 --requests 100 --command "NOSUCHCMD" \
  --json "$TMP/err.json" >/dev/null
python3 -c "
import json; r = json.load(open('$TMP/err.json'))
assert r['errors']['server_error'] == 100 and r['requests'] == 0, r
print('server errors counted:', r['errors'])"

# Nothing listening: refused connects are counted, the run still ends.
"$LOADGEN" redis --connect "127.0.0.1:1" --connections 2 --requests 4 --json "$TMP/refused.json" >/dev/null
python3 -c "
import json; r = json.load(open('$TMP/refused.json'))
assert r['errors']['refused'] == 4, r
print('refused counted:', r['errors'])"

# Bad flags exit 2 with the usage.
set +e
"$LOADGEN" redis --pipeline 0 2>"$TMP/usage.txt"
RC=$?
set -e
[[ $RC -eq 2 ]] && grep -q "usage: loadgen" "$TMP/usage.txt" || { echo "bad flags: rc $RC"; exit 1; }
echo PASS
