"""The seed's `CMD:args` dialect on port 4297, over raw sockets.

The original client sends a request with no line ending and waits for the reply: such a request must be
answered at once, with no line ending. A request with `\\n` or `\\r\\n` gets its reply with the same ending.
"""
import socket
import time

import pytest

from cluster import RespError

PROMPT_S = 1.5   # a complete request is answered within this (no waiting for more bytes)
QUIET_S = 0.3    # and nothing more arrives after the reply


def expect(conn, request: bytes, reply: bytes):
    """Send request; the exact bytes `reply` must arrive promptly, and nothing after them."""
    conn.send(request)
    start = time.monotonic()
    got = bytearray()
    while len(got) < len(reply) and time.monotonic() - start < PROMPT_S:
        got += conn.recv_some(max(0.01, PROMPT_S - (time.monotonic() - start)))
    extra = conn.recv_some(QUIET_S)
    assert bytes(got) + extra == reply, f"{request!r}: want {reply!r}, got {bytes(got) + extra!r}" + (
        "" if len(got) >= len(reply) else f" (not complete within {PROMPT_S}s)")


def read_all(conn, first_timeout=PROMPT_S) -> bytes:
    """Everything that arrives until the connection is quiet for QUIET_S."""
    data = conn.recv_some(first_timeout)
    while True:
        more = conn.recv_some(QUIET_S)
        if not more:
            return data
        data += more


@pytest.mark.parametrize("eol", [b"", b"\n", b"\r\n"], ids=["none", "lf", "crlf"])
def test_set_get_del(cluster, eol):
    k = b"sd" + (eol.hex().encode() or b"x") + b":key"
    with cluster.raw() as c:
        expect(c, b"SET:" + k + b" value with spaces" + eol, b"OK" + eol)
        expect(c, b"GET:" + k + eol, b"value with spaces" + eol)
        expect(c, b"SET:" + k + b" second" + eol, b"OK" + eol)
        expect(c, b"GET:" + k + eol, b"second" + eol)
        expect(c, b"DEL:" + k + eol, b"OK" + eol)
        expect(c, b"GET:" + k + eol, b"NS" + eol)
        expect(c, b"DEL:" + k + eol, b"NS" + eol)
    assert cluster.redis().get(k) is None


def test_seed_writes_are_seen_by_resp_and_back(cluster):
    r = cluster.redis()
    with cluster.raw() as c:
        expect(c, b"SET:sdx:a a:b c", b"OK")
        assert r.get(b"sdx:a") == b"a:b c", "the value is everything after the first space"
        r.set(b"zsdx:b", b"from resp")
        expect(c, b"GET:zsdx:b", b"from resp")
        expect(c, b"SET:sdx:c  two leading spaces", b"OK")
    assert r.get(b"sdx:c") in (b" two leading spaces", b"two leading spaces")


@pytest.mark.parametrize("eol", [b"", b"\n", b"\r\n"], ids=["none", "lf", "crlf"])
def test_rng(cluster, eol):
    tag = b"sdr" + (eol.hex().encode() or b"x")
    r = cluster.redis()
    r.set(tag + b":3", b"three")
    r.set(tag + b":1", b"one with spaces")
    r.set(tag + b":2", b"two")
    with cluster.raw() as c:
        expect(c, b"RNG:" + tag + b": " + tag + b":~" + eol,
               tag + b":1 one with spaces\n" + tag + b":2 two\n" + tag + b":3 three" + eol)
        expect(c, b"RNG:" + tag + b":2 " + tag + b":3" + eol,
               tag + b":2 two\n" + tag + b":3 three" + eol)  # both ends included
        expect(c, b"RNG:" + tag + b":4 " + tag + b":9" + eol, b"NIL" + eol)


def test_rng_across_shards(fresh_cluster):
    r = fresh_cluster.redis()
    for k in (b"b", b"k", b"m", b"q", b"y"):
        r.set(k, k.upper())
    with fresh_cluster.raw() as c:
        expect(c, b"RNG:a z", b"b B\nk K\nm M\nq Q\ny Y")
        expect(c, b"RNG:c p\n", b"k K\nm M\n")
        expect(c, b"RNG:n p", b"NIL")


def test_ext_closes(cluster):
    with cluster.raw() as c:
        expect(c, b"SET:sdext:k v", b"OK")
        c.send(b"EXT")
        c.sock.settimeout(PROMPT_S + 1)
        assert c.sock.recv(100) == b"", "EXT closes the connection"
    with cluster.raw() as c:
        c.send(b"EXT\n")
        c.sock.settimeout(PROMPT_S + 1)
        assert c.sock.recv(100) == b""


def test_malformed_set_answers_and_connection_survives(cluster):
    with cluster.raw() as c:
        for bad in (b"SET:", b"SET:\n", b"GET:", b"DEL:"):
            c.send(bad)
            got = read_all(c)
            body = got.rstrip(b"\r\n")
            assert body == b"NS" or body.startswith(b"-ERR") or body.startswith(b"ERR"), (bad, got)
        expect(c, b"SET:sdbad:k fine", b"OK")
        expect(c, b"GET:sdbad:k", b"fine")


def test_mixing_dialects_on_one_connection(cluster):
    with cluster.raw() as c:
        c.send(b"*3\r\n$3\r\nSET\r\n$8\r\nsdmix:k1\r\n$4\r\nresp\r\n")
        assert c.reply() == "OK"
        expect(c, b"GET:sdmix:k1", b"resp")
        expect(c, b"SET:sdmix:k2 seed value\r\n", b"OK\r\n")
        c.send(b"GET sdmix:k2\r\n")
        assert c.reply() == b"seed value"
        expect(c, b"GET:sdmix:k2\n", b"seed value\n")
        c.send(b"*2\r\n$3\r\nGET\r\n$8\r\nsdmix:k2\r\n")
        assert c.reply() == b"seed value"
        c.send(b"NOSUCH x\r\n")
        assert isinstance(c.reply(), RespError)
        expect(c, b"DEL:sdmix:k1", b"OK")
        c.send(b"EXISTS sdmix:k1 sdmix:k2\r\n")
        assert c.reply() == 1


def test_seed_pipelined_with_line_endings(cluster):
    """Several line-terminated seed requests in one write are answered in order."""
    with cluster.raw() as c:
        c.send(b"SET:sdp:1 a\nSET:sdp:2 b\nGET:sdp:1\nGET:sdp:2\nDEL:sdp:1\nGET:sdp:1\n")
        want = b"OK\nOK\na\nb\nOK\nNS\n"
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < len(want) and time.monotonic() < deadline:
            got += c.recv_some(0.5)
        assert got == want


def test_seed_client_style_many_connections(cluster):
    """The original client: connect, one request without line ending per round trip, EXT."""
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", cluster.port), timeout=PROMPT_S)
        try:
            s.sendall(b"SET:sdc:%d v%d" % (i, i))
            assert s.recv(100) == b"OK"
            s.sendall(b"GET:sdc:%d" % i)
            assert s.recv(100) == b"v%d" % i
            s.sendall(b"EXT")
            assert s.recv(100) == b""
        finally:
            s.close()
