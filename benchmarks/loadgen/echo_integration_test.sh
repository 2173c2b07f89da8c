#!/bin/bash
# Runs loadgen against Keel's echo server (apps/echo) over tcp, udp and unix, closed loop with
# pipelining and open loop at a fixed rate: each JSON report must show requests > 0 and no
# errors (loadgen validates every echoed byte). Then the server is stopped mid-run: loadgen
# counts the resets and refusals and still ends with a report.
set -euo pipefail

LOADGEN=benchmarks/loadgen/loadgen
SERVER=apps/echo/server
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
SOCK_DIR=$(mktemp -d /tmp/loadgen_echo.XXXXXX)  # sun_path is 108 bytes: the tmpdir is too deep
SERVER_PID=
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$SOCK_DIR"
}
trap cleanup EXIT

start_server() {  # start_server FLAGS...; sets SERVER_PID and ADDR
  : >"$TMP/server.log"
  "$SERVER" "$@" 2>"$TMP/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    ADDR=$(sed -n 's/^echo server listening on \([^ ]*\) .*/\1/p' "$TMP/server.log")
    [[ -n "$ADDR" ]] && return 0
    sleep 0.05
  done
  echo "server $* did not start:"; cat "$TMP/server.log"; exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || { echo "server exited $?:"; cat "$TMP/server.log"; exit 1; }
  SERVER_PID=
}

check() {  # check NAME JSON_FILE
  python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
assert r["requests"] > 0, f"{name}: no requests: {r}"
assert r["errors"]["total"] == 0, f"{name}: errors: {r}"
lat = r["latency_us"]
assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"], lat
print(f"{name}: {r['requests']} requests, {r['throughput_rps']:.0f}/s, p99 {lat['p99']:.0f} us")
PY
}

start_server --listen 127.0.0.1:0 --proto tcp --threads 2
"$LOADGEN" echo --connect "$ADDR" --connections 20 --size 64 --pipeline 8 --requests 40000 \
  --json "$TMP/tcp.json" >/dev/null
check tcp-pipelined "$TMP/tcp.json"
"$LOADGEN" echo --connect "$ADDR" --connections 4 --size 4096 --requests 4000 \
  --json "$TMP/tcp4k.json" >/dev/null
check tcp-4k "$TMP/tcp4k.json"
"$LOADGEN" echo --connect "$ADDR" --connections 4 --size 100 --rate 2000 --duration 1s \
  --json "$TMP/open.json" >/dev/null
check tcp-open-loop "$TMP/open.json"
python3 -c "
import json; r = json.load(open('$TMP/open.json'))
assert 1000 <= r['requests'] <= 3000, ('open loop at 2000/s for 1 s', r['requests'])"
stop_server

start_server --listen 127.0.0.1:0 --proto udp
"$LOADGEN" echo --transport udp --connect "$ADDR" --connections 4 --size 200 --requests 4000 \
  --json "$TMP/udp.json" >/dev/null
check udp "$TMP/udp.json"
stop_server

start_server --listen "$SOCK_DIR/echo.sock" --proto unix
"$LOADGEN" echo --transport unix --connect "$SOCK_DIR/echo.sock" --connections 8 --pipeline 4 \
  --requests 20000 --json "$TMP/unix.json" >/dev/null
check unix "$TMP/unix.json"
stop_server

# The server goes away under load: errors are counted by kind, loadgen still reports.
start_server --listen 127.0.0.1:0 --proto tcp --shutdown-timeout 0s
"$LOADGEN" echo --connect "$ADDR" --connections 8 --duration 2s --timeout 500ms \
  --json "$TMP/gone.json" >"$TMP/gone.txt" 2>&1 &
LOADGEN_PID=$!
# Stop the server once loadgen has made progress (its progress line shows requests).
for _ in $(seq 1 100); do
  grep -q "req/s" "$TMP/gone.txt" && break
  sleep 0.05
done
stop_server
wait "$LOADGEN_PID" || { echo "loadgen failed when the server left:"; cat "$TMP/gone.txt"; exit 1; }
python3 -c "
import json; r = json.load(open('$TMP/gone.json'))
assert r['requests'] > 0, r
assert r['errors']['total'] > 0, ('the server left: errors expected', r['errors'])
print('server gone: requests', r['requests'], 'errors', r['errors'])"
echo PASS
