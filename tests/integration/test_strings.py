"""String and key commands with expiry (issue 15), end to end through the frontend with redis-py, on a
real cluster: each command's replies and errors as Redis 7 gives them, expiry seen by TTL/GET/EXISTS/
KEYS/DBSIZE, and the commands that span shards (RENAME, RENAMENX, COPY, MSETNX) between keys of
different shards, also under concurrency. The module's cluster is split at "m": `a:` keys live in one
shard, `z:` keys in the other. Every wait is a bounded poll."""
import sys
import threading
import time

import pytest
import redis

from cluster import REPO, RawConn

sys.path.insert(0, str(REPO / "clients" / "python"))
import clossyne  # noqa: E402

EXPIRY_WAIT_S = 5.0


@pytest.fixture(scope="module")
def r(cluster):
    c = cluster.redis()
    yield c
    c.close()


def err(fn, *args):
    """The error text of a command that must fail."""
    with pytest.raises(redis.exceptions.ResponseError) as e:
        fn(*args)
    return str(e.value)


def cmd(r, *args):
    return r.execute_command(*args)


def wait_gone(r, key, timeout=EXPIRY_WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.get(key) is None:
            return True
        time.sleep(0.02)
    return False


# ---- SET and its relatives --------------------------------------------------------------------------

def test_set_options(r):
    assert r.set("a:set", "1") is True
    assert r.set("a:set", "2", nx=True) is None
    assert r.get("a:set") == b"1"
    assert r.set("a:set", "3", xx=True) is True
    assert r.set("a:set-none", "3", xx=True) is None
    assert r.get("a:set-none") is None
    assert r.set("a:set", "4", get=True) == b"3"
    assert r.set("a:set-new", "1", get=True) is None
    assert r.get("a:set-new") == b"1"
    assert r.set("a:set", "5", ex=100) is True
    assert 95 <= r.ttl("a:set") <= 100
    assert r.set("a:set", "6", keepttl=True) is True
    assert 95 <= r.ttl("a:set") <= 100
    assert r.set("a:set", "7") is True  # a plain SET removes the TTL
    assert r.ttl("a:set") == -1
    assert r.set("a:set", "8", px=100000) is True
    assert 99000 <= r.pttl("a:set") <= 100000
    at = int(time.time()) + 200
    assert r.set("a:set", "9", exat=at) is True
    assert cmd(r, "EXPIRETIME", "a:set") == at
    assert r.set("a:set", "10", pxat=at * 1000 + 5) is True
    assert cmd(r, "PEXPIRETIME", "a:set") == at * 1000 + 5
    assert "syntax error" in err(cmd, r, "SET", "a:set", "v", "NX", "XX")
    assert "syntax error" in err(cmd, r, "SET", "a:set", "v", "EX", "10", "PX", "10")
    assert "syntax error" in err(cmd, r, "SET", "a:set", "v", "EX")
    assert "syntax error" in err(cmd, r, "SET", "a:set", "v", "BOGUS")
    assert "invalid expire time in 'set' command" in err(cmd, r, "SET", "a:set", "v", "EX", "0")
    assert "invalid expire time in 'set' command" in err(cmd, r, "SET", "a:set", "v", "PX", "-5")
    assert "value is not an integer or out of range" in err(cmd, r, "SET", "a:set", "v", "EX", "x")


def test_setnx_setex_psetex_getset_getdel(r):
    assert r.setnx("a:nx", "1") is True
    assert r.setnx("a:nx", "2") is False
    assert r.get("a:nx") == b"1"
    assert r.setex("a:ex", 100, "v") is True
    assert 95 <= r.ttl("a:ex") <= 100
    assert r.psetex("a:pex", 100000, "v") is True
    assert 99000 <= r.pttl("a:pex") <= 100000
    assert "invalid expire time in 'setex' command" in err(cmd, r, "SETEX", "a:ex", "0", "v")
    assert "invalid expire time in 'psetex' command" in err(cmd, r, "PSETEX", "a:ex", "-1", "v")
    assert r.getset("a:ex", "w") == b"v"
    assert r.ttl("a:ex") == -1  # GETSET removes the TTL
    assert r.getset("a:gs-new", "1") is None
    assert r.getdel("a:ex") == b"w"
    assert r.exists("a:ex") == 0
    assert r.getdel("a:ex") is None


def test_getex(r):
    r.set("a:getex", "v")
    assert r.getex("a:getex") == b"v"
    assert r.ttl("a:getex") == -1
    assert r.getex("a:getex", ex=100) == b"v"
    assert 95 <= r.ttl("a:getex") <= 100
    assert r.getex("a:getex", persist=True) == b"v"
    assert r.ttl("a:getex") == -1
    assert r.getex("a:getex", px=100000) == b"v"
    assert 99000 <= r.pttl("a:getex") <= 100000
    assert r.getex("a:getex-none", ex=10) is None
    assert "syntax error" in err(cmd, r, "GETEX", "a:getex", "EX", "10", "PERSIST")
    assert "invalid expire time in 'getex' command" in err(cmd, r, "GETEX", "a:getex", "EX", "0")


# ---- counters --------------------------------------------------------------------------------------

def test_incr_decr(r):
    assert cmd(r, "INCR", "a:cnt") == 1
    assert cmd(r, "INCR", "a:cnt") == 2
    assert cmd(r, "DECR", "a:cnt") == 1
    assert cmd(r, "INCRBY", "a:cnt", "10") == 11
    assert cmd(r, "DECRBY", "a:cnt", "20") == -9
    assert cmd(r, "DECR", "a:cnt-new") == -1
    r.set("a:cnt-str", "abc")
    assert "value is not an integer or out of range" in err(cmd, r, "INCR", "a:cnt-str")
    r.set("a:cnt-sp", " 1")
    assert "value is not an integer or out of range" in err(cmd, r, "INCR", "a:cnt-sp")
    assert "value is not an integer or out of range" in err(cmd, r, "INCRBY", "a:cnt", "1.5")
    r.set("a:cnt-max", str(2**63 - 1))
    assert "increment or decrement would overflow" in err(cmd, r, "INCR", "a:cnt-max")
    r.set("a:cnt-min", str(-(2**63)))
    assert "increment or decrement would overflow" in err(cmd, r, "DECR", "a:cnt-min")
    assert "decrement would overflow" in err(cmd, r, "DECRBY", "a:cnt", str(-(2**63)))
    r.set("a:cnt-ttl", "5", ex=100)
    assert cmd(r, "INCR", "a:cnt-ttl") == 6
    assert 95 <= r.ttl("a:cnt-ttl") <= 100  # INCR keeps the TTL


def test_incrbyfloat(r):
    assert r.incrbyfloat("a:f", 10.5) == 10.5
    assert r.incrbyfloat("a:f", 0.1) == pytest.approx(10.6)
    assert r.get("a:f") == b"10.6"
    r.set("a:f2", "5.0e3")
    assert r.incrbyfloat("a:f2", "2.0e2") == 5200
    assert r.get("a:f2") == b"5200"
    r.set("a:f3", "abc")
    assert "value is not a valid float" in err(cmd, r, "INCRBYFLOAT", "a:f3", "1")
    assert "value is not a valid float" in err(cmd, r, "INCRBYFLOAT", "a:f", "x")
    assert "increment would produce NaN or Infinity" in err(cmd, r, "INCRBYFLOAT", "a:f", "+inf")


def test_incr_is_atomic_across_clients(cluster):
    threads, per = 4, 200

    def run():
        c = cluster.redis()
        for _ in range(per):
            c.execute_command("INCR", "z:atomic")
        c.close()

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in ts)
    assert int(cluster.redis().get("z:atomic")) == threads * per


