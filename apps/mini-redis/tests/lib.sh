# Shared helpers of apps/mini-redis's integration tests; each *_test.sh starts with
#
#   source "$(dirname "$0")/lib.sh" "$@"
#   start_server main --appendonly yes --dir "$work/aof"   # a server named "main", ready
#   expect main '"bar"' get foo                             # redis-cli --no-raw output
#   stop_server main TERM                                   # sets stop_status
#   pass
#
# The server under test is $MINI_REDIS_SERVER if set, else the script's first argument (Bazel
# passes $(rootpath //apps/mini-redis:server)). Any Redis-compatible binary works, which is how
# the scripts are checked against real Redis:
#
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/redis_cli_test.sh
#
# For redis-server the flags are translated (--pubsub-output-limit X becomes
# --client-output-buffer-limit "pubsub X 0 0", and --save '' is added); checks of behaviour only
# mini-redis has are guarded by `is_mini`.
#
# Servers get a free loopback port each, picked with bind(0); readiness is the server's
# "mini-redis listening on 127.0.0.1:PORT" line (mini-redis) and then a PING answered (both).
# Files go under $TEST_TMPDIR (a private mktemp -d outside Bazel). Every process started through
# these helpers (or registered with `track PID`) is killed on exit, and a failure prints the tail
# of the log of the server started last (and of any other still running). Nothing waits a fixed
# time: each wait polls a condition until a deadline.
# Variables set here (stop_status, server_port, ...) are read by the scripts that source it.
# shellcheck disable=SC2034
set -Eeuo pipefail

tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
test_name=$(basename "$0" .sh)
export PYTHONPATH=$tests_dir${PYTHONPATH:+:$PYTHONPATH}
# No __pycache__ in the source tree when the scripts run outside Bazel.
export PYTHONDONTWRITEBYTECODE=1

# How long a server may take to answer its first PING (an AOF replay under tsan is slow), and
# to exit after a signal (mini-redis's default --shutdown-timeout is 10 s).
readonly kStartTimeoutSecs=30
readonly kStopTimeoutSecs=30
# How long one redis-cli call may take before it counts as hung.
readonly kCliTimeoutSecs=20
# Log lines of each server shown when a check fails.
readonly kLogTailLines=40

log() { echo "$test_name: $*" >&2; }

declare -a tracked_pids=()
err_status=0
# The exit status of the server stop_server/wait_exit waited for.
stop_status=0
declare -A server_pid=() server_port=() server_log=()
last_server=
own_tmp=
if [[ -n ${TEST_TMPDIR:-} ]]; then
  work=$TEST_TMPDIR
else
  own_tmp=$(mktemp -d)
  work=$own_tmp
fi

track() { tracked_pids+=("$@"); }
# Folders outside $work (e.g. for Unix sockets, whose paths must be short) removed on exit.
declare -a tracked_dirs=()
track_dir() { tracked_dirs+=("$@"); }

