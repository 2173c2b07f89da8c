#!/usr/bin/env bash
# Compares Keel's micro benchmarks (//benchmarks/micro:micro, a Google Benchmark binary) with
# their Tokio peer (benchmarks/peers/tokio_micro) on this machine.
#
# usage: benchmarks/micro/compare.sh [--rounds N] [--no-build] [FILTER]
#
#   FILTER      regex selecting benchmarks by name, searched anywhere in it; passed to both
#               sides (Keel's --benchmark_filter, tokio_micro's --filter). Google Benchmark
#               matches its full names (spawn_join/iterations:1/manual_time), so end a name with
#               '(/|$)', not '$': 'spawn_join(/|$)' selects spawn_join alone on both sides
#   --rounds N  rounds to run (default 3); each round runs Keel, then Tokio, so slow drift of
#               the machine (heat, other load) hits both sides alike
#   --no-build  use the binaries already built
#
# Environment: KEEL_MICRO_BIN and TOKIO_MICRO_BIN override the two binaries' paths (by default
# the -c opt output of Bazel and cargo's release output).
#
# Builds both sides, runs the rounds, then prints on stdout a table of the median ns/op of each
# side per benchmark, with the ratio Keel/Tokio (below 1: Keel is faster), a row for each
# timer-lateness counter, and the same table in markdown for the README. Progress goes to stderr.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
# shellcheck source=benchmarks/lib/peer_packages.sh
source "$repo_root/benchmarks/lib/peer_packages.sh"
peer_dir=$repo_root/benchmarks/peers/tokio_micro
# Keel's binary is found after the build (see below), not through the bazel-bin symlink.
keel_bin=${KEEL_MICRO_BIN:-}
tokio_bin=${TOKIO_MICRO_BIN:-$peer_dir/target/release/tokio_micro}

log() { echo "compare.sh: $*" >&2; }
# The header comment above, up to the first line that is not a comment.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die() {
  log "$*"
  usage >&2
  exit 2
}

rounds=3
build=1
filter=
have_filter=0
while (($# > 0)); do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --rounds) (($# >= 2)) || die "--rounds needs a value"; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    --no-build) build=0; shift ;;
    -*) die "unknown option: $1" ;;
    *)
      ((have_filter == 0)) || die "only one FILTER may be given"
      filter=$1
      have_filter=1
      shift
      ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer, got '$rounds'"

