#!/usr/bin/env bash
# Runs //runtime/examples:hello as a user would and checks its output and its flag handling.
set -euo pipefail
bin=runtime/examples/hello
out=$("$bin" --tasks 50)
grep -q "hello from Keel: 50 tasks joined (sum 1225)" <<<"$out"
grep -q "DEADLINE_EXCEEDED" <<<"$out"
if "$bin" --tasks nope 2>err.txt; then
  echo "bad flag accepted" >&2
  exit 1
fi
grep -q "usage:" err.txt
echo "hello_test: 2 passed, 0 failed"
