#!/usr/bin/env bash
# Drives the server with the real redis-cli (Debian's redis-tools, Redis 7) and checks every
# reply as redis-cli prints it: strings, counters, lists, hashes, expiry, KEYS globs, TYPE, the
# error texts; pub/sub between redis-cli processes (SUBSCRIBE and PSUBSCRIBE in the background,
# PUBLISH from a third); and `redis-cli --pipe` mass insertion of 10,000 SETs (plus a pipe with
# errors in it), then DBSIZE; a Unix socket (--unixsocket) next to TCP.
#
#   bazel test //apps/mini-redis/tests:redis_cli_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/redis_cli_test.sh   # vs Redis
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# Keys the --pipe test inserts.
readonly kPipeKeys=10000

start_server main
# mini-redis announces itself with exactly this line (scripts wait for it).
if is_mini; then
  grep -qx "mini-redis listening on 127.0.0.1:${server_port[main]}" "${server_log[main]}" ||
    fail "no 'mini-redis listening on 127.0.0.1:${server_port[main]}' line"
fi

log "connection commands"
expect main 'PONG' ping
expect main '"hello world"' ping "hello world"
expect main '"echo me"' echo "echo me"
expect main 'OK' select 0
if is_mini; then
  expect main '(error) ERR DB index is out of range' select 1
fi
expect main '(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?' auth secret
expect main "(error) ERR unknown command 'nosuchcommand', with args beginning with: 'a' 'b' " nosuchcommand a b
expect main "(error) ERR wrong number of arguments for 'get' command" get
expect main "(error) ERR wrong number of arguments for 'set' command" set onlykey
# One connection for both: redis-cli reads the commands from stdin.
got=$(printf 'client setname tester\nclient getname\n' | cli main) || true
[[ $got == $'OK\n"tester"' ]] || fail "CLIENT SETNAME then GETNAME printed $(printf '%q' "$got")"
[[ $(cli main client id) =~ ^\(integer\)\ [0-9]+$ ]] || fail "CLIENT ID: $(cli main client id)"
info=$(raw_cli main info)
for section in Server Clients Memory Persistence Stats Keyspace; do
  grep -q "^# $section" <<<"$info" || fail "INFO has no '# $section' section"
done

log "strings"
expect main '(nil)' get foo
expect main 'OK' set foo bar
expect main '"bar"' get foo
expect main '(integer) 3' strlen foo
expect main '(integer) 6' append foo baz
expect main '"barbaz"' get foo
expect main 'OK' set spaced "a b  c"
expect main '"a b  c"' get spaced
expect main '(nil)' set foo other nx
expect main '"barbaz"' get foo
expect main 'OK' set foo other xx
expect main '(nil)' set missing v xx
expect main '"other"' set foo third get
expect main '"third"' getdel foo
expect main '(nil)' get foo
expect main '(error) ERR syntax error' set foo v nx xx
expect main '(error) ERR syntax error' set foo v ex 10 px 100
expect main "(error) ERR invalid expire time in 'set' command" set foo v ex 0
expect main "(error) ERR invalid expire time in 'set' command" set foo v px -5
expect main 'OK' mset k1 v1 k2 v2 k3 v3
expect main $'1) "v1"\n2) (nil)\n3) "v3"' mget k1 nokey k3

log "counters"
expect main '(integer) 1' incr counter
expect main '(integer) 11' incrby counter 10
expect main '(integer) 10' decr counter
expect main '(integer) -5' decrby counter 15
expect main 'OK' set big 9223372036854775807
expect main '(error) ERR increment or decrement would overflow' incr big
expect main '(error) ERR value is not an integer or out of range' incr k1
expect main '(error) ERR value is not an integer or out of range' incrby counter notanumber

