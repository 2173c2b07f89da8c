#!/usr/bin/env bash
# Compares mini-redis (//apps/mini-redis:server, built -c opt) with Debian's redis-server on
# this machine: SET/GET throughput and p50 latency through redis-benchmark and through Keel's
# load client (//benchmarks/loadgen), RSS per key for 1,000,000 keys, and mini-redis with its
# append-only file (--appendonly yes --appendfsync everysec) on the same SET/GET shapes.
#
# usage: benchmarks/mini_redis.sh [--rounds N] [--requests N] [--duration SECS] [--warmup SECS]
#                                 [--keyspace N] [--keys N] [--shapes A,B,..]
#                                 [--servers mini,redis,mini-aof] [--threads N]
#                                 [--max-steal PCT] [--results DIR] [--no-build]
#        benchmarks/mini_redis.sh --report DIR[,DIR...]
#
#   --rounds N      rounds to run (default 3); the table shows the median of the rounds
#   --requests N    requests per redis-benchmark test (default 200000)
#   --duration S    measured seconds of each loadgen run (default 5; '5' or '5s')
#   --warmup S      unmeasured seconds before each loadgen run's measurement (default 1)
#   --keyspace N    SET/GET keys are key:<random in [0, N)> (redis-benchmark -r N, loadgen
#                   --keyspace N; default 100000, which the SETs fill for the GETs to hit)
#   --keys N        keys the memory shape inserts (default 1000000)
#   --shapes LIST   shapes to run, comma-separated (default rb1,rb16,lg1,lg16,mem):
#                     rb1:  redis-benchmark -t set,get -n REQUESTS -c 50 -P 1 -r KEYSPACE
#                     rb16: the same with -P 16
#                     lg1:  loadgen redis, 50 connections, pipeline 1: "SET key:__rand_int__
#                           __data__" (3-byte values), then "GET key:__rand_int__"
#                     lg16: the same with pipeline 16
#                     mem:  KEYS keys "key:%012d" with 16-byte values through
#                           `redis-cli --pipe`; RSS per key from /proc/PID/status (VmRSS
#                           after - before) / KEYS; mini and redis only
#   --servers LIST  servers to run, comma-separated (default mini,redis,mini-aof):
#                     mini:      mini-redis --threads THREADS (in memory)
#                     redis:     redis-server --save "" --appendonly no
#                     mini-aof:  mini-redis --threads THREADS --appendonly yes --appendfsync everysec
#                     redis-aof: redis-server --save "" --appendonly yes --appendfsync everysec
#                   the ratio columns need mini with redis (and mini-aof with mini)
#   --threads N     mini-redis's --threads (default 2, this machine's cores)
#   --max-steal PCT a round's shape is run again (every server, up to 3 attempts in all) when
#                   the hypervisor stole more than PCT percent of the CPUs' time during one
#                   of its client runs (/proc/stat's steal; default 3, 100 never repeats):
#                   a ratio of two runs of which one lost a fifth of its CPU to another
#                   guest measures the neighbours, not the servers. The repeats are listed
#                   in DIR/repeats, the runs they replaced in DIR/rejected.tsv
#   --results DIR   where the raw outputs go, one set per run: rROUND_SHAPE_SERVER.* (the
#                   redis-benchmark CSV, loadgen's JSON and text, redis-cli's output, the
#                   server's log), with results.tsv and table.md (default
#                   /tmp/keel-mini-redis-bench); earlier results there are replaced
#   --no-build      use the binaries already built
#   --report DIRS   run nothing: print the table of earlier runs' results folders (comma-
#                   separated), their rounds pooled, as if one run had made them all (medians
#                   and per-round ratios over every round). The folders must come from runs
#                   with the same settings (each run writes DIR/settings); the other flags are
#                   ignored. On a noisy machine, several runs pooled narrow what one run's few
#                   rounds leave open.
#
# Environment: MINI_REDIS_BIN and KEEL_LOADGEN_BIN override the two Keel binaries (by default
# Bazel's -c opt output); REDIS_SERVER_BIN the redis-server (default: redis-server on PATH).
# redis-benchmark and redis-cli come from PATH (Debian's redis-tools, as ./bazelw installs).
#
# Nothing is pinned: servers and load clients share the machine's cores, so a server that burns
# less CPU per request leaves more to the client. Runs are interleaved: each round runs every
# shape, and each shape every server, in an order rotated from round to round. Every run starts
# a fresh server on a port of its own (the AOF servers on an empty folder), waits until it
# answers PING, runs the load, stops the server with SIGTERM and waits for it.
#
# Prints on stdout one table with a row per test: each server's requests/s and p50 latency
# (medians of the rounds), the ratios mini/redis (throughput: above 1 is better; p50: below 1
# is better) and mini-aof/mini, and the plan's targets (throughput >= 1.0x redis, p50 no worse,
# RSS per key <= redis, AOF everysec >= 0.9x in-memory), then the same table in markdown (also
# written to DIR/table.md). A throughput ratio is of the medians, followed by how far the
# rounds let it move: with 6 rounds or more (--rounds, or runs pooled with --report) its 90%
# bootstrap interval over the rounds, "1.03 [0.94-1.08]" (benchmarks/lib/interval.py), a target
# inside which these rounds do not settle either way; with fewer, the lowest and highest ratio
# within one round, "1.59 (1.34-2.43)". Progress goes to stderr.
#
# Steal: on a virtual machine the hypervisor runs other guests on the same physical cores, and
# the time it takes from this one shows in /proc/stat as steal. On this machine it is near 0-2%
# of the CPUs' time during most runs and 5-20% during some, which moves one run's throughput by
# as much: the script measures it around every client run (the table's notes name any kept
# run above --max-steal) and repeats a round's shape whose runs were hit.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
mini_bin=${MINI_REDIS_BIN:-}
loadgen_bin=${KEEL_LOADGEN_BIN:-}
redis_bin=${REDIS_SERVER_BIN:-redis-server}

