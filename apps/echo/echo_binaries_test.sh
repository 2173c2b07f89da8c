#!/usr/bin/env bash
# Runs the echo server and client binaries as a user does: bad flags print the usage and exit
# 2; the server echoes over tcp, unix and udp, logs a line when it starts and when it stops,
# and exits 0 on SIGTERM and on SIGINT.
set -euo pipefail

server=apps/echo/server
client=apps/echo/client
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bad flags: usage on stderr, status 2.
for args in "--proto sctp" "--threads 0" "--bogus 1" "--listen" "--shutdown-timeout 5y"; do
  set +e
  # shellcheck disable=SC2086
  "$server" $args 2>"$tmp/err"; rc=$?
  set -e
  [[ $rc -eq 2 ]] || fail "server $args exited $rc, want 2"
  grep -q "usage: server" "$tmp/err" || fail "server $args printed no usage"
done
set +e; "$client" --count x 2>"$tmp/err"; rc=$?; set -e
[[ $rc -eq 2 ]] && grep -q "usage: client" "$tmp/err" || fail "client --count x: $rc"

# Starts the server with the given flags; waits for its "listening on ADDR" line; sets $pid
# and $addr.
start() {
  : >"$tmp/log"
  "$server" "$@" 2>"$tmp/log" &
  pid=$!
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^echo server listening on \([^ ]*\) .*/\1/p' "$tmp/log")
    [[ -n "$addr" ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "server $* died: $(cat "$tmp/log")"
    sleep 0.05
  done
  fail "server $* did not start: $(cat "$tmp/log")"
}

stop() {  # signal
  kill -"$1" "$pid"
  wait "$pid" || fail "server exited $? on SIG$1: $(cat "$tmp/log")"
  grep -q "^echo server stopped" "$tmp/log" || fail "no stop line: $(cat "$tmp/log")"
}

start --listen 127.0.0.1:0 --proto tcp --threads 2
out=$("$client" --connect "$addr" --message hello --count 3)
[[ "$out" == $'hello\nhello\nhello' ]] || fail "tcp echo: $out"
stop TERM

sockdir=$(mktemp -d /tmp/keel-echo-test.XXXXXX)  # sun_path holds 107 bytes: keep it short
trap 'rm -rf "$sockdir"' EXIT
sock="$sockdir/echo.sock"
start --listen "$sock" --proto unix
out=$("$client" --connect "$sock" --proto unix --message "over unix")
[[ "$out" == "over unix" ]] || fail "unix echo: $out"
stop INT
[[ ! -e "$sock" ]] || fail "the server left its socket file behind"

start --listen 127.0.0.1:0 --proto udp
out=$("$client" --connect "$addr" --proto udp --message datagram)
[[ "$out" == "datagram" ]] || fail "udp echo: $out"
stop TERM

# A client to nothing names what failed.
set +e; "$client" --connect 127.0.0.1:1 --message x 2>"$tmp/err"; rc=$?; set -e
[[ $rc -eq 1 ]] && grep -q "connect 127.0.0.1:1: Connection refused" "$tmp/err" ||
  fail "refused client: $rc $(cat "$tmp/err")"
echo PASS