if ((build)); then
  log "building Keel: ./bazelw build -c opt //benchmarks/micro:micro"
  (cd "$repo_root" && ./bazelw build -c opt //benchmarks/micro:micro) >&2
  # The Tokio peer builds from Debian's crates; install them (and a Rust toolchain, when the
  # machine has none) the way ./bazelw installs Keel's dependencies.
  install_peer_packages librust-tokio-dev librust-rand-dev librust-regex-dev
  log "building Tokio: cargo build --release --offline"
  (cd "$peer_dir" && cargo build --release --offline) >&2
fi
if [[ -z $keel_bin ]]; then
  # The -c opt output folder, asked of Bazel: the bazel-bin symlink follows the last build of
  # any configuration, so after someone's fastbuild it points at a debug binary or none.
  keel_bin=$(cd "$repo_root" && ./bazelw info -c opt bazel-bin 2>/dev/null)/benchmarks/micro/micro
fi
for bin in "$keel_bin" "$tokio_bin"; do
  [[ -x $bin ]] || { log "missing binary: $bin (build it, or drop --no-build)"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run private copies, so that a rebuild during the rounds (the Bazel server and the tree may be
# shared) cannot swap a binary between rounds.
cp "$keel_bin" "$work/keel_micro"
cp "$tokio_bin" "$work/tokio_micro"
keel_bin=$work/keel_micro
tokio_bin=$work/tokio_micro

keel_args=(--benchmark_format=json --benchmark_out_format=json)
tokio_args=()
if ((have_filter)); then
  keel_args+=("--benchmark_filter=$filter")
  tokio_args+=(--filter "$filter")
fi

# One line per measured run: side, round, benchmark, ns_per_op, lateness_us ('-' if none).
results=$work/results.tsv
: >"$results"

# Turns one Google Benchmark JSON file into result lines for round $2.
keel_to_tsv() {
  python3 - "$1" "$2" <<'PY'
import json
import sys

path, round_ = sys.argv[1], sys.argv[2]
with open(path) as f:
    report = json.load(f)
for bench in report.get("benchmarks", []):
    # Aggregates (mean, median, stddev of --benchmark_repetitions) repeat the runs; keep runs.
    if bench.get("run_type", "iteration") != "iteration":
        continue
    # "timers/iterations:1/manual_time" -> "timers"
    name = bench["name"].split("/", 1)[0]
    if bench.get("error_occurred"):
        sys.exit(f"Keel benchmark {name} failed: {bench.get('error_message', '')}")
    items_per_second = bench.get("items_per_second")
    if not items_per_second:
        sys.exit(f"Keel benchmark {name} reports no items_per_second")
    lateness = bench.get("lateness_us")
    lateness = "-" if lateness is None else f"{lateness:.1f}"
    print(f"keel\t{round_}\t{name}\t{1e9 / items_per_second:.2f}\t{lateness}")
PY
}

# Checks tokio_micro's lines (name, ns_per_op, lateness_us) and tags them with round $1.
tokio_to_tsv() {
  python3 -c '
import sys
round_ = sys.argv[1]
for line in sys.stdin:
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 3:
        sys.exit(f"unexpected tokio_micro line: {line!r}")
    name, ns_per_op, lateness = fields
    float(ns_per_op)
    if lateness != "-":
        float(lateness)
    print(f"tokio\t{round_}\t{name}\t{ns_per_op}\t{lateness}")
' "$1"
}

show_round() { awk -F'\t' -v side="$1" -v round="$2" '$1 == side && $2 == round {
  printf "compare.sh:   %-28s %12s ns/op%s\n", $3, $4, ($5 == "-" ? "" : "  lateness " $5 " us") }' \
  "$results" >&2; }

for ((round = 1; round <= rounds; round++)); do
  log "round $round/$rounds: Keel"
  # The JSON report goes to the file; stdout (the same JSON) is not needed.
  "$keel_bin" "${keel_args[@]}" "--benchmark_out=$work/keel_$round.json" >/dev/null
  keel_to_tsv "$work/keel_$round.json" "$round" >>"$results"
  show_round keel "$round"

  log "round $round/$rounds: Tokio"
  "$tokio_bin" "${tokio_args[@]}" >"$work/tokio_$round.tsv"
  tokio_to_tsv "$round" <"$work/tokio_$round.tsv" >>"$results"
  show_round tokio "$round"
done

python3 - "$results" "$rounds" <<'PY'
import statistics
import sys

path, rounds = sys.argv[1], sys.argv[2]
ns = {}        # (side, benchmark) -> ns/op of every run
lateness = {}  # (side, benchmark) -> lateness_us of every run that has one
order = []     # benchmarks in the order they first ran
with open(path) as f:
    for line in f:
        side, _round, name, ns_per_op, late = line.rstrip("\n").split("\t")
        if name not in order:
            order.append(name)
        ns.setdefault((side, name), []).append(float(ns_per_op))
        if late != "-":
            lateness.setdefault((side, name), []).append(float(late))


def fmt(value):
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def row(label, samples, name):
    keel, tokio = (samples.get((side, name)) for side in ("keel", "tokio"))
    keel = statistics.median(keel) if keel else None
    tokio = statistics.median(tokio) if tokio else None
    ratio = f"{keel / tokio:.2f}" if keel is not None and tokio else "-"
    return [label, fmt(keel), fmt(tokio), ratio]


header = ["benchmark", "Keel ns/op", "Tokio ns/op", "ratio (Keel/Tokio)"]
rows = [row(name, ns, name) for name in order]
rows += [row(f"{name} lateness µs", lateness, name) for name in order
         if (("keel", name) in lateness or ("tokio", name) in lateness)]

caption = (f"Median of {rounds} interleaved round{'' if rounds == '1' else 's'} "
           "(Keel, Tokio, Keel, ...); "
           "ratio below 1 means Keel is faster.")
widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
print(caption)
print()
for i, r in enumerate([header] + rows):
    cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
    print("  ".join(cells).rstrip())
    if i == 0:
        print("  ".join("-" * w for w in widths))
print()
print("Markdown:")
print()
print(caption)
print()
print("| " + " | ".join(header) + " |")
print("|---|" + "---:|" * (len(header) - 1))
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
