"""Core commands over RESP2 and inline, against a real cluster split at "m" (shards [-inf,"m"), ["m",+inf)).

The shared `cluster` fixture serves the whole module, so each test writes keys under its own prefix;
tests that need an empty store (RNG, DBSIZE) take a `fresh_cluster`.
"""
import math
import subprocess
import threading
import time

import pytest
import redis

from cluster import RawConn, RespError, resp_command, where


def lo(tag, i=""):
    """A key in shard [-inf, "m")."""
    return f"a{tag}:{i}".encode()


def hi(tag, i=""):
    """A key in shard ["m", +inf)."""
    return f"z{tag}:{i}".encode()


# ---- single commands ---------------------------------------------------------------------------

def test_ping_echo(cluster):
    r = cluster.redis()
    assert r.ping() is True
    assert r.echo("hello world") == b"hello world"
    assert r.echo(b"\x00\xff\r\n") == b"\x00\xff\r\n"
    with cluster.raw() as c:
        assert c.command("PING") == "PONG"
        assert c.command("ping") == "PONG", "command names are case-insensitive"


def test_set_get_on_both_shards(cluster):
    r = cluster.redis()
    assert r.set(lo("sg"), b"left") is True
    assert r.set(hi("sg"), b"right") is True
    assert r.get(lo("sg")) == b"left"
    assert r.get(hi("sg")) == b"right"
    assert r.get(lo("sg-missing")) is None
    assert r.get(hi("sg-missing")) is None
    assert r.set(lo("sg"), b"overwritten") is True
    assert r.get(lo("sg")) == b"overwritten"
    assert r.set(b"m", b"the split point itself") is True
    assert r.get(b"m") == b"the split point itself"
    assert r.set(b"lzzzz", b"just below") is True
    assert r.get(b"lzzzz") == b"just below"


def test_empty_value(cluster):
    r = cluster.redis()
    assert r.set(lo("empty"), b"") is True
    assert r.get(lo("empty")) == b""
    assert r.exists(lo("empty")) == 1


def test_binary_keys_and_values(cluster):
    r = cluster.redis()
    cases = {
        b"\x00": b"\x00",
        b"\x00bin\r\nkey\x00": b"val\r\n\x00\xff with spaces",
        b"\xff\xfe\xfd": bytes(range(256)),
        b"bin key with spaces": b"*1\r\n$4\r\nPING\r\n",
        b"\xffz\x80": b"\x80" * 1000,
        "ключ".encode(): "значение".encode(),
    }
    for k, v in cases.items():
        assert r.set(k, v) is True, k
    for k, v in cases.items():
        assert r.get(k) == v, k
    assert r.mget(list(cases)) == list(cases.values())
    # memcmp order: \x00 sorts first, \xff last; an RNG over the \xff.. keys sees them as bytes
    flat = r.execute_command("RNG", b"\xff", b"\xff\xff")
    assert flat == [b"\xffz\x80", b"\x80" * 1000, b"\xff\xfe\xfd", bytes(range(256))]


def test_large_value(cluster):
    r = cluster.redis()
    big = bytes((i * 7) % 256 for i in range(1 << 20))
    assert r.set(hi("big"), big) is True
    assert r.get(hi("big")) == big


def test_del_and_exists_counts(cluster):
    r = cluster.redis()
    keys = [lo("de", 1), lo("de", 2), hi("de", 1), hi("de", 2)]
    for k in keys:
        r.set(k, b"v")
    assert r.exists(*keys) == 4
    assert r.exists(lo("de", 1), hi("de", "missing"), hi("de", 2)) == 2
    assert r.exists(lo("de", "missing")) == 0
    assert r.delete(lo("de", 1), hi("de", 1), hi("de", "missing")) == 2
    assert r.exists(*keys) == 2
    assert r.get(lo("de", 1)) is None and r.get(hi("de", 1)) is None
    assert r.get(lo("de", 2)) == b"v" and r.get(hi("de", 2)) == b"v"
    assert r.delete(lo("de", 1)) == 0
    assert r.delete(lo("de", 2), hi("de", 2)) == 2
    assert r.exists(*keys) == 0


