#!/usr/bin/env bash
# Abuse: clients that misbehave hurt only themselves.
#   - malformed RESP and oversized headers ($600000000, a 70 kB inline line, ...): the exact
#     "-ERR Protocol error: ..." reply, then the server closes that connection, while a client
#     connected all along keeps working; requests split into single bytes, 1,000 pipelined
#     requests in one write and a 4 MiB value work;
#   - --requirepass: NOAUTH before AUTH, WRONGPASS for a wrong password, per connection;
#   - a subscriber that never reads, with --pubsub-output-limit 1mb, is disconnected while a
#     publisher, a subscriber that reads and a plain client carry on;
#   - --timeout 1: 500 idle connections are closed while an active client and an (idle)
#     subscriber are kept;
#   - --maxclients 10: the 11th client gets "-ERR max number of clients reached", and a slot
#     freed is usable again.
#
#   bazel test //apps/mini-redis/tests:abuse_test
#   MINI_REDIS_SERVER=redis-server bash apps/mini-redis/tests/abuse_test.sh
# Functions here run through poll/wait_until, which shellcheck cannot see (SC2317).
# shellcheck disable=SC2317 source=apps/mini-redis/tests/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

log "malformed requests"
start_server main
py "${server_port[main]}" <<'PY' || fail "malformed requests (see above)"
import sys
from resp_client import Client, Error, check
port = int(sys.argv[1])
bystander = Client(port)
check(bystander.command("SET", "bystander", "here") == "OK", "bystander SET")

