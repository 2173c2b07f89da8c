#!/usr/bin/env bash
# The cli binary as a user runs it: usage errors (exit 2), a named connection error (exit 1).
# (Its commands against a server are covered by the integration tests in ../tests.)
set -uo pipefail
cli="$1"
fail=0
expect() {  # expect STATUS PATTERN -- ARGS...
  local want="$1" pattern="$2"; shift 3
  out="$("$cli" "$@" 2>&1)"; got=$?
  if [[ $got -ne $want ]] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: cli $* -> exit $got (want $want), output: $out (want /$pattern/)"; fail=1
  else
    echo "ok: cli $*"
  fi
}
expect 2 "no command" --
expect 2 "bad arguments for 'get'" -- get
expect 2 "bad arguments for 'set'" -- set k
expect 2 "unknown flag --nope" -- --nope 1 get k
expect 2 "bad --port" -- --port 99999 get k
expect 2 "expires applies to set only" -- get k --expires 10
expect 0 "usage:" -- --help
# A port nothing listens on: bind one with python3, close it, and use its number.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
expect 1 "connect 127.0.0.1:$port: Connection refused" -- --port "$port" get k
expect 1 "/nonexistent/sock" -- --unixsocket /nonexistent/sock ping
exit $fail
