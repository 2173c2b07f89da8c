#!/usr/bin/env bash
# Compares Keel's TCP echo server (//apps/echo:server) with a Tokio peer
# (benchmarks/peers/tokio_echo) and a Boost.Asio peer (benchmarks/peers/asio_echo), each driven
# by Keel's load client (//benchmarks/loadgen) on this machine.
#
# usage: benchmarks/echo.sh [--rounds N] [--duration SECS] [--warmup SECS] [--shapes A,B,..]
#                           [--servers keel,tokio,asio] [--results DIR] [--no-build]
#
#   --rounds N      rounds to run (default 3); the tables show the median of the rounds
#   --duration S    measured seconds of each run (default 10; '10' or '10s')
#   --warmup S      unmeasured seconds before each run's measurement (default 2)
#   --shapes LIST   shapes to run, comma-separated (default A,B,C,D):
#                     A: 50 connections x 64 B, 1 request in flight per connection
#                     B: 50 connections x 4 KiB, 1 in flight
#                     C: 1000 connections x 64 B, 1 in flight
#                     D: 50 connections x 64 B, 16 in flight (pipelined)
#   --servers LIST  servers to run, comma-separated (default keel,tokio,asio); the ratio
#                   columns need keel and the peer
#   --results DIR   where the raw loadgen reports go, one per run: rROUND_SHAPE_SERVER.json
#                   (its --json), .loadgen.txt (its text output) and .log (the server's
#                   stderr), with results.tsv and table.md (default /tmp/keel-echo-bench);
#                   earlier reports there are replaced
#   --no-build      use the binaries already built
#
# Environment: KEEL_ECHO_BIN, KEEL_LOADGEN_BIN, TOKIO_ECHO_BIN and ASIO_ECHO_BIN override the
# four binaries' paths (by default Bazel's -c opt output, cargo's release output and
# benchmarks/peers/asio_echo/build/).
#
# Every server runs with 2 threads, and so does the load client. Nothing is pinned with
# taskset: server and client share the machine's cores (2 here), so a server that burns less
# CPU per round trip leaves more to the client and shows a higher rate; that is part of what is
# measured. Runs are interleaved: each round runs every shape, and each shape every server, in
# an order rotated from round to round, so that slow drift of the machine (heat, other load)
# hits all servers alike. Each run starts a fresh server on a port of its own, waits until it
# accepts a connection, runs the load, stops the server with SIGTERM and waits for it.
#
# Prints on stdout a table with a row per shape: each server's round trips/s and p50/p99 latency
# (medians of the rounds), with the ratios Keel/Tokio and Keel/Asio (with 6 rounds or more, the
# rt/s ratio's 90% bootstrap interval over the rounds in brackets: benchmarks/lib/interval.py),
# then the same table in markdown for the README (also written to DIR/table.md). Progress goes
# to stderr.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=benchmarks/lib/peer_packages.sh
source "$repo_root/benchmarks/lib/peer_packages.sh"
tokio_dir=$repo_root/benchmarks/peers/tokio_echo
asio_dir=$repo_root/benchmarks/peers/asio_echo
# Keel's binaries are found after the build (see below), not through the bazel-bin symlink.
keel_bin=${KEEL_ECHO_BIN:-}
loadgen_bin=${KEEL_LOADGEN_BIN:-}
tokio_bin=${TOKIO_ECHO_BIN:-$tokio_dir/target/release/tokio_echo}
asio_bin=${ASIO_ECHO_BIN:-$asio_dir/build/asio_echo}

# Threads of every server and of the load client: this machine's core count.
readonly kThreads=2
# How long a server may take to accept its first connection, and to exit after SIGTERM.
readonly kStartTimeoutSecs=10
readonly kStopTimeoutSecs=10
# How long the load client may run past warm-up + duration (connecting 1000 sockets, writing
# the report) before it counts as hung.
readonly kLoadgenSlackSecs=60
# Descriptors needed: shape C's 1000 connections on both ends, plus the runtimes' own.
readonly kMinOpenFiles=4096

log() { echo "echo.sh: $*" >&2; }
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