log "lists"
expect main '(integer) 3' rpush list a b c
expect main '(integer) 5' lpush list y z
expect main $'1) "z"\n2) "y"\n3) "a"\n4) "b"\n5) "c"' lrange list 0 -1
expect main $'1) "a"\n2) "b"' lrange list 2 3
expect main '(empty array)' lrange list 10 20
expect main '(integer) 5' llen list
expect main '"z"' lpop list
expect main $'1) "c"\n2) "b"' rpop list 2
expect main '"y"' lpop list
expect main '"a"' lpop list
expect main '(integer) 0' exists list
expect main '(nil)' lpop list
expect main '(integer) 0' llen list
expect main '(error) WRONGTYPE Operation against a key holding the wrong kind of value' lpush k1 x
expect main '(integer) 1' rpush list2 only
expect main '(error) WRONGTYPE Operation against a key holding the wrong kind of value' get list2

log "hashes"
expect main '(integer) 2' hset user name ada lang en
expect main '(integer) 0' hset user lang fr
expect main '"fr"' hget user lang
expect main '(nil)' hget user nope
expect_sorted main $'name\nada\nlang\nfr' hgetall user
expect main '(integer) 2' hlen user
expect main '(integer) 1' hexists user name
expect main '(integer) 0' hexists user nope
expect main '(integer) 1' hdel user name nope
expect main '(integer) 1' hdel user lang
expect main '(integer) 0' exists user
expect main '(empty array)' hgetall user
expect main '(error) WRONGTYPE Operation against a key holding the wrong kind of value' hget k1 f

log "keys, types, expiry"
expect main 'OK' flushdb
expect main '(integer) 0' dbsize
expect main 'OK' mset user:1 a user:2 b user:10 c admin d 'h[x]llo' e hallo f
expect main '(integer) 1' rpush alist x
expect main '(integer) 1' hset ahash f v
expect_sorted main $'user:1\nuser:2\nuser:10\nadmin\nh[x]llo\nhallo\nalist\nahash' keys '*'
expect_sorted main $'user:1\nuser:2' keys 'user:?'
expect_sorted main $'user:1\nuser:10' keys 'user:1*'
expect_sorted main $'user:1\nuser:2\nuser:10' keys 'user:[12]*'
expect_sorted main $'hallo' keys 'h[^x]llo'
expect_sorted main $'h[x]llo' keys 'h\[x\]llo'
expect_sorted main $'alist\nahash\nadmin' keys 'a*'
expect main '(empty array)' keys 'zzz*'
expect main 'string' type admin
expect main 'list' type alist
expect main 'hash' type ahash
expect main 'none' type nothing
expect main '(integer) 3' exists admin alist admin
expect main '(integer) 2' del admin alist nothing
expect main '(integer) 1' unlink ahash
expect main '(integer) 5' dbsize
expect main '(integer) -2' ttl nothing
expect main '(integer) -1' ttl user:1
expect main '(integer) 1' expire user:1 100
ttl=$(raw_cli main ttl user:1)
((ttl > 0 && ttl <= 100)) || fail "TTL after EXPIRE 100 is '$ttl', want 1..100"
pttl=$(raw_cli main pttl user:1)
((pttl > 0 && pttl <= 100000)) || fail "PTTL after EXPIRE 100 is '$pttl', want 1..100000"
expect main '(integer) 0' expire user:1 200 nx
expect main '(integer) 1' expire user:1 200 gt
expect main '(integer) 0' expire user:1 50 gt
expect main '(integer) 1' persist user:1
expect main '(integer) -1' ttl user:1
expect main '(integer) 0' persist user:1
expect main '(integer) 0' expire nothing 10
expect main 'OK' set shortlived v px 100
expect main '(integer) 1' pexpire user:2 100
gone() { [[ $(cli main exists shortlived user:2) == '(integer) 0' ]]; }
wait_until "keys with a 100 ms TTL to expire" gone
expect main '(nil)' get shortlived
expect main 'OK' set soon v
expect main '(integer) 1' pexpireat soon 1
expect main '(integer) 0' exists soon
expect main 'OK' set later v exat 4102444800
later=$(raw_cli main pttl later)
((later > 0)) || fail "PTTL of a key with EXAT 2100-01-01 is '$later'"
expect main 'OK' flushall
expect main '(integer) 0' dbsize