def test_exists_and_del_with_repeated_keys(cluster):
    """As Redis: EXISTS counts a repeated existing key each time; DEL deletes it once."""
    r = cluster.redis()
    r.set(lo("rep"), b"1")
    r.set(hi("rep"), b"1")
    assert r.exists(lo("rep"), lo("rep"), hi("rep")) == 3
    assert r.delete(lo("rep"), lo("rep"), hi("rep"), hi("rep")) == 2


def test_mset_mget_across_shards(cluster):
    r = cluster.redis()
    pairs = {lo("mm", 1): b"1", hi("mm", 2): b"2", lo("mm", 3): b"3", hi("mm", 4): b"4"}
    assert r.mset(pairs) is True
    want = [b"1", None, b"2", b"3", None, b"4", b"1"]
    got = r.mget([lo("mm", 1), lo("mm", "x"), hi("mm", 2), lo("mm", 3), hi("mm", "x"), hi("mm", 4),
                  lo("mm", 1)])
    assert got == want, "MGET answers in request order across shards"
    for k, v in pairs.items():
        assert r.get(k) == v
    # MSET overwrites, the last value for a repeated key wins
    assert r.execute_command("MSET", lo("mm", 1), b"a", hi("mm", 2), b"b", lo("mm", 1), b"c") in (True, b"OK")
    assert r.mget([lo("mm", 1), hi("mm", 2)]) == [b"c", b"b"]


def test_select_and_client_name(cluster):
    r = cluster.redis()
    with cluster.raw() as c:
        assert c.command("SELECT", "0") == "OK"
        assert c.command("CLIENT", "SETNAME", "itest") == "OK"
        assert c.command("CLIENT", "GETNAME") == b"itest"
        assert c.command("GET", lo("sel")) is None, "the connection still serves after SELECT/CLIENT"
    assert r.client_setname("other") is True
    assert r.client_getname() in ("other", b"other")


def test_command_reply_is_an_array(cluster):
    with cluster.raw() as c:
        reply = c.command("COMMAND")
        assert isinstance(reply, list), reply
        assert c.command("PING") == "PONG"


def test_redis_cli_works(cluster):
    def cli(*args):
        return subprocess.run(["redis-cli", "-p", str(cluster.port), *args], capture_output=True,
                              timeout=10, text=True)
    assert cli("PING").stdout.strip() == "PONG"
    assert cli("SET", "zcli:k", "from redis-cli").stdout.strip() == "OK"
    assert cli("GET", "zcli:k").stdout.strip() == "from redis-cli"
    assert cluster.redis().get(b"zcli:k") == b"from redis-cli"


def test_quit_closes_connection(cluster):
    with cluster.raw() as c:
        assert c.command("QUIT") == "OK"
        c.sock.settimeout(5)
        assert c.sock.recv(100) == b"", "the server closes the connection after QUIT"


# ---- errors ------------------------------------------------------------------------------------

def test_unknown_command_error_and_connection_survives(cluster):
    with cluster.raw() as c:
        c.command("SET", lo("unk"), "still here")
        reply = c.command("FOOBAR", "a", "b")
        assert isinstance(reply, RespError), reply
        assert reply.line.startswith(b"ERR unknown command"), reply
        assert b"foobar" in reply.line.lower(), reply
        assert c.command("GET", lo("unk")) == b"still here"
    r = cluster.redis()
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCMD")
    assert r.get(lo("unk")) == b"still here"


def test_wrong_arity_error_wording_and_connection_survives(cluster):
    with cluster.raw() as c:
        assert c.command("GET") == RespError(b"ERR wrong number of arguments for 'get' command")
        assert c.command("get", "a", "b") == RespError(b"ERR wrong number of arguments for 'get' command")
        assert c.command("SET", "k") == RespError(b"ERR wrong number of arguments for 'set' command")
        for cmd in (("DEL",), ("EXISTS",), ("MGET",), ("WHERE",), ("ECHO",), ("RNG", "a")):
            reply = c.command(*cmd)
            assert isinstance(reply, RespError) and reply.line.startswith(
                b"ERR wrong number of arguments"), (cmd, reply)
        reply = c.command("MSET", "a", "1", "b")
        assert isinstance(reply, RespError), reply
        assert c.command("SET", lo("arity"), "ok") == "OK"
        assert c.command("GET", lo("arity")) == b"ok"
    r = cluster.redis()
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("GET")
    assert r.get(lo("arity")) == b"ok"


