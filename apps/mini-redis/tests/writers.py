"""Durability writers and checker for the crash and shutdown tests.

    python3 writers.py write PORT TAG ACKDIR [MAX_SECS]   # until the server goes away
    python3 writers.py verify PORT ACKDIR                 # after a restart

`write` runs four writers, each on its own connection, one request in flight, and records a
write in ACKDIR/TAG.KIND only after the server acknowledged it (the record is a write(2) of a
line, so it survives whatever happens to the server afterwards):

    set      SET TAG:s:N VALUE(N)               -> "OK"; records TAG:s:N
    setex    SET TAG:e:N VALUE(N) EX 1000000    -> "OK"; records TAG:e:N
    incr     INCR TAG:counter                   -> N;    records N
    rpush    RPUSH TAG:list N                   -> N+1;  records N

Values vary in length (0..255 bytes of padding) so that AOF records of many sizes get torn.
A writer stops when its connection is closed or reset (the server was killed or shut down),
or after MAX_SECS (default 60) as a guard. Exit status 1 if any reply was unexpected (an error
reply, a wrong count) or the server stopped answering without closing (10 s).

`verify` checks every ACKDIR/*.KIND file against the restarted server: every acknowledged SET
is there with its value (and, for setex, a TTL); each counter equals the last acknowledged value
or one more (a request in flight may have been applied but not acknowledged); each list is
exactly 0..M-1 with M the acknowledged pushes or one more. Exit status 1 with every problem
listed (up to a limit).
"""

import os
import socket
import sys
import threading
import time

import resp_client

# How many missing keys `verify` lists before it summarizes.
MAX_REPORTED = 20
# Keys per MGET / pipelined batch in `verify`.
BATCH = 500
# A TTL long enough never to expire during a test.
EX_SECS = 1000000


def value(key):
    n = sum(key.encode()) % 256
    return f"{key}|" + "v" * n


class Writer(threading.Thread):
    def __init__(self, port, tag, kind, ackdir, deadline):
        super().__init__(daemon=True)
        self.port, self.tag, self.kind, self.deadline = port, tag, kind, deadline
        self.path = os.path.join(ackdir, f"{tag}.{kind}")
        self.acked = 0
        self.error = None
        self.ended = "deadline"

    def request(self, n):
        t = self.tag
        if self.kind == "set":
            k = f"{t}:s:{n}"
            return ("SET", k, value(k)), "OK", k
        if self.kind == "setex":
            k = f"{t}:e:{n}"
            return ("SET", k, value(k), "EX", str(EX_SECS)), "OK", k
        if self.kind == "incr":
            return ("INCR", f"{t}:counter"), n + 1, str(n + 1)
        return ("RPUSH", f"{t}:list", str(n)), n + 1, str(n)

    def run(self):
        try:
            c = resp_client.Client(self.port)
        except OSError as e:
            self.error = f"connect: {e}"
            return
        with open(self.path, "a", buffering=1) as f:
            n = 0
            while time.monotonic() < self.deadline:
                cmd, want, record = self.request(n)
                try:
                    got = c.command(*cmd)
                except (resp_client.Closed, ConnectionError, BrokenPipeError) as e:
                    self.ended = f"connection closed ({e})"
                    return
                except socket.timeout:
                    self.error = f"{' '.join(cmd[:2])}: no reply in {resp_client.DEFAULT_TIMEOUT_SECS}s"
                    return
                if got != want:
                    self.error = f"{' '.join(cmd[:2])}: got {got!r}, want {want!r}"
                    return
                f.write(record + "\n")
                self.acked += 1
                n += 1


def write(port, tag, ackdir, max_secs):
    deadline = time.monotonic() + max_secs
    writers = [Writer(port, tag, k, ackdir, deadline) for k in ("set", "setex", "incr", "rpush")]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    bad = [w for w in writers if w.error]
    for w in writers:
        print(f"writer {tag}.{w.kind}: {w.acked} acknowledged, ended: {w.error or w.ended}",
              file=sys.stderr)
    return 1 if bad else 0


def lines(path):
    with open(path) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def verify(port, ackdir):
    c = resp_client.Client(port)
    problems = []
    checked = 0

    def problem(text):
        problems.append(text)

    for name in sorted(os.listdir(ackdir)):
        tag, _, kind = name.rpartition(".")
        acks = lines(os.path.join(ackdir, name))
        if kind in ("set", "setex"):
            for i in range(0, len(acks), BATCH):
                keys = acks[i:i + BATCH]
                got = c.command("MGET", *keys)
                if not isinstance(got, list) or len(got) != len(keys):
                    problem(f"MGET of {len(keys)} keys: {got!r:.200}")
                    continue
                for k, v in zip(keys, got):
                    if v is None:
                        problem(f"acknowledged SET {k} lost")
                    elif v.decode() != value(k):
                        problem(f"{k} = {v[:60]!r}..., want {value(k)[:60]!r}...")
                if kind == "setex":
                    ttls = c.pipeline([("PTTL", k) for k in keys])
                    for k, t in zip(keys, ttls):
                        if not isinstance(t, int) or t <= 0 or t > EX_SECS * 1000:
                            problem(f"PTTL {k} = {t!r}, want 1..{EX_SECS * 1000} (SET ... EX {EX_SECS})")
                checked += len(keys)
        elif kind == "incr":
            last = int(acks[-1]) if acks else 0
            got = c.command("GET", f"{tag}:counter")
            ok = (got is None and last == 0) or (isinstance(got, bytes) and int(got) in (last, last + 1))
            if not ok:
                problem(f"{tag}:counter = {got!r}, last acknowledged INCR returned {last}")
            checked += 1
        elif kind == "rpush":
            m = len(acks)
            got = c.command("LRANGE", f"{tag}:list", "0", "-1")
            want = [str(i).encode() for i in range(m)]
            if not isinstance(got, list) or (got != want and got != want + [str(m).encode()]):
                head = got[:5] if isinstance(got, list) else got
                problem(f"{tag}:list has {len(got) if isinstance(got, list) else got!r} elements "
                        f"(first {head!r}), want 0..{m - 1} ({m} acknowledged RPUSHes) or one more")
            checked += 1
    if problems:
        for p in problems[:MAX_REPORTED]:
            print(f"  {p}", file=sys.stderr)
        if len(problems) > MAX_REPORTED:
            print(f"  ... and {len(problems) - MAX_REPORTED} more", file=sys.stderr)
        print(f"verify: {len(problems)} problem(s) in {checked} checks", file=sys.stderr)
        return 1
    print(f"verify: {checked} acknowledged keys/counters/lists intact", file=sys.stderr)
    return 0


def main(argv):
    if len(argv) >= 5 and argv[1] == "write":
        max_secs = float(argv[5]) if len(argv) > 5 else 60.0
        return write(int(argv[2]), argv[3], argv[4], max_secs)
    if len(argv) == 4 and argv[1] == "verify":
        return verify(int(argv[2]), argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
