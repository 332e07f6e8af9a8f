"""Framing of the seed dialect: the original client's requests are never cut (issue 13, item 3).

The original client (`clossyne.Clossyne`) sends `SET:key value` with one `sendall` and no line ending,
then waits for the reply. The frontend must take such a request as complete only after a real pause in
the client's sending (--seed-pause-ms; a small request read in one piece waits only
--seed-small-pause-us), and a request that ends with a line ending is framed by it, however it is split.
So values sent in one sendall, in bursts a few ms apart, or with pauses shorter than --seed-pause-ms are
stored whole, or refused whole when over --max-value-bytes (a clear `-ERR`, nothing stored, the
connection still usable). Every test reads the value back through RESP and compares every byte.
"""
import socket
import statistics
import sys
import time

import pytest

from cluster import REPO, Cluster

sys.path.insert(0, str(REPO / "clients" / "python"))

import clossyne  # noqa: E402
from clossyne import ClossyneError  # noqa: E402

try:   # clusters listed here get their process logs attached to failed tests' reports (conftest.py)
    from conftest import _active as _log_on_failure
except ImportError:
    _log_on_failure = []

KB, MB = 1024, 1024 * 1024
SIZES = [1 * KB, 64 * KB, 1 * MB, 16 * MB]
SIZE_IDS = ["1KB", "64KB", "1MB", "16MB"]
LIMIT = 1 * MB          # --max-value-bytes of the `limited` cluster
REPLY_S = 30.0          # bound on any one reply (16 MB through the cluster on a busy machine)


class FrontendArgsCluster(Cluster):
    """A Cluster whose frontend gets extra flags."""

    def __init__(self, tmpdir, frontend_args, **kw):
        super().__init__(tmpdir, **kw)
        self.frontend_args = list(frontend_args)

    def _frontend_argv(self):
        return super()._frontend_argv() + self.frontend_args


def _cluster(tmp_path_factory, name, frontend_args):
    c = FrontendArgsCluster(tmp_path_factory.mktemp(name), frontend_args)
    _log_on_failure.append(c)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        _log_on_failure.remove(c)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """The frontend's defaults (16 MB values are under the default --max-value-bytes, 512 MiB)."""
    yield from _cluster(tmp_path_factory, "seedbig", [])


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    yield from _cluster(tmp_path_factory, "seedlimit", ["--max-value-bytes", str(LIMIT)])