def test_rng_bad_limit_is_an_error(cluster):
    with cluster.raw() as c:
        reply = c.command("RNG", "a", "b", "LIMIT", "notanumber")
        assert isinstance(reply, RespError), reply
        assert c.command("PING") == "PONG"


# ---- pipelines ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [b"x", b"c"])
def test_pipeline_set_del_get_redis_py(cluster, key):
    r = cluster.redis()
    p = r.pipeline(transaction=False)
    p.set(key, 1).delete(key).get(key).set(key, 2).get(key).delete(key).exists(key)
    assert p.execute() == [True, 1, None, True, b"2", 1, 0]


@pytest.mark.parametrize("key", [b"x", b"c"])
def test_pipeline_set_del_get_raw_one_send(cluster, key):
    cmds = [("SET", key, "1"), ("DEL", key), ("GET", key), ("SET", key, "2"), ("GET", key),
            ("DEL", key), ("EXISTS", key)]
    with cluster.raw() as c:
        c.send(b"".join(resp_command(*cmd) for cmd in cmds))
        replies = c.replies(len(cmds))
        assert replies == ["OK", 1, None, "OK", b"2", 1, 0]
        assert c.recv_some(0.2) == b"", "no extra bytes after the replies"


@pytest.mark.parametrize("n", [5000, 30000])
def test_many_pipelined_requests_in_order(cluster, n):
    # SET then GET of each key, in one write. 60k commands is beyond the frontend's backpressure
    # limit (10k unanswered per connection): parsing must pause and resume on its own.
    payload = bytearray()
    for i in range(n):
        k = (b"a" if i % 2 else b"z") + b"pipe:%d" % i
        payload += resp_command("SET", k, b"v%d" % i)
        payload += resp_command("GET", k)
    with cluster.raw(timeout=30) as c:
        sender = threading.Thread(target=c.send, args=(bytes(payload),), daemon=True)
        sender.start()
        replies = c.replies(2 * n, timeout=60)
        sender.join(10)
    bad = [(i, replies[2 * i], replies[2 * i + 1]) for i in range(n)
           if replies[2 * i] != "OK" or replies[2 * i + 1] != b"v%d" % i]
    assert not bad, f"{len(bad)} wrong replies, first: {bad[:5]}"


def test_pipelined_mixed_commands_in_order(cluster):
    """Cross-shard and single-shard commands interleaved in one write keep their order."""
    cmds = [("SET", lo("mix"), "1"), ("MSET", lo("mix", 2), "2", hi("mix", 2), "3"),
            ("MGET", lo("mix"), lo("mix", 2), hi("mix", 2)), ("DEL", lo("mix"), hi("mix", 2)),
            ("EXISTS", lo("mix"), lo("mix", 2), hi("mix", 2)), ("PING",), ("ECHO", "e"),
            ("GET", hi("mix", 2)), ("NOPE",), ("GET", lo("mix", 2))]
    with cluster.raw() as c:
        c.send(b"".join(resp_command(*cmd) for cmd in cmds))
        got = c.replies(len(cmds))
    assert got[:8] == ["OK", "OK", [b"1", b"2", b"3"], 2, 1, "PONG", b"e", None]
    assert isinstance(got[8], RespError)
    assert got[9] == b"2"


def test_replies_split_across_partial_writes(cluster):
    """A request sent a few bytes at a time is answered once complete."""
    data = resp_command("SET", hi("partial"), "pv") + resp_command("GET", hi("partial"))
    with cluster.raw() as c:
        for i in range(0, len(data), 3):
            c.send(data[i:i + 3])
            time.sleep(0.002)
        assert c.replies(2) == ["OK", b"pv"]


# ---- inline commands ---------------------------------------------------------------------------

def test_inline_commands(cluster):
    with cluster.raw() as c:
        c.send(b"SET ainline:1 plain\r\n")
        assert c.reply() == "OK"
        c.send(b'SET "ainline:with space" "a value with spaces"\r\n')
        assert c.reply() == "OK"
        c.send(b"SET 'zinline:single' 'single quoted'\r\n")
        assert c.reply() == "OK"
        c.send(b'GET "ainline:with space"\r\n')
        assert c.reply() == b"a value with spaces"
        c.send(b"GET zinline:single\n")  # a bare \n ends an inline command too
        assert c.reply() == b"single quoted"
        c.send(b"get ainline:1\r\nEXISTS ainline:1 'zinline:single' nope\r\nPING\r\n")
        assert c.replies(3) == [b"plain", 2, "PONG"]
        c.send(b"UNKNOWNINLINE x\r\n")
        assert isinstance(c.reply(), RespError)
        c.send(b"GET\r\n")
        assert c.reply() == RespError(b"ERR wrong number of arguments for 'get' command")
        c.send(b"GET ainline:1\r\n")
        assert c.reply() == b"plain"
    assert cluster.redis().get(b"ainline:with space") == b"a value with spaces"


