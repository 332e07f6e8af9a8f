"""The Python package clients/python (`clossyne`) and raw pyzmq scripts against a real cluster.

A cluster split at "m" (shards [-inf, "m") and ["m", +inf), workers w1 w2) is started once for the
module from cluster.py; it is ready when a `ping` envelope and a `dbsize` envelope succeed at the
broker. The frontend (for the seed API) is started the first time a test needs it. Tests write keys
under their own prefixes. Every wait is bounded.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import msgpack
import pytest
import zmq

from cluster import REPO, Cluster, free_port

PKG = REPO / "clients" / "python"
EXAMPLES = PKG / "examples"
sys.path.insert(0, str(PKG))

import clossyne  # noqa: E402
from clossyne import ClossyneError, ClossyneTimeout  # noqa: E402

try:   # clusters listed here get their process logs attached to failed tests' reports (conftest.py)
    from conftest import _active as _log_on_failure
except ImportError:
    _log_on_failure = []

READY_S = 20.0
REPLY_MS = 5000


def wait_envelope_ready(endpoint: str, cluster: Cluster, timeout: float = READY_S) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        cluster.check_alive()
        try:
            with clossyne.Client(endpoint, timeout=1.0) as c:
                c.ping()
                if isinstance(c.dbsize(), int):
                    return
        except ClossyneError as e:
            last = e
        time.sleep(0.1)
    raise TimeoutError(f"broker not ready within {timeout}s (last: {last!r})\n{cluster.logs()}")


def _envelope_cluster(tmp_path_factory, name):
    """Broker + w1 + w2 split at "m", ready for envelopes (no frontend until asked); stopped after."""
    c = Cluster(tmp_path_factory.mktemp(name), workers=2, split_points="m", start_frontend=False)
    _log_on_failure.append(c)
    try:
        c.start()
        wait_envelope_ready(c.client_endpoint, c)
        yield c
    finally:
        c.stop()
        _log_on_failure.remove(c)


@pytest.fixture(scope="module")
def pc(tmp_path_factory):
    """The module's cluster (broker + w1 + w2, frontend started on demand)."""
    yield from _envelope_cluster(tmp_path_factory, "pyclient")


@pytest.fixture
def fresh(tmp_path_factory):
    """An empty cluster of its own (no frontend), for tests that need exact range contents."""
    yield from _envelope_cluster(tmp_path_factory, "pyfresh")


@pytest.fixture(scope="module")
def frontend_port(pc):
    if pc.frontend is None:
        pc.start_frontend_proc()
        pc.wait_ready()
    return pc.port


@pytest.fixture
def client(pc):
    with clossyne.Client(pc.client_endpoint, timeout=5.0) as c:
        yield c


@pytest.fixture
def zctx():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def dealer(ctx, endpoint):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    return s


def recv_reply(sock, timeout_ms=REPLY_MS):
    assert sock.poll(timeout_ms), f"no reply within {timeout_ms} ms"
    frames = sock.recv_multipart()
    return msgpack.unpackb(frames[-1], raw=False)


def assert_alive(pc):
    pc.check_alive()
    for p in pc.procs():
        assert p.alive(), f"{p.name} died\n{pc.logs()}"


# ---- every op through Client -------------------------------------------------------------------

def test_ping_set_get_on_both_shards(client):
    assert client.ping() is True
    assert client.set("apa:apple", "red") is True           # shard [-inf, m)
    assert client.set(b"zpz:zebra", b"striped") is True     # shard [m, +inf)
    assert client.get("apa:apple") == b"red"
    assert client.get(b"apa:apple") == b"red"
    assert client.get("zpz:zebra") == b"striped"
    assert client.get("apa:missing") is None
    assert client.get("zpz:missing") is None
    assert client.set("apa:apple", "green") is True
    assert client.get("apa:apple") == b"green"
    assert client.set("m", "the split point") is True
    assert client.get("m") == b"the split point"
    assert client.delete("m") is True and client.get("m") is None
    assert client.set("apa:empty", b"") is True
    assert client.get("apa:empty") == b""
    assert client.set("apa:unicode", "żółw ✓") is True
    assert client.get("apa:unicode") == "żółw ✓".encode("utf-8")
    assert client.where("apa:apple")["shard"] != client.where("zpz:zebra")["shard"]


