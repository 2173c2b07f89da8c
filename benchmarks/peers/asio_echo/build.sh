#!/usr/bin/env bash
# Builds the Boost.Asio echo peer (echo.cc) into build/asio_echo beside this script.
#
# usage: benchmarks/peers/asio_echo/build.sh [OUT]
#
#   OUT  output path (default: build/asio_echo beside this script)
#
# Needs g++ (12 on Debian 12) and Debian's libboost-dev (1.74; Asio is header-only, nothing to
# link but pthreads). benchmarks/echo.sh installs libboost-dev when it is missing.
# -O2, not -O3: the ordinary release flags of a C++ project; Keel's `bazel build -c opt` is -O2
# too. -fcoroutines is implied by -std=c++20 on g++ >= 11, but g++ 10 needs it spelled out.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/build/asio_echo}
mkdir -p "$(dirname "$out")"
# Build to a temporary name and rename, so that a failed build never leaves a half-written
# binary and a running copy of the old one is not overwritten in place.
"${CXX:-g++}" -O2 -std=c++20 -fcoroutines -pthread -Wall -Wextra -Werror \
  "$here/echo.cc" -o "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "built $out" >&2