# Connections of every SET/GET shape (the plan's targets are for 50 clients).
readonly kConnections=50
# Threads of the load client (loadgen): this machine's core count. redis-benchmark runs its
# default single thread.
readonly kLoadgenThreads=2
# How long a server may take to answer PING, and to exit after SIGTERM.
readonly kStartTimeoutSecs=20
readonly kStopTimeoutSecs=20
# How long a load client may run past its expected time (connecting, writing the report)
# before it counts as hung; redis-benchmark is given requests / kMinRate seconds on top.
readonly kClientSlackSecs=60
readonly kMinRate=1000
# The value of every key of the memory shape: 16 bytes, as in the plan's Redis figure.
readonly kMemValueBytes=16
# Attempts per round and shape when steal is over --max-steal (the last attempt is kept).
readonly kStealAttempts=3

log() { echo "mini_redis.sh: $*" >&2; }
# The header comment above, up to the first line that is not a comment.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die() {
  log "$*"
  usage >&2
  exit 2
}
fail() {
  log "error: $*"
  exit 1
}
# shellcheck source=benchmarks/lib/servers.sh
source "$repo_root/benchmarks/lib/servers.sh"

# print_results TSV ROUNDS RUNS REPEATS MD_PATH: the table of a results.tsv (one line per
# measurement, as record() writes it) on stdout, and in markdown to MD_PATH (none if empty).
# RUNS: how many runs' rounds TSV pools (1: this run's); REPEATS: how many round shapes were
# run again for steal.
print_results() {
  PYTHONPATH="$script_dir/lib" \
    python3 - "$@" "${shape_list[*]}" "${server_list[*]}" \
    "$requests" "$duration" "$warmup" "$keyspace" "$keys" "$threads" "$max_steal" <<'PY'
import statistics
import sys

from interval import MIN_ROUNDS, interval_text
from table import print_table

(path, rounds, pooled_runs, repeats, md_path, shapes, servers, requests, duration, warmup,
 keyspace, keys, threads, max_steal) = sys.argv[1:15]
shapes, servers = shapes.split(), servers.split()
NAMES = {"mini": "mini-redis", "redis": "Redis", "mini-aof": "mini-redis AOF",
         "redis-aof": "Redis AOF"}
ROWS = []  # (shape, test, label)
for shape in shapes:
    if shape == "mem":
        ROWS.append((shape, "memory", f"RSS bytes/key, {int(keys):,} keys"))
        continue
    tool = "redis-benchmark" if shape.startswith("rb") else "loadgen"
    p = shape[2:]
    for test in ("SET", "GET"):
        ROWS.append((shape, test, f"{test} -P {p} ({tool})"))

runs = {}  # (server, shape, test) -> {round: (rate, p50)}
troubled = []
stolen = []  # kept runs with steal over max_steal
steals = []
with open(path) as f:
    for line in f:
        fields = line.rstrip("\n").split("\t")
        server, round_, shape, test, rate, p50, n, errors = fields[:8]
        steal = fields[8] if len(fields) > 8 else None  # runs before steal was measured: none
        runs.setdefault((server, shape, test), {})[round_] = (float(rate), float(p50))
        if int(errors) or not int(n):
            troubled.append(f"round {round_} {shape} {test} {NAMES[server]}: {errors} errors, {n} requests")
        if shape != "mem" and steal is not None:
            steals.append(float(steal))
            if float(steal) > float(max_steal):
                stolen.append(f"round {round_} {shape} {test} {NAMES[server]}: {steal}%")


def median(server, shape, test, i):
    samples = runs.get((server, shape, test))
    return statistics.median(s[i] for s in samples.values()) if samples else None


def rates(server, shape, test):
    """The request rate of each round that measured it."""
    return {r: s[0] for r, s in runs.get((server, shape, test), {}).items()}


def fmt_rate(v, mem):
    if v is None:
        return "-"
    return f"{v:.0f}" if mem else f"{v / 1000:.1f}k"


def fmt_us(v):
    return "-" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def ratio_spread(a, b, floor):
    """The ratio of the servers' median rates, then how far the rounds let it move: its 90%
    bootstrap interval over the rounds in brackets, or with fewer rounds than that needs, the
    lowest and highest ratio within one round (the same round ran both servers back to back)
    in parentheses. A ratio just under its target's floor gets a third digit, so that 0.897
    does not read as 0.90."""
    ma = statistics.median(a.values()) if a else None
    mb = statistics.median(b.values()) if b else None
    if ma is None or not mb:
        return "-"
    v = ma / mb
    text = f"{v:.3f}" if v < floor <= round(v, 2) else f"{v:.2f}"
    interval = interval_text(a, b)
    if interval:
        return text + interval
    per_round = [a[r] / b[r] for r in a if r in b and b[r]]
    if len(per_round) < 2:
        return text
    return f"{text} ({min(per_round):.2f}-{max(per_round):.2f})"


header = ["test"]
for s in servers:
    header += [f"{NAMES[s]} req/s", f"{NAMES[s]} p50 µs"]
compare_redis = "mini" in servers and "redis" in servers
compare_aof = "mini" in servers and "mini-aof" in servers
if compare_redis:
    header += ["req/s mini/Redis", "p50 mini/Redis"]
if compare_aof:
    header += ["req/s AOF/mini"]
if compare_redis or compare_aof:
    header += ["targets"]

rows = []
for shape, test, label in ROWS:
    mem = shape == "mem"
    row = [label]
    for s in servers:
        row += [fmt_rate(median(s, shape, test, 0), mem),
                "-" if mem else fmt_us(median(s, shape, test, 1))]
    misses = []
    if compare_redis:
        m, r = median("mini", shape, test, 0), median("redis", shape, test, 0)
        if mem:
            # Bytes per key: lower is better; the ratio is mini/Redis all the same.
            row += [ratio(m, r), "-"]
            if m is not None and r and m > r:
                misses.append("RSS/key > Redis")
        else:
            mp, rp = median("mini", shape, test, 1), median("redis", shape, test, 1)
            row += [ratio_spread(rates("mini", shape, test), rates("redis", shape, test), 1.0),
                    ratio(mp, rp)]
            if m is not None and r and m < r:
                misses.append("req/s < 1.0x Redis")
            if mp is not None and rp and mp > rp:
                misses.append("p50 > Redis")
    if compare_aof:
        if mem:
            row += ["-"]
        else:
            a, m = median("mini-aof", shape, test, 0), median("mini", shape, test, 0)
            row += [ratio_spread(rates("mini-aof", shape, test), rates("mini", shape, test), 0.9)]
            if a is not None and m and a < 0.9 * m:
                misses.append("AOF < 0.9x in-memory")
    if compare_redis or compare_aof:
        row += ["; ".join(misses) if misses else "met"]
    rows.append(row)

plural = "" if rounds == "1" else "s"
pooled = "" if pooled_runs == "1" else f" ({pooled_runs} runs pooled)"
caption = (f"mini-redis vs Redis 7 on this machine, median of {rounds} interleaved "
           f"round{plural}{pooled}: "
           f"SET/GET with {int(keyspace):,} random keys and 3-byte values, 50 connections "
           f"(redis-benchmark -n {int(requests):,}; loadgen {warmup} s warm-up + {duration} s, "
           f"2 threads); memory: RSS growth per key for {int(keys):,} keys \"key:%012d\" with "
           f"16-byte values inserted with redis-cli --pipe. mini-redis runs --threads {threads}; "
           "AOF: --appendonly yes --appendfsync everysec. A fresh server per run; servers and "
           "clients share the machine's cores, unpinned. req/s ratio above 1: mini-redis serves "
           "more; p50 and RSS ratios below 1: mini-redis is faster / smaller. req/s ratios are "
           "of the medians; " + (
               "in brackets the 90% interval a bootstrap over the rounds gives them (rounds "
               "resampled with both servers' runs together): a target inside it is not settled "
               "by these rounds either way." if int(rounds) >= MIN_ROUNDS else
               "in parentheses the lowest and highest ratio within one round."))
if steals:
    caption += (f" CPU time stolen by the hypervisor during the SET/GET runs: median "
                f"{statistics.median(steals):.1f}%, highest {max(steals):.1f}%; {repeats} round "
                f"shape{'' if repeats == '1' else 's'} run again for steal over {max_steal}%.")
notes = [f"Runs with errors: {t}" for t in troubled]
if stolen:
    notes.append(f"Kept after the last attempt with steal over {max_steal}%: " + ", ".join(stolen))

print_table(caption, header, rows, notes, md_path or None)
PY
}