def test_binary_keys_and_values(client):
    keys = [b"pb\x00\x01", b"pb\xff\xfe", b"pb\r\n \t", b"\x00", b"\xff\xff\xffpb", b"m\x00"]
    for i, k in enumerate(keys):
        assert client.set(k, b"\x00v\xff" + bytes([i])) is True
    for i, k in enumerate(keys):
        assert client.get(k) == b"\x00v\xff" + bytes([i])
    assert client.mget(keys) == [b"\x00v\xff" + bytes([i]) for i in range(len(keys))]
    assert client.exists(*keys) == len(keys)
    assert client.delete(*keys) == len(keys)
    assert client.exists(*keys) == 0


def test_delete_and_exists(client):
    client.mset([("apd:a", "1"), ("apd:b", "2"), ("zpd:c", "3")])
    assert client.exists("apd:a") == 1
    assert client.exists("apd:a", "apd:a", "apd:nope", "zpd:c") == 3, "a key named twice counts twice"
    assert client.delete("apd:a") is True
    assert client.delete("apd:a") is False
    assert client.get("apd:a") is None
    n = client.delete("apd:b", "zpd:c", "apd:nope")
    assert n == 2 and isinstance(n, int) and not isinstance(n, bool)
    assert client.exists("apd:b", "zpd:c") == 0
    assert client.delete() == 0 and client.exists() == 0


def test_mget_mset(client):
    assert client.mset({"apm:1": "one", "zpm:2": b"two", b"apm:3": "three"}) is True
    assert client.mget(["apm:1", "zpm:2", "apm:nope", b"apm:3", "zpm:nope"]) == [
        b"one", b"two", None, b"three", None]
    assert client.mset([("apm:1", "uno"), ("apm:1", "eins")]) is True
    assert client.get("apm:1") == b"eins", "pairs are applied in order"
    assert client.mget([]) == []


def test_range_in_key_order_across_shards(fresh):
    client = clossyne.Client(fresh.client_endpoint, timeout=5.0)
    keys = [f"{c}rg:{i:03d}".encode() for c in "agqx" for i in range(30)]
    shuffled = keys[::7] + [k for k in keys if k not in keys[::7]]
    client.mset([(k, k[::-1]) for k in shuffled])
    got = list(client.range(b"arg:", b"xrg:~"))
    want = [k for k in sorted(keys)]
    assert [k for k, _ in got] == want
    assert all(v == k[::-1] for k, v in got)
    it = client.range(b"arg:", b"xrg:~")
    assert iter(it) is it, "range returns an iterator"
    # both ends inclusive
    assert [k for k, _ in client.range(b"grg:005", b"grg:007")] == [b"grg:005", b"grg:006", b"grg:007"]
    # limit, also across the split point
    assert [k for k, _ in client.range(b"grg:028", None, limit=4)] == [
        b"grg:028", b"grg:029", b"qrg:000", b"qrg:001"]
    assert list(client.range(b"arg:", b"xrg:~", limit=0)) == []
    # paging (small pages) gives the same as one request, and limit across pages
    assert list(client.range(b"arg:", b"xrg:~", page_size=7)) == got
    assert [k for k, _ in client.range(b"arg:", b"xrg:~", limit=50, page_size=7)] == want[:50]
    # empty range, open start
    assert list(client.range(b"brg:", b"crg:")) == []
    first = list(client.range(None, b"arg:001"))
    assert first and first[-1][0] == b"arg:001" and all(k <= b"arg:001" for k, _ in first)
    assert [k for k, _ in first] == sorted(k for k, _ in first)
    assert list(client.range(None, None)) == got
    assert len(list(client.range(None, None, page_size=1))) == len(keys)
    client.close()


def test_dbsize_counts_new_keys(client):
    before = client.dbsize()
    assert isinstance(before, int) and before >= 0
    client.mset([(f"apdb:{i}", "x") for i in range(10)] + [(f"zpdb:{i}", "x") for i in range(10)])
    assert client.dbsize() == before + 20
    assert client.delete(*[f"apdb:{i}" for i in range(10)]) == 10
    assert client.dbsize() == before + 10


