"""Failures: a SIGKILLed worker, a frontend without a broker, a cluster not yet ready; and the broker's
client endpoint used directly by a pyzmq script (DEALER and REQ), including garbage input."""
import threading
import time

import msgpack
import pytest
import redis
import zmq

from cluster import RespError, resp_command, where

DEAD_DETECT_S = 10.0   # a request for a dead worker's shard is answered with an error within this
RECOVER_S = 10.0       # after the worker registers again, its shard serves within this


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = pred()
        if ok:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s (last: {last!r})")


# ---- a worker dies -----------------------------------------------------------------------------

def test_sigkilled_worker_errors_then_recovers(fresh_cluster):
    c = fresh_cluster
    r = c.redis(socket_timeout=DEAD_DETECT_S + 2)
    for i in range(20):
        r.set(b"a:before:%d" % i, b"lo%d" % i)
        r.set(b"z:before:%d" % i, b"hi%d" % i)
    owner_hi, owner_lo = where(r, b"z")["owner"], where(r, b"a")["owner"]
    assert owner_hi != owner_lo

    # Requests in flight/queued when the worker dies: pipelined before the broker can notice.
    raw = c.raw(timeout=DEAD_DETECT_S + 2)
    c.kill_worker(owner_hi)
    t0 = time.monotonic()
    batch = b"".join(resp_command("GET", b"z:before:%d" % i) + resp_command("GET", b"a:before:%d" % i)
                     for i in range(20))
    raw.send(batch)

    # Meanwhile the lower shard keeps serving promptly on another connection.
    lo_times = []
    r_lo = c.redis(socket_timeout=5)
    for i in range(20):
        s = time.monotonic()
        assert r_lo.get(b"a:before:%d" % i) == b"lo%d" % i
        assert r_lo.set(b"a:during:%d" % i, b"d") is True
        lo_times.append(time.monotonic() - s)
        time.sleep(0.05)
    # (that they are not even delayed is test_live_shard_not_delayed_by_a_dead_one below)
    assert max(lo_times) < DEAD_DETECT_S, lo_times

    replies = raw.replies(40, timeout=DEAD_DETECT_S)
    elapsed = time.monotonic() - t0
    raw.close()
    assert elapsed < DEAD_DETECT_S, elapsed
    hi_replies, lo_replies = replies[0::2], replies[1::2]
    assert all(isinstance(x, RespError) for x in hi_replies), hi_replies
    assert lo_replies == [b"lo%d" % i for i in range(20)], \
        "the live shard's replies, pipelined between failing ones, are right and in order"

    # New requests for the dead shard: an error reply, not a hang.
    with pytest.raises(redis.ResponseError) as exc:
        r.get(b"z:before:0")
    assert time.monotonic() - t0 < DEAD_DETECT_S + 1
    s = time.monotonic()
    with pytest.raises(redis.ResponseError, match="(?i)shard unavailable"):
        r.set(b"zz", b"1")
    assert time.monotonic() - s < 2.0, "once the worker is known dead, the error is immediate"
    for cmd in (("DEL", b"z:before:1"), ("EXISTS", b"q"), ("MGET", b"a:before:1", b"z:before:1"),
                ("RNG", b"a", b"z"), ("DBSIZE",), ("DEL", b"a:none", b"z:before:2")):
        s = time.monotonic()
        with pytest.raises(redis.ResponseError):
            r.execute_command(*cmd)
        assert time.monotonic() - s < 2.0, cmd
    assert r.get(b"a:before:5") == b"lo5", "the live shard still has its data"
    assert r.get(b"a:during:19") == b"d"

    # The worker comes back with the same id: its shard serves again.
    c.start_worker(owner_hi)

    def hi_works():
        try:
            return r.set(b"z:after", b"back") is True, "set ok"
        except redis.ResponseError as e:
            return False, str(e)
    wait_for(hi_works, RECOVER_S, "SET on the restarted worker's shard")
    assert r.get(b"z:after") == b"back"
    assert r.execute_command("MGET", b"a:before:3", b"z:after") == [b"lo3", b"back"]
    assert isinstance(r.dbsize(), int)
    assert where(r, b"z")["owner"] == owner_hi
    assert where(r, b"a")["owner"] == owner_lo
    assert r.get(b"a:before:19") == b"lo19"
    c.check_alive()


