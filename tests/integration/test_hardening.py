"""Bad input and load against a real cluster: protocol garbage, size limits, a 64 MiB value, slow and
idle clients, 2000 connections, --max-clients, --client-query-buffer-limit and a bounded memory use.
Each case checks the clear -ERR (or the close) and then that a fresh connection and the stored data
are unharmed. Frontends with special flags are started beside the module's cluster, on the same
broker. Every wait is bounded."""
import contextlib
import os
import random
import resource
import selectors
import socket
import time

import pytest

from cluster import Proc, RawConn, binary, free_port, resp_command

SENTINELS = {b"hard:lo": b"left value", b"zhard:hi": b"right value"}


@pytest.fixture(scope="module")
def hcluster(cluster):
    r = cluster.redis()
    r.mset(SENTINELS)
    return cluster


def assert_healthy(port: int) -> None:
    """A fresh connection answers PING, and the sentinel keys (one per shard) are intact."""
    with RawConn(port) as c:
        assert c.command("PING") == "PONG"
        assert c.command("MGET", *SENTINELS) == list(SENTINELS.values())


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or `timeout` passes (False)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """sendall, ignoring the server closing on us mid-way (it may refuse before reading all)."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def extra_frontend(cluster, tmp_path, *flags):
    """Another frontend on the cluster's broker, with extra flags; yields (port, Proc)."""
    port = free_port()
    argv = [binary("clossyne-frontend"), "--listen", f"127.0.0.1:{port}",
            "--broker", cluster.client_endpoint, "--log-level", "info", *flags]
    proc = Proc("frontend-extra", argv, tmp_path / "frontend-extra.log")
    proc.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.alive(), (tmp_path / "frontend-extra.log").read_text()
            try:
                with RawConn(port, timeout=1) as c:
                    if c.command("PING") == "PONG":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "extra frontend did not come up"
            time.sleep(0.05)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.popen.wait(timeout=5)
        except Exception:
            pass
        proc.kill()


# ---- protocol errors -----------------------------------------------------------------------------