def test_where(client):
    client.set("apw:left", "1")
    client.set("zpw:right", "2")
    left, right = client.where("apw:left"), client.where("zpw:right")
    for w in (left, right):
        assert set(w) >= {"shard", "owner", "path", "depth", "found"}
        assert w["found"] is True
        assert w["owner"] in ("w1", "w2")
        m = re.fullmatch(r"(\d+):([LR]*)", w["path"])
        assert m, w
        assert int(m.group(1)) == w["shard"]
        assert len(m.group(2)) == w["depth"]
    assert left["shard"] != right["shard"]
    absent = client.where("apw:absent")
    assert absent["found"] is False and absent["shard"] == left["shard"]


def test_error_reply_raises_clossyne_error(client):
    with pytest.raises(ClossyneError, match=r"^ERR unknown op"):
        client.request("frobnicate", key=b"x")
    with pytest.raises(ClossyneError, match=r"^ERR"):
        client.request("get")                       # missing key
    with pytest.raises(TypeError):
        client.set(5, "x")
    assert client.ping() is True, "the client keeps working after errors"


# ---- batches and pipelines -------------------------------------------------------------------------

def test_batch_results_in_order(client):
    res = client.batch([
        ("set", "apbt:a", "1"), ("set", "zpbt:b", "2"), ("get", "apbt:a"), ("get", "zpbt:b"),
        ("get", "apbt:none"), ("mget", ["apbt:a", "zpbt:b"]), ("exists", "apbt:a", "zpbt:b"),
        ("range", "apbt:", "apbt:~"), ("where", "apbt:a"), ("ping",), ("delete", "apbt:a"),
        ("get", "apbt:a"), ("delete", "apbt:a", "zpbt:b"),
    ])
    assert res[:8] == [True, True, b"1", b"2", None, [b"1", b"2"], 2,
                       [(b"apbt:a", b"1")]]
    assert res[8]["found"] is True
    assert res[9:] == [True, True, None, 1]


def test_pipeline_many_chunks(client):
    n = 2500
    p = client.pipeline(chunk=300, window=4)
    for i in range(n):
        p.set(f"{'app' if i % 2 else 'zpp'}:{i:05d}", str(i))
    assert len(p) == n
    assert p.execute() == [True] * n
    assert len(p) == 0
    with client.pipeline(chunk=1000) as p:
        for i in range(n):
            p.get(f"{'app' if i % 2 else 'zpp'}:{i:05d}")
        assert p.execute() == [str(i).encode() for i in range(n)]
    assert client.exists(*[f"app:{i:05d}" for i in range(1, n, 2)]) == n // 2


def test_failed_op_in_batch_does_not_fail_the_others(client, pc):
    reply = client.request("batch", ops=[
        {"v": 1, "id": 1, "op": "set", "key": b"apbf:k", "value": b"v"},
        {"v": 1, "id": 2, "op": "frobnicate", "key": b"apbf:k"},
        {"v": 1, "id": 3, "op": "get"},
        {"v": 1, "id": 4, "op": "get", "key": b"apbf:k"},
    ])
    subs = reply["replies"]
    assert len(subs) == 4
    assert subs[0]["ok"] is True
    assert subs[1]["ok"] is False and subs[1]["error"].startswith("ERR unknown op")
    assert subs[2]["ok"] is False and subs[2]["error"].startswith("ERR")
    assert subs[3]["ok"] is True and subs[3]["value"] == b"v"
    assert [s.get("id") for s in subs] == [1, 2, 3, 4], "each sub-reply echoes its op's id"
    # Pipeline.execute with raise_on_error: the first error is raised after all replies are in
    p = client.pipeline()
    p.set("apbf:k2", "x").get("apbf:k2")
    p._ops.insert(1, ({"op": "frobnicate"}, lambda r: r))
    with pytest.raises(ClossyneError, match="unknown op"):
        p.execute()
    p.set("apbf:k2", "y")
    p._ops.insert(1, ({"op": "frobnicate"}, lambda r: r))
    p.get("apbf:k2")
    res = p.execute(raise_on_error=False)
    assert res[0] is True and isinstance(res[1], ClossyneError) and res[2] == b"y"
    assert client.get("apbf:k2") == b"y"