rounds=3
requests=200000
duration=5
warmup=1
keyspace=100000
keys=1000000
shapes=rb1,rb16,lg1,lg16,mem
servers=mini,redis,mini-aof
threads=2
max_steal=3
results_dir=/tmp/keel-mini-redis-bench
build=1
report=
report_given=0
# Accepts "--flag value" and "--flag=value"; `words` is how many arguments a flag used.
while (($# > 0)); do
  arg=$1
  value=
  words=1
  case $arg in
    --*=*) value=${arg#*=}; arg=${arg%%=*} ;;
    --rounds | --requests | --duration | --warmup | --keyspace | --keys | --shapes | --servers | \
      --threads | --results | --report | --max-steal)
      (($# >= 2)) || die "$arg needs a value"
      value=$2
      words=2
      ;;
  esac
  case $arg in
    -h | --help) usage; exit 0 ;;
    --rounds) rounds=$value ;;
    --requests) requests=$value ;;
    --duration) duration=$value ;;
    --warmup) warmup=$value ;;
    --keyspace) keyspace=$value ;;
    --keys) keys=$value ;;
    --shapes) shapes=$value ;;
    --servers) servers=$value ;;
    --threads) threads=$value ;;
    --max-steal) max_steal=$value ;;
    --results) results_dir=$value ;;
    --report) report=$value; report_given=1 ;;
    --no-build) [[ $1 == --no-build ]] || die "--no-build takes no value"; build=0 ;;
    *) die "unknown argument: $1" ;;
  esac
  shift "$words"