cleanup() {
  local pid dir
  for pid in "${tracked_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${tracked_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [[ -z $own_tmp ]] || rm -rf "$own_tmp"
  for dir in "${tracked_dirs[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT
# set -e alone exits silently: name the command that failed (once: not again from inside the
# $(...) whose failure the enclosing command reports).
trap 'err_status=$?; ((BASH_SUBSHELL)) || { echo "FAIL ($test_name): line $LINENO: status $err_status from: $BASH_COMMAND" >&2; show_logs; }' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# The log of the server started last (the one a failing check was talking to, in these
# scripts) and of any other still running.
show_logs() {
  local name
  for name in "${!server_log[@]}"; do
    [[ -s ${server_log[$name]} ]] || continue
    [[ $name == "$last_server" ]] || kill -0 "${server_pid[$name]}" 2>/dev/null || continue
    echo "--- last $kLogTailLines lines of server '$name' (${server_log[$name]}):" >&2
    tail -n "$kLogTailLines" "${server_log[$name]}" | sed 's/^/  | /' >&2
  done
}

fail() {
  echo "FAIL ($test_name): $*" >&2
  show_logs
  exit 1
}

pass() {
  echo "PASS ($test_name against $server_kind: $server_bin)"
  exit 0
}

server_bin=${MINI_REDIS_SERVER:-${1:-}}
[[ -n $server_bin ]] ||
  fail "no server binary: pass it as the first argument or set MINI_REDIS_SERVER"
resolved=$(command -v "$server_bin" || true)
[[ -n $resolved && -x $resolved ]] || fail "server binary not found or not executable: $server_bin"
server_bin=$resolved
for tool in redis-cli python3 timeout; do
  command -v "$tool" >/dev/null ||
    fail "$tool is not installed (./bazelw installs redis-tools; python3 and coreutils are needed)"
done
if "$server_bin" --version 2>/dev/null | grep -q '^Redis server v='; then
  server_kind=redis
else
  server_kind=mini-redis
fi
is_mini() { [[ $server_kind == mini-redis ]]; }

# pick_port: sets `port` to a free loopback port not used before by this test.
# shellcheck source=tools/sh/pick_port.sh
source "$tests_dir/../../../tools/sh/pick_port.sh"

# server_args PORT FLAGS...: sets `args` to the command line for the server under test.
server_args() {
  local port=$1 have_dir=0
  shift
  args=(--port "$port" --bind 127.0.0.1)
  while (($#)); do
    case $1 in
      --pubsub-output-limit)
        if is_mini; then args+=("$1" "$2"); else args+=(--client-output-buffer-limit "pubsub $2 0 0"); fi
        shift 2
        ;;
      --dir) have_dir=1; args+=("$1" "$2"); shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  if ! is_mini; then
    args+=(--save '')
    # Redis writes nothing without save/appendonly, but give it a folder of the test's own.
    ((have_dir)) || args+=(--dir "$work")
  fi
}

# ping_reply PORT: what a PING gets (PONG, NOAUTH..., LOADING..., or a connect error).
ping_reply() {
  timeout 5 redis-cli -p "$1" ping 2>&1 || true
}

# start_server NAME FLAGS...: starts the server with FLAGS on a fresh port and waits until it is
# ready; sets server_pid[NAME], server_port[NAME], server_log[NAME] (stdout and stderr). A
# port taken meanwhile by someone else (the port was free when picked) is retried.
start_server() {
  local name=$1 attempt
  shift
  for attempt in 1 2 3; do
    pick_port
    server_args "$port" "$@"
    server_log[$name]=$work/server.$name.log
    last_server=$name
    echo "== $(date -u +%T) start: $server_bin ${args[*]}" >>"${server_log[$name]}"
    local offset
    offset=$(wc -l <"${server_log[$name]}")
    "$server_bin" "${args[@]}" >>"${server_log[$name]}" 2>&1 &
    server_pid[$name]=$!
    server_port[$name]=$port
    track "${server_pid[$name]}"
    local deadline=$((SECONDS + kStartTimeoutSecs)) reply
    while :; do
      if ! kill -0 "${server_pid[$name]}" 2>/dev/null; then
        local status=0
        wait "${server_pid[$name]}" || status=$?
        if tail -n +"$((offset + 1))" "${server_log[$name]}" | grep -q 'Address already in use' &&
          ((attempt < 3)); then
          log "port $port was taken meanwhile; retrying on another"
          continue 2
        fi
        fail "server '$name' exited with status $status before it was ready: $server_bin ${args[*]}"
      fi
      if ! is_mini ||
        tail -n +"$((offset + 1))" "${server_log[$name]}" |
        grep -qx "mini-redis listening on 127.0.0.1:$port"; then
        reply=$(ping_reply "$port")
        [[ $reply == PONG || $reply == NOAUTH* ]] && return 0
      fi
      ((SECONDS < deadline)) ||
        fail "server '$name' not ready after ${kStartTimeoutSecs}s (last PING: ${reply:-none}): $server_bin ${args[*]}"
      sleep 0.05
    done
  done
}

# stop_server NAME SIGNAL: sends SIGNAL and waits for the exit; sets stop_status. A server
# still running after kStopTimeoutSecs fails the test.
stop_server() {
  local name=$1 sig=$2 pid=${server_pid[$1]}
  kill -"$sig" "$pid" 2>/dev/null || true
  wait_exit "$name"
}

# wait_exit NAME: waits (bounded) for server NAME to exit by itself; sets stop_status.
wait_exit() {
  local name=$1 pid=${server_pid[$1]}
  local deadline=$((SECONDS + kStopTimeoutSecs))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "server '$name' still running ${kStopTimeoutSecs}s after being told to stop"
    sleep 0.05
  done
  stop_status=0
  wait "$pid" || stop_status=$?
}

# crash_server NAME: kill -9, and reap it.
crash_server() {
  local pid=${server_pid[$1]}
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cli NAME ARGS...: redis-cli --no-raw against server NAME (formatted as on a terminal:
# (integer) 1, "bar", (nil), (error) ERR ...), stderr included, bounded in time.
cli() {
  local name=$1
  shift
  timeout "$kCliTimeoutSecs" redis-cli --no-raw -p "${server_port[$name]}" "$@" 2>&1
}

# raw_cli NAME ARGS...: the same with --raw (one element per line, no quoting).
raw_cli() {
  local name=$1
  shift
  timeout "$kCliTimeoutSecs" redis-cli --raw -p "${server_port[$name]}" "$@" 2>&1
}

# expect NAME EXPECTED ARGS...: runs the command with `cli` and compares the whole output.
expect() {
  local name=$1 want=$2 got
  shift 2
  got=$(cli "$name" "$@") || true
  [[ $got == "$want" ]] || fail "redis-cli $*
  want: $(printf '%q' "$want")
  got:  $(printf '%q' "$got")"
}

# expect_sorted NAME EXPECTED ARGS...: compares the --raw output's lines sorted (for replies
# whose order Redis does not define, such as KEYS); EXPECTED is one item per line, any order.
expect_sorted() {
  local name=$1 want got
  want=$(printf '%s\n' "$2" | sed '/^$/d' | LC_ALL=C sort)
  shift 2
  got=$(raw_cli "$name" "$@" | sed '/^$/d' | LC_ALL=C sort) || true
  [[ $got == "$want" ]] || fail "redis-cli $* (sorted)
  want: $(printf '%q' "$want")
  got:  $(printf '%q' "$got")"
}

# poll COMMAND...: runs COMMAND until it succeeds; returns 1 if it still fails after
# kStartTimeoutSecs.
poll() {
  local deadline=$((SECONDS + kStartTimeoutSecs))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# wait_until DESCRIPTION COMMAND...: polls COMMAND; fails the test naming DESCRIPTION on timeout.
wait_until() {
  local what=$1
  shift
  poll "$@" || fail "timed out after ${kStartTimeoutSecs}s waiting for $what"
}

# py ARGS...: python3 with resp_client importable; the script comes on stdin (a heredoc).
py() { python3 - "$@"; }

# Durability writers (writers.py: SET, SET EX, INCR, RPUSH, a connection each). A write is
# appended to a file under the acks folder only once the server acknowledged it.
# acked ACKS: how many writes were acknowledged so far.
acked() { find "$1" -type f -exec cat {} + | wc -l; }

# start_writers NAME ACKS TAG MAX_SECS: runs writers.py write against server NAME in the
# background (tracked), for at most MAX_SECS; sets writers_pid, and writers_log (its stderr).
start_writers() {
  local name=$1 acks=$2 tag=$3
  shift 3
  writers_log=$work/writers.$tag.log
  python3 "$tests_dir/writers.py" write "${server_port[$name]}" "$tag" "$acks" "$@" \
    2>"$writers_log" &
  writers_pid=$!
  track "$writers_pid"
}

# wait_acked ACKS N: waits until N writes are acknowledged; fails if the writers exit first.
wait_acked() {
  local acks=$1 target=$2
  acked_or_gone() {
    (($(acked "$acks") >= target)) && return 0
    kill -0 "$writers_pid" 2>/dev/null ||
      fail "writers exited before $target acknowledged writes: $(cat "$writers_log")"
    return 1
  }
  wait_until "$target acknowledged writes (have $(acked "$acks"))" acked_or_gone
}

# verify_acked NAME ACKS WHEN: every acknowledged write is in server NAME, or the test fails
# with "acknowledged writes missing WHEN"; logs writers.py's summary line.
verify_acked() {
  local name=$1 acks=$2 when=$3 out
  out=$work/verify.$((++verify_count)).log
  python3 "$tests_dir/writers.py" verify "${server_port[$name]}" "$acks" 2>"$out" ||
    fail "acknowledged writes missing $when:
$(cat "$out")"
  log "  $(tail -n 1 "$out")"
}
verify_count=0

log "server under test: $server_kind ($server_bin); files in $work"
