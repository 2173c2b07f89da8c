#!/usr/bin/env bash
# Graceful shutdown: with --appendonly yes --appendfsync everysec, SIGTERM while four writers
# (writers.py) run and while an idle client and a subscriber stay connected → the server exits
# with status 0 (the idle connections do not hold it up), and after a restart on the same
# folder every acknowledged write is there (shutdown flushes and fsyncs the AOF). Then the same
# for SIGINT and for the SHUTDOWN command, and a startup error: a port already taken → exit 1
# naming the address.
#
#   bazel test //apps/mini-redis/tests:shutdown_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/shutdown_test.sh
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# SIGTERM comes after a random number of acknowledged writes in [kMinAcks, kMinAcks + kAckSpread).
readonly kMinAcks=500
readonly kAckSpread=2000
# A guard on the writers (they normally stop within seconds, when the server closes them).
readonly kWriterMaxSecs=50

aof_dir=$work/aof
acks=$work/acks
mkdir -p "$aof_dir" "$acks"
aof_flags=(--appendonly yes --appendfsync everysec --dir "$aof_dir")

log "SIGTERM during writes, with an idle client and a subscriber connected"
start_server main "${aof_flags[@]}"
port=${server_port[main]}
# An idle client: a connection that sends nothing.
exec {idle_fd}<>"/dev/tcp/127.0.0.1/$port"
redis-cli -p "$port" subscribe idle-channel >"$work/sub.out" 2>&1 &
track $!
sub_ready() { [[ $(head -n 3 "$work/sub.out" | paste -sd,) == subscribe,idle-channel,1 ]]; }
wait_until "the subscriber's confirmation" sub_ready
target=$((kMinAcks + RANDOM % kAckSpread))
start_writers main "$acks" term "$kWriterMaxSecs"
wait_acked "$acks" "$target"
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM during writes"
status=0
wait "$writers_pid" || status=$?
((status == 0)) || fail "a writer got an unexpected reply before the shutdown:
$(cat "$writers_log")"
exec {idle_fd}>&-
log "  stopped at $(acked "$acks") acknowledged writes; restarting on the same folder"
start_server main "${aof_flags[@]}"
verify_acked main "$acks" "after SIGTERM and restart (AOF in $aof_dir)"

log "SIGINT: exit 0, writes kept"
expect main 'OK' set before-sigint yes
stop_server main INT
((stop_status == 0)) || fail "server exited with status $stop_status after SIGINT"
start_server main "${aof_flags[@]}"
expect main '"yes"' get before-sigint

log "SHUTDOWN command: exit 0, writes kept"
expect main 'OK' set before-shutdown-command yes
# Redis closes the connection without a reply; redis-cli takes that as success. Whatever it
# prints, the server must exit 0 on its own.
cli main shutdown >/dev/null || true
wait_exit main
((stop_status == 0)) || fail "server exited with status $stop_status after SHUTDOWN"
start_server main "${aof_flags[@]}"
expect main '"yes"' get before-shutdown-command
expect main '"yes"' get before-sigint
verify_acked main "$acks" "after three restarts"
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"

log "startup error: the port is taken"
pick_port
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(600)
' "$port" >"$work/holder.out" &
holder_pid=$!
track "$holder_pid"
holder_ready() { [[ -s $work/holder.out ]]; }
wait_until "the port holder" holder_ready
server_args "$port"
status=0
timeout 30 "$server_bin" "${args[@]}" >"$work/taken.log" 2>&1 || status=$?
((status == 1)) || fail "server on a taken port exited with status $status, want 1: $(cat "$work/taken.log")"
grep -q 'Address already in use' "$work/taken.log" ||
  fail "server on a taken port did not say 'Address already in use': $(cat "$work/taken.log")"
if is_mini; then
  grep -qx "mini-redis: bind 127.0.0.1:$port: Address already in use" "$work/taken.log" ||
    fail "want the line 'mini-redis: bind 127.0.0.1:$port: Address already in use', got: $(cat "$work/taken.log")"
  log "bad flags: usage, exit 2"
  for bad in "--port notaport" "--appendfsync sometimes" "--bogus-flag 1" "--maxclients" "--pubsub-output-limit 12zb"; do
    status=0
    # shellcheck disable=SC2086
    timeout 30 "$server_bin" $bad >"$work/bad.out" 2>"$work/bad.err" || status=$?
    ((status == 2)) || fail "'$bad' exited with status $status, want 2: $(cat "$work/bad.err")"
    grep -q '^mini-redis: ' "$work/bad.err" || fail "'$bad' printed no 'mini-redis: ...' line: $(cat "$work/bad.err")"
  done
fi
pass
