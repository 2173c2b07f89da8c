#!/usr/bin/env bash
# Builds the protocol fuzz entry points (request_fuzz.cc, resp_fuzz.cc) as real libFuzzer
# binaries with clang++-14 (-fsanitize=fuzzer,address,undefined) and runs each for N seconds,
# without Bazel (the same approach as runtime/codec/fuzz/run_fuzzers.sh).
#
#   apps/mini-redis/protocol/fuzz/run_fuzzers.sh        # 60 s each
#   apps/mini-redis/protocol/fuzz/run_fuzzers.sh 20     # 20 s each
#
# Needs clang-14 and libclang-rt-14-dev (libclang_rt.fuzzer). Binaries, corpora and crash files
# go to $OUT (default /tmp/mini-redis-fuzz); `$OUT/<name>/fuzzer <crash file>` replays a crash.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
out="${OUT:-/tmp/mini-redis-fuzz}"
cxx="${CXX:-clang++-14}"
absl_libs="$(pkg-config --libs absl_status absl_statusor absl_strings absl_cord)"
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$root" -I/usr/include)
proto="$root/apps/mini-redis/protocol"
common_srcs=("$root/runtime/bytes/bytes.cc" "$proto/request.cc" "$proto/reply.cc"
             "$proto/frame.cc" "$proto/resp_codec.cc")

status=0
for name in request resp; do
  dir="$out/$name"
  mkdir -p "$dir/corpus"
  echo "== building $name fuzzer"
  "$cxx" "${flags[@]}" "$proto/fuzz/${name}_fuzz.cc" "${common_srcs[@]}" $absl_libs -o "$dir/fuzzer"
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