# ---- raw pyzmq: pipelined DEALER, REQ -----------------------------------------------------------

def test_500_requests_in_flight_on_one_dealer(pc, zctx):
    s = dealer(zctx, pc.client_endpoint)
    n = 500
    keys = [(b"apf:" if i % 2 else b"zpf:") + b"%04d" % i for i in range(n)]
    for i, k in enumerate(keys):   # all sets in flight, no waiting
        s.send(msgpack.packb({"v": 1, "id": 1000 + i, "op": "set", "key": k, "value": b"v%d" % i},
                             use_bin_type=True))
    got = {}
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        if s.poll(1000):
            r = msgpack.unpackb(s.recv(), raw=False)
            assert r["id"] not in got, f"duplicate reply {r}"
            got[r["id"]] = r
    assert len(got) == n, f"only {len(got)} of {n} answered"
    assert set(got) == set(range(1000, 1000 + n))
    assert all(r["ok"] is True for r in got.values())
    for i, k in enumerate(keys):   # then 500 gets in flight
        s.send(msgpack.packb({"v": 1, "id": 5000 + i, "op": "get", "key": k}, use_bin_type=True))
    order = {0: [], 1: []}
    vals = {}
    deadline = time.monotonic() + 20
    while len(vals) < n and time.monotonic() < deadline:
        if s.poll(1000):
            r = msgpack.unpackb(s.recv(), raw=False)
            i = r["id"] - 5000
            vals[i] = r.get("value")
            order[i % 2].append(i)
    assert len(vals) == n, f"only {len(vals)} of {n} answered"
    assert all(vals[i] == b"v%d" % i for i in range(n))
    assert order[0] == sorted(order[0]) and order[1] == sorted(order[1]), \
        "replies for one shard come back in the order sent"
    s.close()


def test_req_socket(pc, zctx):
    s = zctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(pc.client_endpoint)
    for i, (req, check) in enumerate([
        ({"op": "set", "key": b"preq:k", "value": b"via REQ"}, lambda r: r["ok"] is True),
        ({"op": "get", "key": b"preq:k"}, lambda r: r["value"] == b"via REQ"),
        ({"op": "frob"}, lambda r: r["ok"] is False and r["error"].startswith("ERR unknown op")),
        ({"op": "rng", "key": b"preq:", "end": b"preq:~"}, lambda r: r["items"] == [[b"preq:k", b"via REQ"]]),
    ]):
        s.send(msgpack.packb({"v": 1, "id": 77 + i, **req}, use_bin_type=True))
        r = recv_reply(s)
        assert r["id"] == 77 + i and check(r), r
    s.send(b"\xc1")   # undecodable, still answered on REQ (the socket would be stuck otherwise)
    r = recv_reply(s)
    assert r["ok"] is False and r["error"].startswith("ERR bad envelope"), r
    s.send(msgpack.packb({"v": 1, "id": 99, "op": "ping"}))
    r = recv_reply(s)
    assert r["id"] == 99 and r["ok"] is True, r
    s.close()


# ---- bad envelopes -------------------------------------------------------------------------------