# ---- string editing --------------------------------------------------------------------------------

def test_append_strlen_getrange_setrange(r):
    assert r.append("a:s", "Hello") == 5
    assert r.append("a:s", " World") == 11
    assert r.strlen("a:s") == 11
    assert r.strlen("a:s-none") == 0
    assert r.getrange("a:s", 0, 4) == b"Hello"
    assert r.getrange("a:s", -5, -1) == b"World"
    assert r.getrange("a:s", 5, 3) == b""
    assert r.getrange("a:s", 0, 100) == b"Hello World"
    assert r.getrange("a:s-none", 0, -1) == b""
    assert cmd(r, "SUBSTR", "a:s", "6", "-1") == b"World"
    assert r.setrange("a:s", 6, "Redis") == 11
    assert r.get("a:s") == b"Hello Redis"
    assert r.setrange("a:pad", 3, "x") == 4
    assert r.get("a:pad") == b"\x00\x00\x00x"
    assert r.setrange("a:empty", 0, "") == 0
    assert r.exists("a:empty") == 0
    assert "offset is out of range" in err(cmd, r, "SETRANGE", "a:s", "-1", "x")
    assert "string exceeds maximum allowed size" in err(cmd, r, "SETRANGE", "a:s", str(512 * 1024 * 1024), "x")
    assert "value is not an integer or out of range" in err(cmd, r, "GETRANGE", "a:s", "x", "1")