done
# --report: pool earlier runs' results.tsv (their rounds renamed RUN.ROUND, so rounds of
# different runs stay apart) and print their table; nothing runs.
if ((report_given)); then
  IFS=, read -r -a report_dirs <<<"$report"
  ((${#report_dirs[@]})) || die "--report needs results folders"
  pooled=$(mktemp)
  trap 'rm -f "$pooled"' EXIT
  settings=
  runs=0
  repeats=0
  for dir in "${report_dirs[@]}"; do
    [[ -s $dir/results.tsv ]] || fail "no results in $dir ($dir/results.tsv is missing or empty)"
    [[ -s $dir/settings ]] ||
      fail "$dir/settings is missing: $dir is not from a run of this script that finished"
    if ((runs == 0)); then
      settings=$(<"$dir/settings")
      first=$dir
    elif [[ $(<"$dir/settings") != "$settings" ]]; then
      fail "$dir was run with other settings than $first: $(diff <(echo "$settings") "$dir/settings" | grep '^[<>]' | tr '\n' ' ')"
    fi
    runs=$((runs + 1))
    if [[ -f $dir/repeats ]]; then repeats=$((repeats + $(wc -l <"$dir/repeats"))); fi
    awk -F'\t' -v OFS='\t' -v run="$runs" '{ $2 = run "." $2; print }' "$dir/results.tsv" >>"$pooled"
  done
  while IFS='=' read -r key value; do
    case $key in
      requests) requests=$value ;;
      duration) duration=$value ;;
      warmup) warmup=$value ;;
      keyspace) keyspace=$value ;;
      keys) keys=$value ;;
      threads) threads=$value ;;
      max_steal) max_steal=$value ;;
      shapes) IFS=, read -r -a shape_list <<<"$value" ;;
      servers) IFS=, read -r -a server_list <<<"$value" ;;
      *) fail "unknown setting '$key' in $first/settings" ;;
    esac
  done <<<"$settings"
  rounds=$(cut -f2 "$pooled" | sort -u | wc -l)
  print_results "$pooled" "$rounds" "$runs" "$repeats" ""
  exit 0