BAD = [
    ("undecodable", b"\xc1", 0, "ERR bad envelope"),
    ("truncated", msgpack.packb({"v": 1, "id": 5, "op": "get", "key": b"abcdef"})[:-3], None, "ERR bad envelope"),
    ("not msgpack at all", b"GET hello\r\n", None, "ERR bad envelope"),
    ("a list", msgpack.packb([1, "get", b"k"]), 0, "ERR bad envelope"),
    ("an int", msgpack.packb(42), 0, "ERR bad envelope"),
    ("empty frame", b"", 0, "ERR bad envelope"),
    ("unknown op", msgpack.packb({"v": 1, "id": 11, "op": "frobnicate", "key": b"k"}), 11, "ERR unknown op"),
    ("no op", msgpack.packb({"v": 1, "id": 12, "key": b"k"}), 12, "ERR"),
    ("missing key (get)", msgpack.packb({"v": 1, "id": 13, "op": "get"}), 13, "ERR missing field"),
    ("missing value (set)", msgpack.packb({"v": 1, "id": 14, "op": "set", "key": b"apbad:x"}), 14, "ERR"),
    ("key=5", msgpack.packb({"v": 1, "id": 15, "op": "get", "key": 5}), 15, "ERR bad envelope"),
    ("set key=5", msgpack.packb({"v": 1, "id": 16, "op": "set", "key": 5, "value": b"v"}), 16, "ERR bad envelope"),
    ("value=[list]", msgpack.packb({"v": 1, "id": 17, "op": "set", "key": b"apbad:x", "value": [1]}), 17,
     "ERR bad envelope"),
    ("v=2", msgpack.packb({"v": 2, "id": 18, "op": "ping"}), 18, "ERR bad envelope"),
    ("op=7", msgpack.packb({"v": 1, "id": 19, "op": 7}), 19, "ERR bad envelope"),
    ("keys not an array", msgpack.packb({"v": 1, "id": 20, "op": "mget", "keys": b"k"}), 20, "ERR bad envelope"),
    ("pairs of 3", msgpack.packb({"v": 1, "id": 21, "op": "mset", "pairs": [[b"apbad:x", b"1", b"2"]]}), 21,
     "ERR"),
    ("limit=-1", msgpack.packb({"v": 1, "id": 22, "op": "rng", "key": b"a", "limit": -1}), 22, "ERR bad envelope"),
    ("batch ops not an array", msgpack.packb({"v": 1, "id": 23, "op": "batch", "ops": 1}), 23, "ERR bad envelope"),
]


@pytest.mark.parametrize("name,body,want_id,prefix", BAD, ids=[b[0] for b in BAD])
def test_bad_envelope_gets_error_reply(pc, zctx, client, name, body, want_id, prefix):
    client.mset([("apbad:left", "L"), ("zpbad:right", "R")])
    s = dealer(zctx, pc.client_endpoint)
    s.send(body)
    r = recv_reply(s)
    assert isinstance(r, dict) and r.get("ok") is False, f"{name}: {r!r}"
    assert isinstance(r.get("error"), str) and r["error"].startswith(prefix), f"{name}: {r!r}"
    if want_id is not None:
        assert r.get("id") == want_id, f"{name}: reply must echo id {want_id}: {r!r}"
    # the same socket, the cluster and the data are fine afterwards
    s.send(msgpack.packb({"v": 1, "id": 1, "op": "ping"}))
    r = recv_reply(s)
    assert r.get("id") == 1 and r.get("ok") is True, f"after {name}: {r!r}"
    assert client.get("apbad:left") == b"L" and client.get("zpbad:right") == b"R"
    assert client.get("apbad:x") is None, f"{name}: a refused request wrote a key"
    assert_alive(pc)
    s.close()


def test_many_bad_envelopes_then_data_intact(pc, zctx, client):
    client.mset([(f"apbb:{i}", str(i)) for i in range(50)] + [(f"zpbb:{i}", str(i)) for i in range(50)])
    size = client.dbsize()
    s = dealer(zctx, pc.client_endpoint)
    for _ in range(20):
        for _, body, _, _ in BAD:
            s.send(body)
    n = 20 * len(BAD)
    got = 0
    deadline = time.monotonic() + 20
    while got < n and time.monotonic() < deadline:
        if s.poll(1000):
            r = msgpack.unpackb(s.recv(), raw=False)
            assert r["ok"] is False
            got += 1
    assert got == n
    assert_alive(pc)
    assert client.dbsize() == size
    assert client.mget([f"apbb:{i}" for i in range(50)]) == [str(i).encode() for i in range(50)]
    assert client.mget([f"zpbb:{i}" for i in range(50)]) == [str(i).encode() for i in range(50)]
    s.close()


# ---- timeouts ------------------------------------------------------------------------------------