def value_of(n: int, tag: str) -> bytes:
    """n bytes of text (no space, CR or LF) made of numbered 16-byte pieces, so that a cut, a lost or
    a repeated piece anywhere shows up; the last byte is `$`."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"%s%010d|" % (tag[:4].encode().ljust(4, b"."), i)
        i += 1
    return bytes(out[:n - 1]) + b"$"


def stored(cluster, key: bytes):
    r = cluster.redis(socket_timeout=REPLY_S)
    try:
        return r.get(key)
    finally:
        r.close()


def assert_whole(cluster, key: bytes, value: bytes):
    got = stored(cluster, key)
    assert got is not None, f"{key!r}: nothing stored"
    assert len(got) == len(value), f"{key!r}: stored {len(got)} bytes of {len(value)}"
    assert got == value, f"{key!r}: stored bytes differ"


def assert_absent(cluster, key: bytes):
    got = stored(cluster, key)
    assert got is None, f"{key!r}: {len(got)} bytes stored from a refused request"


def connect(cluster) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", cluster.port), timeout=REPLY_S)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_reply(s: socket.socket, want: bytes, timeout: float = REPLY_S) -> bytes:
    """Reads until `want` bytes arrived (or an error line ended, or the timeout), then anything that
    follows within 0.3 s (there must be nothing: one request, one reply)."""
    deadline = time.monotonic() + timeout
    got = b""
    while len(got) < len(want) and time.monotonic() < deadline:
        if got.startswith(b"-ERR") and got.rstrip(b"\r\n").endswith(b"stored"):
            break
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            break
        got += chunk
    s.settimeout(0.3)
    try:
        while True:
            more = s.recv(1 << 16)
            if not more:
                break
            got += more
    except socket.timeout:
        pass
    s.settimeout(REPLY_S)
    return got


def send_in_bursts(s: socket.socket, data: bytes, bursts: int, gap_s: float) -> None:
    step = -(-len(data) // bursts)
    for i in range(0, len(data), step):
        if i:
            time.sleep(gap_s)
        s.sendall(data[i:i + step])


# ---- the unmodified client API ------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_client_api_set_get_whole(big, size):
    key = b"sfc:%d" % size
    value = value_of(size, "cli")
    with clossyne.Clossyne("127.0.0.1", big.port, timeout=REPLY_S) as db:
        assert db.set(key.decode(), value.decode()) is True
        assert_whole(big, key, value)
        got = db.get(key.decode())
        assert got is not None and len(got) == size and got.encode() == value
        # The connection is in step: a small request right after is answered as itself.
        assert db.set(key.decode() + ":small", "tiny") is True
        assert db.get(key.decode() + ":small") == "tiny"


def test_client_api_oversize_refused_whole(limited):
    with clossyne.Clossyne("127.0.0.1", limited.port, timeout=REPLY_S) as db:
        for size in (16 * MB, LIMIT + 1):
            key = "sfr:%d" % size
            with pytest.raises(ClossyneError, match="max-value-bytes"):
                db.set(key, value_of(size, "ref").decode())
            assert_absent(limited, key.encode())
            assert db.get(key) is None  # the connection is still usable and in step
        value = value_of(LIMIT, "lim")
        assert db.set("sfr:exact", value.decode()) is True
        assert_whole(limited, b"sfr:exact", value)


# ---- raw sockets: one sendall, bursts, pauses -----------------------------------------------------

@pytest.mark.parametrize("eol", [b"", b"\n", b"\r\n"], ids=["none", "lf", "crlf"])
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_raw_one_sendall(big, size, eol):
    key = b"sfs:%d:%s" % (size, eol.hex().encode() or b"x")
    value = value_of(size, "one")
    with connect(big) as s:
        s.sendall(b"SET:" + key + b" " + value + eol)
        assert read_reply(s, b"OK" + eol) == b"OK" + eol
    assert_whole(big, key, value)


@pytest.mark.parametrize("eol", [b"", b"\n"], ids=["none", "lf"])
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_raw_bursts_a_few_ms_apart(big, size, eol):
    key = b"sfb:%d:%s" % (size, eol.hex().encode() or b"x")
    value = value_of(size, "bur")
    with connect(big) as s:
        # 1 KB in 3 bursts (each over --seed-small-bytes), larger values in 8; 5 ms apart.
        send_in_bursts(s, b"SET:" + key + b" " + value + eol, 3 if size <= KB else 8, 0.005)
        assert read_reply(s, b"OK" + eol) == b"OK" + eol
    assert_whole(big, key, value)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_raw_pauses_shorter_than_the_seed_pause(big, size):
    """Two pauses of 20 ms (under the 50 ms default) inside the value, no line ending."""
    key = b"sfp:%d" % size
    value = value_of(size, "pau")
    with connect(big) as s:
        send_in_bursts(s, b"SET:" + key + b" " + value, 3, 0.020)
        assert read_reply(s, b"OK") == b"OK"
    assert_whole(big, key, value)


def test_issue_70kb_with_newline_in_two_bursts_20ms_apart(big):
    """The issue's case: stored as 29,992 bytes, `OK`, then `-ERR unknown command` for the tail."""
    value = value_of(70 * 1000, "70k")
    req = b"SET:sf70k " + value + b"\n"
    with connect(big) as s:
        s.sendall(req[:30000])
        time.sleep(0.020)
        s.sendall(req[30000:])
        assert read_reply(s, b"OK\n") == b"OK\n"
        s.sendall(b"GET:sf70k\n")
        assert read_reply(s, value + b"\n") == value + b"\n"
    assert_whole(big, b"sf70k", value)