rounds=3
duration=10
warmup=2
shapes=A,B,C,D
servers=keel,tokio,asio
results_dir=/tmp/keel-echo-bench
build=1
# Accepts "--flag value" and "--flag=value"; `words` is how many arguments a flag used.
while (($# > 0)); do
  arg=$1
  value=
  words=1
  case $arg in
    --*=*) value=${arg#*=}; arg=${arg%%=*} ;;
    --rounds | --duration | --warmup | --shapes | --servers | --results)
      (($# >= 2)) || die "$arg needs a value"
      value=$2
      words=2
      ;;
  esac
  case $arg in
    -h | --help) usage; exit 0 ;;
    --rounds) rounds=$value ;;
    --duration) duration=$value ;;
    --warmup) warmup=$value ;;
    --shapes) shapes=$value ;;
    --servers) servers=$value ;;
    --results) results_dir=$value ;;
    --no-build) [[ $1 == --no-build ]] || die "--no-build takes no value"; build=0 ;;
    *) die "unknown argument: $1" ;;
  esac
  shift "$words"
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer, got '$rounds'"
duration=${duration%s}
warmup=${warmup%s}
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "--duration needs whole seconds > 0, got '$duration'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup needs whole seconds, got '$warmup'"
[[ -n $results_dir ]] || die "--results needs a folder"