log "pub/sub across redis-cli processes"
redis-cli -p "${server_port[main]}" subscribe news >"$work/sub.out" 2>&1 &
track $!
redis-cli -p "${server_port[main]}" psubscribe 'n*' >"$work/psub.out" 2>&1 &
track $!
# The confirmation is sent once the server has registered the subscription.
subscribed() {
  [[ $(head -n 3 "$work/sub.out" | paste -sd,) == subscribe,news,1 &&
    $(head -n 3 "$work/psub.out" | paste -sd,) == psubscribe,n*,1 ]]
}
wait_until "both subscribers' confirmations" subscribed
expect main '(integer) 2' publish news "hello there"
expect main '(integer) 1' publish nothing-else "for the pattern only"
expect main '(integer) 0' publish other "nobody"
expect main '(integer) 2' publish news bye
want_sub=$'subscribe\nnews\n1\nmessage\nnews\nhello there\nmessage\nnews\nbye'
want_psub=$'psubscribe\nn*\n1\npmessage\nn*\nnews\nhello there\npmessage\nn*\nnothing-else\nfor the pattern only\npmessage\nn*\nnews\nbye'
delivered() { [[ $(cat "$work/sub.out") == "$want_sub" && $(cat "$work/psub.out") == "$want_psub" ]]; }
if ! poll delivered; then
  fail "subscribers got:
SUBSCRIBE news: $(printf '%q' "$(cat "$work/sub.out")")
PSUBSCRIBE n*:  $(printf '%q' "$(cat "$work/psub.out")")"
fi
expect main 'PONG' ping

log "redis-cli --pipe: $kPipeKeys SETs"
py "$kPipeKeys" >"$work/pipe.resp" <<'PY'
import sys
import resp_client
n = int(sys.argv[1])
sys.stdout.buffer.write(b"".join(resp_client.encode("SET", f"pipe:{i}", f"value-{i}") for i in range(n)))
PY
out=$(timeout 60 redis-cli -p "${server_port[main]}" --pipe <"$work/pipe.resp" 2>&1) ||
  fail "redis-cli --pipe failed: $out"
grep -qx "errors: 0, replies: $kPipeKeys" <<<"$out" || fail "redis-cli --pipe reported: $out"
expect main "(integer) $kPipeKeys" dbsize
expect main '"value-0"' get pipe:0
expect main "\"value-$((kPipeKeys - 1))\"" get "pipe:$((kPipeKeys - 1))"

log "redis-cli --pipe with error replies in the stream"
py >"$work/pipe_errors.resp" <<'PY'
import sys
import resp_client
cmds = []
for i in range(100):
    cmds.append(("INCR", "pipe:counter"))
    if i % 10 == 0:
        cmds.append(("INCR", "pipe:0"))  # not an integer: one error reply each
sys.stdout.buffer.write(b"".join(resp_client.encode(*c) for c in cmds))
PY
out=$(timeout 60 redis-cli -p "${server_port[main]}" --pipe <"$work/pipe_errors.resp" 2>&1) || true
grep -qx "errors: 10, replies: 110" <<<"$out" || fail "redis-cli --pipe with 10 bad INCRs reported: $out"
expect main '"100"' get pipe:counter

stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"

log "a Unix socket next to TCP"
# sun_path holds 107 bytes: $TEST_TMPDIR is too deep for it.
sock_dir=$(mktemp -d /tmp/mini-redis-test.XXXXXX)
track_dir "$sock_dir"
sock=$sock_dir/redis.sock
start_server unix --unixsocket "$sock"
if is_mini; then
  grep -qx "mini-redis listening on unix:$sock" "${server_log[unix]}" ||
    fail "no 'mini-redis listening on unix:$sock' line"
fi
got=$(printf 'set over unix\nget over\n' | timeout "$kCliTimeoutSecs" redis-cli --no-raw -s "$sock" 2>&1) || true
[[ $got == $'OK\n"unix"' ]] || fail "redis-cli -s $sock: $(printf '%q' "$got")"
expect unix '"unix"' get over
stop_server unix TERM
((stop_status == 0)) || fail "server with --unixsocket exited with status $stop_status after SIGTERM"
[[ ! -e $sock ]] || fail "the server left its socket file $sock behind"
pass