def test_killing_both_workers_then_recovering(fresh_cluster):
    c = fresh_cluster
    r = c.redis(socket_timeout=DEAD_DETECT_S + 2)
    for wid in list(c.workers):
        c.kill_worker(wid)
    with pytest.raises(redis.ResponseError):
        r.get(b"a")
    with pytest.raises(redis.ResponseError):
        r.get(b"z")
    assert r.ping() is True, "the frontend itself stays up"
    for wid in list(c.workers):
        c.start_worker(wid)

    def works():
        try:
            return r.set(b"a", b"1") and r.set(b"z", b"2"), "ok"
        except redis.ResponseError as e:
            return False, str(e)
    wait_for(works, RECOVER_S, "both shards serving again")
    assert r.mget([b"a", b"z"]) == [b"1", b"2"]


def test_cluster_not_ready_until_min_workers(make_cluster):
    c = make_cluster(start=False, workers=1, min_workers=2, request_timeout_ms=3000)
    c.start(wait=False)
    c.wait_port()
    r = c.redis(socket_timeout=8)
    s = time.monotonic()
    with pytest.raises(redis.ResponseError):
        r.set(b"a", b"1")
    assert time.monotonic() - s < 5.0
    with pytest.raises(redis.ResponseError):
        r.dbsize()
    c.start_worker("w2")
    c.wait_ready(timeout=10)
    assert r.set(b"a", b"1") is True and r.set(b"z", b"2") is True
    assert r.dbsize() == 2


def test_frontend_without_broker_answers_error(make_cluster):
    c = make_cluster(start=False, request_timeout_ms=1000)
    c.start_frontend_proc()          # no broker, no workers
    c.wait_port()
    r = c.redis(socket_timeout=8)
    for cmd in (("GET", b"a"), ("SET", b"zstale", b"1"), ("DBSIZE",)):
        s = time.monotonic()
        with pytest.raises(redis.ResponseError):
            r.execute_command(*cmd)
        took = time.monotonic() - s
        assert took < 4.0, f"{cmd}: error after {took:.1f}s with --request-timeout-ms 1000"
    with c.raw() as conn:
        conn.send(b"GET:a")
        reply = conn.recv_some(4.0)
        assert reply and reply not in (b"NS", b"OK"), reply
    # The broker and workers come up later: the frontend (re)connects and answers correctly,
    # not with stale replies to the requests that timed out.
    c.start_broker()
    for i in (1, 2):
        c.start_worker(f"w{i}")
    c.wait_ready(timeout=15)
    assert r.set(b"a", b"fresh") is True
    assert r.get(b"a") == b"fresh"
    assert r.get(b"z") is None


# ---- the broker's client endpoint, directly -----------------------------------------------------

@pytest.fixture
def dealer(cluster):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(cluster.client_endpoint)
    yield s
    s.close(0)


class Ids:
    n = 1000


def call(sock, body, timeout=5.0):
    """Send one envelope (dict, or raw bytes) and return the reply with the same id (dict)."""
    if isinstance(body, dict):
        Ids.n += 1
        body = {"v": 1, "id": Ids.n, **body}
        want_id = body["id"]
        sock.send(msgpack.packb(body, use_bin_type=True))
    else:
        want_id = None
        sock.send(body)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000)):
            raise TimeoutError(f"no reply to {body!r} within {timeout}s")
        reply = msgpack.unpackb(sock.recv(), raw=False)
        if want_id is None or (isinstance(reply, dict) and reply.get("id") == want_id):
            return reply


