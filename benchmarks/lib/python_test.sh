#!/usr/bin/env bash
# Runs a Python unittest file of this folder with the system's python3 (Debian's; Bazel 4's
# py_test would want a `python` on PATH and a toolchain for it): python_test.sh FILE.
set -euo pipefail
exec python3 "$1"