def test_timeout_when_nothing_listens():
    port = free_port()
    c = clossyne.Client(f"tcp://127.0.0.1:{port}", timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(ClossyneTimeout) as ei:
        c.get("k")
    assert 0.4 <= time.monotonic() - t0 < 3.0
    assert isinstance(ei.value, ClossyneError) and isinstance(ei.value, TimeoutError)
    with pytest.raises(ClossyneTimeout):
        c.ping()
    c.close()
    with pytest.raises(ClossyneError):
        c.ping()


def test_late_reply_after_timeout_is_ignored(zctx):
    """A fake broker answers the first request late, just before the second's answer."""
    port = free_port()
    router = zctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(f"tcp://127.0.0.1:{port}")
    errors = []

    def fake():
        try:
            assert router.poll(5000)
            ident, body1 = router.recv_multipart()
            r1 = msgpack.unpackb(body1, raw=False)
            assert router.poll(5000)
            ident, body2 = router.recv_multipart()
            r2 = msgpack.unpackb(body2, raw=False)
            router.send_multipart([ident, msgpack.packb({"v": 1, "id": r1["id"], "ok": True, "value": b"stale"})])
            router.send_multipart([ident, msgpack.packb({"v": 1, "id": 987654, "ok": True, "value": b"alien"})])
            router.send_multipart([ident, b"\xc1 garbage"])
            router.send_multipart([ident, msgpack.packb({"v": 1, "id": r2["id"], "ok": True, "value": b"fresh"})])
        except Exception as e:  # reported by the test thread
            errors.append(e)

    t = threading.Thread(target=fake, daemon=True)
    t.start()
    with clossyne.Client(f"tcp://127.0.0.1:{port}", timeout=0.5) as c:
        with pytest.raises(ClossyneTimeout):
            c.get("first")
        c.timeout = 5.0
        assert c.get("second") == b"fresh"
    t.join(5)
    router.close()
    assert not errors, errors


def test_client_shared_by_threads(pc):
    errors = []
    with clossyne.Client(pc.client_endpoint, timeout=10.0) as c:
        def work(t):
            try:
                for i in range(100):
                    k = f"{'apth' if i % 2 else 'zpth'}:{t}:{i}"
                    c.set(k, f"{t}/{i}")
                    assert c.get(k) == f"{t}/{i}".encode()
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not any(th.is_alive() for th in threads)
    assert not errors, errors


# ---- the seed API over the frontend ------------------------------------------------------------

def test_seed_api(frontend_port):
    from clossyne import Clossyne
    with Clossyne("127.0.0.1", frontend_port, timeout=5.0) as db:
        assert db.set("lsda~apple", "red fruit") is True
        assert db.set("msda~zucchini", "green") is True
        assert db.set("lsda~banana", "yellow") is True
        assert db.get("lsda~apple") == "red fruit"
        assert db.get("lsda~missing") is None
        assert db.get("lsda~", "msda~~") == [("lsda~apple", "red fruit"), ("lsda~banana", "yellow"),
                                              ("msda~zucchini", "green")]
        assert db.get("lsda~apple", "lsda~banana") == [("lsda~apple", "red fruit"), ("lsda~banana", "yellow")]
        assert db.get("lsda~c", "lsda~d") == []
        assert db.delete("lsda~apple") is True
        assert db.delete("lsda~apple") is False
        assert db.get("lsda~apple") is None
        assert db.set("lsda~k", "a:b c") is True
        assert db.get("lsda~k") == "a:b c"
        with pytest.raises(ValueError):
            db.set("lsda~k", "two\nlines")
        with pytest.raises(ValueError):
            db.set("has space", "v")
        big = "x" * 200000
        assert db.set("lsda~big", big) is True
        assert db.get("lsda~big") == big, "a long reply is read whole"
    assert db._sock is None
    with pytest.raises(ClossyneError):
        db.get("lsda~banana")
    # the seed API and the envelope API see the same data
    with Clossyne("127.0.0.1", frontend_port) as db2:
        assert db2.get("lsda~banana") == "yellow"


def test_seed_close_sends_ext(frontend_port):
    from clossyne import Clossyne
    db = Clossyne("127.0.0.1", frontend_port)
    sock = db._sock
    db.set("sdb:x", "1")
    db.close()
    assert sock.fileno() == -1
    db.close()  # twice is fine


def test_seed_and_client_share_data(frontend_port, client):
    from clossyne import Clossyne
    client.set("sdc:from-envelope", "hello")
    with Clossyne("127.0.0.1", frontend_port) as db:
        assert db.get("sdc:from-envelope") == "hello"
        db.set("sdc:from-seed", "world")
    assert client.get("sdc:from-seed") == b"world"


# ---- packaging and examples ----------------------------------------------------------------------

def test_import_with_pythonpath(tmp_path):
    out = subprocess.run(
        ["/usr/bin/python3", "-c", "import clossyne, sys; print(clossyne.__file__); "
         "print(clossyne.Client, clossyne.Clossyne, clossyne.ClossyneTimeout.__mro__[1].__name__)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(PKG)}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == str(PKG / "clossyne" / "__init__.py")
    assert "ClossyneError" in out.stdout


def test_pip_install_into_venv(tmp_path, pc):
    venv = tmp_path / "venv"
    src = tmp_path / "src"   # install from a copy: pip's build leaves build/ and *.egg-info beside the source
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-deps", "--no-build-isolation",
                        "--no-index", str(src)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and re.search(r"setuptools|build_meta|pyproject", r.stdout + r.stderr):
        pytest.skip(f"setuptools in the venv cannot build a pyproject package:\n{r.stderr[-2000:]}")
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import clossyne; print(clossyne.__file__); "
                        f"c = clossyne.Client({pc.client_endpoint!r}, timeout=5); print(c.ping()); c.close()"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    path, pong = r.stdout.split()
    assert path.startswith(str(venv)) and "site-packages" in path, path
    assert pong == "True"


def test_example_raw_pyzmq(pc):
    r = subprocess.run(["/usr/bin/python3", str(EXAMPLES / "raw_pyzmq.py"), "--broker", pc.client_endpoint,
                        "--prefix", "prawex:"],
                       cwd=EXAMPLES, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "OK"
    assert "get apple: b'red'" in lines
    assert any(l.startswith("unknown op -> error: ERR unknown op") for l in lines)
    with clossyne.Client(pc.client_endpoint) as c:
        assert c.get("prawex:banana") == b"yellow" and c.get("prawex:apple") is None


def test_example_bulk_load_csv(fresh, tmp_path):
    pc = fresh
    n = 3000

    def key(i):   # keys on both sides of "m"; no other test writes between "l~" and "m~"
        return f"{'l~bulk' if i % 3 else 'm~bulk'}:{i:05d}"

    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["key", "value"])
        for i in reversed(range(n)):   # not in key order
            w.writerow([key(i), f"value, number {i}"])
    r = subprocess.run(["/usr/bin/python3", str(EXAMPLES / "bulk_load_csv.py"), "--broker", pc.client_endpoint,
                        str(path), "--show", "3"],
                       cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(PKG)},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert re.match(rf"loaded {n} rows in ", lines[0]), lines
    assert lines[1] == f"range [l~bulk:00001, m~bulk:02997]: {n} rows", lines
    assert lines[2:5] == ["  l~bulk:00001 = value, number 1", "  l~bulk:00002 = value, number 2",
                          "  l~bulk:00004 = value, number 4"], lines
    r = subprocess.run(["/usr/bin/python3", str(EXAMPLES / "bulk_load_csv.py"), "--broker", pc.client_endpoint,
                        str(path), "--start", "l~bulk:00100", "--end", "l~bulk:00199", "--show", "1"],
                       cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                       capture_output=True, text=True, timeout=120)   # the example finds the package itself
    assert r.returncode == 0, r.stdout + r.stderr
    want = sum(1 for i in range(100, 200) if i % 3)
    assert r.stdout.splitlines()[1:3] == [f"range [l~bulk:00100, l~bulk:00199]: {want} rows",
                                          "  l~bulk:00100 = value, number 100"]
    with clossyne.Client(pc.client_endpoint) as c:
        assert c.get("m~bulk:00300") == b"value, number 300"
        assert c.where("m~bulk:00300")["shard"] != c.where("l~bulk:00301")["shard"]
        assert c.exists(*[key(i) for i in range(n)]) == n