# What the client sends -> the exact bytes the server must send before closing.
cases = [
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n+foo\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
    (b'set "foo bar\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    # A declared bulk over the 512 MB limit: refused from the header alone.
    (b"PING\r\n*1\r\n$600000000\r\n", b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"),
    (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
    (b"*" + b"1" * 70000, b"-ERR Protocol error: too big mbulk count string\r\n"),
    (b"*1\r\n$" + b"1" * 70000, b"-ERR Protocol error: too big bulk count string\r\n"),
]
for data, want in cases:
    c = Client(port)
    c.send_raw(data)
    try:
        got = c.read_raw_until_eof()
    except TimeoutError as e:
        check(False, f"sent {data[:40]!r}: the server did not close the connection: {e}")
    check(got == want, f"sent {data[:40]!r}{'...' if len(data) > 40 else ''}: got {got[:200]!r}, want {want!r} then close")
    c.close()
    check(bystander.command("PING") == "PONG", f"bystander after {data[:40]!r}")

# A request one byte per write.
c = Client(port)
for b in b"*3\r\n$3\r\nSET\r\n$5\r\nbytes\r\n$5\r\nhello\r\n":
    c.send_raw(bytes([b]))
check(c.read_reply() == "OK", "SET sent one byte at a time")
check(c.command("GET", "bytes") == b"hello", "GET after the byte-wise SET")
# Inline commands, several in one write.
c.send_raw(b"PING\r\nSET inline value\r\nGET inline\r\n")
got = [c.read_reply() for _ in range(3)]
check(got == ["PONG", "OK", b"value"], f"inline commands: {got!r}")
# 1,000 requests in one write: every reply, in order.
cmds = [("SET", f"p:{i}", str(i)) for i in range(500)] + [("GET", f"p:{i}") for i in range(500)]
got = c.pipeline(cmds)
want = ["OK"] * 500 + [str(i).encode() for i in range(500)]
check(got == want, f"1,000 pipelined requests: first difference at "
      f"{next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), '?')}")
# A 4 MiB value round trip.
big = bytes(range(256)) * (4 * 1024 * 4)
check(c.command("SET", "big", big) == "OK", "SET of 4 MiB")
check(c.command("GET", "big") == big, "GET of 4 MiB returned other bytes")
check(c.command("STRLEN", "big") == len(big), "STRLEN of the 4 MiB value")
check(bystander.command("GET", "bystander") == b"here", "bystander GET at the end")
print("malformed requests: ok", file=sys.stderr)
PY
stop_server main TERM
((stop_status == 0)) || fail "server exited with status $stop_status after SIGTERM"

log "--requirepass"
start_server auth --requirepass 's3cret pass'
py "${server_port[auth]}" <<'PY' || fail "--requirepass (see above)"
import sys
from resp_client import Client, Error, check
port = int(sys.argv[1])
noauth = "NOAUTH Authentication required."
c = Client(port)
for cmd in (("GET", "k"), ("SET", "k", "v"), ("PING",), ("KEYS", "*"), ("SUBSCRIBE", "ch")):
    got = c.command(*cmd)
    check(got == Error(noauth) and isinstance(got, Error), f"{cmd} before AUTH: {got!r}")
got = c.command("AUTH", "wrong")
check(isinstance(got, Error) and got == "WRONGPASS invalid username-password pair or user is disabled.",
      f"AUTH wrong: {got!r}")
check(c.command("GET", "k") == Error(noauth), "GET after a wrong AUTH")
check(c.command("AUTH", "s3cret pass") == "OK", "AUTH with the password")
check(c.command("SET", "k", "v") == "OK", "SET after AUTH")
check(c.command("GET", "k") == b"v", "GET after AUTH")
other = Client(port)
check(other.command("GET", "k") == Error(noauth), "a second connection is not authenticated")
check(other.command("QUIT") == "OK", "QUIT before AUTH")
check(other.at_eof(), "the server did not close the connection after QUIT")
print("requirepass: ok", file=sys.stderr)
PY
got=$(timeout 20 redis-cli -p "${server_port[auth]}" -a 's3cret pass' --no-auth-warning get k 2>&1) || true
[[ $got == v ]] || fail "redis-cli -a PASSWORD get k printed '$got'"
stop_server auth TERM

log "a subscriber that never reads, --pubsub-output-limit 1mb"
start_server flood --pubsub-output-limit 1mb
py "${server_port[flood]}" <<'PY' || fail "slow subscriber (see above)"
import sys
import threading
from resp_client import Client, Closed, check, wait_for
port = int(sys.argv[1])
# Messages of 64 KiB; the stuck subscriber must be gone after at most this many.
size, max_messages = 64 * 1024, 400
payload = b"m" * size

stuck = Client(port, rcvbuf=4096)
check(stuck.command("SUBSCRIBE", "flood") == [b"subscribe", b"flood", 1], "stuck SUBSCRIBE")
reader = Client(port)
check(reader.command("SUBSCRIBE", "flood") == [b"subscribe", b"flood", 1], "reader SUBSCRIBE")
received = {"count": 0, "end": False, "error": None}

def read_all():
    try:
        while True:
            m = reader.read_reply()
            if m == [b"message", b"flood", b"end"]:
                received["end"] = True
                return
            if m != [b"message", b"flood", payload]:
                received["error"] = f"unexpected message {str(m)[:100]}"
                return
            received["count"] += 1
    except Exception as e:  # reported by the main thread
        received["error"] = repr(e)

reader.sock.settimeout(60)
threading.Thread(target=read_all, daemon=True).start()

publisher = Client(port)
other = Client(port)
published = 0
receivers = None
for i in range(max_messages):
    receivers = publisher.command("PUBLISH", "flood", payload)
    published += 1
    if receivers == 1:
        break
    check(receivers == 2, f"PUBLISH #{i} returned {receivers!r}")
    # Lockstep with the reader: it never has more than one message pending, however slow this
    # machine, so the subscriber the server drops can only be the stuck one.
    wait_for(lambda: received["count"] >= published or received["error"],
             f"the reading subscriber to get message #{published}", timeout=30)
    check(received["error"] is None, f"reading subscriber: {received['error']}")
    if i % 10 == 0:
        check(other.command("SET", f"k{i}", "v") == "OK", f"another client's SET during the flood (#{i})")
        check(other.command("GET", f"k{i}") == b"v", f"another client's GET during the flood (#{i})")
check(receivers == 1, f"the subscriber that never reads was still subscribed after "
      f"{published} messages of {size} bytes (--pubsub-output-limit 1mb)")
check(published * size > 1024 * 1024, f"the stuck subscriber was dropped after only {published} "
      f"messages of {size} bytes, under the 1mb limit")
try:
    rest = stuck.read_raw_until_eof(timeout=20)
except TimeoutError as e:
    check(False, f"the stuck subscriber's connection is still open after the server dropped it: {e}")
check(publisher.command("PUBLISH", "flood", "end") == 1, "PUBLISH end: one receiver left")
wait_for(lambda: received["end"] or received["error"], "the reading subscriber to get 'end'", timeout=30)
check(received["error"] is None, f"reading subscriber: {received['error']}")
# Every message published (the last one after the drop included) reached the reader.
check(received["count"] == published, f"the reading subscriber got {received['count']} of {published} messages")
check(other.command("PING") == "PONG", "another client after the flood")
print(f"slow subscriber dropped after {published} messages of {size} B; the reader got them all",
      file=sys.stderr)
PY
stop_server flood TERM

log "--timeout 1: idle connections closed, active ones kept"
start_server idle --timeout 1
py "${server_port[idle]}" <<'PY' || fail "idle timeout (see above)"
import resource
import selectors
import sys
import time
from resp_client import Client, check
port = int(sys.argv[1])
idle_count = 500
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = idle_count + 100
if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
active = Client(port)
sub = Client(port)
check(sub.command("SUBSCRIBE", "keep") == [b"subscribe", b"keep", 1], "SUBSCRIBE keep")
idle = [Client(port) for _ in range(idle_count)]
sel = selectors.DefaultSelector()
for c in idle:
    c.sock.setblocking(False)
    sel.register(c.sock, selectors.EVENT_READ, c)
open_count = idle_count
deadline = time.monotonic() + 30
next_ping = 0
while open_count and time.monotonic() < deadline:
    # The active client sends a command every 100 ms: never idle for a whole second.
    if time.monotonic() >= next_ping:
        check(active.command("PING") == "PONG", "the active client's PING")
        next_ping = time.monotonic() + 0.1
    for key, _ in sel.select(timeout=0.1):
        try:
            data = key.fileobj.recv(4096)
        except (ConnectionResetError, BlockingIOError) as e:
            data = b"" if isinstance(e, ConnectionResetError) else None
        if data is None:
            continue
        check(data == b"", f"an idle connection got {data[:100]!r} instead of being closed")
        sel.unregister(key.fileobj)
        key.fileobj.close()
        open_count -= 1
check(open_count == 0, f"{open_count} of {idle_count} idle connections still open 30 s after "
      "they went idle with --timeout 1")
check(active.command("PING") == "PONG", "the active client after the idle ones were closed")
publisher = Client(port)
check(publisher.command("PUBLISH", "keep", "still here") == 1,
      "the idle subscriber was closed by --timeout (Redis exempts subscribers)")
check(sub.read_reply() == [b"message", b"keep", b"still here"], "the idle subscriber's message")
print(f"{idle_count} idle connections closed; the active client and the subscriber kept", file=sys.stderr)
PY
stop_server idle TERM

log "--maxclients 10"
start_server maxc --maxclients 10
py "${server_port[maxc]}" <<'PY' || fail "maxclients (see above)"
import sys
import time
from resp_client import Client, Closed, Error, check
port = int(sys.argv[1])
limit = 10
refusal = b"-ERR max number of clients reached\r\n"

def try_client():
    """A connection that answered PING, or None if the server refused it."""
    c = Client(port)
    try:
        got = c.command("PING")
    except (Closed, ConnectionError):
        c.close()
        return None
    if got == "PONG":
        return c
    check(got == Error(refusal[1:-2].decode()), f"a new client got {got!r}")
    c.close()
    return None

def client_within(secs, what):
    # Closed connections (the readiness probes, a client just closed) free their slot only once
    # the server has noticed the close: retry until then.
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        c = try_client()
        if c:
            return c
        time.sleep(0.02)
    check(False, f"no slot for {what} within {secs} s")

held = [client_within(20, f"client #{i + 1} of {limit}") for i in range(limit)]
extra = Client(port)
got = extra.read_raw_until_eof(timeout=20)
check(got == refusal, f"client #{limit + 1}: got {got!r}, want {refusal!r} then close")
for i, c in enumerate(held):
    check(c.command("PING") == "PONG", f"held client #{i + 1} after the refusal")
held.pop().close()
held.append(client_within(20, "a client after one of the 10 left"))
check(all(c.command("PING") == "PONG" for c in held), "held clients at the end")
print(f"maxclients {limit}: the 11th refused, a freed slot reused", file=sys.stderr)
PY
stop_server maxc TERM
pass