def test_dealer_round_trip(dealer):
    assert call(dealer, {"op": "set", "key": b"zdl:k", "value": b"v\x00\xff"}) == \
        {"v": 1, "id": Ids.n, "ok": True}
    rep = call(dealer, {"op": "get", "key": b"zdl:k"})
    assert rep["ok"] is True and rep["v"] == 1 and rep["value"] == b"v\x00\xff"
    rep = call(dealer, {"op": "get", "key": b"zdl:missing"})
    assert rep["ok"] is True and "value" in rep and rep["value"] is None
    assert call(dealer, {"op": "set", "key": b"adl:k", "value": b"lo"})["ok"] is True
    assert call(dealer, {"op": "set", "key": "zdl:str", "value": "as str"})["ok"] is True
    assert call(dealer, {"op": "get", "key": b"zdl:str"})["value"] == b"as str"
    rep = call(dealer, {"op": "exists", "keys": [b"zdl:k", b"adl:k", b"zdl:missing"]})
    assert rep["ok"] is True and rep["n"] == 2
    rep = call(dealer, {"op": "rng", "key": b"adl:", "end": b"zdl:~", "limit": 100})
    items = [tuple(x) for x in rep["items"]]
    assert rep["ok"] is True
    assert [k for k, _ in items if k.startswith((b"adl:", b"zdl:"))] == [b"adl:k", b"zdl:k", b"zdl:str"]
    assert (b"zdl:k", b"v\x00\xff") in items
    rep = call(dealer, {"op": "rng", "key": b"adl:", "end": b"zdl:~", "limit": 1})
    assert [tuple(x) for x in rep["items"]] == [(b"adl:k", b"lo")]
    rep = call(dealer, {"op": "del", "keys": [b"zdl:k", b"adl:k", b"zdl:missing"]})
    assert rep["ok"] is True and rep["n"] == 2
    assert call(dealer, {"op": "get", "key": b"zdl:k"})["value"] is None


def test_dealer_many_in_flight(dealer):
    n = 200
    for i in range(n):
        dealer.send(msgpack.packb({"v": 1, "id": 50000 + i, "op": "set",
                                   "key": b"%czfl:%d" % (b"az"[i % 2], i), "value": b"%d" % i}))
    got = {}
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        if dealer.poll(200):
            rep = msgpack.unpackb(dealer.recv(), raw=False)
            got[rep["id"]] = rep
    assert sorted(got) == list(range(50000, 50000 + n))
    assert all(rep["ok"] is True for rep in got.values())
    for i in (0, 1, n - 2, n - 1):
        rep = call(dealer, {"op": "get", "key": b"%czfl:%d" % (b"az"[i % 2], i)})
        assert rep["ok"] is True and rep["value"] == b"%d" % i, (i, rep)


def test_req_socket(cluster):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 5000)
    s.setsockopt(zmq.SNDTIMEO, 5000)
    try:
        s.connect(cluster.client_endpoint)
        s.send(msgpack.packb({"v": 1, "id": 1, "op": "set", "key": b"zreq", "value": b"via req"}))
        assert msgpack.unpackb(s.recv(), raw=False) == {"v": 1, "id": 1, "ok": True}
        s.send(msgpack.packb({"v": 1, "id": 2, "op": "get", "key": b"zreq"}))
        rep = msgpack.unpackb(s.recv(), raw=False)
        assert rep["id"] == 2 and rep["ok"] is True and rep["value"] == b"via req"
    finally:
        s.close(0)
    assert cluster.redis().get(b"zreq") == b"via req"


def test_garbage_and_bad_envelopes(dealer, cluster):
    dealer.send(b"\xc1\xc1 this is not msgpack")
    if dealer.poll(2000):
        rep = msgpack.unpackb(dealer.recv(), raw=False)
        assert isinstance(rep, dict) and rep.get("ok") is False, rep
    rep = call(dealer, msgpack.packb([1, 2, 3]))
    assert isinstance(rep, dict) and rep.get("ok") is False and rep.get("error"), rep
    rep = call(dealer, msgpack.packb(b"a bare string"))
    assert isinstance(rep, dict) and rep.get("ok") is False, rep
    rep = call(dealer, {"op": "frobnicate", "key": b"k"})
    assert rep["ok"] is False and rep["id"] == Ids.n and rep["error"], rep
    rep = call(dealer, {"op": "get"})  # no key
    assert rep["ok"] is False and rep["id"] == Ids.n, rep
    rep = call(dealer, {"op": "get", "key": 12345})  # key of the wrong type
    assert rep["ok"] is False and rep["id"] == Ids.n, rep
    # the broker keeps serving, this socket and others
    assert call(dealer, {"op": "set", "key": b"zgarbage:after", "value": b"ok"})["ok"] is True
    assert cluster.redis().get(b"zgarbage:after") == b"ok"


def test_broker_survives_many_garbage_clients(cluster):
    ctx = zmq.Context.instance()
    socks = []
    try:
        for i in range(10):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(cluster.client_endpoint)
            socks.append(s)
        for i, s in enumerate(socks):
            s.send_multipart([b"frame1", b"\x00" * i, b"\xff"])
            s.send(bytes(range(256)) * 4)
            s.send(b"")
        time.sleep(0.5)
        assert cluster.redis().set(b"agb", b"1") is True
        cluster.check_alive()
    finally:
        for s in socks:
            s.close(0)