def test_bits(r):
    assert r.setbit("a:bits", 7, 1) == 0
    assert r.setbit("a:bits", 7, 1) == 1
    assert r.get("a:bits") == b"\x01"
    assert r.getbit("a:bits", 7) == 1
    assert r.getbit("a:bits", 100) == 0
    assert r.getbit("a:bits-none", 0) == 0
    r.set("a:bc", "foobar")
    assert r.bitcount("a:bc") == 26
    assert r.bitcount("a:bc", 0, 0) == 4
    assert r.bitcount("a:bc", 1, 1) == 6
    assert r.bitcount("a:bc", 5, 30, "BIT") == 17
    assert r.bitcount("a:bc-none") == 0
    assert "bit is not an integer or out of range" in err(cmd, r, "SETBIT", "a:bits", "0", "2")
    assert "bit offset is not an integer or out of range" in err(cmd, r, "SETBIT", "a:bits", "-1", "1")
    assert "syntax error" in err(cmd, r, "BITCOUNT", "a:bc", "0")


def test_lcs_across_shards(r):
    r.set("a:lcs", "ohmytext")
    r.set("z:lcs", "mynewtext")
    assert cmd(r, "LCS", "a:lcs", "z:lcs") == b"mytext"
    assert cmd(r, "LCS", "a:lcs", "z:lcs", "LEN") == 6
    assert cmd(r, "LCS", "a:lcs", "z:lcs", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    assert cmd(r, "LCS", "a:lcs", "z:lcs", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert cmd(r, "LCS", "a:lcs", "a:lcs-none") == b""
    assert "If you want both the length and indexes" in err(cmd, r, "LCS", "a:lcs", "z:lcs", "LEN", "IDX")


# ---- expiry ----------------------------------------------------------------------------------------

def test_expire_ttl_persist(r):
    r.set("a:exp", "v")
    assert r.ttl("a:exp") == -1
    assert r.pttl("a:exp") == -1
    assert r.ttl("a:exp-none") == -2
    assert r.pttl("a:exp-none") == -2
    assert cmd(r, "EXPIRETIME", "a:exp") == -1
    assert cmd(r, "EXPIRETIME", "a:exp-none") == -2
    assert r.expire("a:exp", 100) is True
    assert 95 <= r.ttl("a:exp") <= 100
    assert r.expire("a:exp-none", 100) is False
    assert r.pexpire("a:exp", 200000) is True
    assert 199000 <= r.pttl("a:exp") <= 200000
    at = int(time.time()) + 300
    assert r.expireat("a:exp", at) is True
    assert cmd(r, "EXPIRETIME", "a:exp") == at
    assert r.pexpireat("a:exp", at * 1000 + 7) is True
    assert cmd(r, "PEXPIRETIME", "a:exp") == at * 1000 + 7
    assert r.persist("a:exp") is True
    assert r.persist("a:exp") is False
    assert r.ttl("a:exp") == -1
    assert "value is not an integer or out of range" in err(cmd, r, "EXPIRE", "a:exp", "x")
    assert "invalid expire time in 'expire' command" in err(cmd, r, "EXPIRE", "a:exp", str(2**62))


def test_expire_conditions(r):
    r.set("a:cond", "v")
    assert cmd(r, "EXPIRE", "a:cond", "100", "XX") == 0  # no TTL yet
    assert cmd(r, "EXPIRE", "a:cond", "100", "GT") == 0  # no TTL counts as infinite
    assert cmd(r, "EXPIRE", "a:cond", "100", "NX") == 1
    assert cmd(r, "EXPIRE", "a:cond", "200", "NX") == 0
    assert cmd(r, "EXPIRE", "a:cond", "200", "XX") == 1
    assert cmd(r, "EXPIRE", "a:cond", "100", "GT") == 0
    assert cmd(r, "EXPIRE", "a:cond", "300", "GT") == 1
    assert cmd(r, "EXPIRE", "a:cond", "400", "LT") == 0
    assert cmd(r, "EXPIRE", "a:cond", "50", "LT") == 1
    assert 45 <= r.ttl("a:cond") <= 50
    assert "NX and XX, GT or LT options at the same time are not compatible" in err(
        cmd, r, "EXPIRE", "a:cond", "10", "NX", "XX")
    assert "GT and LT options at the same time are not compatible" in err(
        cmd, r, "EXPIRE", "a:cond", "10", "GT", "LT")
    assert "Unsupported option" in err(cmd, r, "EXPIRE", "a:cond", "10", "BOGUS")


def test_short_px_expires_for_every_command(r):
    r.set("a:short", "v", px=100)
    r.set("z:short", "v", px=100)
    assert r.get("a:short") == b"v"
    assert 0 < r.pttl("a:short") <= 100
    assert wait_gone(r, "a:short") and wait_gone(r, "z:short")
    assert r.exists("a:short", "z:short") == 0
    assert r.ttl("a:short") == -2
    assert r.keys("a:short*") == [] and r.keys("z:short*") == []
    assert r.getrange("a:short", 0, -1) == b""
    assert cmd(r, "INCR", "a:short") == 1  # a fresh key, without the old TTL
    assert r.ttl("a:short") == -1


def test_expire_in_the_past_deletes(r):
    r.set("a:past", "v")
    assert r.expire("a:past", -1) is True
    assert r.exists("a:past") == 0
    r.set("a:past2", "v")
    assert r.pexpireat("a:past2", 1) is True
    assert r.get("a:past2") is None


def test_dbsize_and_info_count_expiring_keys(make_cluster):
    c = make_cluster()
    r = c.redis()
    r.set("a:k1", "v")
    r.set("a:k2", "v", ex=100)
    r.set("z:k3", "v", ex=100)
    r.set("z:gone", "v", px=50)
    assert wait_gone(r, "z:gone")
    assert r.dbsize() == 3
    info = r.info("keyspace")
    assert info["db0"]["keys"] == 3
    assert info["db0"]["expires"] == 2
    assert "used_cpu_user" in r.info("cpu")
    assert r.info("memory")["mem_allocator"] == "libc"


# ---- keys ------------------------------------------------------------------------------------------

def test_type_touch_unlink_randomkey(r):
    r.set("a:tt", "v")
    assert r.type("a:tt") == b"string"
    assert r.type("a:tt-none") == b"none"
    assert r.touch("a:tt", "a:tt-none", "a:tt") == 2
    assert r.unlink("a:tt", "a:tt-none") == 1
    r.set("a:rk", "v")
    for _ in range(20):
        k = r.randomkey()
        assert k is not None and r.exists(k) in (0, 1)


def test_randomkey_sees_every_key_and_nil_when_empty(make_cluster):
    c = make_cluster()
    r = c.redis()
    assert r.randomkey() is None
    r.set("foo", "x")
    r.set("bar", "y")
    seen = set()
    for _ in range(1000):
        seen.add(r.randomkey())
        if seen == {b"foo", b"bar"}:
            break
    assert seen == {b"foo", b"bar"}


def test_rename_renamenx_same_and_cross_shard(r):
    r.set("a:rn-src", "v1", ex=100)
    assert r.rename("a:rn-src", "a:rn-dst") is True
    assert r.get("a:rn-dst") == b"v1" and r.exists("a:rn-src") == 0
    assert 95 <= r.ttl("a:rn-dst") <= 100  # the TTL moves with the value
    assert r.rename("a:rn-dst", "z:rn-dst") is True  # to the other shard
    assert r.get("z:rn-dst") == b"v1" and r.exists("a:rn-dst") == 0
    assert 95 <= r.ttl("z:rn-dst") <= 100
    r.set("a:rn-plain", "p")
    assert r.rename("a:rn-plain", "z:rn-dst") is True  # replaces, and no TTL survives
    assert r.get("z:rn-dst") == b"p" and r.ttl("z:rn-dst") == -1
    assert "no such key" in err(r.rename, "a:rn-none", "z:rn-x")
    assert r.rename("z:rn-dst", "z:rn-dst") is True  # same key: OK when it exists
    assert "no such key" in err(r.rename, "a:rn-none", "a:rn-none")
    r.set("a:rnx", "1")
    r.set("z:rnx", "2")
    assert r.renamenx("a:rnx", "z:rnx") is False
    assert r.get("a:rnx") == b"1"
    assert r.renamenx("a:rnx", "z:rnx-new") is True
    assert r.get("z:rnx-new") == b"1" and r.exists("a:rnx") == 0
    assert "no such key" in err(r.renamenx, "a:rnx", "z:rnx-2")


def test_copy_same_and_cross_shard(r):
    r.set("a:cp", "v", ex=100)
    assert r.copy("a:cp", "z:cp") is True
    assert r.get("z:cp") == b"v" and r.get("a:cp") == b"v"
    assert 95 <= r.ttl("z:cp") <= 100
    r.set("a:cp2", "w")
    assert r.copy("a:cp2", "z:cp") is False
    assert r.copy("a:cp2", "z:cp", replace=True) is True
    assert r.get("z:cp") == b"w" and r.ttl("z:cp") == -1
    assert r.copy("a:cp-none", "z:cp3") is False
    assert cmd(r, "COPY", "a:cp2", "a:cp4", "DB", "0") == 1
    assert "DB index is out of range" in err(cmd, r, "COPY", "a:cp2", "a:cp5", "DB", "1")
    assert "source and destination objects are the same" in err(cmd, r, "COPY", "a:cp2", "a:cp2")
    assert "syntax error" in err(cmd, r, "COPY", "a:cp2", "a:cp6", "BOGUS")


def test_msetnx_across_shards(r):
    assert r.msetnx({"a:mx1": "1", "z:mx1": "2"}) is True
    assert r.mget("a:mx1", "z:mx1") == [b"1", b"2"]
    assert r.msetnx({"a:mx2": "x", "z:mx1": "y"}) is False  # z:mx1 exists: nothing is set
    assert r.exists("a:mx2") == 0 and r.get("z:mx1") == b"2"
    assert "wrong number of arguments for 'msetnx' command" in err(cmd, r, "MSETNX", "a:x", "1", "a:y")


def test_concurrent_cross_shard_renames_never_lose_or_double_the_key(make_cluster):
    c = make_cluster(workers=3, split_points="h,p")
    r = c.redis()
    keys = ["a:ping", "k:ping", "z:ping"]  # one per shard
    r.set(keys[0], "payload")
    stop = time.monotonic() + 3.0
    errors = []

    def mover(i):
        cl = c.redis()
        n = 0
        while time.monotonic() < stop and n < 2000:
            src, dst = keys[i], keys[(i + 1) % 3]
            try:
                cl.rename(src, dst)
            except redis.exceptions.ResponseError as e:
                if "no such key" not in str(e):
                    errors.append(str(e))
            n += 1
        cl.close()

    ts = [threading.Thread(target=mover, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in ts)
    assert errors == []
    values = r.mget(keys)
    assert sorted(v for v in values if v is not None) == [b"payload"]
    assert r.dbsize() == 1


def test_concurrent_msetnx_one_winner(make_cluster):
    c = make_cluster(workers=3, split_points="h,p")
    for round_ in range(20):
        a, b, z = f"a:m{round_}", f"k:m{round_}", f"z:m{round_}"
        results = [None, None]

        def go(i, pairs):
            results[i] = c.redis().msetnx(pairs)

        t1 = threading.Thread(target=go, args=(0, {a: "one", b: "one"}))
        t2 = threading.Thread(target=go, args=(1, {b: "two", z: "two"}))
        t1.start(), t2.start()
        t1.join(timeout=30), t2.join(timeout=30)
        assert sorted(results) == [False, True], results
        r = c.redis()
        if results[0]:
            assert r.mget(a, b, z) == [b"one", b"one", None]
        else:
            assert r.mget(a, b, z) == [None, b"two", b"two"]


# ---- housekeeping -----------------------------------------------------------------------------------

def test_function_flush_command_list_and_info(r, cluster):
    assert cmd(r, "FUNCTION", "FLUSH") == b"OK"
    assert cmd(r, "FUNCTION", "FLUSH", "ASYNC") == b"OK"
    assert "unknown subcommand" in err(cmd, r, "FUNCTION", "LIST")
    with RawConn(cluster.port) as raw:  # redis-py reads any COMMAND reply as COMMAND INFO's
        names = raw.command("COMMAND", "LIST", "FILTERBY", "PATTERN", "*expire*")
        assert sorted(names) == sorted([b"expire", b"pexpire", b"expireat", b"pexpireat",
                                        b"expiretime", b"pexpiretime"])
        assert raw.command("COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
        assert b"incrbyfloat" in raw.command("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string")
        assert raw.command("COMMAND", "INFO", "nosuchcommand") == [None]
    info = r.info("cpu")
    assert "used_cpu_sys" in info and "used_cpu_user" in info


# ---- the same ops as envelopes: clossyne.Client against the broker ----------------------------------

def test_python_client_string_and_key_ops(cluster):
    with clossyne.Client(cluster.client_endpoint, timeout=5.0) as c:
        assert c.set("a:py", "v", nx=True, px=100000) is True
        assert c.set("a:py", "w", nx=True) is None
        assert c.set("a:py", "w", get=True) == b"v"
        assert c.ttl("a:py") == -1
        assert c.set("a:py", "x", ex=100, keepttl=False) is True
        assert 95 <= c.ttl("a:py") <= 100
        assert c.setnx("a:py", "y") is False
        assert c.setex("a:py2", 100, "v") is True
        assert c.psetex("a:py3", 100000, "v") is True
        assert c.getset("a:py2", "n") == b"v"
        assert c.getex("a:py3", persist=True) == b"v" and c.pttl("a:py3") == -1
        assert c.getdel("a:py3") == b"v" and c.get("a:py3") is None
        assert c.incr("a:pyn") == 1 and c.incrby("a:pyn", 9) == 10
        assert c.decr("a:pyn") == 9 and c.decrby("a:pyn", 4) == 5
        assert c.incrbyfloat("a:pyf", 1.5) == 1.5
        assert c.append("a:pys", "abc") == 3 and c.strlen("a:pys") == 3
        assert c.getrange("a:pys", 1, -1) == b"bc"
        assert c.setrange("a:pys", 1, "X") == 3 and c.get("a:pys") == b"aXc"
        assert c.setbit("a:pyb", 7, 1) == 0 and c.getbit("a:pyb", 7) == 1
        assert c.bitcount("a:pyb") == 1 and c.bitcount("a:pyb", 0, 7, mode="BIT") == 1
        assert c.expire("a:pys", 100, nx=True) is True and c.expire("a:pys", 50, nx=True) is False
        assert c.pexpire("a:pys", 200000, gt=True) is True
        at = int(time.time()) + 300
        assert c.expireat("a:pys", at) is True and c.expiretime("a:pys") == at
        assert c.pexpireat("a:pys", at * 1000) is True and c.pexpiretime("a:pys") == at * 1000
        assert c.persist("a:pys") is True and c.ttl("a:pys") == -1
        assert c.type("a:pys") == "string" and c.type("a:nope") == "none"
        assert c.rename("a:pys", "z:pys") is True and c.get("z:pys") == b"aXc"
        with pytest.raises(clossyne.ClossyneError, match="no such key"):
            c.rename("a:pys", "z:pys")
        assert c.renamenx("z:pys", "a:pyn") is False
        assert c.copy("z:pys", "a:pyc") is True and c.copy("z:pys", "a:pyc") is False
        assert c.copy("z:pys", "a:pyc", replace=True) is True
        assert c.msetnx({"a:pym": "1", "z:pym": "2"}) is True
        assert c.msetnx({"a:pym2": "1", "z:pym": "3"}) is False and c.get("a:pym2") is None
        with pytest.raises(clossyne.ClossyneError, match="not an integer"):
            c.incrby("a:pyf", "x")
        p = c.pipeline()
        p.incr("z:pyp").incr("z:pyp").ttl("z:pyp").set("z:pyp", "1", xx=True, px=100000)
        assert p.execute() == [1, 2, -1, True]