def test_inline_escapes_in_double_quotes(cluster):
    """Redis inline rules: \\" and \\xHH inside double quotes."""
    with cluster.raw() as c:
        c.send(b'SET ainline:esc "say \\"hi\\" \\x41"\r\n')
        assert c.reply() == "OK"
    assert cluster.redis().get(b"ainline:esc") == b'say "hi" A'


def test_inline_unbalanced_quotes_is_an_error(cluster):
    with cluster.raw() as c:
        c.send(b'SET "ainline:bad value\r\n')
        reply = c.reply()
        assert isinstance(reply, RespError), reply
        # As Redis, a protocol error may close the connection after the error; if it stays open,
        # it must still serve. Either way nothing was written and the server serves new connections.
        try:
            alive = c.command("PING", timeout=2)
        except ConnectionError:
            alive = None
        assert alive in ("PONG", None), alive
    r = cluster.redis()
    assert r.get(b"ainline:bad") is None and r.get(b'"ainline:bad') is None
    assert r.ping() is True


# ---- ranges and sizes (fresh cluster: an empty store) ------------------------------------------

def test_rng_dbsize_where_on_empty_store(fresh_cluster):
    r = fresh_cluster.redis()
    assert r.dbsize() == 0
    assert r.execute_command("RNG", b"", b"\xff\xff\xff") == []

    keys = [b"b", b"c", b"d", b"l", b"lz", b"m", b"m0", b"n", b"x", b"y"]
    for k in reversed(keys):
        r.set(k, b"v-" + k)
    assert r.dbsize() == len(keys), "DBSIZE sums both shards"

    def rng(*args):
        return r.execute_command("RNG", *args)

    def flat(ks):
        return [x for k in ks for x in (k, b"v-" + k)]

    assert rng(b"a", b"z") == flat(keys), "RNG across both shards, in key order"
    assert rng(b"b", b"y") == flat(keys), "RNG includes both ends"
    assert rng(b"c", b"m") == flat([b"c", b"d", b"l", b"lz", b"m"])
    assert rng(b"lz", b"m0") == flat([b"lz", b"m", b"m0"])
    assert rng(b"c", b"x", b"LIMIT", 3) == flat([b"c", b"d", b"l"])
    assert rng(b"d", b"z", b"LIMIT", 4) == flat([b"d", b"l", b"lz", b"m"]), "LIMIT across the split"
    assert rng(b"a", b"z", b"limit", 100) == flat(keys)
    assert rng(b"n", b"n") == flat([b"n"])
    assert rng(b"e", b"k") == []
    assert rng(b"z", b"a") == [], "start after end is empty"

    info_a, info_z = where(r, b"a"), where(r, b"z")
    assert info_a["shard"] != info_z["shard"]
    assert info_a["owner"] != info_z["owner"]
    assert {info_a["owner"], info_z["owner"]} == {"w1", "w2"}
    assert info_a["found"] == 0 and info_z["found"] == 0
    info_b = where(r, b"b")
    assert info_b["found"] == 1 and info_b["shard"] == info_a["shard"]
    assert where(r, b"y")["shard"] == info_z["shard"]
    assert where(r, b"m")["shard"] == info_z["shard"], "the split point belongs to the upper shard"

    assert r.delete(b"c", b"x") == 2
    assert r.dbsize() == len(keys) - 2
    assert rng(b"a", b"z") == flat([k for k in keys if k not in (b"c", b"x")])


