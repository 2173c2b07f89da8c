# pick_port: sets `port` to a free loopback port that no earlier call of this shell handed out,
# so that a server which failed to stop (or to start) can never answer for the next one.
# Shared by the benchmark scripts (benchmarks/lib/servers.sh) and mini-redis's integration
# tests (apps/mini-redis/tests/lib.sh); needs bash 4 and python3.
#
#   source tools/sh/pick_port.sh
#   pick_port; server --port "$port" &
#
# `port` is set, not printed: a $(...) subshell would lose used_ports.
# shellcheck shell=bash
declare -A used_ports=()
port=
pick_port() {
  while :; do
    # A port the kernel hands out for bind(0) has no socket on it, not even one in TIME_WAIT.
    port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    [[ -z ${used_ports[$port]+x} ]] && break
  done
  used_ports[$port]=1
}
