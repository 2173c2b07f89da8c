#!/usr/bin/env bash
# Checks loadgen against a second client: redis-benchmark and loadgen drive the same
# redis-server with the same shape (SET of random keys from a keyspace of 1,000,000, 3-byte
# values, 50 connections, pipeline 1 and 16), interleaved, and the script prints each side's
# requests/s (median of the rounds) and their ratio. The target is loadgen within 15% of
# redis-benchmark. A third witness checks that each client's number is true: the commands
# redis-server counted (INFO total_commands_processed) during the client's run, divided by
# the run's wall time.
#
# usage: benchmarks/loadgen/vs_redis_benchmark.sh [--rounds N] [--requests N] [--no-build]
#
# Both clients share the machine's cores with redis-server (unpinned); absolute numbers vary
# with the machine's load, the ratio holds. Progress goes to stderr, the table to stdout.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=3
requests=200000
build=1
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ && $requests =~ ^[1-9][0-9]*$ ]] || { echo "bad --rounds/--requests" >&2; exit 2; }

log() { echo "vs_redis_benchmark.sh: $*" >&2; }
cd "$repo_root"
if ((build)); then
  log "building loadgen (-c opt)"
  ./bazelw build -c opt //benchmarks/loadgen >&2
fi
loadgen=$(./bazelw info -c opt bazel-bin 2>/dev/null)/benchmarks/loadgen/loadgen
[[ -x $loadgen ]] || { log "no loadgen binary at $loadgen (drop --no-build?)"; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
  { log "needs redis-server and redis-benchmark (./bazelw installs redis-server, redis-tools)"; exit 1; }

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

commands() { redis-cli -p "$port" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }
now() { date +%s.%N; }
# The server-side rate of the run that just ended: commands counted / wall time.
server_rate() {  # server_rate COMMANDS_BEFORE START END
  python3 -c "print(($(commands) - 1 - $1) / ($3 - $2))"  # - 1: the INFO call itself
}

results=$tmp/results.tsv
for ((r = 1; r <= rounds; r++)); do
  for pipeline in 1 16; do
    log "round $r/$rounds, pipeline $pipeline: redis-benchmark"
    c0=$(commands); t0=$(now)
    rb=$(redis-benchmark -p "$port" -c 50 -n "$requests" -t set -P "$pipeline" -r 1000000 -q 2>/dev/null |
         tr '\r' '\n' | sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    t1=$(now); rb_server=$(server_rate "$c0" "$t0" "$t1")
    log "  redis-benchmark: $rb/s (redis-server counted $rb_server/s); loadgen"
    c0=$(commands); t0=$(now)
    "$loadgen" redis --connect "127.0.0.1:$port" --connections 50 --pipeline "$pipeline" \
      --requests "$requests" --command "SET key:__rand_int__ __data__" --keyspace 1000000 \
      --data-size 3 --threads 2 --json "$tmp/lg.json" >/dev/null 2>&1
    t1=$(now); lg_server=$(server_rate "$c0" "$t0" "$t1")
    lg=$(python3 -c "import json; r = json.load(open('$tmp/lg.json')); assert r['errors']['total'] == 0, r['errors']; print(r['throughput_rps'])")
    log "  loadgen: $lg/s (redis-server counted $lg_server/s)"
    printf '%s\t%s\t%s\t%s\t%s\n' "$pipeline" "$rb" "$lg" "$rb_server" "$lg_server" >>"$results"
  done
done

python3 - "$results" "$rounds" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
print(f"SET, 50 connections, random keys (keyspace 1,000,000), median of {sys.argv[2]} interleaved rounds\n")
print("| pipeline | redis-benchmark req/s | loadgen req/s | loadgen / redis-benchmark "
      "| redis-server's count: redis-benchmark | redis-server's count: loadgen |")
print("|---:|---:|---:|---:|---:|---:|")
for p in ("1", "16"):
    med = lambda i: statistics.median(float(r[i]) for r in rows if r[0] == p)
    rb, lg, rbs, lgs = med(1), med(2), med(3), med(4)
    print(f"| {p} | {rb:,.0f} | {lg:,.0f} | {lg / rb:.2f} | {rbs:,.0f} | {lgs:,.0f} |")
PY
