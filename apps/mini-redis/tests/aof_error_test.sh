#!/usr/bin/env bash
# The append-only file cannot be written: the server runs under a file-size limit (ulimit -f,
# SIGXFSZ ignored), so once the AOF reaches it every write(2) fails with EFBIG. Then, as Redis:
#   - everysec: write commands (and PING, so that health checks notice) are refused with
#     "-MISCONF Errors writing to the AOF file: ...", reads keep working, INFO says
#     aof_last_write_status:err, and the server stays up;
#   - always (mini-redis only: Redis exits on an AOF write error under always): a write whose
#     record did not reach the disk is never answered OK (MISCONF instead), and after a restart
#     without the limit (the torn last record dropped) every write that was answered OK is
#     there.
#
#   bazel test //apps/mini-redis/tests:aof_error_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/aof_error_test.sh
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# The file-size limit, in ulimit -f's 1 KiB blocks: a few thousand records.
readonly kLimitKiB=128
# A guard on the writers (they stop at their first MISCONF, within seconds).
readonly kWriterMaxSecs=50
readonly kMisconf="MISCONF Errors writing to the AOF file"

real_bin=$server_bin
if grep -q __tsan_init "$real_bin"; then
  # ThreadSanitizer's runtime dies of SIGBUS at start-up under a file-size limit (before
  # main); the other builds run this test.
  log "skipped: a ThreadSanitizer build cannot start under ulimit -f"
  pass
fi
limited=$work/limited-server.sh
cat >"$limited" <<EOF
#!/usr/bin/env bash
trap '' XFSZ
ulimit -f $kLimitKiB
exec "$real_bin" "\$@"
EOF
chmod +x "$limited"

log "everysec: writes past the limit are refused with MISCONF; reads and the server go on"
dir=$work/everysec
mkdir -p "$dir"
# (A prefix assignment on a function call lasts for that call only.)
server_bin=$limited start_server main --appendonly yes --appendfsync everysec --dir "$dir"
expect main OK SET before-the-limit kept
py "${server_port[main]}" "$kMisconf" <<'PY' ||
import sys, time
import resp_client
port, misconf = int(sys.argv[1]), sys.argv[2]
c = resp_client.Client(port)
value = "x" * 200
deadline = time.monotonic() + 30
n = 0
while time.monotonic() < deadline:
    replies = c.pipeline([("SET", f"fill:{n + i}", value) for i in range(100)])
    n += 100
    refused = [r for r in replies if isinstance(r, resp_client.Error)]
    if refused:
        if not all(r.startswith(misconf) for r in refused):
            sys.exit(f"unexpected error reply: {refused[0]!r}")
        print(f"refused after {n} writes: {refused[0]}", file=sys.stderr)
        sys.exit(0)
    time.sleep(0.01)  # everysec: the writer finds the limit on its own schedule
sys.exit(f"no MISCONF after {n} writes")
PY
  fail "writes past the file-size limit were not refused with MISCONF"
got=$(cli main SET after-the-limit refused)
[[ $got == "(error) $kMisconf"* ]] || fail "SET after the write error: want MISCONF, got: $got"
expect main '"kept"' GET before-the-limit
got=$(cli main PING)
[[ $got == "(error) $kMisconf"* ]] ||
  fail "PING after the write error: want MISCONF (as Redis), got: $got"
raw_cli main INFO persistence | grep -q '^aof_last_write_status:err' ||
  fail "INFO persistence does not report the write error: $(raw_cli main INFO persistence)"
stop_server main KILL
if is_mini; then
  grep -q "writes are refused until a retry succeeds" "${server_log[main]}" ||
    fail "the server log does not say it retries: $(tail -n 5 "${server_log[main]}")"
  log "  killed in that state, the file replays whole: a failed write is cut off the file"
  start_server main --appendonly yes --appendfsync everysec --dir "$dir"
  expect main '"kept"' GET before-the-limit
  if grep -q "torn last record" "${server_log[main]}"; then
    fail "the failed write left a torn record: $(grep -A1 'short read' "${server_log[main]}")"
  fi
  stop_server main TERM
fi

if is_mini; then
  log "always: no write is answered OK unless its record is on disk; all of those survive"
  dir=$work/always
  acks=$work/acks
  mkdir -p "$dir" "$acks"
  server_bin=$limited start_server main --appendonly yes --appendfsync always --dir "$dir"
  start_writers main "$acks" always "$kWriterMaxSecs"
  status=0
  wait "$writers_pid" || status=$?
  if ((status != 1)) || ! grep -q "$kMisconf" "$writers_log"; then
    fail "the writers did not stop on MISCONF (status $status):
$(cat "$writers_log")"
  fi
  refused=$(grep -c "$kMisconf" "$writers_log")
  acknowledged=$(acked "$acks")
  log "  $refused writers refused; $acknowledged writes acknowledged"
  got=$(cli main SET after-the-limit refused)
  [[ $got == "(error) $kMisconf"* ]] || fail "SET after the write error: want MISCONF, got: $got"
  stop_server main TERM
  ((stop_status != 0)) || fail "shutdown with a failed AOF exited 0"
  grep -q "File too large" "${server_log[main]}" ||
    fail "the server log does not name the write error: $(tail -n 5 "${server_log[main]}")"
  start_server main --appendonly yes --appendfsync always --dir "$dir"
  verify_acked main "$acks" "after the write error and a restart"
  stop_server main TERM
fi

pass