# Shape -> "connections size pipeline".
declare -A shape_spec=([A]="50 64 1" [B]="50 4096 1" [C]="1000 64 1" [D]="50 64 16")
IFS=, read -r -a shape_list <<<"$shapes"
((${#shape_list[@]})) || die "--shapes is empty"
for s in "${shape_list[@]}"; do
  [[ -n ${shape_spec[$s]+x} ]] || die "unknown shape '$s' (known: A, B, C, D)"
done
IFS=, read -r -a server_list <<<"$servers"
((${#server_list[@]})) || die "--servers is empty"
for s in "${server_list[@]}"; do
  [[ $s == keel || $s == tokio || $s == asio ]] ||
    die "unknown server '$s' (known: keel, tokio, asio)"
done
has_server() {
  local s
  for s in "${server_list[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

if ((build)); then
  # loadgen is needed whichever servers run; Keel's server only when it runs.
  targets=(//benchmarks/loadgen)
  has_server keel && targets=(//apps/echo:server "${targets[@]}")
  log "building Keel: ./bazelw build -c opt ${targets[*]}"
  (cd "$repo_root" && ./bazelw build -c opt "${targets[@]}") >&2
  # The peers build from Debian's packages; install them (and a Rust toolchain, when the
  # machine has none) the way ./bazelw installs Keel's dependencies.
  install_peer_packages librust-tokio-dev libboost-dev
  if has_server tokio; then
    log "building Tokio peer: cargo build --release --offline"
    (cd "$tokio_dir" && cargo build --release --offline) >&2
  fi
  if has_server asio; then
    log "building Asio peer: benchmarks/peers/asio_echo/build.sh"
    "$asio_dir/build.sh" >&2
  fi
fi
if [[ -z $keel_bin || -z $loadgen_bin ]]; then
  opt_bin=$(opt_bin_dir) || exit 1
  keel_bin=${keel_bin:-$opt_bin/apps/echo/server}
  loadgen_bin=${loadgen_bin:-$opt_bin/benchmarks/loadgen/loadgen}
fi
declare -A server_bin=([keel]=$keel_bin [tokio]=$tokio_bin [asio]=$asio_bin)
# The paths as built, for messages (server_bin will point at private copies).
declare -A server_src=([keel]=$keel_bin [tokio]=$tokio_bin [asio]=$asio_bin)
needed=("$loadgen_bin")
for s in "${server_list[@]}"; do needed+=("${server_bin[$s]}"); done
for bin in "${needed[@]}"; do
  [[ -x $bin ]] || fail "missing binary: $bin (build it, or drop --no-build)"
done

# 1000 connections need 1000 descriptors on each end; the usual soft limit is 1024.
if (($(ulimit -n) < kMinOpenFiles)); then
  hard=$(ulimit -Hn)
  if [[ $hard == unlimited ]] || ((hard >= kMinOpenFiles)); then
    ulimit -n "$kMinOpenFiles"
  else
    ulimit -n "$hard"
    log "warning: open-file limit is $hard (hard); shape C needs about 2100"
  fi
fi

mkdir -p "$results_dir"
# Replace only this script's own earlier files: DIR may be a folder with other things in it.
rm -f "$results_dir"/r[0-9]*_[ABCD]_*.json "$results_dir"/r[0-9]*_[ABCD]_*.log \
  "$results_dir"/r[0-9]*_[ABCD]_*.loadgen.txt "$results_dir"/results.tsv "$results_dir"/table.md

work=$(mktemp -d)
server_pid=
# Stops a server still running (a failed run, ^C) and removes the private copies.
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    sleep 0.5
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
cp "$loadgen_bin" "$work/loadgen"
loadgen_bin=$work/loadgen
for s in "${server_list[@]}"; do
  cp "${server_bin[$s]}" "$work/${s}_echo"
  server_bin[$s]=$work/${s}_echo
done


# start_server SERVER PORT LOG: starts it in the background (sets server_pid) and returns once
# it accepts a connection; fails with its log if it exits or does not accept in time.
start_server() {
  local server=$1 port=$2 server_log=$3 args
  args=(--listen "127.0.0.1:$port" --threads "$kThreads")
  [[ $server == keel ]] && args+=(--proto tcp)
  "${server_bin[$server]}" "${args[@]}" >"$server_log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + kStartTimeoutSecs))
  while :; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      local status=0
      wait "$server_pid" || status=$?
      server_pid=
      log "$server server exited with status $status before accepting; its log:"
      sed 's/^/  | /' "$server_log" >&2
      fail "$server server failed to start: ${server_src[$server]} ${args[*]}"
    fi
    # A connect attempt that succeeds means the listener is up (the server then sees an
    # empty connection, which an echo server simply closes).
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "$server server does not accept on 127.0.0.1:$port after ${kStartTimeoutSecs}s; its log:"
      sed 's/^/  | /' "$server_log" >&2
      fail "$server server failed to start: ${server_src[$server]} ${args[*]}"
    fi
    sleep 0.05
  done
}


# One line per run: server, round, shape, round trips/s, p50 µs, p99 µs, requests, errors.
results=$results_dir/results.tsv
: >"$results"

# Checks one loadgen JSON report and prints its result line.
report_to_tsv() {
  python3 - "$@" <<'PY'
import json
import sys

path, server, round_, shape = sys.argv[1:5]
try:
    with open(path) as f:
        report = json.load(f)
    rps = float(report["throughput_rps"])
    latency = report["latency_us"]
    p50, p99 = float(latency["p50"]), float(latency["p99"])
    requests = int(report["requests"])
    errors = int(report["errors"]["total"])
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"echo.sh: unreadable loadgen report {path}: {e!r}")
print(f"{server}\t{round_}\t{shape}\t{rps:.1f}\t{p50:.1f}\t{p99:.1f}\t{requests}\t{errors}")
PY
}

log "servers: ${server_list[*]}; shapes: ${shape_list[*]}; $rounds round(s) of" \
  "${warmup}s warm-up + ${duration}s each; results in $results_dir"
runs_total=$((rounds * ${#shape_list[@]} * ${#server_list[@]}))
run=0
for ((round = 1; round <= rounds; round++)); do
  # Rotate the server order by one each round: no server always runs first or last.
  order=()
  for ((i = 0; i < ${#server_list[@]}; i++)); do
    order+=("${server_list[$(((i + round - 1) % ${#server_list[@]}))]}")
  done
  for shape in "${shape_list[@]}"; do
    read -r connections size pipeline <<<"${shape_spec[$shape]}"
    for server in "${order[@]}"; do
      run=$((run + 1))
      name=r${round}_${shape}_${server}
      json=$results_dir/$name.json
      server_log=$results_dir/$name.log
      loadgen_out=$results_dir/$name.loadgen.txt
      pick_port
      log "[$run/$runs_total] round $round, shape $shape ($connections conn x $size B," \
        "$pipeline in flight): $server on port $port"
      start_server "$server" "$port" "$server_log"
      status=0
      # --foreground keeps loadgen in this script's process group, so that ^C reaches it.
      timeout --foreground --kill-after=5 $((warmup + duration + kLoadgenSlackSecs)) \
        "$loadgen_bin" echo --connect "127.0.0.1:$port" --connections "$connections" \
        --size "$size" --pipeline "$pipeline" --duration "${duration}s" --warmup "${warmup}s" \
        --threads "$kThreads" --json "$json" >"$loadgen_out" 2>&1 || status=$?
      # ^C reaches loadgen, which dies of it (timeout then exits 130), but bash runs no INT trap
      # for a foreground child that "handled" the signal, so the status is the only sign.
      if ((status == 130)); then
        log "interrupted"
        exit 130
      fi
      if ! kill -0 "$server_pid" 2>/dev/null; then
        server_status=0
        wait "$server_pid" || server_status=$?
        server_pid=
        log "$server server exited with status $server_status during the load; its log:"
        sed 's/^/  | /' "$server_log" >&2
        fail "$server server died during round $round, shape $shape"
      fi
      stop_server "$server" "$server_log"
      if [[ ! -s $json ]]; then
        sed 's/^/  | /' "$loadgen_out" >&2
        fail "loadgen wrote no report (status $status) for round $round, shape $shape, $server"
      fi
      if ((status != 0)); then
        log "warning: loadgen exited with status $status; its output:"
        sed 's/^/  | /' "$loadgen_out" >&2
      fi
      line=$(report_to_tsv "$json" "$server" "$round" "$shape")
      echo "$line" >>"$results"
      IFS=$'\t' read -r _ _ _ rps p50 p99 requests errors <<<"$line"
      log "  $server: $rps round trips/s, p50 $p50 us, p99 $p99 us, $requests requests," \
        "$errors errors"
      ((errors == 0 && requests > 0)) ||
        log "warning: $server had $errors errors and $requests requests in this run"
    done
  done
done

PYTHONPATH="$script_dir/lib" \
  python3 - "$results" "$rounds" "$duration" "$warmup" "$results_dir/table.md" "${shape_list[*]}" \
  "${server_list[*]}" <<'PY'
import statistics
import sys

from interval import MIN_ROUNDS, interval_text
from table import print_table

path, rounds, duration, warmup, md_path, shapes, servers = sys.argv[1:8]
shapes, servers = shapes.split(), servers.split()
SHAPES = {
    "A": "A: 50 conn x 64 B",
    "B": "B: 50 conn x 4 KiB",
    "C": "C: 1000 conn x 64 B",
    "D": "D: 50 conn x 64 B x16 pipelined",
}
NAMES = {"keel": "Keel", "tokio": "Tokio", "asio": "Asio"}

runs = {}  # (server, shape) -> {round: (rps, p50, p99)}
troubled = []  # runs with errors or no requests
with open(path) as f:
    for line in f:
        server, round_, shape, rps, p50, p99, requests, errors = line.rstrip("\n").split("\t")
        runs.setdefault((server, shape), {})[round_] = (float(rps), float(p50), float(p99))
        if int(errors) or not int(requests):
            troubled.append(f"round {round_} shape {shape} {NAMES[server]}: "
                            f"{errors} errors, {requests} requests")


def median(server, shape, i):
    samples = runs.get((server, shape))
    return statistics.median(s[i] for s in samples.values()) if samples else None


def rps_ratio(a, b, shape):
    """The ratio of the servers' median rt/s, with its 90% bootstrap interval over the rounds
    (benchmarks/lib/interval.py) in brackets when there are enough rounds for one."""
    ra = {r: s[0] for r, s in runs.get((a, shape), {}).items()}
    rb = {r: s[0] for r, s in runs.get((b, shape), {}).items()}
    return ratio(median(a, shape, 0), median(b, shape, 0)) + interval_text(ra, rb)


def fmt_rps(v):
    return "-" if v is None else f"{v / 1000:.1f}k"


def fmt_us(v):
    return "-" if v is None else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


header = ["shape"]
for s in servers:
    header += [f"{NAMES[s]} rt/s", f"{NAMES[s]} p50 µs", f"{NAMES[s]} p99 µs"]
peers = [p for p in ("tokio", "asio") if "keel" in servers and p in servers]
for p in peers:
    header += [f"rt/s Keel/{NAMES[p]}", f"p99 Keel/{NAMES[p]}"]

rows = []
for shape in shapes:
    row = [SHAPES[shape]]
    for s in servers:
        row += [fmt_rps(median(s, shape, 0)), fmt_us(median(s, shape, 1)),
                fmt_us(median(s, shape, 2))]
    for p in peers:
        row += [rps_ratio("keel", p, shape), ratio(median("keel", shape, 2), median(p, shape, 2))]
    rows.append(row)

plural = "" if rounds == "1" else "s"
caption = (f"Echo round trips per second and latency, median of {rounds} interleaved "
           f"round{plural} ({warmup} s warm-up + {duration} s each, a fresh server per run, "
           f"server and load client sharing the machine's cores unpinned, 2 threads each). "
           "rt/s ratio above 1: Keel serves more; p99 ratio below 1: Keel's tail is shorter.")
if int(rounds) >= MIN_ROUNDS:
    caption += (" In brackets the 90% interval a bootstrap over the rounds gives the rt/s "
                "ratio (rounds resampled with both servers' runs together).")
notes = [f"Runs with errors: {t}" for t in troubled]

print_table(caption, header, rows, notes, md_path)
PY
log "raw reports, server logs and table.md in $results_dir"