def test_line_terminated_connection_pause_inside_a_value(big):
    """A client that uses line endings, pausing 30 ms (under --seed-pause-ms) inside a 100 KB value."""
    value = value_of(100 * KB, "lng")
    with connect(big) as s:
        s.sendall(b"SET:sflong:warm x\n")
        assert read_reply(s, b"OK\n") == b"OK\n"
        s.sendall(b"SET:sflong " + value[:40000])
        time.sleep(0.030)
        s.sendall(value[40000:] + b"\n")
        assert read_reply(s, b"OK\n") == b"OK\n"
    assert_whole(big, b"sflong", value)


def test_small_requests_in_a_row_after_big_ones(big):
    """The seed client's round trips: small requests right after a 1 MB one, each its own request."""
    value = value_of(MB, "row")
    with connect(big) as s:
        s.sendall(b"SET:sfrow:big " + value)
        assert read_reply(s, b"OK") == b"OK"
        for i in range(20):
            s.sendall(b"SET:sfrow:%d v%d" % (i, i))
            assert read_reply(s, b"OK") == b"OK"
            s.sendall(b"GET:sfrow:%d" % i)
            assert read_reply(s, b"v%d" % i) == b"v%d" % i
    assert_whole(big, b"sfrow:big", value)


# ---- refused whole ---------------------------------------------------------------------------------

@pytest.mark.parametrize("eol", [b"", b"\n"], ids=["none", "lf"])
@pytest.mark.parametrize("how", ["sendall", "bursts"])
def test_raw_oversize_refused_whole_and_connection_survives(limited, eol, how):
    key = b"sfo:%s:%s" % (how.encode(), eol.hex().encode() or b"x")
    req = b"SET:" + key + b" " + value_of(16 * MB, "ovr") + eol
    with connect(limited) as s:
        if how == "sendall":
            s.sendall(req)
        else:
            send_in_bursts(s, req, 8, 0.005)
        reply = read_reply(s, b"-ERR")
        assert reply.startswith(b"-ERR value larger than max-value-bytes (1048576 bytes)"), reply[:200]
        assert reply.endswith(b"nothing stored" + eol), reply[-60:]
        s.sendall(b"GET:" + key + eol)
        assert read_reply(s, b"NS" + eol) == b"NS" + eol
        s.sendall(b"SET:" + key + b" small" + eol)
        assert read_reply(s, b"OK" + eol) == b"OK" + eol
    assert stored(limited, key) == b"small"


def test_raw_limit_boundary(limited):
    with connect(limited) as s:
        exact = value_of(LIMIT, "exa")
        s.sendall(b"SET:sfl:exact " + exact)
        assert read_reply(s, b"OK") == b"OK"
        s.sendall(b"SET:sfl:over " + exact + b"x")
        assert read_reply(s, b"-ERR").startswith(b"-ERR value larger than max-value-bytes")
    assert_whole(limited, b"sfl:exact", exact)
    assert_absent(limited, b"sfl:over")


# ---- small requests stay fast ----------------------------------------------------------------------

def test_small_requests_are_answered_without_the_long_pause(big):
    """A small request without line ending waits only --seed-small-pause-us, not --seed-pause-ms: its
    median round trip is within a few ms of the same request with a line ending (measured precisely
    by bench/seed_latency.py)."""
    def p50(eol: bytes) -> float:
        times = []
        with connect(big) as s:
            for i in range(200):
                req = b"SET:sflat:%d v%d%s" % (i % 10, i, eol)
                t0 = time.perf_counter()
                s.sendall(req)
                got = b""
                while len(got) < 2 + len(eol):
                    chunk = s.recv(100)
                    assert chunk, "connection closed"
                    got += chunk
                times.append(time.perf_counter() - t0)
                assert got == b"OK" + eol
        return statistics.median(times)

    with_lf, without = p50(b"\n"), p50(b"")
    added_ms = (without - with_lf) * 1000
    print(f"p50 with \\n {with_lf * 1000:.3f} ms, without {without * 1000:.3f} ms: added {added_ms:.3f} ms")
    assert added_ms < 5.0, f"small seed requests wait {added_ms:.1f} ms more than line-terminated ones"