def test_where_fields(cluster):
    r = cluster.redis()
    r.set(lo("where"), b"1")
    r.set(hi("where"), b"1")
    for key in (lo("where"), hi("where"), lo("where", "missing"), hi("where", "missing")):
        flat = r.execute_command("WHERE", key)
        assert [flat[i] for i in (0, 2, 4, 6, 8)] == [b"shard", b"owner", b"path", b"depth", b"found"]
        info = where(r, key)
        assert isinstance(info["shard"], int) and isinstance(info["depth"], int), info
        assert info["owner"] in ("w1", "w2"), info
        prefix, _, turns = info["path"].partition(":")
        assert prefix == str(info["shard"]), f"path starts with '<shard>:': {info}"
        assert set(turns) <= {"L", "R"}, info
        assert info["depth"] in (len(turns), len(turns) + 1), info
        assert info["found"] == (0 if key.endswith(b"missing") else 1), info
    assert where(r, lo("where"))["shard"] != where(r, hi("where"))["shard"]
    assert where(r, lo("where"))["owner"] != where(r, hi("where"))["owner"]


def test_dbsize_counts_both_shards(cluster):
    r = cluster.redis()
    before = r.dbsize()
    keys = [lo("dbs", i) for i in range(3)] + [hi("dbs", i) for i in range(4)]
    r.mset({k: b"v" for k in keys})
    assert r.dbsize() == before + 7
    r.set(lo("dbs", 0), b"overwrite")
    assert r.dbsize() == before + 7, "overwriting does not add a key"
    r.delete(*keys)
    assert r.dbsize() == before


def test_sequential_keys_stay_balanced(cluster):
    """Sequential inserts must not degenerate the shard tree into a list (depth O(log n))."""
    r = cluster.redis()
    n = 3000
    keys = [b"bal:%07d" % i for i in range(n)]  # all in shard [-inf, "m")
    p = r.pipeline(transaction=False)
    for k in keys:
        p.set(k, b"1")
    p.execute()
    p = r.pipeline(transaction=False)
    for k in keys:
        p.execute_command("WHERE", k)
    depths = [dict(zip(w[0::2], w[1::2]))[b"depth"] for w in p.execute()]
    total = r.dbsize()  # an upper bound on this shard's size
    bound = 3 * math.log2(total) + 2
    assert max(depths) <= bound, f"max depth {max(depths)} > {bound:.1f} for <= {total} keys"
    assert sum(depths) / n <= 2 * math.log2(total), f"mean depth {sum(depths) / n:.1f} too deep"
    r.delete(*keys)


# ---- concurrency -------------------------------------------------------------------------------

def test_eight_concurrent_clients(cluster):
    errors: list[str] = []
    lock = threading.Lock()

    def client(t):
        try:
            r = cluster.redis(socket_timeout=10)
            mine = [bytes([ord("a") + (i % 26)]) + b"conc:%d:%d" % (t, i) for i in range(500)]
            for i, k in enumerate(mine):
                if r.set(k, b"%d-%d" % (t, i)) is not True:
                    raise AssertionError(f"SET {k!r} not OK")
                if i % 5 == 0:
                    got = r.get(k)
                    if got != b"%d-%d" % (t, i):
                        raise AssertionError(f"GET {k!r} -> {got!r}")
            for i, k in enumerate(mine):
                got = r.get(k)
                if got != b"%d-%d" % (t, i):
                    raise AssertionError(f"GET {k!r} -> {got!r}")
            p = r.pipeline(transaction=False)
            for k in mine:
                p.exists(k)
            if p.execute() != [1] * len(mine):
                raise AssertionError("EXISTS pipeline wrong")
            if r.delete(*mine) != len(mine):
                raise AssertionError("DEL count wrong")
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            with lock:
                errors.append(f"client {t}: {e!r}")

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads), "a client hung"
    assert not errors, errors


def test_replies_do_not_interleave_between_connections(cluster):
    """Two connections pipelining large replies concurrently each get exactly their own replies."""
    r = cluster.redis()
    va, vb = b"A" * 100000, b"B" * 100000
    r.set(lo("inter"), va)
    r.set(hi("inter"), vb)
    results = {}

    def run(name, key):
        with cluster.raw(timeout=30) as c:
            c.send(resp_command("GET", key) * 50)
            results[name] = c.replies(50, timeout=30)

    ts = [threading.Thread(target=run, args=("a", lo("inter")), daemon=True),
          threading.Thread(target=run, args=("b", hi("inter")), daemon=True)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert results.get("a") == [va] * 50
    assert results.get("b") == [vb] * 50
