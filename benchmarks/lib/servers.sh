# Helpers the benchmark scripts (echo.sh, mini_redis.sh) share for the servers they start.
# Source after defining log() and fail() and setting repo_root and kStopTimeoutSecs; the
# caller keeps the running server's PID in server_pid.
#
#   pick_port                  sets `port`: free now, and never handed out before in this run
#   stop_server NAME LOG       SIGTERM server_pid, SIGKILL after kStopTimeoutSecs; warns only
#   opt_bin=$(opt_bin_dir)     Bazel's -c opt output folder
# shellcheck shell=bash disable=SC2154  # kStopTimeoutSecs, repo_root, server_pid: the caller's

# shellcheck source=tools/sh/pick_port.sh
source "$repo_root/tools/sh/pick_port.sh"

# stop_server NAME LOG: SIGTERM, then waits; a server that does not exit in time is killed.
# Either way a warning, not a failure: the run's numbers are already taken.
stop_server() {
  local server=$1 server_log=$2 status=0
  kill -TERM "$server_pid" 2>/dev/null || true
  local deadline=$((SECONDS + kStopTimeoutSecs))
  while kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  if kill -0 "$server_pid" 2>/dev/null; then
    log "warning: $server still running ${kStopTimeoutSecs}s after SIGTERM; killing it"
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" || status=$?
  server_pid=
  ((status == 0)) || log "warning: $server exited with status $status after SIGTERM (log: $server_log)"
}

# The -c opt output folder, asked of Bazel: the bazel-bin symlink follows the last build of
# any configuration, so after someone's fastbuild it points at a debug binary or none.
opt_bin_dir() {
  (cd "$repo_root" && ./bazelw info -c opt bazel-bin 2>/dev/null) ||
    fail "could not ask Bazel for its -c opt output folder (./bazelw info -c opt bazel-bin)"
}
