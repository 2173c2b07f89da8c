#!/usr/bin/env bash
# Crash durability: the server runs with --appendonly yes --appendfsync always; four writers
# (writers.py: SET, SET EX, INCR, RPUSH, one connection each) record every write only after the
# server acknowledged it; the server is killed with SIGKILL at a random moment (after a random
# number of acknowledged writes), restarted on the same folder, and every acknowledged write of
# every round so far must be there. Three rounds on the same AOF: each restart replays a file
# that may end in a torn record, and the next round appends to what the replay kept; rounds 2
# and 3 start a BGREWRITEAOF half-way, so the kill may come during a rewrite. Last, a complete
# rewrite, a clean restart from the rewritten file, and the same check.
#
#   bazel test //apps/mini-redis/tests:crash_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/crash_test.sh
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# Kill/restart cycles.
readonly kRounds=3
# The kill comes after a random number of acknowledged writes in [kMinAcks, kMinAcks + kAckSpread)
# (all four writers together): late enough that writes are in flight, random so that the kill
# lands at a different point of a record each time.
readonly kMinAcks=200
readonly kAckSpread=800
# How long the writers may run (a guard: the kill normally comes within a few seconds).
readonly kWriterMaxSecs=50

aof_dir=$work/aof
acks=$work/acks
mkdir -p "$aof_dir" "$acks"

start_server main --appendonly yes --appendfsync always --dir "$aof_dir"
for ((round = 1; round <= kRounds; round++)); do
  start=$(acked "$acks")
  target=$((start + kMinAcks + RANDOM % kAckSpread))
  log "round $round: writers until $target acknowledged writes in all, then kill -9"
  start_writers main "$acks" "r$round" "$kWriterMaxSecs"
  if ((round >= 2)); then
    # From round 2 on, an AOF rewrite (BGREWRITEAOF) starts half-way, so the kill may land
    # during the rewrite or after its switch to the new file.
    wait_acked "$acks" $(((start + target) / 2))
    got=$(cli main bgrewriteaof)
    [[ $got == "Background append only file rewriting started" ]] ||
      fail "BGREWRITEAOF during writes replied: $got"
  fi
  wait_acked "$acks" "$target"
  crash_server main
  status=0
  wait "$writers_pid" || status=$?
  ((status == 0)) || fail "a writer got an unexpected reply in round $round:
$(cat "$writers_log")"
  log "  killed at $(acked "$acks") acknowledged writes; restarting on the same folder"
  start_server main --appendonly yes --appendfsync always --dir "$aof_dir"
  verify_acked main "$acks" "after kill -9 in round $round (AOF in $aof_dir)"
done

log "a complete AOF rewrite, then a restart from the rewritten file"
got=$(cli main bgrewriteaof)
[[ $got == "Background append only file rewriting started" ]] || fail "BGREWRITEAOF replied: $got"
rewrite_done() {
  local info
  info=$(raw_cli main info persistence | tr -d '\r')
  grep -qx 'aof_rewrite_in_progress:0' <<<"$info" && ! grep -qx 'aof_rewrite_scheduled:1' <<<"$info"
}
wait_until "the AOF rewrite to finish (INFO persistence: aof_rewrite_in_progress:0)" rewrite_done
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"
start_server main --appendonly yes --appendfsync always --dir "$aof_dir"
verify_acked main "$acks" "after a restart from the rewritten AOF (in $aof_dir)"
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"
pass