def test_frontend_survives_garbage(cluster):
    with cluster.raw() as c:
        c.send(b"*2\r\n$3\r\nGET\r\n$-5\r\n")  # a negative bulk length inside an array
        reply = c.recv_some(2.0)
        assert reply.startswith(b"-ERR") or reply == b"", reply
    with cluster.raw() as c:
        c.send(b"*abc\r\n")
        reply = c.recv_some(2.0)
        assert reply.startswith(b"-ERR") or reply == b"", reply
    with cluster.raw() as c:
        c.send(bytes(range(256)) * 8)
        c.recv_some(1.0)
    cluster.check_alive()
    r = cluster.redis()
    assert r.set(b"zgf", b"1") is True and r.get(b"zgf") == b"1"


def test_concurrent_clients_during_worker_death(fresh_cluster):
    """Clients hammering both shards while one worker is killed: nobody hangs; the live shard's
    answers are always right; the dead shard's are errors, never wrong values."""
    c = fresh_cluster
    owner_hi = c.owner_of(b"z")
    stop = threading.Event()
    problems = []

    def client(t):
        r = c.redis(socket_timeout=DEAD_DETECT_S + 2)
        i = 0
        while not stop.is_set():
            i += 1
            for side in (b"a", b"z"):
                k = side + b"cc:%d:%d" % (t, i)
                try:
                    ok = r.set(k, b"%d" % i)
                    got = r.get(k)
                    if ok is not True or got != b"%d" % i:
                        problems.append((k, ok, got))
                except redis.ResponseError:
                    if side == b"a":
                        problems.append((k, "error on the live shard"))
                except Exception as e:  # noqa: BLE001
                    problems.append((k, repr(e)))
                    return

    ts = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.5)
    c.kill_worker(owner_hi)
    time.sleep(5.0)
    stop.set()
    for t in ts:
        t.join(DEAD_DETECT_S + 5)
    assert not any(t.is_alive() for t in ts), "a client hung"
    assert not problems, problems[:10]


def test_live_shard_not_delayed_by_a_dead_one(fresh_cluster):
    """While a dead worker is not yet detected, requests for its shard wait; requests for the live shard
    on other connections must not wait with them (no head-of-line blocking across connections).
    Pairs of connections send at the same instant, one for each shard, so that the frontend sees them
    in the same event-loop turn."""
    c = fresh_cluster
    r = c.redis()
    r.set(b"a:live", b"L")
    owner_hi = c.owner_of(b"z")
    pairs = [(c.raw(timeout=DEAD_DETECT_S + 2), c.raw(timeout=DEAD_DETECT_S + 2)) for _ in range(15)]
    try:
        c.kill_worker(owner_hi)
        get_hi, get_lo = resp_command("GET", b"z:dead"), resp_command("GET", b"a:live")
        sent = []
        for dead_conn, live_conn in pairs:
            dead_conn.send(get_hi)
            live_conn.send(get_lo)
            sent.append(time.monotonic())
            time.sleep(0.02)
        waited = []
        for (_, live_conn), t in zip(pairs, sent):
            assert live_conn.reply(timeout=DEAD_DETECT_S) == b"L"
            waited.append(round(time.monotonic() - t, 2))
        assert max(waited) < 1.5, f"live-shard GETs waited for the dead shard: {waited} s"
        for dead_conn, _ in pairs:
            assert isinstance(dead_conn.reply(timeout=DEAD_DETECT_S), RespError)
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_processes_exit_cleanly_on_sigterm(fresh_cluster):
    """SIGTERM (what scripts/run and docker send) is a clean shutdown: exit status 0 within 5 s."""
    c = fresh_cluster
    assert c.redis().set(b"a", b"1") is True
    order = [c.frontend] + list(c.workers.values()) + [c.broker]
    statuses = {}
    for p in order:
        p.terminate()
        try:
            statuses[p.name] = p.popen.wait(timeout=5)
        except Exception:  # noqa: BLE001 - reported below
            statuses[p.name] = "still running after 5 s"
    assert statuses == {p.name: 0 for p in order}, f"{statuses}\n{c.logs(5)}"
