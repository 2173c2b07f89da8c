"""A minimal RESP2 client for apps/mini-redis's integration tests (stdlib only).

The shell tests use redis-cli where its output is enough; this module is for what redis-cli
cannot do: send malformed bytes, hold hundreds of idle connections, see the exact reply bytes,
and notice the server closing a connection.

    import resp_client
    c = resp_client.Client(6379)
    assert c.command("SET", "k", "v") == "OK"          # simple string -> str
    assert c.command("GET", "k") == b"v"               # bulk -> bytes, nil -> None
    assert isinstance(c.command("INCR", "k"), resp_client.Error)
    c.send_raw(b"*1\\r\\n$abc\\r\\n"); print(c.read_reply(), c.at_eof())

Every blocking call has a timeout (default 10 s) so that a hung server fails the test with a
message instead of hanging it. Not thread-safe: one Client per thread.
"""

import socket
import sys
import time

# How long one read or connect may block before the test gives up on the server.
DEFAULT_TIMEOUT_SECS = 10.0


class Error(str):
    """An error reply ("-ERR ..."), without the leading '-'."""

    def __repr__(self):
        return f"Error({str.__repr__(self)})"


class Closed(Exception):
    """The server closed the connection (or reset it) before a whole reply arrived."""


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT_SECS, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connect(), so that the window the server sees is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def command(self, *args):
        self.sock.sendall(encode(*args))
        return self.read_reply()

    def pipeline(self, commands):
        """Sends every command in one write, then reads one reply per command."""
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [self.read_reply() for _ in commands]

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError as e:
            raise Closed(f"connection reset: {e}") from e
        if not data:
            raise Closed("server closed the connection")
        self.buf += data

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return Error(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ValueError(f"not a RESP reply: {line!r}")

    def read_raw_until_eof(self, timeout=DEFAULT_TIMEOUT_SECS):
        """Everything the server sends until it closes the connection; Closed-free.

        Raises TimeoutError if the connection is still open after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"connection still open after {timeout}s; got {data[:200]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            except socket.timeout:
                continue
            if not chunk:
                return data
            data += chunk

    def at_eof(self, timeout=DEFAULT_TIMEOUT_SECS):
        """True once the server has closed the connection (nothing more is buffered)."""
        try:
            rest = self.read_raw_until_eof(timeout)
        except TimeoutError:
            return False
        return rest == b""


def wait_for(condition, what, timeout=DEFAULT_TIMEOUT_SECS, interval=0.02):
    """Polls condition() until it is true; raises AssertionError naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def check(condition, message):
    """Fails the test with `message` (no traceback: the message says what is wrong)."""
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