fi
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }
positive --rounds "$rounds"
positive --requests "$requests"
positive --keyspace "$keyspace"
positive --keys "$keys"
positive --threads "$threads"
duration=${duration%s}
warmup=${warmup%s}
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "--duration needs whole seconds > 0, got '$duration'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup needs whole seconds, got '$warmup'"
[[ -n $results_dir ]] || die "--results needs a folder"
[[ $max_steal =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--max-steal needs a percentage, got '$max_steal'"

IFS=, read -r -a shape_list <<<"$shapes"
((${#shape_list[@]})) || die "--shapes is empty"
for s in "${shape_list[@]}"; do
  [[ $s =~ ^(rb1|rb16|lg1|lg16|mem)$ ]] || die "unknown shape '$s' (known: rb1, rb16, lg1, lg16, mem)"
done
IFS=, read -r -a server_list <<<"$servers"
((${#server_list[@]})) || die "--servers is empty"
for s in "${server_list[@]}"; do
  [[ $s =~ ^(mini|redis|mini-aof|redis-aof)$ ]] ||
    die "unknown server '$s' (known: mini, redis, mini-aof, redis-aof)"
done
has() {
  local want=$1 s
  shift
  for s in "$@"; do [[ $s == "$want" ]] && return 0; done
  return 1
}
# The servers a shape runs on: the memory shape compares the in-memory servers only.
servers_for() {
  local s
  for s in "${server_list[@]}"; do
    [[ $1 == mem && $s == *-aof ]] || echo "$s"
  done
}

needs_mini=0
needs_loadgen=0
for s in "${server_list[@]}"; do [[ $s == mini* ]] && needs_mini=1; done
for s in "${shape_list[@]}"; do [[ $s == lg* ]] && needs_loadgen=1; done
if ((build)); then
  targets=()
  ((needs_mini)) && targets+=(//apps/mini-redis:server)
  ((needs_loadgen)) && targets+=(//benchmarks/loadgen)
  if ((${#targets[@]})); then
    log "building: ./bazelw build -c opt ${targets[*]}"
    (cd "$repo_root" && ./bazelw build -c opt "${targets[@]}") >&2
  fi
fi
if { ((needs_mini)) && [[ -z $mini_bin ]]; } || { ((needs_loadgen)) && [[ -z $loadgen_bin ]]; }; then
  opt_bin=$(opt_bin_dir) || exit 1
  mini_bin=${mini_bin:-$opt_bin/apps/mini-redis/server/mini-redis-server}
  loadgen_bin=${loadgen_bin:-$opt_bin/benchmarks/loadgen/loadgen}
fi
((needs_mini)) && { [[ -x $mini_bin ]] || fail "missing binary: $mini_bin (build it, or drop --no-build)"; }
((needs_loadgen)) && { [[ -x $loadgen_bin ]] || fail "missing binary: $loadgen_bin (build it, or drop --no-build)"; }
redis_path=$(command -v "$redis_bin") || fail "no redis-server ($redis_bin); ./bazelw installs redis-server"
for tool in redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (./bazelw installs redis-tools)"
done

mkdir -p "$results_dir"
# Replace only this script's own earlier files: DIR may be a folder with other things in it.
rm -f "$results_dir"/r[0-9]*_{rb1,rb16,lg1,lg16,mem}_* "$results_dir"/results.tsv \
  "$results_dir"/table.md "$results_dir"/settings "$results_dir"/repeats \
  "$results_dir"/rejected.tsv

work=$(mktemp -d)
server_pid=
# Stops a server still running (a failed run, ^C) and removes the private copies and AOFs.
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    local deadline=$((SECONDS + 5))
    while kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run private copies, so that a rebuild during the rounds (the Bazel server and the tree may be
# shared) cannot swap a binary between rounds.
if ((needs_mini)); then
  cp "$mini_bin" "$work/mini-redis-server"
  mini_bin=$work/mini-redis-server
fi
if ((needs_loadgen)); then
  cp "$loadgen_bin" "$work/loadgen"
  loadgen_bin=$work/loadgen
fi


# start_server SERVER PORT LOG: starts it in the background (sets server_pid) and returns once
# it answers PING; fails with its log if it exits or does not answer in time.
start_server() {
  local server=$1 port=$2 server_log=$3 bin args data_dir=$work/data
  rm -rf "$data_dir"
  mkdir -p "$data_dir"
  case $server in
    mini | mini-aof)
      bin=$mini_bin
      args=(--port "$port" --bind 127.0.0.1 --threads "$threads" --dir "$data_dir")
      ;;
    redis | redis-aof)
      bin=$redis_path
      args=(--port "$port" --bind 127.0.0.1 --save '' --dir "$data_dir")
      ;;
  esac
  case $server in
    *-aof) args+=(--appendonly yes --appendfsync everysec) ;;
    *) args+=(--appendonly no) ;;
  esac
  "$bin" "${args[@]}" >"$server_log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + kStartTimeoutSecs))
  while :; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      local status=0
      wait "$server_pid" || status=$?
      server_pid=
      log "$server exited with status $status before answering PING; its log:"
      sed 's/^/  | /' "$server_log" >&2
      fail "$server failed to start: $bin ${args[*]}"
    fi
    [[ $(timeout 5 redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && return 0
    if ((SECONDS >= deadline)); then
      log "$server does not answer PING on 127.0.0.1:$port after ${kStartTimeoutSecs}s; its log:"
      sed 's/^/  | /' "$server_log" >&2
      fail "$server failed to start: $bin ${args[*]}"
    fi
    sleep 0.05
  done
}


# A server that died under load fails the benchmark (with its log).
check_alive() {
  local server=$1 what=$2 server_log=$3
  kill -0 "$server_pid" 2>/dev/null && return 0
  local status=0
  wait "$server_pid" || status=$?
  server_pid=
  log "$server exited with status $status during $what; its log:"
  sed 's/^/  | /' "$server_log" >&2
  fail "$server died during $what"
}

# One line per measurement: server, round, shape, test, rate (requests/s; for mem: bytes per
# key), p50 µs, requests (for mem: keys), errors, steal (% of the CPUs' time during the client
# run). A round's shape records into `stage` first; results.tsv gets the attempt it keeps.
results=$results_dir/results.tsv
: >"$results"
stage=$work/stage.tsv
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$stage"
}

# cpu_jiffies: "STEAL TOTAL" of /proc/stat's line for all CPUs (total: user through steal).
cpu_jiffies() {
  awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat
}
# steal_since BEFORE: the percentage of the CPUs' time stolen since BEFORE (a cpu_jiffies
# output), one decimal.
steal_since() {
  awk -v a="$1" -v b="$(cpu_jiffies)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.1f\n", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}
# above A B: whether the decimal A is greater than B.
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
# note_steal PCT RUN: keeps the highest steal of the current round's shape and its run.
worst_steal=0
worst_run=
note_steal() {
  if above "$1" "$worst_steal"; then
    worst_steal=$1
    worst_run=$2
  fi
}

# run_rb SERVER ROUND SHAPE PIPELINE PREFIX: redis-benchmark SET and GET; records two lines.
run_rb() {
  local server=$1 round=$2 shape=$3 pipeline=$4 prefix=$5 status=0 before steal
  before=$(cpu_jiffies)
  timeout --foreground --kill-after=5 $((requests / kMinRate + kClientSlackSecs)) \
    redis-benchmark -p "$port" -t set,get -n "$requests" -c "$kConnections" -P "$pipeline" \
    -r "$keyspace" --csv >"$prefix.csv" 2>"$prefix.err" || status=$?
  ((status != 130)) || { log "interrupted"; exit 130; }
  steal=$(steal_since "$before")
  note_steal "$steal" "$server"
  check_alive "$server" "redis-benchmark (round $round, $shape)" "$prefix.log"
  local test line found=0
  for test in SET GET; do
    # "SET","219780.22","3.269","0.488","2.295",... : rps, avg, min, p50 (ms), ...
    line=$(python3 - "$prefix.csv" "$test" <<'PY'
import csv
import sys
path, test = sys.argv[1:3]
with open(path) as f:
    for row in csv.reader(f):
        if row and row[0] == test:
            print(f"{float(row[1]):.1f}\t{float(row[4]) * 1000:.1f}")
PY
    )
    if [[ -z $line ]]; then
      log "warning: no $test result from redis-benchmark (status $status):"
      sed 's/^/  | /' "$prefix.err" "$prefix.csv" >&2
      continue
    fi
    found=1
    local rps p50
    IFS=$'\t' read -r rps p50 <<<"$line"
    local errors=$((status == 0 ? 0 : 1))
    record "$server" "$round" "$shape" "$test" "$rps" "$p50" "$requests" "$errors" "$steal"
    log "  $server $test -P $pipeline (redis-benchmark): $rps requests/s, p50 $p50 us, steal $steal%"
  done
  ((found)) || fail "redis-benchmark gave no result (round $round, $shape, $server)"
  ((status == 0)) || log "warning: redis-benchmark exited with status $status: $(head -c 500 "$prefix.err")"
}

# run_lg SERVER ROUND SHAPE PIPELINE PREFIX: loadgen SET, then GET on the keys it set.
run_lg() {
  local server=$1 round=$2 shape=$3 pipeline=$4 prefix=$5 test command
  for test in SET GET; do
    if [[ $test == SET ]]; then command="SET key:__rand_int__ __data__"; else command="GET key:__rand_int__"; fi
    local json=$prefix.$test.json out=$prefix.$test.loadgen.txt status=0 before steal
    before=$(cpu_jiffies)
    # --foreground keeps loadgen in this script's process group, so that ^C reaches it.
    timeout --foreground --kill-after=5 $((warmup + duration + kClientSlackSecs)) \
      "$loadgen_bin" redis --connect "127.0.0.1:$port" --connections "$kConnections" \
      --pipeline "$pipeline" --command "$command" --keyspace "$keyspace" --data-size 3 \
      --duration "${duration}s" --warmup "${warmup}s" --threads "$kLoadgenThreads" \
      --json "$json" >"$out" 2>&1 || status=$?
    ((status != 130)) || { log "interrupted"; exit 130; }
    steal=$(steal_since "$before")
    note_steal "$steal" "$server $test"
    check_alive "$server" "loadgen $test (round $round, $shape)" "$prefix.log"
    if [[ ! -s $json ]]; then
      sed 's/^/  | /' "$out" >&2
      fail "loadgen wrote no report (status $status) for round $round, $shape $test, $server"
    fi
    ((status == 0)) || { log "warning: loadgen exited with status $status; its output:"; sed 's/^/  | /' "$out" >&2; }
    local line rps p50 n errors
    line=$(python3 - "$json" <<'PY'
import json
import sys
try:
    with open(sys.argv[1]) as f:
        r = json.load(f)
    print(f"{float(r['throughput_rps']):.1f}\t{float(r['latency_us']['p50']):.1f}\t"
          f"{int(r['requests'])}\t{int(r['errors']['total'])}")
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"mini_redis.sh: unreadable loadgen report {sys.argv[1]}: {e!r}")
PY
    )
    IFS=$'\t' read -r rps p50 n errors <<<"$line"
    record "$server" "$round" "$shape" "$test" "$rps" "$p50" "$n" "$errors" "$steal"
    log "  $server $test pipeline $pipeline (loadgen): $rps requests/s, p50 $p50 us, $n requests, $errors errors, steal $steal%"
    ((errors == 0 && n > 0)) || log "warning: $server had $errors errors and $n requests in this run"
  done
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

# run_mem SERVER ROUND PREFIX: inserts `keys` keys with redis-cli --pipe; records bytes per key.
mem_input=$work/mem.resp
run_mem() {
  local server=$1 round=$2 prefix=$3 before after status=0 jiffies
  before=$(rss_kb)
  jiffies=$(cpu_jiffies)
  timeout --foreground --kill-after=5 $((keys / kMinRate + kClientSlackSecs)) \
    redis-cli -p "$port" --pipe <"$mem_input" >"$prefix.pipe.txt" 2>&1 || status=$?
  ((status != 130)) || { log "interrupted"; exit 130; }
  check_alive "$server" "redis-cli --pipe (round $round, mem)" "$prefix.log"
  grep -qx "errors: 0, replies: $keys" "$prefix.pipe.txt" ||
    fail "redis-cli --pipe of $keys SETs into $server (status $status): $(cat "$prefix.pipe.txt")"
  local dbsize
  dbsize=$(timeout 20 redis-cli -p "$port" dbsize)
  [[ $dbsize == "$keys" ]] || fail "$server has $dbsize keys after inserting $keys"
  after=$(rss_kb)
  local per_key
  per_key=$(python3 -c "print(f'{($after - $before) * 1024 / $keys:.1f}')")
  # Steal does not move RSS: recorded, never repeated for.
  record "$server" "$round" mem memory "$per_key" 0 "$keys" 0 "$(steal_since "$jiffies")"
  log "  $server: RSS $before kB -> $after kB for $keys keys: $per_key bytes/key"
}

if has mem "${shape_list[@]}"; then
  log "writing $keys SET commands for the memory shape"
  python3 - "$keys" "$kMemValueBytes" >"$mem_input" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
chunk = []
for i in range(n):
    k = b"key:%012d" % i
    v = (b"%0*d" % (size, i))[-size:]
    chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if len(chunk) == 10000:
        out.write(b"".join(chunk))
        chunk = []
out.write(b"".join(chunk))
PY
fi

log "servers: ${server_list[*]}; shapes: ${shape_list[*]}; $rounds round(s); results in $results_dir"
runs_total=0
for shape in "${shape_list[@]}"; do
  n=$(servers_for "$shape" | wc -l)
  runs_total=$((runs_total + rounds * n))
done
run=0
repeats_file=$results_dir/repeats
: >"$repeats_file"
for ((round = 1; round <= rounds; round++)); do
  for shape in "${shape_list[@]}"; do
    mapfile -t shape_servers < <(servers_for "$shape")
    # Rotate the server order by one each round: no server always runs first or last.
    order=()
    for ((i = 0; i < ${#shape_servers[@]}; i++)); do
      order+=("${shape_servers[$(((i + round - 1) % ${#shape_servers[@]}))]}")
    done
    for ((attempt = 1; ; attempt++)); do
      : >"$stage"
      worst_steal=0
      worst_run=
      for server in "${order[@]}"; do
        run=$((run + 1))
        prefix=$results_dir/r${round}_${shape}_${server}
        pick_port
        log "[$run/$runs_total] round $round, $shape: $server on port $port"
        start_server "$server" "$port" "$prefix.log"
        case $shape in
          rb1) run_rb "$server" "$round" "$shape" 1 "$prefix" ;;
          rb16) run_rb "$server" "$round" "$shape" 16 "$prefix" ;;
          lg1) run_lg "$server" "$round" "$shape" 1 "$prefix" ;;
          lg16) run_lg "$server" "$round" "$shape" 16 "$prefix" ;;
          mem) run_mem "$server" "$round" "$prefix" ;;
        esac
        stop_server "$server" "$prefix.log"
      done
      if [[ $shape == mem ]] || ! above "$worst_steal" "$max_steal" || ((attempt >= kStealAttempts)); then
        cat "$stage" >>"$results"
        break
      fi
      log "round $round, $shape: the hypervisor stole $worst_steal% of the CPUs' time during" \
        "the $worst_run run (over --max-steal $max_steal%): running the round's $shape again" \
        "(attempt $((attempt + 1)) of $kStealAttempts)"
      printf '%s\t%s\t%s\t%s\n' "$round" "$shape" "$worst_run" "$worst_steal" >>"$repeats_file"
      cat "$stage" >>"$results_dir/rejected.tsv"
      runs_total=$((runs_total + ${#order[@]}))
    done
  done
done

# What --report needs to pool this run with others: written last, so that a run cut short
# leaves none and cannot be pooled.
printf '%s\n' "requests=$requests" "duration=$duration" "warmup=$warmup" "keyspace=$keyspace" \
  "keys=$keys" "threads=$threads" "shapes=$shapes" "servers=$servers" "max_steal=$max_steal" \
  >"$results_dir/settings"
print_results "$results" "$rounds" 1 "$(wc -l <"$repeats_file")" "$results_dir/table.md"
log "raw outputs, server logs and table.md in $results_dir"
