#!/usr/bin/env bash
# Builds the codec fuzz entry points (runtime/codec/fuzz/*_fuzz.cc) as real libFuzzer binaries
# with clang++-14 (-fsanitize=fuzzer,address,undefined) and runs each for N seconds.
#
#   runtime/codec/fuzz/run_fuzzers.sh        # 60 s each
#   runtime/codec/fuzz/run_fuzzers.sh 20     # 20 s each
#
# Bazel's toolchain here is g++, which has no libFuzzer, so this script compiles directly:
# include paths are the repository root and /usr/include (Debian's Abseil), and Abseil is
# linked from the system libraries (pkg-config). Binaries, corpora and crash files go to
# $OUT (default /tmp/keel-fuzz). Exits non-zero when a fuzzer finds a crash; the crashing
# input is in $OUT/<name>/crash-*, and `$OUT/<name>/fuzzer <crash file>` replays it.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${OUT:-/tmp/keel-fuzz}"
cxx="${CXX:-clang++-14}"
absl_libs="$(pkg-config --libs absl_status absl_statusor absl_strings)"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$root" -I/usr/include)
common_srcs=("$root/runtime/bytes/bytes.cc" "$root/runtime/codec/lines_codec.cc"
             "$root/runtime/codec/length_delimited.cc")

status=0
for name in lines_codec length_delimited; do
  dir="$out/$name"
  mkdir -p "$dir/corpus"
  echo "== building $name fuzzer"
  "$cxx" "${flags[@]}" "$root/runtime/codec/fuzz/${name}_fuzz.cc" "${common_srcs[@]}" \
    $absl_libs -o "$dir/fuzzer"
  echo "== running $name fuzzer for ${seconds}s"
  if (cd "$dir" && ./fuzzer -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
        corpus > "$dir/log.txt" 2>&1); then
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|^#[0-9]+ +DONE" \
      "$dir/log.txt" || true
    echo "== $name: no crash"
  else
    status=1
    echo "== $name: CRASH (see $dir/log.txt)"
    grep -E "fuzz check failed|ERROR: AddressSanitizer|runtime error|SUMMARY" "$dir/log.txt" | head -5 || true
    ls "$dir"/crash-* 2>/dev/null || true
  fi
done
exit "$status"