BAD_INPUTS = {
    "negative bulk length": (b"*1\r\n$-5\r\n", b"Protocol error: invalid bulk length"),
    "absurd bulk length": (b"*1\r\n$99999999999999\r\n", b"Protocol error: invalid bulk length"),
    "bulk over 512 MiB": (b"*2\r\n$3\r\nGET\r\n$536870913\r\n", b"Protocol error: invalid bulk length"),
    "absurd multibulk": (b"*1000000000\r\n", b"Protocol error: invalid multibulk length"),
    "non-numeric multibulk": (b"*abc\r\n", b"Protocol error: invalid multibulk length"),
    "non-numeric bulk": (b"*1\r\n$x1\r\n", b"Protocol error: invalid bulk length"),
    "bare LF in header": (b"*1\n$4\nPING\n", b"Protocol error: invalid multibulk length"),
    "missing CRLF after bulk": (b"*1\r\n$4\r\nPINGxx", b"Protocol error: expected '\\r\\n' after bulk data"),
    "not a bulk": (b"*1\r\n:4\r\n", b"Protocol error: expected '$', got ':'"),
    "unterminated double quote": (b'SET k "abc\r\n', b"Protocol error: unbalanced quotes in request"),
    "unterminated single quote": (b"SET k 'abc\n", b"Protocol error: unbalanced quotes in request"),
    "inline line over 64 KiB": (b"ECHO " + b"x" * (65 * 1024) + b"\r\n", b"Protocol error: too big inline request"),
    "unterminated inline over 64 KiB": (b"ECHO " + b"x" * (70 * 1024), b"Protocol error: too big inline request"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_protocol_error_is_answered_then_closed(hcluster, name):
    data, expected = BAD_INPUTS[name]
    with RawConn(hcluster.port) as c:
        c.send(b"*1\r\n$4\r\nPING\r\n")  # a good request first: answered before the error
        assert c.reply() == "PONG"
        send_quietly(c.sock, data)
        got, closed = read_until_closed(c.sock, 5)
    assert got == b"-ERR " + expected + b"\r\n"
    assert closed, "the connection stays open after a protocol error"
    assert_healthy(hcluster.port)


def test_64k_of_random_bytes(hcluster):
    rnd = random.Random(4297)
    garbage = bytes(rnd.randrange(256) for _ in range(64 * 1024))
    with RawConn(hcluster.port) as c:
        send_quietly(c.sock, garbage)
        got, _ = read_until_closed(c.sock, 5)
    replies = [line for line in got.split(b"\r\n") if line]
    assert replies, "no answer at all to 64 KiB of garbage"
    assert all(line.startswith(b"-ERR ") for line in replies), replies[:5]
    assert_healthy(hcluster.port)


def test_oversized_value_is_refused_before_it_is_read(hcluster, tmp_path):
    with extra_frontend(hcluster, tmp_path, "--max-value-bytes", "1048576") as (port, _):
        with RawConn(port) as c:
            c.send(b"*3\r\n$3\r\nSET\r\n$8\r\nhard:big\r\n$1048577\r\n")  # no data follows
            got, closed = read_until_closed(c.sock, 5)
        assert got == b"-ERR Protocol error: invalid bulk length\r\n" and closed
        with RawConn(port) as c:  # exactly the limit is fine
            assert c.command("SET", "hard:max", b"m" * 1048576, timeout=20) == "OK"
            assert c.command("CONFIG", "GET", "proto-max-bulk-len") == [b"proto-max-bulk-len", b"1048576"]
        assert_healthy(port)
    r = hcluster.redis()
    assert r.get("hard:big") is None
    assert r.get("hard:max") == b"m" * 1048576


def test_64_mib_value_round_trip(hcluster):
    r = hcluster.redis(socket_timeout=60)
    block = os.urandom(1 << 20)
    value = b"".join(bytes([i]) + block[1:] for i in range(64))
    assert len(value) == 64 << 20
    assert r.set("hard:64mib", value) is True
    assert r.get("hard:64mib") == value
    assert r.delete("hard:64mib") == 1
    assert_healthy(hcluster.port)


# ---- slow, idle and many clients -----------------------------------------------------------------

def test_slowloris_does_not_delay_others(hcluster):
    halves = [b"*2\r\n$3\r\nGET\r\n$7\r\nhard:l", b"GET hard:l", b"*3\r\n$3\r\nSET\r\n$2\r\nsl"]
    socks = []
    try:
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", hcluster.port), timeout=5)
            s.sendall(halves[i % len(halves)])
            socks.append(s)
        times = []
        for _ in range(10):
            t0 = time.monotonic()
            with RawConn(hcluster.port) as c:
                assert c.command("PING") == "PONG"
            times.append(time.monotonic() - t0)
        times.sort()
        assert times[len(times) // 2] < 0.2, times
        assert times[-1] < 1.0, times
        # The slow clients finish their requests and are answered.
        for i, s in enumerate(socks[:30]):
            rest = [b"o\r\n", b"o\r\n", b"\r\n$1\r\nv\r\n"][i % 3]
            s.sendall(rest)
        for i, s in enumerate(socks[:30]):
            s.settimeout(5)
            assert s.recv(100) in (b"$10\r\nleft value\r\n", b"+OK\r\n"), i
    finally:
        for s in socks:
            s.close()
    assert_healthy(hcluster.port)


def test_2000_simultaneous_connections_each_get_pong(hcluster):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 2200, "cannot open 2000 sockets here"
    sel = selectors.DefaultSelector()
    socks = []
    try:
        for _ in range(2000):
            s = socket.create_connection(("127.0.0.1", hcluster.port), timeout=10)
            socks.append(s)
        for s in socks:
            s.sendall(b"PING\r\n")
        got = {}
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while len(got) < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(64)
                got[key.fileobj] = got.get(key.fileobj, b"") + data
                if got[key.fileobj].endswith(b"\r\n") or not data:
                    sel.unregister(key.fileobj)
        assert len(got) == 2000
        assert all(v == b"+PONG\r\n" for v in got.values())
    finally:
        sel.close()
        for s in socks:
            s.close()
    assert_healthy(hcluster.port)


def test_max_clients_refuses_the_one_beyond(hcluster, tmp_path):
    with extra_frontend(hcluster, tmp_path, "--max-clients", "5") as (port, _):
        time.sleep(0.3)  # the start-up probe's connection is gone
        conns = [RawConn(port) for _ in range(5)]
        try:
            for c in conns:
                assert c.command("PING") == "PONG"
            with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
                got, closed = read_until_closed(extra, 5)
            assert got == b"-ERR max number of clients reached\r\n" and closed
            info = conns[0].command("INFO", "stats", "clients")
            assert b"rejected_connections:1\r\n" in info
            assert b"connected_clients:5\r\n" in info and b"maxclients:5\r\n" in info
        finally:
            for c in conns:
                c.close()
        time.sleep(0.3)
        assert_healthy(port)


def test_idle_clients_are_closed_after_timeout(hcluster, tmp_path):
    with extra_frontend(hcluster, tmp_path, "--timeout", "1") as (port, _):
        with RawConn(port) as idle, RawConn(port) as busy:
            assert idle.command("PING") == "PONG"
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3:
                assert busy.command("PING") == "PONG"
                time.sleep(0.3)
            got, closed = read_until_closed(idle.sock, 1)
            assert got == b"" and closed, "an idle client outlived --timeout 1"
            assert busy.command("CONFIG", "GET", "timeout") == [b"timeout", b"1"]


# ---- memory bounds -------------------------------------------------------------------------------

def test_client_query_buffer_limit_closes_the_connection(hcluster, tmp_path):
    with extra_frontend(hcluster, tmp_path, "--client-query-buffer-limit", "1048576") as (port, _):
        with RawConn(port) as c:
            c.send(b"*3\r\n$3\r\nSET\r\n$8\r\nhard:qbl\r\n$2000000\r\n" + b"q" * 100000)
            got, closed = read_until_closed(c.sock, 5)
        assert got == b"-ERR Protocol error: request exceeds the client query buffer limit\r\n"
        assert closed
        with RawConn(port) as c:  # many args adding up past the limit, each under it
            c.send(b"*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$600000\r\n" + b"x" * 600000 + b"\r\n$600000\r\n")
            got, closed = read_until_closed(c.sock, 5)
        assert b"query buffer limit" in got and closed
        assert_healthy(port)
    assert hcluster.redis().get("hard:qbl") is None


def test_memory_stays_bounded_under_a_never_ending_bulk(hcluster):
    pid = hcluster.frontend.popen.pid
    before = rss_mb(pid)
    chunk = b"m" * (1 << 20)
    with RawConn(hcluster.port, timeout=10) as hog:
        hog.send(b"*3\r\n$3\r\nSET\r\n$8\r\nhard:hog\r\n$%d\r\n" % (200 << 20))
        for i in range(50):
            hog.send(chunk)
            if i % 10 == 9:
                assert_healthy(hcluster.port)  # others are served meanwhile
        time.sleep(0.3)
        peak = rss_mb(pid)
        assert peak < 300, f"frontend RSS {peak:.0f} MiB (was {before:.0f}) holding 50 MiB of a bulk"
    time.sleep(0.3)
    assert hcluster.redis().get("hard:hog") is None  # never half stored
    assert_healthy(hcluster.port)


def test_info_counts_protocol_errors_and_connections(hcluster):
    r = hcluster.redis()
    stats = r.info("stats")
    assert stats["total_connections_received"] > 2000
    assert stats["total_error_replies_protocol"] >= len(BAD_INPUTS)
    assert stats["total_commands_processed"] > 0
